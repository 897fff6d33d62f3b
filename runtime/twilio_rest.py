"""The Twilio REST client, pointed at Twilio or (demo, tests) at a server speaking its wire format."""

from __future__ import annotations

from twilio.rest import Client

REPLIED_PREFIX = "responder:replied:"  # set by responder when a chain's reply went out (key: correlation id)


def twilio_client(account_sid: str, auth_token: str, *, api_base_url: str | None) -> Client:
    client = Client(account_sid, auth_token)
    if api_base_url:
        client.api.base_url = api_base_url.rstrip("/")
    return client
