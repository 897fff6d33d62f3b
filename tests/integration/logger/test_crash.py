"""The logger process killed with SIGKILL in the middle of a burst: every offset it committed is in
PostgreSQL, and a restart logs the rest; nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts import MESSAGE_RECEIVED
from devstack import infra
from runtime.kafka import read_to_end
from tests.integration.logger.events import message

EVENTS = 3000


async def test_a_killed_logger_commits_only_what_is_durable_and_loses_nothing(
    own_broker: str, fresh_database: str, tmp_path: Path
) -> None:
    events = [message(conversation=n % 500) for n in range(EVENTS)]
    producer = AIOKafkaProducer(bootstrap_servers=own_broker, max_batch_size=16, linger_ms=0)
    await producer.start()
    try:
        await asyncio.gather(*(producer.send_and_wait(MESSAGE_RECEIVED.name, MESSAGE_RECEIVED.encode(e),
                                                      key=MESSAGE_RECEIVED.key(e)) for e in events))
    finally:
        await producer.stop()

    jsonl = tmp_path / "events.jsonl"
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": own_broker, "DATABASE_URL": fresh_database,
           "LOGGER_JSONL_PATH": str(jsonl), "LOG_LEVEL": "WARNING", "LOGGER_CONSOLE": "false",
           "KAFKA_SESSION_TIMEOUT_MS": "6000", "KAFKA_REBALANCE_TIMEOUT_MS": "6000",
           # small batches, so the kill lands while most of the burst is still to be written
           "LOGGER_BATCH_SIZE": "50", "LOGGER_CONCURRENCY": "100", "LOGGER_BATCH_WAIT_MS": "20"}
    procs = infra.Processes()
    conn = await asyncpg.connect(fresh_database)
    try:
        logger = procs.start("logger", [sys.executable, "-m", "services.logger"], log_path=tmp_path / "logger.log",
                             env={**env, "LOGGER_HTTP_PORT": str(infra.free_port())})
        at_kill = await _rows_when(conn, lambda n: n >= 300, procs)
        procs.stop("logger", sig=signal.SIGKILL)
        assert logger.returncode == -signal.SIGKILL
        assert at_kill < EVENTS, "the logger finished before it was killed: nothing was tested"

        # Every record below a committed offset is in PostgreSQL, written before the commit.
        logged = {str(r["event_id"]) for r in await conn.fetch("SELECT event_id FROM orchestrator.events")}
        committed = await _committed(own_broker)
        assert sum(committed.values()) > 0, "no offset was committed before the kill: nothing was tested"
        for record in await read_to_end(own_broker, MESSAGE_RECEIVED.name, timeout_s=10):
            if record.offset < committed[record.partition]:
                assert MESSAGE_RECEIVED.decode(record.value or b"").event_id in logged

        procs.start("logger-again", [sys.executable, "-m", "services.logger"],
                    log_path=tmp_path / "logger-again.log", env={**env, "LOGGER_HTTP_PORT": str(infra.free_port())})
        assert await _rows_when(conn, lambda n: n >= EVENTS, procs, timeout=60) == EVENTS
    finally:
        procs.stop_all()
        await conn.close()

    rows = await conn_rows(fresh_database)
    assert sorted(rows) == sorted(e.event_id for e in events)
    copied = [json.loads(line)["event_id"] for line in jsonl.read_text().splitlines()]
    assert len(copied) == len(set(copied))  # never copied twice (the lines of the batch killed may be missing)
    assert len(copied) >= EVENTS - 100


async def _rows_when(conn: asyncpg.Connection, enough: Callable[[int], bool], procs: infra.Processes, *,
                     timeout: float = 30.0) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        rows = int(await conn.fetchval("SELECT count(*) FROM orchestrator.events")) if await _has_table(conn) else 0
        if enough(rows) or loop.time() > deadline:
            return rows
        assert not procs.failed(), f"the logger exited: {procs.failed()}"
        await asyncio.sleep(0.01)


async def _has_table(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval("SELECT to_regclass('orchestrator.events') IS NOT NULL"))


async def _committed(bootstrap: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id="logger", enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = sorted(consumer.partitions_for_topic(MESSAGE_RECEIVED.name) or ())
        return {p: (await consumer.committed(TopicPartition(MESSAGE_RECEIVED.name, p))) or 0 for p in partitions}
    finally:
        await consumer.stop()


async def conn_rows(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return [str(r["event_id"]) for r in await conn.fetch("SELECT event_id FROM orchestrator.events")]
    finally:
        await conn.close()
