"""The delayed receipt, in responder: sent through its own Twilio sender when no reply to the
message went out within N seconds; not sent when one did; never sent twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from services.ingress.settings import IngressSettings
from services.responder.adapters.ledger import ReplyLedger
from services.responder.adapters.twilio import TwilioSender
from services.responder.receipt import MAX_LATE_S, DelayedReceipts
from services.responder.settings import ResponderSettings
from tests.integration.responder.conftest import CALLBACK
from tests.integration.responder.events import message_received, new_customer
from tests.integration.responder.standin import Standin

RECEIPT = "Mensaje recibido"



async def settled(receipts: DelayedReceipts, timeout: float = 10.0) -> None:
    """Bounded polling until every receipt timer has run to its end."""
    deadline = asyncio.get_running_loop().time() + timeout
    while receipts.waiting:
        assert asyncio.get_running_loop().time() < deadline, "receipt timers still waiting"
        await asyncio.sleep(0.02)


async def test_receipt_only_when_no_reply_went_out(standin: Standin, chained_sender: TwilioSender,
                                                   redis: Redis) -> None:
    ledger = ReplyLedger(redis)
    receipts = DelayedReceipts(text=RECEIPT, after_s=0.3, sender=chained_sender, ledger=ledger)
    slow, fast = message_received(new_customer()), message_received(new_customer())
    for event in (slow, fast):
        assert await receipts.handle(event) == [], "the receipt is not an event"
    assert receipts.waiting == 2
    # A reply to the fast message goes out within the 0.3 s: the ledger records it for its chain.
    await ledger.record_sent("reply-" + fast.event_id, "SMfast", fast.correlation_id)
    await settled(receipts)

    assert await standin.messages(to=fast.payload.customer) == []
    sent = await standin.messages(to=slow.payload.customer)
    assert [(m["to"], m["from"], m["body"]) for m in sent] == [
        (slow.payload.customer, slow.payload.business, RECEIPT)]
    # Its delivery callbacks name the chain, like a reply's.
    assert sent[0]["status_callback"] == f"{CALLBACK}?correlation_id={slow.correlation_id}"


async def test_the_receipt_waits_the_configured_time(standin: Standin, chained_sender: TwilioSender,
                                                     redis: Redis) -> None:
    receipts = DelayedReceipts(text=RECEIPT, after_s=0.5, sender=chained_sender, ledger=ReplyLedger(redis))
    event = message_received(new_customer())
    started = asyncio.get_running_loop().time()
    await receipts.handle(event)
    await settled(receipts)
    assert asyncio.get_running_loop().time() - started >= 0.45
    assert [m["body"] for m in await standin.messages(to=event.payload.customer)] == [RECEIPT]


async def test_a_redelivered_message_gets_one_receipt(standin: Standin, chained_sender: TwilioSender,
                                                      redis: Redis) -> None:
    ledger = ReplyLedger(redis)
    replica_a = DelayedReceipts(text=RECEIPT, after_s=0.2, sender=chained_sender, ledger=ledger)
    replica_b = DelayedReceipts(text=RECEIPT, after_s=0.2, sender=chained_sender, ledger=ledger)
    event = message_received(new_customer())
    for receipts in (replica_a, replica_a, replica_b):  # redelivered, and consumed again after a rebalance
        await receipts.handle(event)
    await settled(replica_a)
    await settled(replica_b)
    assert [m["body"] for m in await standin.messages(to=event.payload.customer)] == [RECEIPT]


async def test_no_receipt_for_a_throttled_or_long_past_message(standin: Standin, chained_sender: TwilioSender,
                                                               redis: Redis) -> None:
    receipts = DelayedReceipts(text=RECEIPT, after_s=0.2, sender=chained_sender, ledger=ReplyLedger(redis))
    throttled = message_received(new_customer(), throttled=True)
    old = message_received(new_customer(), received_at=datetime.now(UTC) - timedelta(seconds=MAX_LATE_S + 5))
    for event in (throttled, old):
        await receipts.handle(event)
    assert receipts.waiting == 0, "no timer started"
    assert await standin.messages() == []


async def test_aclose_cancels_the_waiting_receipts(standin: Standin, chained_sender: TwilioSender,
                                                   redis: Redis) -> None:
    """A responder stopped during the wait loses the receipt (documented: best effort)."""
    receipts = DelayedReceipts(text=RECEIPT, after_s=30, sender=chained_sender, ledger=ReplyLedger(redis))
    await receipts.handle(message_received(new_customer()))
    assert receipts.waiting == 1
    await receipts.aclose()
    assert receipts.waiting == 0
    assert await standin.messages() == []


def test_both_services_read_the_shared_receipt_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECEIPT_TEXT", RECEIPT)
    monkeypatch.setenv("RECEIPT_AFTER_S", "8")
    ingress, responder = IngressSettings(), ResponderSettings()
    assert (ingress.receipt_text, ingress.receipt_after_s, ingress.instant_receipt_text) == (RECEIPT, 8.0, None)
    assert (responder.receipt_text, responder.receipt_after_s, responder.delayed_receipt) == (RECEIPT, 8.0, True)

    monkeypatch.setenv("RECEIPT_AFTER_S", "0")
    assert IngressSettings().instant_receipt_text == RECEIPT
    assert not ResponderSettings().delayed_receipt

    monkeypatch.delenv("RECEIPT_TEXT")
    monkeypatch.delenv("RECEIPT_AFTER_S")
    monkeypatch.setenv("INGRESS_RECEIPT_TEXT", RECEIPT)  # the former names still work, for both
    monkeypatch.setenv("INGRESS_RECEIPT_AFTER_S", "5")
    assert IngressSettings().instant_receipt_text is None
    assert ResponderSettings().delayed_receipt
