"""Deterministic event ids.

An event caused by event X gets an id derived from X's id and the stage that produced it, so
reprocessing X yields the same id and every consumer can be idempotent by id. Inbound events
derive theirs from Twilio's own ids (MessageSid, and MessageSid + status for callbacks), so a
webhook retried by Twilio maps to the same event.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

_NAMESPACE = uuid.UUID("6f1c2a7e-4b7d-5d2f-9a54-3c1e0b8f2d11")


def derive_event_id(cause_event_id: str, stage: str) -> str:
    """The id of the event that `stage` produces in response to the event `cause_event_id`."""
    return str(uuid.uuid5(_NAMESPACE, f"{cause_event_id}/{stage}"))


def inbound_event_id(message_sid: str) -> str:
    """The id of `message.received` for Twilio's inbound message `message_sid`."""
    return str(uuid.uuid5(_NAMESPACE, f"twilio-inbound/{message_sid}"))


def status_event_id(message_sid: str, status: str) -> str:
    """The id of `reply.status` for one delivery status of an outbound message."""
    return str(uuid.uuid5(_NAMESPACE, f"twilio-status/{message_sid}/{status}"))


def payment_event_id(purchase_id: str, status: str, occurred_at: datetime) -> str:
    """The id of `payment.updated` for one status change of one purchase, as the business recorded it: its
    retries of the same notice map to it; a purchase id reused by another database does not."""
    moment = occurred_at.astimezone(UTC).isoformat()
    return str(uuid.uuid5(_NAMESPACE, f"business-payment/{purchase_id}/{status}/{moment}"))


def staff_event_id(request_id: str) -> str:
    """The id of `staff.acted` for one admin request (its idempotency key): a retried request maps to it."""
    return str(uuid.uuid5(_NAMESPACE, f"staff/{request_id}"))
