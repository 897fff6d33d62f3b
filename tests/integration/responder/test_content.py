"""Quick replies and list pickers through Twilio's Content API (the stand-in), cached in Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from contracts import ReplySent
from runtime.settings import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, settings_errors
from runtime.stage import Output
from services.responder.adapters.content import ApprovedTemplate, ContentRegistry, InvalidInteractive
from services.responder.adapters.ledger import ReplyLedger
from services.responder.adapters.twilio import TwilioSender
from services.responder.handler import ResponderDeps, send_once
from services.responder.interactive import Choice, Interactive
from services.responder.settings import ResponderSettings
from tests.integration.responder.events import BUSINESS, acknowledged, new_customer
from tests.integration.responder.standin import Standin

CONFIRM = Interactive(kind="quick_reply", body="¿Confirmo tu clase del martes a las 19:00?", choices=(
    Choice("act:afirmar", "Sí, confírmala"), Choice("act:negar", "No, gracias")))
TIMES = Interactive(kind="list", body="¿A qué hora te viene bien?", button="Ver horarios", choices=(
    Choice("time:18:00", "18:00", "Reformer"), Choice("time:19:00", "19:00", "Mat"),
    Choice("time:20:00", "20:00 🌙", "Reformer, última")))

RegistryFactory = Callable[[], ContentRegistry]


@pytest.fixture
async def registries(standin: Standin, redis: Redis) -> AsyncIterator[RegistryFactory]:
    """New registries sharing one Redis cache (own to this test: each test has its own stand-in)."""
    prefix = f"test:content:{uuid.uuid4().hex}:"
    made: list[ContentRegistry] = []

    def make() -> ContentRegistry:
        registry = ContentRegistry(httpx.AsyncClient(trust_env=False), redis, account_sid=DEMO_ACCOUNT_SID,
                                   auth_token=DEMO_AUTH_TOKEN, base_url=standin.url, backoff_s=0.01, prefix=prefix)
        made.append(registry)
        return registry

    yield make
    for registry in made:
        await registry.aclose()
    await redis.delete(*[key async for key in redis.scan_iter(prefix + "*")] or [prefix])


async def contents(standin: Standin) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.get(standin.url + "/v1/Content", auth=(DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN))
        response.raise_for_status()
        return list(response.json()["contents"])


async def send(deps: ResponderDeps, interactive: Interactive | None = None, *, body: str | None = None,
               approved: ApprovedTemplate | None = None) -> tuple[str, ReplySent]:
    customer = new_customer()
    text = body if body is not None else (interactive.body if interactive else "hola")
    outputs = await send_once(acknowledged(customer), to=customer, from_=BUSINESS, body=text, template="test",
                              deps=deps, interactive=interactive, approved=approved)
    return customer, sent_event(outputs)


def sent_event(outputs: list[Output]) -> ReplySent:
    [output] = outputs
    assert isinstance(output.event, ReplySent), output.event
    return output.event


async def test_the_same_choices_create_one_content_reused_after_a_restart(
    standin: Standin, sender: TwilioSender, redis: Redis, registries: RegistryFactory
) -> None:
    deps = ResponderDeps(sender=sender, ledger=ReplyLedger(redis), business_name="x", content=registries())
    other_text = Interactive(kind="quick_reply", body="¿Reservo también el jueves?", choices=CONFIRM.choices)

    _, first = await send(deps, CONFIRM)
    _, second = await send(deps, other_text)

    [content] = await contents(standin)
    assert first.payload.content_sid == second.payload.content_sid == content["sid"]
    restarted = registries()  # nothing in memory: the sid comes from Redis
    assert await restarted.sid_for(CONFIRM) == content["sid"]
    assert len(await contents(standin)) == 1, "no second POST /v1/Content"
    assert await restarted.sid_for(TIMES) != content["sid"]
    assert len(await contents(standin)) == 2


async def test_a_quick_reply_arrives_with_its_buttons(standin: Standin, sender: TwilioSender, redis: Redis,
                                                      registries: RegistryFactory) -> None:
    deps = ResponderDeps(sender=sender, ledger=ReplyLedger(redis), business_name="x", content=registries())

    customer, sent = await send(deps, CONFIRM)

    [message] = await standin.messages(to=customer)
    assert message["sid"] == sent.payload.message_sid and message["content_sid"] == sent.payload.content_sid
    assert (message["content_type"], message["body"]) == ("twilio/quick-reply", CONFIRM.body)
    assert message["actions"] == [{"id": c.id, "title": c.title} for c in CONFIRM.choices]


async def test_a_list_arrives_with_its_items_and_button(standin: Standin, sender: TwilioSender, redis: Redis,
                                                        registries: RegistryFactory) -> None:
    deps = ResponderDeps(sender=sender, ledger=ReplyLedger(redis), business_name="x", content=registries())

    customer, sent = await send(deps, TIMES)

    [message] = await standin.messages(to=customer)
    assert (message["content_type"], message["body"], message["button"]) == (
        "twilio/list-picker", TIMES.body, "Ver horarios")
    assert message["items"] == [{"id": c.id, "item": c.title, "description": c.description} for c in TIMES.choices]
    assert sent.payload.content_sid == message["content_sid"]


async def test_without_content_the_text_goes_plain(standin: Standin, sender: TwilioSender, redis: Redis,
                                                   registries: RegistryFactory) -> None:
    deps = ResponderDeps(sender=sender, ledger=ReplyLedger(redis), business_name="x", content=registries())
    async with httpx.AsyncClient(trust_env=False) as client:  # every try of the registry's 2 fails
        await client.post(standin.url + "/_standin/failures", json={"api": "content", "code": 500, "count": 2})
    too_many = Interactive(kind="quick_reply", body="¿Cuál?", choices=tuple(
        Choice(f"o{n}", f"Opción {n}") for n in range(4)))

    refused, sent_refused = await send(deps, CONFIRM)
    invalid, sent_invalid = await send(deps, too_many)

    for customer, sent, text in ((refused, sent_refused, CONFIRM.body), (invalid, sent_invalid, "¿Cuál?")):
        [message] = await standin.messages(to=customer)
        assert (message["body"], message["content_sid"], message["actions"]) == (text, None, [])
        assert sent.payload.content_sid is None
    assert await contents(standin) == [], "the 4-button quick reply never reached the Content API"
    with pytest.raises(InvalidInteractive):
        await registries().sid_for(too_many)


async def test_an_approved_template_goes_with_its_variables(standin: Standin, sender: TwilioSender,
                                                            redis: Redis) -> None:
    async with httpx.AsyncClient(trust_env=False) as client:  # as approved in Twilio's Console
        created = await client.post(standin.url + "/v1/Content", auth=(DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN), json={
            "language": "es", "types": {"twilio/text": {"body": "Hola {{1}}, tenemos novedades de {{2}}."}}})
    template = ApprovedTemplate(created.json()["sid"], ("Ana", "Estudio Sol"))
    deps = ResponderDeps(sender=sender, ledger=ReplyLedger(redis), business_name="x")

    customer, sent = await send(deps, body="Hola Ana, tenemos novedades de Estudio Sol.", approved=template)

    [message] = await standin.messages(to=customer)
    assert (message["body"], message["content_sid"]) == ("Hola Ana, tenemos novedades de Estudio Sol.", template.sid)
    assert sent.payload.content_sid == template.sid


def test_the_content_api_follows_the_twilio_api_unless_set_and_a_bad_url_is_refused() -> None:
    twilio = ResponderSettings(TWILIO_API_BASE_URL=None, TWILIO_CONTENT_BASE_URL=None)
    assert twilio.content_base_url == "https://content.twilio.com"
    standin = ResponderSettings(TWILIO_API_BASE_URL="http://127.0.0.1:8091")
    assert standin.content_base_url == "http://127.0.0.1:8091"
    own = ResponderSettings(TWILIO_API_BASE_URL="http://127.0.0.1:8091", TWILIO_CONTENT_BASE_URL="https://c.example")
    assert own.content_base_url == "https://c.example"
    [line] = settings_errors(ResponderSettings, "responder", {"TWILIO_CONTENT_BASE_URL": "content.twilio.com"})
    assert line.startswith("error: responder: TWILIO_CONTENT_BASE_URL=content.twilio.com: ")
