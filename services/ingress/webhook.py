"""Pure parsing of Twilio's inbound WhatsApp and status-callback form fields into event payloads."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import TypeVar

from contracts import Location, Media, MessageReceivedPayload, ReplyStatusPayload

WHATSAPP_ADDRESS = re.compile(r"^whatsapp:\+[1-9]\d{6,14}$")
MAX_MEDIA = 10
N = TypeVar("N", int, float)


class InvalidWebhook(ValueError):
    """The webhook's fields are missing or malformed; the reason is safe to return to the caller."""


def _required(form: Mapping[str, str], name: str) -> str:
    value = form.get(name, "").strip()
    if not value:
        raise InvalidWebhook(f"missing field {name}")
    return value


def _address(form: Mapping[str, str], name: str) -> str:
    value = _required(form, name)
    if not WHATSAPP_ADDRESS.match(value):
        raise InvalidWebhook(f"field {name} is not a WhatsApp address (whatsapp:+E164)")
    return value


def _number(form: Mapping[str, str], name: str, kind: type[N]) -> N | None:
    raw = _optional(form, name)
    if raw is None:
        return None
    try:
        return kind(raw)
    except ValueError:
        raise InvalidWebhook(f"field {name} is not a number") from None


def _optional(form: Mapping[str, str], name: str) -> str | None:
    value = form.get(name, "").strip()
    return value or None


def parse_inbound(form: Mapping[str, str], *, received_at: datetime) -> MessageReceivedPayload:
    num_media = _number(form, "NumMedia", int) or 0
    if not 0 <= num_media <= MAX_MEDIA:
        raise InvalidWebhook(f"field NumMedia must be between 0 and {MAX_MEDIA}")
    media = tuple(
        Media(url=_required(form, f"MediaUrl{i}"), content_type=_required(form, f"MediaContentType{i}"))
        for i in range(num_media)
    )
    latitude, longitude = _number(form, "Latitude", float), _number(form, "Longitude", float)
    location = None
    if latitude is not None and longitude is not None:
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise InvalidWebhook("fields Latitude/Longitude are out of range")
        location = Location(latitude=latitude, longitude=longitude, label=_optional(form, "Label"),
                            address=_optional(form, "Address"))
    return MessageReceivedPayload(
        message_sid=_required(form, "MessageSid"),
        account_sid=_required(form, "AccountSid"),
        customer=_address(form, "From"),
        business=_address(form, "To"),
        body=form.get("Body", ""),
        num_media=num_media,
        media=media,
        profile_name=_optional(form, "ProfileName"),
        wa_id=_optional(form, "WaId"),
        button_text=_optional(form, "ButtonText"),
        button_payload=_optional(form, "ButtonPayload"),
        location=location,
        received_at=received_at,
    )


def parse_status(form: Mapping[str, str]) -> ReplyStatusPayload:
    error_code = _number(form, "ErrorCode", int) or None
    return ReplyStatusPayload(
        message_sid=_required(form, "MessageSid"),
        status=_required(form, "MessageStatus"),
        account_sid=_required(form, "AccountSid"),
        to=_optional(form, "To"),
        from_=_optional(form, "From"),
        error_code=error_code,
        error_message=_optional(form, "ErrorMessage"),
    )
