"""Messages staff write through the admin API are sent by responder, once, as written."""

from __future__ import annotations

from datetime import UTC, datetime

from redis.asyncio import Redis

from contracts import StaffActed, StaffPayload, staff_event_id
from services.responder.adapters.ledger import ReplyLedger
from services.responder.adapters.twilio import TwilioSender
from services.responder.handler import STAFF_TEMPLATE, ResponderDeps, handle_staff
from tests.integration.responder.events import BUSINESS, new_customer
from tests.integration.responder.standin import Standin


def staff_acted(customer: str, action: str, body: str = "") -> StaffActed:
    event_id = staff_event_id(f"{customer}/{action}")
    return StaffActed(event_id=event_id, type="staff.acted", occurred_at=datetime.now(UTC), conversation_id=customer,
                      correlation_id=event_id,
                      payload=StaffPayload(customer=customer, action=action, body=body,  # type: ignore[arg-type]
                                           request_id=f"{customer}/{action}"))


async def test_a_staff_message_is_sent_once_as_written(standin: Standin, sender: TwilioSender, redis: Redis) -> None:
    customer = new_customer()
    deps = ResponderDeps(sender=sender, ledger=ReplyLedger(redis), business_name="Estudio Sol Pilates",
                         business_number=BUSINESS)
    event = staff_acted(customer, "reply", "Hola, soy Carla del estudio. Ya quedó tu cambio 🙂")
    [first] = await handle_staff(event, deps)
    [again] = await handle_staff(event, deps)  # redelivered
    sent = await standin.messages(to=customer)
    assert [m["body"] for m in sent] == ["Hola, soy Carla del estudio. Ya quedó tu cambio 🙂"]
    assert sent[0]["from"] == BUSINESS
    assert first.event.payload.template == STAFF_TEMPLATE  # type: ignore[attr-defined]
    assert first.event.event_id == again.event.event_id


async def test_a_hand_back_sends_nothing(standin: Standin, sender: TwilioSender, redis: Redis) -> None:
    customer = new_customer()
    deps = ResponderDeps(sender=sender, ledger=ReplyLedger(redis), business_name="X", business_number=BUSINESS)
    assert await handle_staff(staff_acted(customer, "hand_back"), deps) == []
    assert await standin.messages(to=customer) == []
