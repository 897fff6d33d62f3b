"""The event log's write rates: the logger's batched inserts and `orchestrator replay log`, next to a
plain COPY of the same rows (the baseline, measured in the same run).

Builds `--events` events (inbound messages, intents and replies of new conversations), then:
1. COPY (the baseline): `asyncpg.copy_records_to_table` of their rows into a table like the log's,
   with its indexes: as fast as PostgreSQL stores these rows in this shape. Also shown: the same
   COPY into the bare table (no index at all).
2. logger ingest: `EventStore.append_many` in batches of `LOGGER_BATCH_SIZE` (500), four written
   side by side, as the logger does (into a fresh schema, its indexes and all).
3. replay: the events published to a fresh Tansu (one record per batch, as the services do), then
   `replay()` into an empty schema: reading the topics, filtering, inserting, checkpointing.

    .venv/bin/python bench/replay_bench.py [--events 60000] [--json results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loadgen import prefill
from contracts import (
    INTENT_DETECTED,
    MESSAGE_RECEIVED,
    REPLY_SENT,
    Event,
    IntentDetected,
    IntentDetectedPayload,
    MessageReceived,
    MessageReceivedPayload,
    ReplySent,
    ReplySentPayload,
)
from devstack import infra
from devstack.databases import create_database, drop_database
from runtime.kafka import all_topic_specs, ensure_topics
from services.logger.adapters.postgres import EventStore
from services.logger.replay import Checkpoint, Filters, LogTarget, replay

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
BUSINESS = "whatsapp:+14155238886"
BATCH = 500


def chains(count: int) -> tuple[list[MessageReceived], list[IntentDetected], list[ReplySent]]:
    start = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    messages, intents, replies = [], [], []
    for n in range(count):
        customer = f"whatsapp:+5255{n:08d}"
        at = start + timedelta(milliseconds=n)
        message = MessageReceived(
            event_id=str(uuid.uuid4()), occurred_at=at, conversation_id=customer, correlation_id="",
            payload=MessageReceivedPayload(message_sid=f"SM{uuid.uuid4().hex}", account_sid="AC1", customer=customer,
                                           business=BUSINESS, body="hola, ¿qué paquetes tienen?", received_at=at))
        message = message.model_copy(update={"correlation_id": message.event_id})
        messages.append(message)
        intents.append(IntentDetected.caused_by(message, stage="nlu", occurred_at=at, payload=IntentDetectedPayload(
            message_sid=message.payload.message_sid, customer=customer, business=BUSINESS,
            text=message.payload.body, intent="consultar_paquetes", confidence=0.93, model_version="bench",
            received_at=at)))
        replies.append(ReplySent.caused_by(message, stage="responder", occurred_at=at, payload=ReplySentPayload(
            to=customer, from_=BUSINESS, body="¡Hola! Tenemos paquetes de 4, 8 y 12 clases. ¿Cuál te interesa?",
            message_sid=f"SM{uuid.uuid4().hex}", template="packages")))
    return messages, intents, replies


def rows(events: list[Event]) -> list[tuple[object, ...]]:
    return [(uuid.UUID(e.event_id), e.type, e.schema_version, e.occurred_at, e.conversation_id, e.correlation_id,
             e.causation_id, e.payload.model_dump_json(by_alias=True), e.type)  # type: ignore[attr-defined]
            for e in events]


async def copy_rate(dsn: str, events: list[Event], *, indexed: bool) -> float:
    """COPY of the events' rows into a table like the log's: with its indexes (`indexed`), or bare."""
    records = rows(events)
    conn = await asyncpg.connect(dsn)
    try:
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
        await EventStore.on_pool(pool, schema="shape")  # the log's table, to copy its shape
        await pool.close()
        table = "copied_indexed" if indexed else "copied_bare"
        await conn.execute(f"CREATE TABLE {table} (LIKE shape.events INCLUDING DEFAULTS "
                           f"{'INCLUDING INDEXES' if indexed else ''})")
        columns = ["event_id", "type", "schema_version", "occurred_at", "conversation_id", "correlation_id",
                   "causation_id", "payload", "topic"]
        started = time.perf_counter()
        await conn.copy_records_to_table(table, records=records, columns=columns)
        return len(records) / (time.perf_counter() - started)
    finally:
        await conn.close()


async def ingest_rate(dsn: str, events: list[Event]) -> float:
    pool = await asyncpg.create_pool(dsn, min_size=4, max_size=8)
    try:
        store = await EventStore.on_pool(pool, schema="ingest")
        batches = [events[i:i + BATCH] for i in range(0, len(events), BATCH)]
        started = time.perf_counter()
        for i in range(0, len(batches), 4):
            results = await asyncio.gather(*(store.append_many(b) for b in batches[i:i + 4]))
            assert all(all(r) for r in results)
        return len(events) / (time.perf_counter() - started)
    finally:
        await pool.close()


VIEWS = ("conversation_stats", "intent_stats", "error_stats", "messages_per_user")


async def view_times(dsn: str) -> dict[str, float]:
    """Milliseconds PostgreSQL takes to compute each analysis view whole over the ingested log (its
    own execution time, after ANALYZE: not the client's decoding of the rows)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("ANALYZE ingest.events")
        times = {}
        for view in VIEWS:
            plan = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM ingest.{view}")
            times[view] = float(json.loads(plan)[0]["Execution Time"])
        return times
    finally:
        await conn.close()


async def replay_rate(dsn: str, events: list[Event], published: tuple[list[MessageReceived], list[IntentDetected],
                      list[ReplySent]], log_dir: Path) -> tuple[float, int]:
    procs = infra.Processes()
    try:
        bootstrap = infra.start_tansu(procs, port=infra.free_port(), log_dir=log_dir)
        await ensure_topics(bootstrap, all_topic_specs())
        messages, intents, replies = published
        await prefill(bootstrap, MESSAGE_RECEIVED, messages)
        await prefill(bootstrap, INTENT_DETECTED, intents)
        await prefill(bootstrap, REPLY_SENT, replies)
        target = await LogTarget.open(dsn, "replayed", resume=False)
        try:
            checkpoint = Checkpoint.load(log_dir / "replay.checkpoint.json", {"bench": 1}, resume=False)
            summary = await replay(bootstrap, target, Filters(), checkpoint, progress=False)
        finally:
            await target.close()
        return summary.written / summary.seconds, summary.written
    finally:
        procs.stop_all()


async def main_async(args: argparse.Namespace) -> int:
    per_type = args.events // 3
    published = chains(per_type)
    events: list[Event] = [e for group in zip(*published, strict=True) for e in group]
    dsn = await create_database(DATABASE_URL, prefix="replay_bench")
    log_dir = Path(tempfile.mkdtemp(prefix="replay-bench-"))
    try:
        bare = await copy_rate(dsn, events, indexed=False)
        copy = await copy_rate(dsn, events, indexed=True)
        ingest = await ingest_rate(dsn, events)
        views = await view_times(dsn)
        replayed, written = await replay_rate(dsn, events, published, log_dir)
    finally:
        await drop_database(dsn)
    assert written == len(events), f"replay wrote {written} of {len(events)}"
    print(f"{len(events):,} events (message.received, intent.detected, reply.sent), PostgreSQL at "
          f"{DATABASE_URL.rsplit('@', 1)[-1]}")
    print(f"{'':36}{'events/s':>10}  {'vs COPY':>8}")
    for name, rate in (("COPY, no index", bare), ("COPY, the log's indexes (baseline)", copy),
                       ("logger ingest (batches of 500)", ingest), ("orchestrator replay log", replayed)):
        print(f"{name:36}{rate:>10,.0f}  {rate / copy:>7.2f}x")
    print(f"PostgreSQL computing each view whole over the {len(events):,} events: "
          + ", ".join(f"{view} {ms:,.0f} ms" for view, ms in views.items()))
    figures = {"events": len(events), "copy_bare": bare, "copy": copy, "ingest": ingest, "replay": replayed,
               "view_ms": views}
    if args.json:
        await asyncio.to_thread(Path(args.json).write_text, json.dumps(figures, indent=2))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--json", help="Also write the figures to this file")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
