"""Growth: does a message cost more when many conversations are live?

The dialogue state is the only per-conversation state a stage keeps in its own memory (actions'
faust Table; the responder's context and reach are Redis keys, the logger's rows PostgreSQL's).
For each count of live conversations (1k, 10k, 100k by default), on a broker of its own, the
Table's changelog is pre-filled with that many full states (the most turns and applied ids a
state keeps, as a long-lived conversation has), a fresh actions process recovers them, and
`--events` messages of returning customers (spread over those conversations) go through it.
Measured: events/s from the first output to the last, actions' CPU per event and its resident
memory after the burst. The baseline, measured in the same run, is the smallest count: a
per-event cost that grows with the conversations shows as a ratio above 1.

    .venv/bin/python bench/growth_bench.py [--conversations 1000 10000 100000] [--events 2000] [--json growth.json]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import sys
import tempfile
import time
import uuid
from dataclasses import asdict
from pathlib import Path

from aiokafka.partitioner import DefaultPartitioner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loadgen import prefill_raw
from bench.stage_bench import Result, StageSpec, asked, one_run, stage_setup
from contracts import ACTION_COMPLETED, INTENT_DETECTED, IntentDetected
from contracts.topics import DIALOGUE_CHANGELOG
from services.actions.state import MAX_APPLIED, MAX_TURNS, DialogueState, Turn, encode_state

RUN = "0000"  # the digits `asked` puts in every customer's number: the same conversations each time


def full_state(conversation_id: str, now: dt.datetime) -> DialogueState:
    """A long-lived conversation's state: as many turns and applied ids as a state keeps."""
    turns = tuple(Turn(role="user" if n % 2 == 0 else "bot", text="¿qué horarios tienen el viernes?" if n % 2 == 0
                       else "offer_slots", intent="consultar_horarios", at=now - dt.timedelta(minutes=MAX_TURNS - n))
                  for n in range(MAX_TURNS))
    return DialogueState.empty(conversation_id).model_copy(update={
        "turns": turns, "applied": tuple(str(uuid.uuid4()) for _ in range(MAX_APPLIED)),
        "updated_at": now - dt.timedelta(minutes=1)})


def changelog_records(conversations: int) -> list[tuple[bytes, bytes, int | None]]:
    """The Table's changelog as faust writes it: JSON key and value, on the source record's partition."""
    partitions = list(range(INTENT_DETECTED.partitions))
    partition_of = DefaultPartitioner()
    now = dt.datetime.now(dt.UTC)
    records = []
    for n in range(conversations):
        conversation = asked(n, RUN).conversation_id
        value = encode_state(full_state(conversation, now))
        records.append((json.dumps(conversation).encode(), value,
                        partition_of(conversation.encode(), partitions, partitions)))
    return records


def returning(conversations: int) -> StageSpec:
    """Messages of customers already in one of the `conversations` live ones."""
    chosen = random.Random(7)

    def make(n: int, run: str) -> IntentDetected:
        event = asked(chosen.randrange(conversations), RUN)
        return event.model_copy(update={"event_id": str(uuid.uuid4()), "correlation_id": str(uuid.uuid4())})

    return StageSpec("services.actions", INTENT_DETECTED, make, ACTION_COMPLETED)


async def main_async(args: argparse.Namespace) -> list[tuple[int, Result]]:
    log_dir = Path(tempfile.mkdtemp(prefix="growth-bench-"))
    print(f"actions with N live conversations (full states), {args.events} messages of returning customers, "
          f"business API answering after {args.business_api_latency_ms:.0f} ms")
    print(f"{'conversations':>13}  {'prefill s':>9}  {'events/s':>8}  {'CPU ms/event':>12}  {'RSS MB':>6}  done")
    rows: list[tuple[int, Result]] = []
    for conversations in args.conversations:
        async with stage_setup("actions", log_dir / str(conversations), concurrency=args.concurrency,
                               business_api_latency_ms=args.business_api_latency_ms) as setup:
            filling = time.monotonic()
            await prefill_raw(setup.bootstrap, DIALOGUE_CHANGELOG, changelog_records(conversations))
            filled = time.monotonic() - filling
            result = await one_run(setup.procs, returning(conversations), "actions", processes=1, events=args.events,
                                   bootstrap=setup.bootstrap, env=setup.env, log_dir=log_dir, dsn=setup.dsn,
                                   settle_s=5 + conversations / 20_000)
        rows.append((conversations, result))
        print(f"{conversations:>13}  {filled:>9.1f}  {result.rate:>8.1f}  {result.cpu_ms:>12.2f}  "
              f"{result.rss_mb:>6.0f}  {result.done}/{result.events}", flush=True)
    base = rows[0][1]
    print(f"\nvs {rows[0][0]} conversations:")
    for conversations, result in rows[1:]:
        print(f"  {conversations}: CPU per event x{result.cpu_ms / base.cpu_ms:.2f}, "
              f"events/s x{result.rate / base.rate:.2f}, memory +{result.rss_mb - base.rss_mb:.0f} MB")
    print(f"logs: {log_dir}")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--business-api-latency-ms", type=float, default=0.0)
    parser.add_argument("--json", help="Also write the results to this file (for bench/plots.py)")
    args = parser.parse_args()
    rows = asyncio.run(main_async(args))
    if args.json:
        Path(args.json).write_text(json.dumps([{"conversations": n, **asdict(r)} for n, r in rows], indent=1) + "\n")
    return 0 if all(r.done == r.events for _, r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
