"""Replay the topics for analysts: rebuild the PostgreSQL event log (and its views) into a fresh
schema, or export the events to Parquet or CSV.

    orchestrator replay log --schema replay_dec [--since 2026-12-01T00:00:00Z] [--until ...]
    orchestrator replay export --format parquet --out exports/dec [--type reply.sent] [--conversation whatsapp:+52...]
    orchestrator replay ... --resume      # go on from where an interrupted run stopped

Reads every topic of the system (or those of `--type`) from the beginning up to where each
partition ends when it is read, with a consumer of no group: the live groups' offsets are never
touched. Filters use the events' own envelope (`occurred_at`, `type`, `conversation_id`), not
the broker's offset-for-time lookup (the development broker's uses arrival time, and answers 0
past the end). Events are read as their published JSON (orjson), not rebuilt as models.

Targets:
- `log`: the event log and its views into `--schema`, which must be empty (or the same run's,
  with `--resume`), migrated like the live logger's. Rows are the live logger's rows, idempotent
  by event id.
- `export`: `--format parquet` writes a directory of part files (`part-00001.parquet`, ... one
  per batch: pyarrow, pandas and duckdb read the directory as one table); `--format csv` one file.
  The columns, stable across versions, are `EXPORT_COLUMNS` (docs/analytics.md).

Progress goes to stderr (events/s, ETA). Ctrl-C stops after the batch in hand; the checkpoint
(`--checkpoint`, default next to the output) records each partition's next offset once the
batch is durable, so `--resume` neither skips nor repeats an event. A summary ends every run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import datetime as dt
import json
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import asyncpg
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from tqdm import tqdm

from contracts import ALL_TOPICS, topic_for
from runtime.errors import DependencyUnreachable
from runtime.kafka import stream_to_end
from runtime.settings import load_settings
from services.logger.adapters.postgres import EventStore, describe
from services.logger.settings import LoggerSettings

EXPORT_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("event_id", pa.string()),
    ("type", pa.string()),
    ("schema_version", pa.int32()),
    ("occurred_at", pa.timestamp("us", tz="UTC")),
    ("conversation_id", pa.string()),
    ("correlation_id", pa.string()),
    ("causation_id", pa.string()),
    ("topic", pa.string()),
    ("partition", pa.int32()),
    ("offset", pa.int64()),
    ("payload", pa.string()),
)
EXPORT_SCHEMA = pa.schema([pa.field(name, kind, nullable=name == "causation_id") for name, kind in EXPORT_COLUMNS])


class ReplayError(Exception):
    """The replay cannot start as asked (a target that is not empty, a checkpoint of another run)."""


@dataclass(frozen=True)
class Filters:
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    types: frozenset[str] = frozenset()
    conversation: str | None = None

    def keep(self, document: dict[str, Any]) -> bool:
        if self.types and document.get("type") not in self.types:
            return False
        if self.conversation is not None and document.get("conversation_id") != self.conversation:
            return False
        if self.since is None and self.until is None:
            return True
        at = dt.datetime.fromisoformat(document["occurred_at"])
        return (self.since is None or at >= self.since) and (self.until is None or at < self.until)

    @property
    def filtering(self) -> bool:
        return bool(self.types or self.conversation is not None or self.since is not None or self.until is not None)

    def topics(self) -> list[str]:
        if not self.types:
            return [topic.name for topic in ALL_TOPICS]
        return sorted({topic_for(kind).name for kind in self.types})


@dataclass
class Summary:
    read: int = 0
    matched: int = 0
    written: int = 0
    skipped: int = 0
    """Records that are no event of ours (not JSON, no envelope): counted, not written."""
    seconds: float = 0.0
    interrupted: bool = False

    def line(self) -> str:
        rate = self.read / self.seconds if self.seconds else 0.0
        state = "interrupted (resume with --resume)" if self.interrupted else "done"
        return (f"replay {state}: {self.read:,} records read, {self.matched:,} matched the filters, "
                f"{self.written:,} written, {self.skipped:,} skipped in {self.seconds:.1f} s ({rate:,.0f} records/s)")


class Target(Protocol):
    async def write(self, rows: Sequence[tuple[dict[str, Any], ConsumerRecord[bytes, bytes]]]) -> int: ...

    async def close(self) -> None: ...


class LogTarget:
    """The event log and its views, into a schema of its own."""

    def __init__(self, store: EventStore, pool: asyncpg.Pool) -> None:
        self.store = store
        self.pool = pool

    @classmethod
    async def open(cls, dsn: str, schema: str, *, resume: bool) -> LogTarget:
        store = await EventStore.connect(dsn, schema=schema, service="replay")
        pool = store.pool
        if not resume and await store.count():
            await pool.close()
            raise ReplayError(f"schema {schema} at {describe(dsn)} already holds events: replay into an empty "
                              "schema, or pass --resume to go on with the run that filled it")
        return cls(store, pool)

    async def write(self, rows: Sequence[tuple[dict[str, Any], ConsumerRecord[bytes, bytes]]]) -> int:
        return await self.store.append_documents([document for document, _ in rows])

    async def close(self) -> None:
        await self.pool.close()


class ParquetTarget:
    """A directory of Parquet part files, one per batch, all with `EXPORT_SCHEMA`."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        for leftover in directory.glob(".part-*.parquet.tmp"):  # a part cut by a crash: its batch is redone
            leftover.unlink()
        self.part = max((int(p.stem.split("-")[1]) for p in directory.glob("part-*.parquet")), default=0)

    async def write(self, rows: Sequence[tuple[dict[str, Any], ConsumerRecord[bytes, bytes]]]) -> int:
        table = pa.Table.from_pylist([export_row(d, r) for d, r in rows], schema=EXPORT_SCHEMA)
        self.part += 1
        part = self.part  # batches are written side by side: each keeps its own number
        partial = self.directory / f".part-{part:05d}.parquet.tmp"
        await asyncio.to_thread(pq.write_table, table, partial)
        partial.rename(self.directory / f"part-{part:05d}.parquet")
        return len(rows)

    async def close(self) -> None:
        return None


