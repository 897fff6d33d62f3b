from __future__ import annotations

from datetime import UTC, datetime

import pytest

from devstack.webhooks import inbound_params
from services.ingress.webhook import InvalidWebhook, parse_inbound, parse_status

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def params(**extra: str) -> dict[str, str]:
    return inbound_params(body="hola", customer="whatsapp:+5215500000001", business="whatsapp:+14155238886",
                          account_sid="AC1", **extra)


def test_text_message_is_carried_typed() -> None:
    payload = parse_inbound(params(ButtonText="Sí", ButtonPayload="yes"), received_at=NOW)
    assert payload.body == "hola" and payload.customer == "whatsapp:+5215500000001"
    assert payload.profile_name == "Cliente Demo" and payload.wa_id == "5215500000001"
    assert (payload.button_text, payload.button_payload) == ("Sí", "yes")
    assert payload.media == () and payload.location is None


def test_media_and_location_are_first_class() -> None:
    form = params(NumMedia="2", MediaUrl0="https://m/0", MediaContentType0="audio/ogg",
                  MediaUrl1="https://m/1", MediaContentType1="image/jpeg", Latitude="19.43", Longitude="-99.13",
                  Body="")
    payload = parse_inbound(form, received_at=NOW)
    assert [m.content_type for m in payload.media] == ["audio/ogg", "image/jpeg"]
    assert payload.location is not None and payload.location.latitude == pytest.approx(19.43)


@pytest.mark.parametrize(("change", "reason"), [
    ({"From": ""}, "missing field From"),
    ({"From": "+5215500000001"}, "field From is not a WhatsApp address"),
    ({"MessageSid": ""}, "missing field MessageSid"),
    ({"NumMedia": "x"}, "field NumMedia is not a number"),
    ({"NumMedia": "1"}, "missing field MediaUrl0"),
    ({"NumMedia": "99"}, "NumMedia must be between"),
    ({"Latitude": "100", "Longitude": "0"}, "out of range"),
])
def test_malformed_fields_give_a_reason(change: dict[str, str], reason: str) -> None:
    with pytest.raises(InvalidWebhook, match=reason):
        parse_inbound({**params(), **change}, received_at=NOW)


def test_status_callback() -> None:
    status = parse_status({"MessageSid": "SM9", "MessageStatus": "undelivered", "AccountSid": "AC1",
                           "To": "whatsapp:+5215500000001", "ErrorCode": "63016"})
    assert (status.status, status.error_code) == ("undelivered", 63016)
    with pytest.raises(InvalidWebhook, match="MessageStatus"):
        parse_status({"MessageSid": "SM9", "AccountSid": "AC1"})
