"""The actions worker over a real broker: conversations side by side, each still in order, and a
committed offset only where every record before it is done.

The business API answers every call after 300 ms. Handled one record at a time, 60 records would
take at least 18 s; with conversations side by side the 30 conversations' two records each take
about two calls' time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts import ACTION_COMPLETED, INTENT_DETECTED, IntentDetected
from devstack import infra
from tests.integration.business_api.harness import TOKEN, ApiServer, settings_for
from tests.unit.actions.conversation import detected

CONVERSATIONS = 30
LATENCY_MS = 300
TEXTS = ("¿qué paquetes tienen?", "¿y cuánto cuesta el de 10?")


def records() -> list[IntentDetected]:
    now = dt.datetime.now(dt.UTC)
    return [detected(text, at=now + dt.timedelta(seconds=turn), sid=f"SMCONC{n:03d}{turn}",
                     customer=f"whatsapp:+5215590{n:05d}", intent="consultar_paquetes", confidence=0.95, entities=[])
            for turn, text in enumerate(TEXTS) for n in range(CONVERSATIONS)]


async def test_conversations_are_handled_side_by_side_each_in_order_and_committed_when_done(
    own_broker: str, fresh_database: str, tmp_path: Path
) -> None:
    api = await ApiServer(settings_for(fresh_database, latency_ms=LATENCY_MS)).start()
    procs = infra.Processes()
    sent = records()
    try:
        port = infra.free_port()
        procs.start("actions", [sys.executable, "-m", "services.actions"], log_path=tmp_path / "actions.log", env={
            **os.environ, "KAFKA_BOOTSTRAP_SERVERS": own_broker, "BUSINESS_API_URL": api.url,
            "BUSINESS_API_TOKEN": TOKEN, "ACTIONS_HTTP_PORT": str(port), "ACTIONS_CONCURRENCY": "64",
            "LOG_LEVEL": "WARNING", "KAFKA_SESSION_TIMEOUT_MS": "6000", "KAFKA_REBALANCE_TIMEOUT_MS": "6000"})
        await asyncio.to_thread(infra.wait_http_ok, f"http://127.0.0.1:{port}/readyz", what="actions", procs=procs)
        await publish(own_broker, sent)
        arrivals = await completed(own_broker, expected=len(sent), timeout_s=90)
        committed = await committed_offsets(own_broker)
    finally:
        procs.stop_all()
        await api.stop()

    assert sorted(causation for causation, _ in arrivals) == sorted(e.event_id for e in sent), "each record once"
    spread = arrivals[-1][1] - arrivals[0][1]
    assert spread < 0.25 * len(sent) * LATENCY_MS / 1000, f"one at a time: the records took {spread:.1f} s"
    order = [causation for causation, _ in arrivals]
    for n in range(CONVERSATIONS):
        first, second = (e.event_id for e in sent if e.conversation_id == sent[n].conversation_id)
        assert order.index(first) < order.index(second), "a conversation's records in the order they came"
    assert sum(committed.values()) == len(sent), "every record done is committed, none beyond"


async def publish(bootstrap: str, events: list[IntentDetected]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_batch_size=16, linger_ms=0)
    await producer.start()
    try:
        for event in events:  # one after another: each conversation's second record after its first
            await producer.send_and_wait(INTENT_DETECTED.name, INTENT_DETECTED.encode(event),
                                         key=INTENT_DETECTED.key(event))
    finally:
        await producer.stop()


async def completed(bootstrap: str, *, expected: int, timeout_s: float) -> list[tuple[str, float]]:
    """(causation id, arrival time) of each `action.completed`, in the order they arrived."""
    consumer = AIOKafkaConsumer(ACTION_COMPLETED.name, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    seen: list[tuple[str, float]] = []
    try:
        deadline = time.monotonic() + timeout_s
        while len(seen) < expected and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=100, max_records=1000)).values():
                now = time.monotonic()
                seen.extend((ACTION_COMPLETED.decode(r.value or b"").causation_id, now) for r in records)
    finally:
        await consumer.stop()
    assert len(seen) == expected, f"{len(seen)} of {expected} records were handled within {timeout_s} s"
    return seen


async def committed_offsets(bootstrap: str, timeout_s: float = 15.0) -> dict[int, int]:
    """The `actions` group's committed offsets on `intent.detected`, once they stop moving (faust
    commits every second)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id="actions", enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(INTENT_DETECTED.name, p) for p in range(INTENT_DETECTED.partitions)]
        deadline = time.monotonic() + timeout_s
        last: dict[int, int] = {}
        while time.monotonic() < deadline:
            now = {tp.partition: (await consumer.committed(tp)) or 0 for tp in partitions}
            if now == last:
                return now
            last = now
            await asyncio.sleep(2.5)
        return last
    finally:
        await consumer.stop()