class CsvTarget:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        new = not path.exists() or path.stat().st_size == 0
        self.file = path.open("a", newline="", encoding="utf-8")
        self.writer = csv.writer(self.file)
        if new:
            self.writer.writerow([name for name, _ in EXPORT_COLUMNS])

    async def write(self, rows: Sequence[tuple[dict[str, Any], ConsumerRecord[bytes, bytes]]]) -> int:
        for document, record in rows:
            row = export_row(document, record)
            row["occurred_at"] = row["occurred_at"].isoformat()
            self.writer.writerow([row[name] for name, _ in EXPORT_COLUMNS])
        self.file.flush()
        return len(rows)

    async def close(self) -> None:
        self.file.close()


def export_row(document: dict[str, Any], record: ConsumerRecord[bytes, bytes]) -> dict[str, Any]:
    return {
        "event_id": document["event_id"], "type": document["type"],
        "schema_version": int(document.get("schema_version", 1)),
        "occurred_at": dt.datetime.fromisoformat(document["occurred_at"]).astimezone(dt.UTC),
        "conversation_id": document["conversation_id"], "correlation_id": document["correlation_id"],
        "causation_id": document.get("causation_id"), "topic": record.topic, "partition": record.partition,
        "offset": record.offset, "payload": orjson.dumps(document.get("payload") or {}).decode(),
    }


