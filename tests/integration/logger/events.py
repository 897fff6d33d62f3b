"""Events for the logger's tests: distinct inbound messages, one conversation per `conversation`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from contracts import MessageReceived, MessageReceivedPayload, inbound_event_id

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def message(body: str = "hola", *, conversation: int = 0, event_id: str | None = None) -> MessageReceived:
    sid = f"SM{uuid.uuid4().hex}"
    event_id = event_id or inbound_event_id(sid)
    customer = f"whatsapp:+52155{conversation:08d}"
    return MessageReceived(
        event_id=event_id, type="message.received", occurred_at=NOW, conversation_id=customer,
        correlation_id=event_id,
        payload=MessageReceivedPayload(message_sid=sid, account_sid="AC1", customer=customer,
                                       business="whatsapp:+14155238886", body=body, received_at=NOW),
    )
