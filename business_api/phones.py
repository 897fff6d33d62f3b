"""Customers are identified by their WhatsApp number, stored in E.164 (``+5215512345678``)."""

from __future__ import annotations

import re

from business_api.errors import InvalidRequest

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_SEPARATORS = re.compile(r"[\s().-]")


def normalize_phone(raw: str | None, *, source: str = "the X-Client-Phone header") -> str:
    """``whatsapp:+52 1 55-1234-5678`` -> ``+5215512345678``; 422 when missing or not E.164."""
    if raw is None or not raw.strip():
        raise InvalidRequest("missing_client_phone", f"{source} (the customer's WhatsApp number) is required")
    value = raw.strip()
    if value.lower().startswith("whatsapp:"):
        value = value[len("whatsapp:") :]
    value = _SEPARATORS.sub("", value)
    if not E164.match(value):
        raise InvalidRequest(
            "invalid_client_phone",
            f"{source}: {raw.strip()!r} is not a phone number in E.164 form such as +5215512345678",
        )
    return value


def normalize_query_phone(raw: str, *, source: str) -> str:
    """Like `normalize_phone`, for a query parameter where an unencoded ``+`` arrived as a space."""
    if raw.startswith(" ") and raw.strip()[:1].isdigit():
        raw = "+" + raw.strip()
    return normalize_phone(raw, source=source)
