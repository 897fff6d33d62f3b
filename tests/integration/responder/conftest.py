"""Responder's adapters against the real things: the Twilio stand-in over HTTP and Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from runtime.redis_client import redis_client
from runtime.settings import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN
from services.responder.adapters.twilio import TwilioSender
from tests.integration.responder.standin import Standin, running_standin


@pytest.fixture
async def standin() -> AsyncIterator[Standin]:
    async with running_standin() as running:
        yield running


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = redis_client(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def sender(standin: Standin) -> AsyncIterator[TwilioSender]:
    """The responder's sender pointed at the stand-in, as main.py builds it from settings."""
    sender = standin_sender(standin, status_callback=None)
    yield sender
    await sender.aclose()


@pytest.fixture
async def chained_sender(standin: Standin) -> AsyncIterator[TwilioSender]:
    """A sender with a status callback URL, as responder runs in the demo."""
    sender = standin_sender(standin, status_callback=CALLBACK)
    yield sender
    await sender.aclose()


CALLBACK = "https://bot.example.com/webhooks/twilio/status"


def standin_sender(standin: Standin, *, status_callback: str | None) -> TwilioSender:
    return TwilioSender.create(DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, api_base_url=standin.url, attempts=2,
                               backoff_s=0.01, status_callback=status_callback)
