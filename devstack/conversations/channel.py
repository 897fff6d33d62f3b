"""The customer's side of WhatsApp against a running stack: signed webhooks in, the stand-in's record out.

Shared by the conversation runner and the end-to-end tests: `Target` says where a stack is,
`WhatsApp` posts webhooks signed exactly as Twilio signs them (`devstack.webhooks`) and reads what
the bot sent from the Twilio stand-in (`GET /_standin/messages`), `wait_for` is the bounded
polling every wait uses (never a fixed sleep).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx

from contracts import inbound_event_id
from devstack.stack import DEMO_BUSINESS_NUMBER, DEMO_BUSINESS_TOKEN, Stack
from devstack.webhooks import inbound_params, signed_request
from runtime.settings import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN
from services.ingress.settings import DEMO_ADMIN_TOKEN

T = TypeVar("T")
WEBHOOK_PATH = "/webhooks/twilio/whatsapp"


class WaitTimeout(TimeoutError):
    """A bounded wait ended without its condition."""


async def wait_for(predicate: Callable[[], Awaitable[T | None]], *, timeout: float = 30.0,
                   interval: float = 0.2) -> T:
    """Poll `predicate` until it returns something truthy and return it; `WaitTimeout` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = await predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise WaitTimeout(f"condition not met within {timeout:g} s")
        await asyncio.sleep(interval)


@dataclass(frozen=True)
class Target:
    """Where a running stack listens and the credentials it expects."""

    ingress_url: str
    twilio_url: str
    business_api_url: str
    account_sid: str = DEMO_ACCOUNT_SID
    auth_token: str = DEMO_AUTH_TOKEN
    business_token: str = DEMO_BUSINESS_TOKEN
    business_number: str = DEMO_BUSINESS_NUMBER
    admin_token: str = DEMO_ADMIN_TOKEN  # ingress's staff admin API (INGRESS_ADMIN_TOKEN)

    @property
    def webhook_url(self) -> str:
        """The URL Twilio calls and signs (ingress checks the signature against its public URL)."""
        return self.ingress_url.rstrip("/") + WEBHOOK_PATH

    @classmethod
    def from_stack(cls, stack: Stack) -> Target:
        config = stack.config
        admin_token = stack.service_env().get("INGRESS_ADMIN_TOKEN") or DEMO_ADMIN_TOKEN
        return cls(ingress_url=stack.ingress_url, twilio_url=stack.url("twilio"),
                   business_api_url=stack.url("business_api"), account_sid=config.account_sid,
                   auth_token=config.auth_token, business_token=config.business_token, admin_token=admin_token)


@dataclass(frozen=True)
class Delivery:
    """One inbound message as posted: its form fields and headers, kept so Twilio's retry can repeat them."""

    params: dict[str, str]
    request: dict[str, Any]

    @property
    def message_sid(self) -> str:
        return self.params["MessageSid"]

    @property
    def chain(self) -> str:
        """The correlation id of the replies this message causes (its `message.received` id)."""
        return inbound_event_id(self.message_sid)


def chain_of(sent: dict[str, Any]) -> str | None:
    """The chain a sent message belongs to: responder names it in the status callback URL
    (`?correlation_id=`); None when the message has no such URL."""
    callback = sent.get("status_callback") or ""
    values = parse_qs(urlsplit(callback).query).get("correlation_id")
    return values[0] if values else None


class WhatsApp:
    """A customer's phone: sends signed webhooks to ingress, reads the bot's messages from the stand-in."""

    def __init__(self, target: Target, http: httpx.AsyncClient) -> None:
        self.target, self.http = target, http

    def message(self, customer: str, body: str = "", **extra: str) -> Delivery:
        params = inbound_params(body=body, customer=customer, business=self.target.business_number,
                                account_sid=self.target.account_sid, **extra)
        return Delivery(params, signed_request(self.target.webhook_url, params, self.target.auth_token))

    async def post(self, delivery: Delivery) -> httpx.Response:
        """Post the webhook; posting the same `Delivery` again is Twilio re-delivering it (same
        MessageSid, same idempotency token, same signature)."""
        return await self.http.post(self.target.webhook_url, **delivery.request)

    async def sent_to(self, customer: str) -> list[dict[str, Any]]:
        """Every message the bot sent to `customer`, oldest first."""
        response = await self.http.get(self.target.twilio_url.rstrip("/") + "/_standin/messages",
                                       params={"to": customer})
        response.raise_for_status()
        return list(response.json())
