"""responder's composition root: replies' delivery callbacks name their chain, and the process
consumes `message.received` (the delayed receipt) besides `action.completed` when configured."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from contracts import MESSAGE_RECEIVED
from devstack import infra
from runtime.kafka import Publisher, all_topic_specs, ensure_topics
from runtime.settings import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, ServiceSettings
from services.responder.adapters.ledger import ReplyLedger
from services.responder.adapters.twilio import TwilioSender
from services.responder.handler import ResponderDeps
from services.responder.main import dispatcher
from services.responder.receipt import DelayedReceipts
from tests.integration.responder.events import acknowledged, message_received, new_customer
from tests.integration.responder.standin import Standin

CALLBACK = "https://bot.example.com/webhooks/twilio/status?tenant=demo"


@pytest.fixture
def local_procs() -> Iterator[infra.Processes]:
    procs = infra.Processes()
    yield procs
    procs.stop_all()


async def test_each_reply_names_its_chain_in_the_status_callback(standin: Standin, redis: Redis) -> None:
    sender = TwilioSender.create(DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, api_base_url=standin.url, attempts=2,
                                 backoff_s=0.01, status_callback=CALLBACK)
    ledger = ReplyLedger(redis)
    receipts = DelayedReceipts(text="Mensaje recibido", after_s=0.2, sender=sender, ledger=ledger)
    dispatch = dispatcher(ResponderDeps(sender=sender, ledger=ledger, business_name="Estudio Sol Pilates"),
                          receipts)
    try:
        first, second = acknowledged(new_customer()), acknowledged(new_customer())
        for event in (first, second):
            outputs = await dispatch(event)
            assert [o.event.type for o in outputs] == ["reply.sent"]
        received = message_received(new_customer())
        assert await dispatch(received) == [] and receipts.waiting == 1  # routed to the receipt timers
        for event in (first, second):
            [sent] = await standin.messages(to=event.payload.customer)
            assert sent["status_callback"] == f"{CALLBACK}&correlation_id={event.correlation_id}"
    finally:
        await receipts.aclose()
        await sender.aclose()


async def test_the_responder_process_sends_a_delayed_receipt(standin: Standin, local_procs: infra.Processes,
                                                             redis_url: str, run_dir: Path) -> None:
    log_dir = run_dir / "responder-receipt"
    bootstrap = infra.start_tansu(local_procs, port=infra.free_port(), log_dir=log_dir)
    await ensure_topics(bootstrap, all_topic_specs())
    port = infra.free_port()
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "REDIS_URL": redis_url,
           "TWILIO_API_BASE_URL": standin.url, "RESPONDER_HTTP_PORT": str(port),
           "RECEIPT_TEXT": "Mensaje recibido", "RECEIPT_AFTER_S": "0.5"}
    local_procs.start("responder", [sys.executable, "-m", "services.responder"],
                      log_path=log_dir / "responder.log", env=env)
    await asyncio.to_thread(infra.wait_http_ok, f"http://127.0.0.1:{port}/readyz",
                            what=f"responder (log: {log_dir / 'responder.log'})", procs=local_procs)
    publisher = await Publisher.connect(ServiceSettings(kafka_bootstrap_servers=bootstrap), stage="test")
    try:
        event = message_received(new_customer())
        await publisher.publish(MESSAGE_RECEIVED, event)
    finally:
        await publisher.close()
    deadline = asyncio.get_running_loop().time() + 45  # the consumer joins its group first (~5 s on Tansu)
    sent: list[dict[str, object]] = []
    while not sent:
        assert asyncio.get_running_loop().time() < deadline, f"no receipt: see {log_dir / 'responder.log'}"
        await asyncio.sleep(0.2)
        sent = await standin.messages(to=event.payload.customer)
    assert [m["body"] for m in sent] == ["Mensaje recibido"]
