"""After a crash between claiming a reply and recording it, only a message sent since the claim
counts as that reply: the same fixed text sent to the customer earlier must not stop it."""

from __future__ import annotations

from datetime import timedelta

from redis.asyncio import Redis

from contracts import derive_event_id
from services.responder.adapters.ledger import ReplyLedger, claimed_at
from services.responder.adapters.twilio import TwilioSender
from services.responder.handler import STAGE, ResponderDeps, handle
from services.responder.writer import ReplyWriter
from tests.integration.responder.events import BUSINESS, acknowledged, new_customer
from tests.integration.responder.standin import Standin

BUSINESS_NAME = "Estudio Sol Pilates"
FIXED_TEXT = "¡Perfecto! ¿Te ayudo con algo más?"


async def crashed_claim(ledger: ReplyLedger, reply_id: str) -> str:
    """The ledger state a crash right after the claim leaves: what the redelivery then finds."""
    assert await ledger.claim(reply_id) is None  # the attempt that crashed
    state = await ledger.claim(reply_id)
    assert state is not None and state.startswith("sending:")
    return state


async def test_the_same_text_sent_earlier_is_not_this_reply(standin: Standin, sender: TwilioSender,
                                                            redis: Redis) -> None:
    customer = new_customer()
    since = claimed_at(await crashed_claim(ReplyLedger(redis), derive_event_id(customer, STAGE)))
    for earlier in (timedelta(hours=23), timedelta(minutes=5), timedelta(seconds=1)):
        await standin.sent_earlier(to=customer, from_=BUSINESS, body=FIXED_TEXT, date_sent=since - earlier)
    assert await sender.find_sent(to=customer, from_=BUSINESS, body=FIXED_TEXT, since=since) is None


async def test_a_message_sent_since_the_claim_is_found(standin: Standin, sender: TwilioSender,
                                                       redis: Redis) -> None:
    customer = new_customer()
    since = claimed_at(await crashed_claim(ReplyLedger(redis), derive_event_id(customer, STAGE)))
    await standin.sent_earlier(to=customer, from_=BUSINESS, body=FIXED_TEXT, date_sent=since - timedelta(hours=2))
    # Twilio's date_sent has whole seconds: a message sent in the claim's own second is found.
    same_second = await standin.sent_earlier(to=customer, from_=BUSINESS, body=FIXED_TEXT,
                                             date_sent=since.replace(microsecond=0))
    assert await sender.find_sent(to=customer, from_=BUSINESS, body=FIXED_TEXT, since=since) == same_second
    assert await sender.find_sent(to=customer, from_=BUSINESS, body="otro texto", since=since) is None


async def test_a_claimed_but_unrecorded_reply_is_sent_despite_yesterdays_copy(
    standin: Standin, sender: TwilioSender, redis: Redis
) -> None:
    customer = new_customer()
    event = acknowledged(customer)
    body = ReplyWriter(BUSINESS_NAME).draft(event)
    assert body == FIXED_TEXT
    ledger = ReplyLedger(redis)
    since = claimed_at(await crashed_claim(ledger, derive_event_id(event.event_id, STAGE)))
    yesterday = await standin.sent_earlier(to=customer, from_=BUSINESS, body=body,
                                           date_sent=since - timedelta(hours=23))

    outputs = await handle(event, ResponderDeps(sender=sender, ledger=ledger, business_name=BUSINESS_NAME))

    sent = await standin.messages(to=customer)
    assert [m["body"] for m in sent] == [body, body], "today's reply went out after yesterday's"
    assert len(outputs) == 1
    reply = outputs[0].event
    assert reply.type == "reply.sent"
    assert reply.payload.message_sid == sent[-1]["sid"] != yesterday  # type: ignore[attr-defined]
