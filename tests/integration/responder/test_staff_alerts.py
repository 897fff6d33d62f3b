"""Staff are told about failed sends and handoffs: a signed webhook received by a real local HTTP server,
an approved WhatsApp template through the Twilio stand-in, the Redis rate limit with its summary, no
duplicates, and a dead or slow channel that never raises into (or delays) the pipeline."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from redis.asyncio import Redis

from contracts import (
    ACTION_COMPLETED,
    CONVERSATION_HANDED_OFF,
    REPLY_FAILED,
    ConversationHandedOff,
    HandedOffPayload,
    ReplyFailed,
    ReplyFailedPayload,
)
from devstack import infra
from runtime.kafka import Publisher, all_topic_specs, ensure_topics
from runtime.logs import mask_phone
from runtime.settings import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, ServiceSettings
from services.responder.adapters.staff_channel import (
    NOTICE_ID_HEADER,
    SIGNATURE_HEADER,
    RedisNoticeGate,
    WebhookChannel,
    WhatsAppTemplateChannel,
)
from services.responder.adapters.twilio import TwilioSender
from services.responder.staff_alerts import StaffAlertDeps, StaffChannel, handle
from tests.integration.responder.events import BUSINESS, acknowledged, new_customer
from tests.integration.responder.standin import Standin

SECRET = "s3cret-for-staff-notices"
ADMIN = "whatsapp:+5215599990000"
ZONE = ZoneInfo("America/Mexico_City")


# --- a real HTTP server standing in for the business's webhook ------------------------------------------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.body)
        return document


@dataclass
class Hook:
    """A local HTTP server recording every POST; `statuses` are answered in turn (then 200), after `delay_s`."""

    url: str = ""
    started: int = 0
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    delay_s: float = 0.0

    async def wait_for(self, count: int, *, timeout_s: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} notices arrived"
            await asyncio.sleep(0.05)
        return self.received


@contextlib.contextmanager
def running_hook(**options: Any) -> Iterator[Hook]:
    hook = Hook(**options)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            hook.started += 1
            if hook.delay_s:
                time.sleep(hook.delay_s)
            status = hook.statuses.pop(0) if hook.statuses else 200
            hook.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/staff"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


# --- events and deps ---------------------------------------------------------------------------------------


def reply_failed(customer: str, *, at: datetime | None = None) -> ReplyFailed:
    event_id = "evt-" + uuid.uuid4().hex
    return ReplyFailed(
        event_id=event_id, type="reply.failed", occurred_at=at or datetime.now(UTC), conversation_id=customer,
        correlation_id=event_id,
        payload=ReplyFailedPayload(to=customer, body=f"¡Listo! Tu clase quedó reservada. Te escribo al {customer}.",
                                   template="booked", error_code=63016,
                                   error_message="outside the allowed window", attempts=4))


def handed_off(customer: str, *, until: datetime) -> ConversationHandedOff:
    event_id = "evt-" + uuid.uuid4().hex
    return ConversationHandedOff(
        event_id=event_id, type="conversation.handed_off", occurred_at=datetime.now(UTC), conversation_id=customer,
        correlation_id=event_id,
        payload=HandedOffPayload(customer=customer, reason="asked", summary="quiero hablar con alguien ya",
                                 until=until))


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0  # the start of a minute

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def gate(redis: Redis, clock: Clock) -> RedisNoticeGate:
    """A gate of its own (a fresh key prefix) with 3 notices a minute, on a clock the test moves."""
    return RedisNoticeGate(redis, per_minute=3, prefix=f"test-staff:{uuid.uuid4().hex}", clock=clock)


@pytest.fixture
async def webhook() -> AsyncIterator[Any]:
    channels: list[WebhookChannel] = []

    def make(url: str, *, timeout_s: float = 2.0, attempts: int = 3) -> WebhookChannel:
        channel = WebhookChannel.create(url, SECRET, timeout_s=timeout_s, attempts=attempts, backoff_s=0.01)
        channels.append(channel)
        return channel

    yield make
    for channel in channels:
        await channel.aclose()


def deps(gate: RedisNoticeGate, *channels: StaffChannel) -> StaffAlertDeps:
    return StaffAlertDeps(channels=channels, gate=gate, zone=ZONE)


def signed(received: Received) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), received.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(received.headers[SIGNATURE_HEADER.lower()], expected)


# --- the webhook -------------------------------------------------------------------------------------------


async def test_a_failed_send_reaches_the_webhook_signed_in_spanish_with_the_number_masked(
        gate: RedisNoticeGate, webhook: Any) -> None:
    customer = new_customer()
    event = reply_failed(customer)
    with running_hook() as hook:
        assert await handle(event, deps(gate, webhook(hook.url))) == [], "publishes nothing"
        [received] = hook.received
    assert signed(received), "HMAC-SHA256 of the exact body with the configured secret"
    assert received.headers["content-type"].startswith("application/json")
    assert received.headers[NOTICE_ID_HEADER.lower()] == event.event_id
    body = received.json
    assert (body["event_id"], body["event_type"], body["skipped"]) == (event.event_id, "reply.failed", 0)
    assert body["details"] == {"error_code": 63016, "error_message": "outside the allowed window", "attempts": 4,
                               "template": "booked"}
    assert customer.removeprefix("whatsapp:") not in received.body.decode(), "the full number never leaves"
    masked = mask_phone(customer)  # as in the logs: country code and the last two digits
    assert masked.count("*") == 8 and masked.endswith(customer[-2:])
    assert body["conversation"] == masked and masked in body["text"]
    assert body["text"].startswith(f"⚠️ No se pudo enviar una respuesta a {masked} tras 4 intentos (error 63016")
    assert "«¡Listo! Tu clase quedó reservada." in body["text"]


async def test_a_handoff_tells_who_why_and_until_when_in_the_business_zone(gate: RedisNoticeGate,
                                                                          webhook: Any) -> None:
    customer = new_customer()
    until = datetime(2099, 11, 27, 1, 30, tzinfo=UTC)  # Thursday 26 November, 19:30 in Mexico City
    with running_hook() as hook:
        await handle(handed_off(customer, until=until), deps(gate, webhook(hook.url)))
        [received] = hook.received
    text = received.json["text"]
    assert "pidió hablar con una persona" in text and "«quiero hablar con alguien ya»" in text
    assert "hasta el jueves 26 de noviembre a las 19:30" in text
    assert customer.removeprefix("whatsapp:") not in text and signed(received)


async def test_a_notice_is_sent_once_per_event(gate: RedisNoticeGate, webhook: Any) -> None:
    event = reply_failed(new_customer())
    with running_hook() as hook:
        channel = webhook(hook.url)
        for _ in range(3):  # redelivered, or read by a second process
            await handle(event, deps(gate, channel))
        assert len(hook.received) == 1


async def test_past_the_limit_notices_are_held_back_and_summarised_in_the_next_one(
        gate: RedisNoticeGate, clock: Clock, webhook: Any) -> None:
    with running_hook() as hook:
        channel = webhook(hook.url)
        for _ in range(7):  # an outage: seven failed sends within the minute, three get through
            await handle(reply_failed(new_customer()), deps(gate, channel))
        assert len(hook.received) == 3 and all(r.json["skipped"] == 0 for r in hook.received)
        clock.now += 60
        await handle(reply_failed(new_customer()), deps(gate, channel))
        last = hook.received[-1].json
    assert len(hook.received) == 4
    assert last["skipped"] == 4
    assert last["text"].endswith("\n…y 4 más que no se enviaron, para no saturar este canal.")
    assert signed(hook.received[-1])


async def test_the_limit_holds_across_processes(redis: Redis, clock: Clock, webhook: Any) -> None:
    prefix = f"test-staff:{uuid.uuid4().hex}"
    first, second = (RedisNoticeGate(redis, per_minute=2, prefix=prefix, clock=clock) for _ in range(2))
    with running_hook() as hook:
        channel = webhook(hook.url)
        for gate in (first, second, first, second):
            await handle(reply_failed(new_customer()), deps(gate, channel))
        assert len(hook.received) == 2


async def test_a_dead_webhook_never_raises_and_its_notice_is_told_later(gate: RedisNoticeGate, clock: Clock,
                                                                       webhook: Any) -> None:
    dead = webhook(f"http://127.0.0.1:{infra.free_port()}/nobody-listens", attempts=2)
    started = time.monotonic()
    assert await handle(reply_failed(new_customer()), deps(gate, dead)) == []
    assert time.monotonic() - started < 5
    with running_hook() as hook:
        await handle(reply_failed(new_customer()), deps(gate, webhook(hook.url)))
        [received] = hook.received
    assert received.json["skipped"] == 1, "the notice the dead webhook lost is counted in the next one"


async def test_a_slow_webhook_times_out_without_raising(gate: RedisNoticeGate, webhook: Any) -> None:
    with running_hook(delay_s=1.0) as hook:
        started = time.monotonic()
        assert await handle(reply_failed(new_customer()), deps(gate, webhook(hook.url, timeout_s=0.2,
                                                                               attempts=2))) == []
        assert time.monotonic() - started < 2.0, "two attempts of 0.2 s, not the server's pace"


async def test_a_5xx_is_retried_and_a_4xx_is_not(gate: RedisNoticeGate, webhook: Any) -> None:
    with running_hook(statuses=[503, 500]) as hook:
        await handle(reply_failed(new_customer()), deps(gate, webhook(hook.url)))
        assert len(hook.received) == 3 and all(signed(r) for r in hook.received)
    with running_hook(statuses=[401]) as hook:
        await handle(reply_failed(new_customer()), deps(gate, webhook(hook.url)))
        assert len(hook.received) == 1


async def test_old_news_and_a_handoff_already_over_are_not_told(gate: RedisNoticeGate, webhook: Any) -> None:
    with running_hook() as hook:
        channel = webhook(hook.url)
        await handle(reply_failed(new_customer(), at=datetime.now(UTC) - timedelta(days=2)), deps(gate, channel))
        await handle(handed_off(new_customer(), until=datetime.now(UTC) - timedelta(minutes=1)), deps(gate, channel))
        assert hook.received == []


# --- the admin's WhatsApp, through an approved template -----------------------------------------------------


async def test_an_admin_is_told_through_the_approved_template(standin: Standin, sender: TwilioSender,
                                                              gate: RedisNoticeGate, webhook: Any) -> None:
    async with httpx.AsyncClient(trust_env=False) as client:  # as approved in Twilio's Console
        created = await client.post(standin.url + "/v1/Content", auth=(DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN), json={
            "language": "es", "types": {"twilio/text": {"body": "Aviso del asistente de WhatsApp: {{1}}"}}})
    content_sid = created.json()["sid"]
    admin = WhatsAppTemplateChannel(sender, to=ADMIN, from_=BUSINESS, content_sid=content_sid)
    customer = new_customer()
    with running_hook() as hook:
        await handle(reply_failed(customer), deps(gate, admin, webhook(hook.url)))
        assert len(hook.received) == 1, "each channel is told"
    [message] = [m for m in await standin.messages(to=ADMIN) if customer[-2:] in m["body"]]
    assert message["content_sid"] == content_sid and message["from"] == BUSINESS
    assert message["body"].startswith("Aviso del asistente de WhatsApp: ⚠️ No se pudo enviar una respuesta a")
    assert "\n" not in message["body"] and customer.removeprefix("whatsapp:") not in message["body"]


async def test_a_refused_template_does_not_stop_the_webhook(standin: Standin, sender: TwilioSender,
                                                            gate: RedisNoticeGate, webhook: Any) -> None:
    admin = WhatsAppTemplateChannel(sender, to=ADMIN, from_=BUSINESS, content_sid="HX" + "0" * 32)  # unknown
    with running_hook() as hook:
        assert await handle(reply_failed(new_customer()), deps(gate, admin, webhook(hook.url))) == []
        assert len(hook.received) == 1


# --- the responder process: a stage of its own ----------------------------------------------------------------


@pytest.fixture
def local_procs() -> Iterator[infra.Processes]:
    procs = infra.Processes()
    yield procs
    procs.stop_all()


async def test_a_slow_staff_webhook_never_delays_a_reply(standin: Standin, local_procs: infra.Processes,
                                                         redis_url: str, run_dir: Path) -> None:
    log_dir = run_dir / "responder-staff-alerts"
    bootstrap = infra.start_tansu(local_procs, port=infra.free_port(), log_dir=log_dir)
    await ensure_topics(bootstrap, all_topic_specs())
    port, staff_port = infra.free_port(), infra.free_port()
    loop = asyncio.get_running_loop()
    with running_hook(delay_s=10.0) as hook:
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "REDIS_URL": redis_url,
               "TWILIO_API_BASE_URL": standin.url, "RESPONDER_HTTP_PORT": str(port),
               "RESPONDER_STAFF_WEBHOOK_URL": hook.url, "RESPONDER_STAFF_WEBHOOK_SECRET": SECRET,
               "RESPONDER_STAFF_WEBHOOK_TIMEOUT_S": "15", "RESPONDER_STAFF_ALERTS_HTTP_PORT": str(staff_port)}
        local_procs.start("responder", [sys.executable, "-m", "services.responder"],
                          log_path=log_dir / "responder.log", env=env)
        for ready in (port, staff_port):  # the staff stage serves its own ops port
            await asyncio.to_thread(infra.wait_http_ok, f"http://127.0.0.1:{ready}/readyz",
                                    what=f"responder (log: {log_dir / 'responder.log'})", procs=local_procs)
        customer = new_customer()
        publisher = await Publisher.connect(ServiceSettings(kafka_bootstrap_servers=bootstrap), stage="test")
        try:
            await publisher.publish(CONVERSATION_HANDED_OFF,
                                    handed_off(customer, until=datetime.now(UTC) + timedelta(hours=4)))
            await publisher.publish(REPLY_FAILED, reply_failed(new_customer()))
            deadline = loop.time() + 45  # the consumers join their groups first (~5 s on Tansu)
            while hook.started < 2:
                assert loop.time() < deadline, f"the staff webhook was never called: see {log_dir / 'responder.log'}"
                await asyncio.sleep(0.1)
            await publisher.publish(ACTION_COMPLETED, acknowledged(customer))
        finally:
            await publisher.close()
        sent: list[dict[str, object]] = []
        deadline = loop.time() + 9
        while not sent:
            assert loop.time() < deadline, "the reply waited for the staff webhook"
            await asyncio.sleep(0.1)
            sent = await standin.messages(to=customer)
        assert hook.received == [], "the reply went out while the staff webhook was still answering"
        received = await hook.wait_for(2, timeout_s=20)
    assert {r.json["event_type"] for r in received} == {"conversation.handed_off", "reply.failed"}
    assert all(signed(r) for r in received)
