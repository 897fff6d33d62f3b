"""Twilio's error classes against the stand-in: transient ones retried with backoff, final ones sent
once and reported with their code."""

from __future__ import annotations

import socket

import httpx
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from contracts import ConversationOptedOut, ReplyFailed
from runtime.settings import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN
from services.responder.adapters.ledger import ReplyLedger
from services.responder.adapters.twilio import TwilioSender
from services.responder.handler import ResponderDeps, handle
from tests.integration.responder.events import BUSINESS, acknowledged, new_customer
from tests.integration.responder.standin import Standin

BUSINESS_NAME = "Estudio Sol Pilates"


async def inject(standin: Standin, **failure: object) -> None:
    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.post(standin.url + "/_standin/failures", json=failure)
        response.raise_for_status()


def sends(result: str, code: str) -> float:
    return REGISTRY.get_sample_value("responder_twilio_sends_total", {"result": result, "code": code}) or 0.0


@pytest.mark.parametrize(("code", "label"), [(20429, "20429"), (429, "20429"), (500, "other"), (503, "other")])
async def test_transient_errors_are_retried_then_sent(standin: Standin, sender: TwilioSender, code: int,
                                                     label: str) -> None:
    customer = new_customer()
    await inject(standin, to=customer, code=code)
    retries = sends("retry", label)

    result = await sender.send(to=customer, from_=BUSINESS, body="hola")

    assert result.ok and result.attempts == 2
    assert [m["sid"] for m in await standin.messages(to=customer)] == [result.sid]
    assert sends("retry", label) == retries + 1


async def test_transient_errors_until_the_last_attempt_give_up_without_being_final(standin: Standin,
                                                                                  sender: TwilioSender) -> None:
    customer = new_customer()
    await inject(standin, to=customer, code=500, count=2)  # the sender makes 2 attempts

    result = await sender.send(to=customer, from_=BUSINESS, body="hola")

    assert (result.ok, result.final, result.gave_up, result.attempts, result.error_code) == (False, False, True, 2,
                                                                                             20500)
    assert await standin.messages(to=customer) == []


async def test_an_unreachable_twilio_is_retried_then_given_up() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{unused.getsockname()[1]}"
    sender = TwilioSender.create(DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, api_base_url=dead, attempts=3, backoff_s=0.01,
                                 status_callback=None)
    gave_up = sends("gave_up", "connection")
    try:
        result = await sender.send(to=new_customer(), from_=BUSINESS, body="hola")
    finally:
        await sender.aclose()

    assert (result.gave_up, result.attempts, result.error_code) == (True, 3, None)
    assert "Cannot connect" in (result.error_message or "")
    assert sends("gave_up", "connection") == gave_up + 1


@pytest.mark.parametrize(("code", "label"), [(21610, "21610"), (63016, "63016"), (63014, "63014"),
                                             (21211, "21211"), (21408, "other")])
async def test_final_codes_are_sent_once_and_reported_with_the_code(standin: Standin, sender: TwilioSender,
                                                                   redis: Redis, code: int, label: str) -> None:
    customer = new_customer()
    # One injected failure: a retry would succeed and leave a message in the stand-in.
    await inject(standin, to=customer, code=code)
    rejected = sends("rejected", label)
    deps = ResponderDeps(sender=sender, ledger=ReplyLedger(redis), business_name=BUSINESS_NAME)
    event = acknowledged(customer)

    outputs = await handle(event, deps)

    assert await standin.messages(to=customer) == [], "not retried"
    output, *opted_out = outputs
    assert isinstance(output.event, ReplyFailed)
    if code == 21610:  # Twilio says the customer unsubscribed: recorded as their opt-out
        [opt_out] = [o.event for o in opted_out]
        assert isinstance(opt_out, ConversationOptedOut)
        assert (opt_out.payload.source, opt_out.payload.error_code) == ("twilio", 21610)
    else:
        assert opted_out == []
    assert (output.event.payload.error_code, output.event.payload.attempts) == (code, 1)
    assert sends("rejected", label) == rejected + 1
    # A redelivery sends nothing and publishes the same reply.failed (same id: a crash may have come
    # between the ledger's record and the publish; consumers are idempotent by id).
    again = await handle(event, deps)
    assert again[0].event == output.event
    assert [o.event.event_id for o in again] == [o.event.event_id for o in outputs]
    assert await standin.messages(to=customer) == []


async def test_the_result_says_which_final_error_it_was(standin: Standin, sender: TwilioSender) -> None:
    opted_out, outside, valid = new_customer(), new_customer(), new_customer()
    await inject(standin, to=opted_out, code=21610)
    await inject(standin, to=outside, code=63016)

    first = await sender.send(to=opted_out, from_=BUSINESS, body="hola")
    second = await sender.send(to=outside, from_=BUSINESS, body="hola")
    too_long = await sender.send(to=valid, from_=BUSINESS, body="a" * 1601)

    assert (first.final, first.opted_out, first.outside_window) == (True, True, False)
    assert (second.final, second.opted_out, second.outside_window) == (True, False, True)
    assert (too_long.final, too_long.error_code, too_long.attempts) == (True, 21617, 1)
