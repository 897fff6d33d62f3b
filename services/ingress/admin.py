"""The staff's admin API: answer a customer whose conversation was handed to a person, and hand it back.

    POST /admin/conversations/{customer}/messages   {"text": "...", "staff": "Carla"}
    POST /admin/conversations/{customer}/hand-back

Both need `Authorization: Bearer <INGRESS_ADMIN_TOKEN>` (the API is off when the token is unset)
and publish a `staff.acted` event: responder sends the message (only responder talks to Twilio),
actions ends the bot's silence on a hand-back. An `Idempotency-Key` header makes a retried request
publish the same event id; without one, each request is new. `customer` is the WhatsApp address
(`whatsapp:+5215511111111`) or the bare number (`+5215511111111`).
"""

from __future__ import annotations

import hmac
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Header, HTTPException
from pydantic import BaseModel, Field

from contracts import STAFF_ACTED, StaffActed, StaffPayload, staff_event_id
from services.ingress.handler import Publishes

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class StaffMessage(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=1600, description="What to send, as is")]
    staff: Annotated[str, Field(max_length=80)] = "staff"


class Accepted(BaseModel):
    event_id: str
    customer: str


def admin_routes(*, token: str, business_number: str, publisher: Publishes) -> APIRouter:
    router = APIRouter(prefix="/admin")

    def authorize(authorization: str | None) -> None:
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(status_code=401, detail="a valid Authorization: Bearer token is required")

    async def publish(customer: str, action: Literal["reply", "hand_back"], key: str | None, *, body: str = "",
                      staff: str = "staff") -> Accepted:
        address = _address(customer)
        request_id = f"{address}/{key}" if key else uuid.uuid4().hex
        event_id = staff_event_id(request_id)
        event = StaffActed(
            event_id=event_id, type=StaffActed.TYPE, occurred_at=datetime.now(UTC), conversation_id=address,
            correlation_id=event_id, payload=StaffPayload(customer=address, business=business_number, staff=staff,
                                                          action=action, body=body, request_id=request_id),
        )
        try:
            await publisher.publish(STAFF_ACTED, event)
        except (KafkaError, OSError):
            raise HTTPException(status_code=503, detail="temporarily unavailable, retry later") from None
        return Accepted(event_id=event_id, customer=address)

    @router.post("/conversations/{customer}/messages", status_code=202)
    async def send_message(customer: str, message: StaffMessage,
                           authorization: Annotated[str | None, Header()] = None,
                           idempotency_key: Annotated[str | None, Header()] = None) -> Accepted:
        authorize(authorization)
        return await publish(customer, "reply", idempotency_key, body=message.text, staff=message.staff)

    @router.post("/conversations/{customer}/hand-back", status_code=202)
    async def hand_back(customer: str, authorization: Annotated[str | None, Header()] = None,
                        idempotency_key: Annotated[str | None, Header()] = None) -> Accepted:
        authorize(authorization)
        return await publish(customer, "hand_back", idempotency_key)

    return router


def _address(customer: str) -> str:
    number = customer.removeprefix("whatsapp:").strip()
    if not E164.match(number):
        raise HTTPException(status_code=400, detail="customer must be a WhatsApp number such as +5215511111111")
    return f"whatsapp:{number}"
