"""Events as the stages before responder publish them, for the responder's tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from contracts import (
    ActionCompleted,
    ActionCompletedPayload,
    ActionOutcome,
    MessageReceived,
    MessageReceivedPayload,
    inbound_event_id,
)
from contracts.replies import Acknowledged, Reply
from runtime.settings import DEMO_ACCOUNT_SID

BUSINESS = "whatsapp:+14155238886"


def new_customer() -> str:
    return "whatsapp:+52155" + str(uuid.uuid4().int)[:8]


def message_received(customer: str, *, received_at: datetime | None = None,
                     throttled: bool = False) -> MessageReceived:
    sid = "SM" + uuid.uuid4().hex
    event_id = inbound_event_id(sid)
    received = received_at or datetime.now(UTC)
    return MessageReceived(
        event_id=event_id, type=MessageReceived.TYPE, occurred_at=received, conversation_id=customer,
        correlation_id=event_id, causation_id=None,
        payload=MessageReceivedPayload(message_sid=sid, account_sid=DEMO_ACCOUNT_SID, customer=customer,
                                       business=BUSINESS, body="hola", received_at=received,
                                       throttled=throttled),
    )


def acknowledged(customer: str, *, reply: Reply | None = None, received_at: datetime | None = None,
                 unprompted: bool = False) -> ActionCompleted:
    """An `action.completed` answering a message the customer just wrote (`received_at`: now), whose
    reply is by default a fixed text («¡Perfecto! ¿Te ayudo con algo más?»); `unprompted`: a reply
    nobody asked for (a payment confirmed), with no inbound time."""
    chain = str(uuid.uuid4())
    return ActionCompleted(
        event_id=str(uuid.uuid4()), type=ActionCompleted.TYPE, occurred_at=datetime.now(UTC),
        conversation_id=customer, correlation_id=chain, causation_id=str(uuid.uuid4()),
        payload=ActionCompletedPayload(customer=customer, business=BUSINESS, intent="afirmar",
                                       action="acknowledge", outcome=ActionOutcome.ANSWERED,
                                       reply=reply or Acknowledged(),
                                       received_at=None if unprompted else received_at or datetime.now(UTC)),
    )
