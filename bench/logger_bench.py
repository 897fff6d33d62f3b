"""Logger throughput and CPU: events written row by row (batch size 1) against batched writes.

Starts Tansu and, for each batch size, a fresh PostgreSQL database and a fresh logger process
(JSONL copy and console lines on, as deployed). Pre-fills `message.received` with `--events`
events spread over `--conversations` conversations, starts the logger, and measures how fast the
events reach PostgreSQL (from the first row's `logged_at` to the last's) and the logger's CPU per
event (psutil, from ready to the last row). The baseline, measured in the same run, is batch size 1:
one INSERT per event, everything else equal.

    .venv/bin/python bench/logger_bench.py [--events 10000] [--conversations 2000] [--batch-sizes 1 500]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loadgen import cpu_seconds, prefill
from contracts import MESSAGE_RECEIVED, MessageReceived, MessageReceivedPayload, inbound_event_id
from devstack import infra
from devstack.databases import create_database, drop_database
from runtime.kafka import all_topic_specs, ensure_topics

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def inbound(n: int, conversations: int) -> MessageReceived:
    sid = f"SM{uuid.uuid4().hex}"
    event_id = inbound_event_id(sid)
    customer = f"whatsapp:+52155{n % conversations:08d}"
    now = datetime.now(UTC)
    return MessageReceived(
        event_id=event_id, type="message.received", occurred_at=now, conversation_id=customer,
        correlation_id=event_id,
        payload=MessageReceivedPayload(message_sid=sid, account_sid="AC00000000000000000000000000000001",
                                       customer=customer, business="whatsapp:+14155238886",
                                       body="quiero agendar una clase de pilates el viernes a las 7", received_at=now),
    )


async def one_run(procs: infra.Processes, *, batch_size: int, events: int, conversations: int,
                  log_dir: Path, extra_env: dict[str, str]) -> tuple[float, float, int]:
    """(events/s, logger CPU ms per event, rows written) for one logger process with `batch_size`, on a
    broker and a database of its own (the group `logger` starts from the beginning)."""
    dsn = await create_database(DATABASE_URL, prefix="logger_bench")
    name = f"logger-{batch_size}"
    port = infra.free_port()
    try:
        bootstrap = infra.start_tansu(procs, port=infra.free_port(), log_dir=log_dir / name)
        await ensure_topics(bootstrap, all_topic_specs())
        await prefill(bootstrap, MESSAGE_RECEIVED, [inbound(n, conversations) for n in range(events)])
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "DATABASE_URL": dsn,
               "LOGGER_HTTP_PORT": str(port), "LOGGER_BATCH_SIZE": str(batch_size),
               "LOGGER_JSONL_PATH": str(log_dir / f"{name}.jsonl"), **extra_env}
        proc = procs.start(name, [sys.executable, "-m", "services.logger"], log_path=log_dir / f"{name}.log", env=env)
        await asyncio.to_thread(infra.wait_http_ok, f"http://127.0.0.1:{port}/readyz", what=name, procs=procs)
        cpu_before = cpu_seconds(proc.pid)
        conn = await asyncpg.connect(dsn)
        try:
            deadline = time.monotonic() + 60 + events / 100
            rows = 0
            while rows < events and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
                rows = int(await conn.fetchval("SELECT count(*) FROM orchestrator.events"))
            cpu = cpu_seconds(proc.pid) - cpu_before
            first, last = await conn.fetchrow("SELECT min(logged_at), max(logged_at) FROM orchestrator.events")
        finally:
            await conn.close()
    finally:
        procs.stop(name)
        procs.stop("tansu")
        await drop_database(dsn)
    seconds = (last - first).total_seconds() if rows > 1 else 0.0
    return (rows - 1) / seconds if seconds else 0.0, 1000 * cpu / max(1, rows), rows


async def main_async(args: argparse.Namespace) -> int:
    procs = infra.Processes()
    log_dir = Path(tempfile.mkdtemp(prefix="logger-bench-"))
    try:
        extra_env = {"LOG_LEVEL": args.log_level, "LOGGER_CONSOLE": "true" if args.console else "false"}
        print(f"logger, {args.events} message.received events over {args.conversations} conversations, pre-filled; "
              f"JSONL on, console {'on' if args.console else 'off'}, LOG_LEVEL={args.log_level}")
        print(f"{'batch size':>10}  {'events':>6}  {'events/s':>8}  {'CPU ms/event':>12}")
        results: dict[int, tuple[float, float]] = {}
        for batch_size in args.batch_sizes:
            rate, cpu_ms, rows = await one_run(procs, batch_size=batch_size, events=args.events,
                                               conversations=args.conversations, log_dir=log_dir, extra_env=extra_env)
            results[batch_size] = (rate, cpu_ms)
            print(f"{batch_size:>10}  {rows:>6}  {rate:>8.0f}  {cpu_ms:>12.3f}")
        base = args.batch_sizes[0]
        for batch_size, (rate, cpu_ms) in results.items():
            if batch_size != base and results[base][0] and cpu_ms:
                print(f"batch size {batch_size} vs {base}: x{rate / results[base][0]:.1f} events/s, "
                      f"x{results[base][1] / cpu_ms:.1f} less CPU per event")
        print(f"logs: {log_dir}")
        return 0
    finally:
        with contextlib.suppress(Exception):
            procs.stop_all()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 500],
                        help="LOGGER_BATCH_SIZE of each run; the first is the baseline")
    parser.add_argument("--log-level", default="INFO", help="LOG_LEVEL of the logger (INFO: console lines written)")
    parser.add_argument("--no-console", dest="console", action="store_false", help="LOGGER_CONSOLE=false")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
