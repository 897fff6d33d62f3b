"""The writer's choice between the LLM and the template, OpenRouter faked at its HTTP transport
(httpx.MockTransport): what is sent, what `Written` records, and that it never raises."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from contracts import replies as r
from runtime.resilience import CircuitBreaker
from services.responder.adapters.openrouter import OpenRouterClient, OpenRouterError, parse_completion
from services.responder.writer import ReplyWriter, Written
from tests.unit.responder.events import BUSINESS_NAME, completed

FRIDAY = dt.date(2026, 12, 11)
BOOKED = r.Booked(code="BK-4821", date=FRIDAY, time="19:00", class_name="Pilates Reformer")
DRAFT = ("¡Listo! ✅ Reservé tu clase de Pilates Reformer para el viernes 11 de diciembre a las 19:00. "
         "Tu código de reserva es BK-4821. Si necesitas cancelar, solo escríbeme.")
GOOD = "¡Hecho! Tu clase de Pilates Reformer quedó para el viernes 11 de diciembre a las 7 pm. Código: *BK-4821*."

Answer = Callable[[httpx.Request], httpx.Response]


def completion(content: str, *, model: str = "google/gemini-2.5-flash-lite", **choice: Any) -> dict[str, Any]:
    return {"id": "gen-1", "model": model,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content},
                         **choice}],
            "usage": {"prompt_tokens": 812, "completion_tokens": 41, "total_tokens": 853, "cost": 0.0000976}}


def writer(answer: Answer, seen: list[httpx.Request], **client: Any) -> ReplyWriter:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    options: dict[str, Any] = {"models": ("google/gemini-2.5-flash-lite", "openai/gpt-4.1-mini"), "timeout_s": 1.0,
                               "budget_s": 1.5, "backoff_base_s": 0.01, "backoff_max_s": 0.02, **client}
    return ReplyWriter(BUSINESS_NAME, client=OpenRouterClient("sk-or-test", transport=httpx.MockTransport(handler),
                                                              **options))


async def test_without_a_client_the_template_writes_and_nothing_is_recorded() -> None:
    written = await ReplyWriter(BUSINESS_NAME).write(completed(BOOKED))
    assert written == Written(DRAFT, "template")


async def test_an_accepted_answer_is_the_reply_with_its_model_tokens_and_cost() -> None:
    seen: list[httpx.Request] = []
    written = await writer(lambda _: httpx.Response(200, json=completion(GOOD, model="openai/gpt-4.1-mini")),
                           seen).write(completed(BOOKED))
    assert (written.body, written.generator, written.fallback) == (GOOD, "llm", None)
    assert (written.model, written.prompt_tokens, written.completion_tokens, written.cost) == (
        "openai/gpt-4.1-mini", 812, 41, 0.0000976)
    assert written.llm_latency_ms is not None and written.llm_latency_ms >= 0
    [request] = seen
    body = json.loads(request.content)
    assert body["models"] == ["google/gemini-2.5-flash-lite", "openai/gpt-4.1-mini"]
    assert request.headers["Authorization"] == "Bearer sk-or-test"


async def test_an_answer_wrapped_in_quotes_is_unwrapped() -> None:
    written = await writer(lambda _: httpx.Response(200, json=completion(f"«{GOOD}»")), []).write(completed(BOOKED))
    assert written.body == GOOD


async def test_a_rejected_answer_falls_back_but_keeps_what_it_cost() -> None:
    invented = GOOD + " La clase cuesta $350."
    written = await writer(lambda _: httpx.Response(200, json=completion(invented)), []).write(completed(BOOKED))
    assert (written.body, written.generator, written.fallback) == (DRAFT, "template", "guardrail:invented_price")
    assert (written.model, written.cost) == ("google/gemini-2.5-flash-lite", 0.0000976)


@pytest.mark.parametrize(("answer", "fallback", "requests"), [
    (lambda _: httpx.Response(402, json={"error": {"code": 402, "message": "Insufficient credits"}}), "http_402", 1),
    (lambda _: httpx.Response(401, json={"error": {"code": 401, "message": "User not found."}}), "http_4xx", 1),
    (lambda _: httpx.Response(200, json={"error": {"code": 502, "message": "Provider returned error"}}),
     "error_body", 1),
    (lambda _: httpx.Response(200, json=completion("", finish_reason="error", error={"code": 502})), "error_body", 1),
    (lambda _: httpx.Response(200, json=completion("¡Listo! Reservé tu", finish_reason="length")), "truncated", 1),
    (lambda _: httpx.Response(200, json=completion("   ")), "empty", 1),
    (lambda _: httpx.Response(200, text="<html>bad gateway</html>"), "bad_response", 1),
    (lambda _: httpx.Response(503, json={"error": {"code": 503, "message": "No provider"}}), "http_5xx", 3),
    (lambda _: httpx.Response(408, json={"error": {"code": 408, "message": "Timeout"}}), "http_408", 3),
], ids=["402", "401", "error-body", "error-choice", "truncated", "empty", "not-json", "503", "408"])
async def test_a_failure_falls_back_to_the_template_retrying_only_what_is_transient(
    answer: Answer, fallback: str, requests: int
) -> None:
    seen: list[httpx.Request] = []
    written = await writer(answer, seen).write(completed(BOOKED))
    assert (written.body, written.generator, written.fallback) == (DRAFT, "template", fallback)
    assert len(seen) == requests


async def test_an_unreachable_openrouter_never_raises() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    seen: list[httpx.Request] = []
    written = await writer(refuse, seen, attempts=2).write(completed(BOOKED))
    assert (written.generator, written.fallback, len(seen)) == ("template", "unreachable", 2)


async def test_a_retry_after_beyond_the_budget_is_not_waited_for() -> None:
    seen: list[httpx.Request] = []
    answer = httpx.Response(429, headers={"Retry-After": "30"}, json={"error": {"code": 429, "message": "slow down"}})
    written = await writer(lambda _: answer, seen).write(completed(BOOKED))
    assert (written.fallback, len(seen)) == ("http_429", 1)


async def test_an_open_circuit_sends_nothing() -> None:
    seen: list[httpx.Request] = []
    breaker = CircuitBreaker(name="openrouter", failure_threshold=1, reset_after_s=60)
    failing = writer(lambda _: httpx.Response(500, json={"error": {"code": 500, "message": "boom"}}), seen,
                     attempts=1, breaker=breaker)
    assert (await failing.write(completed(BOOKED))).fallback == "http_5xx"
    assert (await failing.write(completed(BOOKED))).fallback == "circuit_open"
    assert len(seen) == 1


async def test_an_faq_answer_is_sent_word_for_word() -> None:
    seen: list[httpx.Request] = []
    faq = r.FaqAnswer(faq_id="estacionamiento", answer="Sí, hay estacionamiento gratis en la calle Roble 12.")
    written = await writer(lambda _: httpx.Response(200, json=completion(GOOD)), seen).write(completed(faq))
    assert (written.body, written.generator, written.fallback) == (faq.answer, "template", "verbatim")
    assert seen == []


def test_written_survives_its_json_round_trip() -> None:
    written = Written("hola", "llm", model="m/x", prompt_tokens=1, completion_tokens=2, cost=0.5, llm_latency_ms=3.0)
    assert Written.from_json(written.to_json()) == written


def test_a_completion_without_usage_still_reads() -> None:
    body = {"model": "m/x", "choices": [{"message": {"content": "hola"}}]}
    read = parse_completion(body, requested=("m/x",), latency_ms=1.0)
    assert (read.text, read.prompt_tokens, read.cost) == ("hola", None, None)
    with pytest.raises(OpenRouterError) as caught:
        parse_completion({"choices": []}, requested=("m/x",), latency_ms=1.0)
    assert caught.value.kind == "bad_response"
