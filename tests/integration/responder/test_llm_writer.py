"""The LLM writer against the OpenRouter stand-in over real HTTP, with real Redis and the Twilio
stand-in: what is asked, what is sent, what `reply.sent` records, and every way back to the template."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from contracts import ReplySent
from contracts import replies as r
from runtime.resilience import CircuitBreaker
from services.responder.adapters.context import ConversationContext, Turn
from services.responder.adapters.ledger import ReplyLedger
from services.responder.adapters.openrouter import OpenRouterClient
from services.responder.adapters.twilio import TwilioSender
from services.responder.adapters.written import WrittenReplies
from services.responder.handler import ResponderDeps, handle
from services.responder.main import reply_writer
from services.responder.settings import ResponderSettings
from services.responder.templates import render
from services.responder.writer import ReplyWriter
from tests.integration.responder.openrouter import OpenRouterStandin, running_openrouter
from tests.integration.responder.standin import Standin
from tests.unit.responder.events import BUSINESS_NAME, completed, new_customer

MODELS = ("google/gemini-2.5-flash-lite", "openai/gpt-4.1-mini")
FRIDAY = dt.date(2026, 12, 11)
BOOKED = r.Booked(code="BK-4821", date=FRIDAY, time="19:00", class_name="Pilates Reformer", package="Pack 10 clases",
                  sessions_left=5)
DRAFT = render(BOOKED, business=BUSINESS_NAME)
GOOD = ("¡Hecho! Tu clase de Pilates Reformer quedó para el viernes 11 de diciembre a las 7 de la tarde. Código: "
        "*BK-4821*. Te quedan 5 sesiones de tu Pack 10 clases.")


@pytest.fixture
async def openrouter() -> AsyncIterator[OpenRouterStandin]:
    async with running_openrouter() as running:
        yield running


def llm_writer(openrouter: OpenRouterStandin, **options: Any) -> ReplyWriter:
    """A writer whose client has a short budget (tests wait for it), pointed at the stand-in."""
    values: dict[str, Any] = {"models": MODELS, "base_url": openrouter.url, "timeout_s": 0.5, "budget_s": 1.5,
                              "attempts": 3, "backoff_base_s": 0.01, "backoff_max_s": 0.05, **options}
    return ReplyWriter(BUSINESS_NAME, client=OpenRouterClient(openrouter.api_key, **values))


def seconds_between(first: dict[str, Any], second: dict[str, Any]) -> float:
    return (datetime.fromisoformat(second["at"]) - datetime.fromisoformat(first["at"])).total_seconds()


async def test_the_llm_words_the_reply_and_reply_sent_records_how(openrouter: OpenRouterStandin, standin: Standin,
                                                                  sender: TwilioSender, redis: Redis) -> None:
    settings = ResponderSettings(openrouter_api_key=openrouter.api_key, openrouter_base_url=openrouter.url,
                                 llm_models=MODELS, llm_max_tokens=350, llm_temperature=0.2,
                                 llm_app_url="https://estudiosol.example.com", llm_app_title="Estudio Sol bot")
    context = ConversationContext(redis)
    deps = ResponderDeps(sender=sender, ledger=ReplyLedger(redis), business_name=BUSINESS_NAME,
                         writer=reply_writer(settings, context, redis), context=context)
    customer = new_customer()
    earlier = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)
    await context.record(customer, [
        Turn("user", "hola, ¿tienen clase el viernes?", earlier, "user:earlier"),
        Turn("bot", "¡Sí! El viernes 11 de diciembre hay lugar a las 19:00. ¿Te anoto?",
             earlier + dt.timedelta(seconds=3), "bot:earlier"),
    ])
    await openrouter.script({"content": GOOD, "model": MODELS[1]})  # OpenRouter fell back to the second model
    event = completed(BOOKED, customer=customer, user_text="dale, anotame", register="vos")
    try:
        [output] = await handle(event, deps)
    finally:
        await deps.writer.aclose()  # type: ignore[union-attr]

    assert isinstance(output.event, ReplySent)
    sent = output.event.payload
    assert (sent.body, sent.generator, sent.model, sent.fallback, sent.template) == (
        GOOD, "llm", MODELS[1], None, "booked")
    assert sent.prompt_tokens and sent.completion_tokens and sent.cost and sent.cost > 0
    assert sent.llm_latency_ms is not None and sent.llm_latency_ms > 0
    assert [m["body"] for m in await standin.messages(to=customer)] == [GOOD]

    [request] = await openrouter.requests()
    assert request["headers"]["http-referer"] == "https://estudiosol.example.com"
    assert request["headers"]["x-openrouter-title"] == "Estudio Sol bot"
    body = request["body"]
    assert (body["models"], body["max_tokens"], body["temperature"]) == (list(MODELS), 350, 0.2)
    prompt = body["messages"][1]["content"]
    assert ("Cliente: hola, ¿tienen clase el viernes?\nAsistente: ¡Sí! El viernes 11 de diciembre hay lugar a las "
            "19:00. ¿Te anoto?\nCliente: dale, anotame") in prompt
    assert "Registro del cliente: vos." in prompt and "«podés»" in body["messages"][0]["content"]
    assert render(BOOKED, business=BUSINESS_NAME, register="vos") in prompt

    turns = await context.recent(customer)
    assert [(t.role, t.text) for t in turns][-2:] == [("user", "dale, anotame"), ("bot", GOOD)]


async def test_a_redelivery_sends_the_first_words_again_without_asking_twice(
    openrouter: OpenRouterStandin, standin: Standin, sender: TwilioSender, redis: Redis
) -> None:
    async with running_openrouter(answer="rephrase") as rephrasing:
        writer = llm_writer(rephrasing)
        writer.written = WrittenReplies(redis)
        deps = ResponderDeps(sender=sender, ledger=ReplyLedger(redis), business_name=BUSINESS_NAME, writer=writer)
        event = completed(r.Acknowledged())
        first = await handle(event, deps)
        second = await handle(event, deps)
        await writer.aclose()
        assert len(await rephrasing.requests()) == 1
    bodies = [o.event.payload.body for o in (*first, *second)]  # type: ignore[attr-defined]
    assert bodies == ["¡Genial! ¿Te ayudo con algo más?"] * 2  # the stand-in reworded the draft
    assert [m["body"] for m in await standin.messages(to=event.payload.customer)] == bodies[:1]


@pytest.mark.parametrize(("script", "fallback"), [
    ({"error_body": True, "message": "Provider returned error"}, "error_body"),
    ({"content": GOOD + " La clase cuesta $350 MXN."}, "guardrail:invented_price"),
    ({"content": "¡Listo! Reservé tu clase el viernes 11 de diciembre a las 19:00."}, "guardrail:dropped_code"),
], ids=["200-with-error", "invented-price", "dropped-code"])
async def test_an_unusable_answer_leaves_the_reply_to_the_template(openrouter: OpenRouterStandin,
                                                                   script: dict[str, Any], fallback: str) -> None:
    await openrouter.script(script)
    writer = llm_writer(openrouter)
    written = await writer.write(completed(BOOKED))
    await writer.aclose()
    assert (written.body, written.generator, written.fallback) == (DRAFT, "template", fallback)
    assert len(await openrouter.requests()) == 1


async def test_no_credits_is_not_retried(openrouter: OpenRouterStandin) -> None:
    await openrouter.script({"status": 402, "message": "Insufficient credits"})
    writer = llm_writer(openrouter)
    written = await writer.write(completed(BOOKED))
    await writer.aclose()
    assert (written.body, written.fallback) == (DRAFT, "http_402")
    assert len(await openrouter.requests()) == 1


async def test_a_rate_limit_is_retried_after_the_wait_it_asks_for(openrouter: OpenRouterStandin) -> None:
    await openrouter.script({"status": 429, "retry_after_s": 0.4}, {"content": GOOD})
    writer = llm_writer(openrouter)
    written = await writer.write(completed(BOOKED))
    await writer.aclose()
    assert (written.body, written.generator) == (GOOD, "llm")
    first, second = await openrouter.requests()
    assert seconds_between(first, second) >= 0.4
    assert written.llm_latency_ms is not None and written.llm_latency_ms >= 400


async def test_a_server_error_is_retried(openrouter: OpenRouterStandin) -> None:
    await openrouter.script({"status": 500}, {"status": 502}, {"content": GOOD})
    writer = llm_writer(openrouter)
    written = await writer.write(completed(BOOKED))
    await writer.aclose()
    assert (written.body, written.generator) == (GOOD, "llm")
    assert len(await openrouter.requests()) == 3


async def test_a_slow_model_leaves_the_reply_to_the_template_within_the_budget(openrouter: OpenRouterStandin) -> None:
    await openrouter.set_latency(1000)  # longer than a request may take
    writer = llm_writer(openrouter, timeout_s=0.3, budget_s=0.7)
    loop = asyncio.get_running_loop()
    started = loop.time()
    written = await writer.write(completed(BOOKED))
    elapsed = loop.time() - started
    await writer.aclose()
    assert (written.body, written.fallback) == (DRAFT, "timeout")
    assert 0.3 <= elapsed < 0.7 + 0.25
    assert len(await openrouter.requests()) == 2  # the second attempt got what was left of the budget


async def test_repeated_failures_open_the_circuit_and_no_request_goes_out(openrouter: OpenRouterStandin) -> None:
    await openrouter.script({"status": 500}, {"status": 503})
    breaker = CircuitBreaker(name="openrouter", failure_threshold=2, reset_after_s=60)
    writer = llm_writer(openrouter, attempts=1, breaker=breaker)
    fallbacks = [(await writer.write(completed(BOOKED))).fallback for _ in range(4)]
    await writer.aclose()
    assert fallbacks == ["http_5xx", "http_5xx", "circuit_open", "circuit_open"]
    assert len(await openrouter.requests()) == 2


async def test_the_standin_checks_the_key_and_speaks_openrouters_error_shape(openrouter: OpenRouterStandin) -> None:
    async with httpx.AsyncClient(base_url=openrouter.url, trust_env=False) as client:
        wrong = await client.post("/api/v1/chat/completions", headers={"Authorization": "Bearer sk-or-wrong"},
                                  json={"models": list(MODELS), "messages": [{"role": "user", "content": "hola"}]})
        empty = await client.post("/api/v1/chat/completions", headers={"Authorization": f"Bearer {openrouter.api_key}"},
                                  json={"models": list(MODELS), "messages": []})
        plain = await client.post("/api/v1/chat/completions", headers={"Authorization": f"Bearer {openrouter.api_key}"},
                                  json={"model": "x/y", "messages": [{"role": "user", "content": "hola"}]})
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, 401)
    assert (empty.status_code, empty.json()["error"]["code"]) == (400, 400)
    answer = plain.json()
    assert (answer["model"], answer["choices"][0]["message"]["content"]) == ("x/y", "¡Hola! ¿En qué te puedo ayudar?")
    assert answer["usage"]["prompt_tokens"] > 0 and answer["usage"]["cost"] > 0