@dataclass
class Checkpoint:
    """Where a replay is: each partition's next offset, written once the batch before it is durable."""

    path: Path
    run: dict[str, Any]
    positions: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, run: dict[str, Any], *, resume: bool) -> Checkpoint:
        if resume and path.exists():
            saved = json.loads(path.read_text())
            if saved.get("run") != run:
                raise ReplayError(f"{path} is the checkpoint of another replay ({saved.get('run')}): resume it with "
                                  "the same target and filters, or start over without --resume")
            return cls(path, run, {k: int(v) for k, v in saved.get("positions", {}).items()})
        return cls(path, run)

    def start(self) -> dict[TopicPartition, int]:
        starts = {}
        for key, offset in self.positions.items():
            topic, _, partition = key.rpartition(":")
            starts[TopicPartition(topic, int(partition))] = offset
        return starts

    def advance(self, tp: TopicPartition, next_offset: int) -> None:
        self.positions[f"{tp.topic}:{tp.partition}"] = next_offset

    def save(self) -> None:
        partial = self.path.with_name(self.path.name + ".tmp")
        partial.write_text(json.dumps({"run": self.run, "positions": self.positions}, sort_keys=True))
        partial.replace(self.path)


async def remaining(bootstrap: str, topics: Iterable[str], start: dict[TopicPartition, int]) -> int | None:
    """Records left to read, for the ETA (an estimate: end offsets, which the broker may round)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        await consumer.start()
        tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        ends = await consumer.end_offsets(tps)
        beginnings = await consumer.beginning_offsets(tps)
        return int(sum(max(0, ends[tp] - start.get(tp, beginnings[tp])) for tp in tps))
    except Exception:  # the estimate is a convenience: the reading says what is wrong
        return None
    finally:
        await consumer.stop()


BATCH_SIZE = 2000
WRITERS = 2


async def replay(bootstrap: str, target: Target, filters: Filters, checkpoint: Checkpoint, *,
                 stop: asyncio.Event | None = None, progress: bool = True, batch_size: int = BATCH_SIZE,
                 writers: int = WRITERS, on_batch: Callable[[Summary], None] | None = None) -> Summary:
    """Read, filter and write until the topics' end or `stop`: batches of `batch_size` matching
    events, `writers` of them written side by side while reading goes on. The checkpoint takes a
    batch's positions once it and every batch before it are written."""
    summary = Summary()
    started = time.monotonic()
    topics = filters.topics()
    start = checkpoint.start()
    total = await remaining(bootstrap, topics, start) if progress else None
    bar = tqdm(total=total, unit="ev", unit_scale=True, disable=not progress, file=sys.stderr, smoothing=0.1)
    positions: dict[TopicPartition, int] = {}
    rows: list[tuple[dict[str, Any], ConsumerRecord[bytes, bytes]]] = []
    read = 0  # records read since the last batch was handed to a writer
    in_flight: deque[tuple[asyncio.Task[int], dict[TopicPartition, int], int]] = deque()

    async def settle_oldest() -> None:
        task, done_positions, records = in_flight.popleft()
        summary.written += await task
        for tp, offset in done_positions.items():
            checkpoint.advance(tp, offset)
        checkpoint.save()
        bar.update(records)
        if on_batch is not None:
            on_batch(summary)

    async def hand_over() -> None:
        nonlocal rows, read
        summary.matched += len(rows)
        if len(in_flight) >= writers:
            await settle_oldest()
        # a batch of records none of which matched still moves the checkpoint on
        writing = target.write(rows) if rows else _nothing()
        in_flight.append((asyncio.create_task(writing), dict(positions), read))
        rows, read = [], 0

    try:
        async for tp, records in stream_to_end(bootstrap, topics, start=start):
            keep = filters.keep if filters.filtering else None
            handed = 0  # records of this chunk already counted into a batch handed over
            for index, record in enumerate(records):
                try:
                    document = orjson.loads(record.value or b"")
                except orjson.JSONDecodeError:
                    document = None
                if not isinstance(document, dict) or "event_id" not in document or "occurred_at" not in document:
                    summary.skipped += 1
                elif keep is None or keep(document):
                    rows.append((document, record))
                    if len(rows) >= batch_size:
                        positions[tp] = record.offset + 1
                        read += index + 1 - handed
                        handed = index + 1
                        await hand_over()
                        if stop is not None and stop.is_set():
                            break
            else:
                positions[tp] = records[-1].offset + 1
                read += len(records) - handed
                handed = len(records)
            summary.read += handed
            if stop is not None and stop.is_set():
                summary.interrupted = True
                break
        if read:
            await hand_over()  # the rest, and the positions of what was read but did not match
        while in_flight:
            await settle_oldest()
    finally:
        for task, _, _ in in_flight:  # an error or an interruption: what is in flight finishes or fails
            with contextlib.suppress(Exception):
                await task
        bar.close()
        summary.seconds = time.monotonic() - started
    return summary


