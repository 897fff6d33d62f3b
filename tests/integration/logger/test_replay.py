"""`orchestrator replay` against a real broker and PostgreSQL: the log rebuilt from an event time is
the live logger's rows; exports round-trip; an interrupted replay resumes without a gap or a
repeat; a target that is not empty is refused."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import json
from pathlib import Path

import asyncpg
import orjson
import pyarrow.parquet as pq
import pytest
from aiokafka import AIOKafkaProducer

from contracts import topic_for
from contracts.events import Event
from runtime.cli import main as orchestrator
from services.logger.adapters.postgres import EventStore
from services.logger.replay import (
    EXPORT_SCHEMA,
    Checkpoint,
    CsvTarget,
    Filters,
    LogTarget,
    ParquetTarget,
    ReplayError,
    Summary,
    replay,
)
from tests.integration.logger.scripted import T0, script

ROW = "event_id::text, type, schema_version, occurred_at, conversation_id, correlation_id, causation_id, payload"


def scripted_events() -> list[Event]:
    return [event for conversation in script().values() for event in conversation.events]


async def publish(bootstrap: str, events: list[Event]) -> None:
    """As the services publish: keyed by conversation, one record per batch (Tansu)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_batch_size=16, linger_ms=0)
    await producer.start()
    try:
        for event in events:
            topic = topic_for(event.type)
            await producer.send_and_wait(topic.name, topic.encode(event), key=topic.key(event))
    finally:
        await producer.stop()


def checkpoint(tmp_path: Path, run: dict[str, object]) -> Checkpoint:
    return Checkpoint.load(tmp_path / "replay.checkpoint.json", run, resume=True)


async def test_the_log_replayed_from_an_event_time_is_the_live_loggers_rows(
        own_broker: str, fresh_database: str, tmp_path: Path) -> None:
    events = scripted_events()
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
    try:
        live = await EventStore.on_pool(pool, schema="orchestrator")
        assert all(await live.append_many(events))  # what the live logger wrote
        await publish(own_broker, events)
        since = T0 + dt.timedelta(seconds=60)

        target = await LogTarget.open(fresh_database, "replayed", resume=False)
        try:
            summary = await replay(own_broker, target, Filters(since=since), checkpoint(tmp_path, {"t": 1}),
                                   progress=False)
        finally:
            await target.close()

        expected = sum(1 for e in events if e.occurred_at >= since)
        assert (summary.read, summary.matched, summary.written, summary.skipped) == (len(events), expected,
                                                                                    expected, 0)
        live_rows = await pool.fetch(f"SELECT {ROW} FROM orchestrator.events WHERE occurred_at >= $1 ORDER BY 1",
                                     since)
        replayed_rows = await pool.fetch(f"SELECT {ROW} FROM replayed.events ORDER BY 1")
        assert [tuple(r) for r in replayed_rows] == [tuple(r) for r in live_rows]
        # the views come with it: A, B and E have events from 60 s on
        assert await pool.fetchval("SELECT count(*) FROM replayed.conversation_stats") == 3
    finally:
        await pool.close()


async def test_a_target_that_already_holds_events_is_refused_unless_resuming(fresh_database: str) -> None:
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
    try:
        store = await EventStore.on_pool(pool, schema="taken")
        await store.append_many(scripted_events()[:1])
    finally:
        await pool.close()
    with pytest.raises(ReplayError, match="already holds events"):
        await LogTarget.open(fresh_database, "taken", resume=False)
    target = await LogTarget.open(fresh_database, "taken", resume=True)
    await target.close()


async def test_parquet_and_csv_exports_round_trip(own_broker: str, tmp_path: Path) -> None:
    events = scripted_events()
    await publish(own_broker, events)
    published = {e.event_id: orjson.loads(topic_for(e.type).encode(e)) for e in events}

    await replay(own_broker, ParquetTarget(tmp_path / "parquet"), Filters(), checkpoint(tmp_path, {"p": 1}),
                 progress=False)
    table = pq.read_table(tmp_path / "parquet")
    assert table.schema.equals(EXPORT_SCHEMA)
    rows = table.to_pylist()
    assert sorted(r["event_id"] for r in rows) == sorted(published)
    for row in rows:
        document = published[row["event_id"]]
        assert json.loads(row["payload"]) == document["payload"]
        assert row["occurred_at"] == dt.datetime.fromisoformat(document["occurred_at"])
        assert row["topic"] == document["type"]

    csv_checkpoint = Checkpoint.load(tmp_path / "csv.checkpoint.json", {"c": 1}, resume=True)
    target = CsvTarget(tmp_path / "events.csv")
    await replay(own_broker, target, Filters(types=frozenset({"reply.sent"})), csv_checkpoint, progress=False)
    await target.close()
    with (tmp_path / "events.csv").open(newline="", encoding="utf-8") as file:
        exported = list(csv.DictReader(file))
    assert sorted(r["event_id"] for r in exported) == sorted(e.event_id for e in events if e.type == "reply.sent")
    assert all(json.loads(r["payload"]) == published[r["event_id"]]["payload"] for r in exported)


async def test_an_interrupted_replay_resumes_without_a_gap_or_a_repeat(own_broker: str, tmp_path: Path) -> None:
    events = scripted_events()
    await publish(own_broker, events)
    run = {"target": "parquet"}
    stop = asyncio.Event()

    def stop_after_the_first_batch(summary: Summary) -> None:
        stop.set()

    first = await replay(own_broker, ParquetTarget(tmp_path / "out"), Filters(),
                         Checkpoint.load(tmp_path / "cp.json", run, resume=False), stop=stop, progress=False,
                         batch_size=5, on_batch=stop_after_the_first_batch)
    assert first.interrupted and 0 < first.read < len(events)
    second = await replay(own_broker, ParquetTarget(tmp_path / "out"), Filters(),
                          Checkpoint.load(tmp_path / "cp.json", run, resume=True), progress=False, batch_size=5)

    assert not second.interrupted and first.read + second.read == len(events)
    ids = [row["event_id"] for row in pq.read_table(tmp_path / "out").to_pylist()]
    assert sorted(ids) == sorted(e.event_id for e in events)  # each once
    with pytest.raises(ReplayError, match="another replay"):
        Checkpoint.load(tmp_path / "cp.json", {"target": "csv"}, resume=True)


def test_the_command_refuses_an_unknown_event_type(capsys: pytest.CaptureFixture[str]) -> None:
    assert orchestrator(["replay", "export", "--out", "x", "--type", "reply.sen"]) == 2
    assert "unknown event type reply.sen" in capsys.readouterr().err
    assert orchestrator(["replay", "nothing"]) == 2
