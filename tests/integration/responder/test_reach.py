"""The 24-hour window, the opt-out and buttons, through the responder's handler, Redis and the Twilio stand-in."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from contracts import ConversationOptedOut, ReplyFailed, ReplySent
from contracts.replies import ConfirmBooking, PaymentConfirmed
from runtime.settings import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN
from services.responder.adapters.content import ContentRegistry
from services.responder.adapters.ledger import ReplyLedger
from services.responder.adapters.reach_store import ReachStore
from services.responder.adapters.twilio import TwilioSender
from services.responder.handler import ResponderDeps, handle
from tests.integration.responder.events import acknowledged, new_customer
from tests.integration.responder.standin import Standin, running_standin

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
async def content(standin: Standin, redis: Redis) -> AsyncIterator[ContentRegistry]:
    async with httpx.AsyncClient(trust_env=False) as http:  # a cache of its own: each stand-in starts empty
        yield ContentRegistry(http, redis, account_sid=DEMO_ACCOUNT_SID, auth_token=DEMO_AUTH_TOKEN,
                              base_url=standin.url, prefix=f"test:content:{uuid.uuid4().hex}:")


def deps_for(sender: TwilioSender, redis: Redis, content: ContentRegistry | None = None, *, buttons: bool = False,
             approved: dict[str, str] | None = None) -> ResponderDeps:
    return ResponderDeps(sender=sender, ledger=ReplyLedger(redis), business_name="Estudio Sol Pilates",
                         content=content, reach=ReachStore(redis), buttons=buttons, approved_templates=approved or {})


async def test_a_reply_to_a_fresh_message_goes_out(standin: Standin, sender: TwilioSender, redis: Redis) -> None:
    customer = new_customer()
    [output] = await handle(acknowledged(customer), deps_for(sender, redis))
    assert isinstance(output.event, ReplySent)
    assert len(await standin.messages(to=customer)) == 1


async def test_outside_the_window_a_free_form_reply_is_not_sent(standin: Standin, sender: TwilioSender,
                                                                 redis: Redis) -> None:
    customer = new_customer()
    old = acknowledged(customer, received_at=NOW - dt.timedelta(hours=25))
    unprompted = acknowledged(customer, reply=PaymentConfirmed(package="Pack 10 clases"), unprompted=True)
    for event in (old, unprompted):
        [output] = await handle(event, deps_for(sender, redis))
        assert isinstance(output.event, ReplyFailed)
        assert (output.event.payload.error_code, output.event.payload.attempts) == (63016, 0)
    assert await standin.messages(to=customer) == [], "Twilio is never asked for a message it must refuse"


async def test_the_last_inbound_message_seen_keeps_the_window_open(standin: Standin, sender: TwilioSender,
                                                                   redis: Redis) -> None:
    customer = new_customer()
    await ReachStore(redis).inbound(customer, NOW - dt.timedelta(hours=2))
    await ReachStore(redis).inbound(customer, NOW - dt.timedelta(hours=30))  # an older one, redelivered: ignored
    event = acknowledged(customer, reply=PaymentConfirmed(package="Pack 10 clases"), unprompted=True)
    [output] = await handle(event, deps_for(sender, redis))
    assert isinstance(output.event, ReplySent)
    [message] = await standin.messages(to=customer)
    assert "Pack 10 clases" in message["body"]


async def test_outside_the_window_an_approved_template_goes_with_its_variables(standin: Standin, sender: TwilioSender,
                                                                                redis: Redis) -> None:
    async with httpx.AsyncClient(trust_env=False) as client:  # as approved in Twilio's Console
        created = await client.post(standin.url + "/v1/Content", auth=(DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN), json={
            "language": "es",
            "types": {"twilio/text": {"body": "¡Tu pago de {{1}} está confirmado! Vale{{2}}."}}})
    sid = created.json()["sid"]
    customer = new_customer()
    reply = PaymentConfirmed(package="Pack 10 clases", valid_until=dt.date(2027, 1, 31))
    [output] = await handle(acknowledged(customer, reply=reply, unprompted=True),
                            deps_for(sender, redis, approved={"payment_confirmed": sid}))
    assert isinstance(output.event, ReplySent)
    assert output.event.payload.content_sid == sid
    [message] = await standin.messages(to=customer)
    assert message["content_sid"] == sid
    assert message["body"] == "¡Tu pago de Pack 10 clases está confirmado! Vale, vigente hasta el 31/01/2027."


async def test_an_opted_out_customer_gets_nothing_until_they_write_again(standin: Standin, sender: TwilioSender,
                                                                         redis: Redis) -> None:
    customer = new_customer()
    store = ReachStore(redis)
    await store.inbound(customer, NOW - dt.timedelta(minutes=10))
    await store.opted_out(customer, NOW - dt.timedelta(minutes=5))
    [blocked] = await handle(acknowledged(customer, received_at=NOW - dt.timedelta(minutes=10)),
                             deps_for(sender, redis))
    assert isinstance(blocked.event, ReplyFailed)
    assert (blocked.event.payload.error_code, blocked.event.payload.attempts) == (21610, 0)
    assert await standin.messages(to=customer) == []

    [answered] = await handle(acknowledged(customer), deps_for(sender, redis))  # wrote again just now
    assert isinstance(answered.event, ReplySent)
    assert len(await standin.messages(to=customer)) == 1


async def test_twilio_refusing_with_21610_opts_the_conversation_out(standin: Standin, sender: TwilioSender,
                                                                   redis: Redis) -> None:
    customer = new_customer()
    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.post(standin.url + "/_standin/failures", json={"to": customer, "code": 21610})
        response.raise_for_status()
    first = acknowledged(customer, received_at=NOW - dt.timedelta(minutes=1))
    failed, opted_out = await handle(first, deps_for(sender, redis))
    assert isinstance(failed.event, ReplyFailed) and failed.event.payload.error_code == 21610
    assert isinstance(opted_out.event, ConversationOptedOut)
    assert opted_out.event.payload.source == "twilio"

    # The stand-in would accept it now; the responder does not even try until the customer writes.
    [blocked] = await handle(acknowledged(customer, received_at=NOW - dt.timedelta(minutes=1)),
                             deps_for(sender, redis))
    assert isinstance(blocked.event, ReplyFailed) and blocked.event.payload.attempts == 0
    assert await standin.messages(to=customer) == []


async def test_with_buttons_a_confirmation_goes_as_quick_replies(standin: Standin, sender: TwilioSender, redis: Redis,
                                                                 content: ContentRegistry) -> None:
    customer = new_customer()
    reply = ConfirmBooking(date=dt.date(2026, 12, 4), time="19:00", class_name="Pilates Mat")
    [output] = await handle(acknowledged(customer, reply=reply), deps_for(sender, redis, content, buttons=True))
    assert isinstance(output.event, ReplySent)
    [message] = await standin.messages(to=customer)
    assert message["content_sid"] == output.event.payload.content_sid is not None
    ids = [button["id"] for button in message["actions"]]
    assert ids == ["act:afirmar", "act:negar"]
    assert "19:00" in message["body"]


async def test_without_buttons_the_same_confirmation_is_plain_text(standin: Standin, sender: TwilioSender,
                                                                   redis: Redis, content: ContentRegistry) -> None:
    customer = new_customer()
    reply = ConfirmBooking(date=dt.date(2026, 12, 4), time="19:00", class_name="Pilates Mat")
    [output] = await handle(acknowledged(customer, reply=reply), deps_for(sender, redis, content))
    [message] = await standin.messages(to=customer)
    assert message["content_sid"] is None and output.event.payload.content_sid is None  # type: ignore[attr-defined]


async def test_a_content_twilio_no_longer_knows_is_forgotten_and_the_reply_goes_as_text(
        standin: Standin, sender: TwilioSender, redis: Redis) -> None:
    """A Content deleted in Twilio's Console (21655): plain text this time, a new Content the next."""
    prefix = f"test:content:{uuid.uuid4().hex}:"
    reply = ConfirmBooking(date=dt.date(2026, 12, 4), time="19:00", class_name="Pilates Mat")
    async with httpx.AsyncClient(trust_env=False) as http:
        registry = ContentRegistry(http, redis, account_sid=DEMO_ACCOUNT_SID, auth_token=DEMO_AUTH_TOKEN,
                                   base_url=standin.url, prefix=prefix)
        first = new_customer()
        await handle(acknowledged(first, reply=reply), deps_for(sender, redis, registry, buttons=True))
        [sent] = await standin.messages(to=first)
        stale = sent["content_sid"]
        async with running_standin() as other:  # a Twilio account that never saw that Content
            other_sender = TwilioSender.create(DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, api_base_url=other.url, attempts=1,
                                               backoff_s=0.01, status_callback=None)
            try:
                second, third = new_customer(), new_customer()
                [output] = await handle(acknowledged(second, reply=reply),
                                        deps_for(other_sender, redis, registry, buttons=True))
                assert isinstance(output.event, ReplySent) and output.event.payload.content_sid is None
                [plain] = await other.messages(to=second)
                assert plain["content_sid"] is None and "19:00" in plain["body"]
                registry_next = ContentRegistry(http, redis, account_sid=DEMO_ACCOUNT_SID, auth_token=DEMO_AUTH_TOKEN,
                                                base_url=other.url, prefix=prefix)
                await handle(acknowledged(third, reply=reply),
                             deps_for(other_sender, redis, registry_next, buttons=True))
                [fresh] = await other.messages(to=third)
                assert fresh["content_sid"] not in (None, stale)
            finally:
                await other_sender.aclose()