async def _nothing() -> int:
    return 0


def parse_time(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text}: give a time zone (e.g. Z or -06:00)")
    return value


async def main_async(args: argparse.Namespace) -> int:
    settings = load_settings(LoggerSettings, "logger")
    filters = Filters(since=args.since, until=args.until, types=frozenset(args.type or ()),
                      conversation=args.conversation)
    if args.target == "log":
        output = args.schema
        run = {"target": "log", "schema": args.schema}
    else:
        output = str(args.out)
        run = {"target": args.format, "out": str(args.out)}
    run |= {"since": args.since.isoformat() if args.since else None,
            "until": args.until.isoformat() if args.until else None,
            "types": sorted(filters.types), "conversation": filters.conversation}
    checkpoint_path = args.checkpoint or Path(".run") / f"replay-{run['target']}-{Path(output).name}.checkpoint.json"
    checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
    checkpoint = Checkpoint.load(checkpoint_path, run, resume=args.resume)
    target: Target
    if args.target == "log":
        target = await LogTarget.open(settings.database_url, args.schema, resume=args.resume)
    elif args.format == "parquet":
        target = ParquetTarget(Path(args.out))
    else:
        target = CsvTarget(Path(args.out))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    try:
        summary = await replay(settings.kafka_bootstrap_servers, target, filters, checkpoint, stop=stop,
                               progress=not args.quiet)
    finally:
        await target.close()
    print(summary.line(), file=sys.stderr)
    print(json.dumps(asdict(summary)))
    return 130 if summary.interrupted else 0


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="orchestrator replay", description=__doc__.split("\n\n")[0])
    targets = cli.add_subparsers(dest="target", required=True)
    log_target = targets.add_parser("log", help="Rebuild the PostgreSQL event log and its views into a schema")
    log_target.add_argument("--schema", required=True, type=_identifier, help="An empty schema (created if missing)")
    export = targets.add_parser("export", help="Export events to Parquet (a directory) or CSV (a file)")
    export.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    export.add_argument("--out", required=True, type=Path)
    for sub in (log_target, export):
        sub.add_argument("--since", type=parse_time, help="Events that occurred at or after (ISO 8601 with zone)")
        sub.add_argument("--until", type=parse_time, help="Events that occurred before (ISO 8601 with zone)")
        sub.add_argument("--type", action="append", help="Only events of this type (repeatable)")
        sub.add_argument("--conversation", help="Only this conversation (the customer's WhatsApp address)")
        sub.add_argument("--checkpoint", type=Path, help="Where progress is kept (default: .run/replay-*.json)")
        sub.add_argument("--resume", action="store_true", help="Go on from the checkpoint of an interrupted run")
        sub.add_argument("--quiet", action="store_true", help="No progress bar")
    return cli


def _identifier(text: str) -> str:
    if not text.isidentifier():
        raise argparse.ArgumentTypeError(f"{text!r} is not a schema name (letters, digits, _)")
    return text


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.type:
        unknown = [kind for kind in args.type if kind not in {t.event_type.TYPE for t in ALL_TOPICS}]
        if unknown:
            print(f"error: unknown event type {', '.join(unknown)}", file=sys.stderr)
            return 2
    if args.target == "export":
        args.out = args.out.resolve()
    try:
        return asyncio.run(main_async(args))
    except (ReplayError, DependencyUnreachable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
