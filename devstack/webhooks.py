"""Build and sign webhooks exactly as Twilio does, for the demo CLI, the tests and the benchmarks."""

from __future__ import annotations

import uuid
from typing import Any

from twilio.request_validator import RequestValidator


def new_message_sid() -> str:
    return "SM" + uuid.uuid4().hex


def inbound_params(*, body: str, customer: str, business: str, account_sid: str,
                   message_sid: str | None = None, profile_name: str | None = "Cliente Demo",
                   **extra: str) -> dict[str, str]:
    """The form fields of an inbound WhatsApp message, as Twilio posts them."""
    sid = message_sid or new_message_sid()
    params = {
        "SmsMessageSid": sid, "SmsSid": sid, "MessageSid": sid, "AccountSid": account_sid,
        "From": customer, "To": business, "Body": body, "NumMedia": "0", "NumSegments": "1",
        "SmsStatus": "received", "ApiVersion": "2010-04-01", "WaId": customer.removeprefix("whatsapp:+"),
        "MessageType": "text",
    }
    if profile_name:
        params["ProfileName"] = profile_name
    params.update(extra)
    return params


def sign(url: str, params: dict[str, str], auth_token: str) -> str:
    return str(RequestValidator(auth_token).compute_signature(url, params))


def signed_request(url: str, params: dict[str, str], auth_token: str) -> dict[str, Any]:
    """Keyword arguments for httpx's `post` that send `params` to `url` with a valid signature."""
    return {"data": params, "headers": {"X-Twilio-Signature": sign(url, params, auth_token),
                                        "I-Twilio-Idempotency-Token": uuid.uuid4().hex}}
