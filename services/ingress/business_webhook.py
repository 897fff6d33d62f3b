"""The business's payment webhook, pure: its HMAC signature and its JSON body.

The business's system (the reference business API's outbox, or any business's adapter) POSTs
one JSON object per payment status change, signed with HMAC-SHA256 over the raw body in
``X-Business-Signature: sha256=<hex>`` with the secret both sides hold (``BUSINESS_WEBHOOK_SECRET``):

    {"purchase_id": 42, "status": "paid", "customer_phone": "+5215511111111",
     "package_name": "Pack 5 clases", "amount": 1100.0, "currency": "MXN",
     "valid_until": "2025-08-01T16:20:11Z", "occurred_at": "2025-06-02T16:20:11Z"}
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator

from contracts import PaymentUpdatedPayload
from services.ingress.webhook import InvalidWebhook

SIGNATURE_HEADER = "X-Business-Signature"
SIGNATURE_PREFIX = "sha256="
_HEX_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def signature_problem(secret: str, body: bytes, header: str | None) -> str | None:
    """Why `header` does not sign `body` with `secret` (None: it does). Constant-time comparison."""
    if not header or not header.strip():
        return f"missing {SIGNATURE_HEADER}"
    given = header.strip()
    if not given.lower().startswith(SIGNATURE_PREFIX) or not _HEX_SHA256.match(given[len(SIGNATURE_PREFIX):]):
        return f"malformed {SIGNATURE_HEADER}: expected {SIGNATURE_PREFIX}<64 hex digits>"
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), given[len(SIGNATURE_PREFIX):].lower().encode()):
        return f"invalid {SIGNATURE_HEADER}: it does not sign this body with the shared secret"
    return None


class PaymentNotice(BaseModel):
    """The body the business sends; unknown fields are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    purchase_id: StrictInt | Annotated[str, Field(min_length=1, max_length=100)]
    status: Literal["paid", "failed"]
    customer_phone: Annotated[str, Field(description="The customer's WhatsApp number, +E164 (whatsapp: accepted)")]
    package_name: Annotated[str, Field(max_length=200)] = ""
    amount: Annotated[float, Field(ge=0)] | None = None
    currency: Annotated[str, Field(pattern=r"^(?:[A-Z]{3})?$")] = ""
    valid_until: AwareDatetime | None = None
    occurred_at: AwareDatetime

    @field_validator("customer_phone")
    @classmethod
    def _e164(cls, value: str) -> str:
        number = value.strip().removeprefix("whatsapp:")
        if not _E164.match(number):
            raise ValueError("must be a phone number in E.164 form such as +5215511111111")
        return number


def parse_payment(body: bytes) -> PaymentUpdatedPayload:
    """The `payment.updated` payload of a verified body; `InvalidWebhook` says what is wrong."""
    try:
        notice = PaymentNotice.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            raise InvalidWebhook("the body is not valid JSON") from None
        if first["type"] == "model_type":
            raise InvalidWebhook("the body must be a JSON object") from None
        where = str(first["loc"][0]) if first["loc"] else "body"
        if first["type"] == "missing":
            raise InvalidWebhook(f"missing field {where}") from None
        raise InvalidWebhook(f"field {where}: {first['msg']}") from None
    return PaymentUpdatedPayload(
        customer=f"whatsapp:{notice.customer_phone}",
        purchase_id=str(notice.purchase_id),
        status=notice.status,
        package=notice.package_name,
        amount=notice.amount,
        currency=notice.currency,
        valid_until=notice.valid_until,
        occurred_at=notice.occurred_at,
    )
