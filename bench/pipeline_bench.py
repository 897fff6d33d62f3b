"""The whole pipeline under a burst: webhooks in, replies out, every event in PostgreSQL.

Starts the full stack (Tansu, business API, Twilio stand-in, the five services) on free ports,
sends `--messages` signed webhooks from distinct customers as fast as ingress takes them, then
measures how long each later stage takes to drain the burst. The baseline, measured in the same
run, is ingress's own rate for the same burst: the ratio says how much of the edge's throughput
the pipeline keeps up with.

    .venv/bin/python bench/pipeline_bench.py [--messages 1000] [--connections 16] [--twilio-latency-ms 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import psutil
from aiokafka import AIOKafkaConsumer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loadgen import cpu_seconds, run_closed, signed_webhooks
from contracts import ACTION_COMPLETED, INTENT_DETECTED, MESSAGE_RECEIVED, REPLY_SENT
from devstack.stack import Ports, Stack, StackConfig

TEXTS = ("hola", "¿qué paquetes tienen?", "¿cuál es el horario?", "quiero agendar una clase")


def cpu_by_process(stack: Stack) -> dict[str, float]:
    seconds = {}
    for name, proc in stack.procs.children:
        with contextlib.suppress(psutil.NoSuchProcess):
            seconds[name] = cpu_seconds(proc.pid)
    return seconds


async def drain_times(bootstrap: str, topics: list[str], expected: int, started: float,
                      timeout_s: float) -> dict[str, float]:
    """Seconds from the first webhook until each topic holds `expected` events (read from the start)."""
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    counts = dict.fromkeys(topics, 0)
    done: dict[str, float] = {}
    try:
        deadline = time.monotonic() + timeout_s
        while len(done) < len(topics) and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200, max_records=5000)
            for tp, records in batches.items():
                counts[tp.topic] += len(records)
                if counts[tp.topic] >= expected and tp.topic not in done:
                    done[tp.topic] = time.monotonic() - started
    finally:
        await consumer.stop()
    missing = {t: counts[t] for t in topics if t not in done}
    if missing:
        raise SystemExit(f"timed out: events seen so far {missing}, expected {expected} each")
    return done


async def logged_time(dsn: str, types: list[str], expected: int, started: float, timeout_s: float) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            stored = await conn.fetchval("SELECT count(*) FROM orchestrator.events WHERE type = ANY($1::text[])",
                                         list(types))
            if stored >= expected:
                return time.monotonic() - started
            await asyncio.sleep(0.2)
    finally:
        await conn.close()
    raise SystemExit("timed out waiting for the logger")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--twilio-latency-ms", type=float, default=200.0,
                        help="the stand-in's delay per API call (real Twilio: ~100-300 ms)")
    args = parser.parse_args()
    run_dir = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    stack = Stack(StackConfig(run_dir=run_dir, ports=Ports.free(), fresh_database=True,
                              extra_env={"LOG_LEVEL": "WARNING", "LOGGER_CONSOLE": "false",
                                         "TWILIO_STANDIN_LATENCY_MS": str(args.twilio_latency_ms)}))
    print("starting the stack…", flush=True)
    stack.start()
    cpu_before = cpu_by_process(stack)
    try:
        requests = signed_webhooks(stack.ingress_url, args.messages, bodies=TEXTS, senders=args.messages,
                                   account_sid=stack.config.account_sid, auth_token=stack.config.auth_token)
        started = time.monotonic()
        edge = asyncio.run(run_closed(stack.ingress_url, lambda i: requests[i], total=args.messages,
                                      connections=args.connections))
        ingress_s = time.monotonic() - started
        if edge.statuses != {200: args.messages}:
            raise SystemExit(f"ingress answered {edge.statuses}")
        topics = [MESSAGE_RECEIVED.name, INTENT_DETECTED.name, ACTION_COMPLETED.name, REPLY_SENT.name]
        done = asyncio.run(drain_times(stack.bootstrap, topics, args.messages, started, args.timeout))
        logged = asyncio.run(logged_time(stack.database_url, topics, 4 * args.messages, started, args.timeout))
        cpu_after = cpu_by_process(stack)
    finally:
        stack.stop()
    n = args.messages
    print(f"\n{n} webhooks from {n} customers, {args.connections} connections, one process per service, "
          f"Twilio API latency {args.twilio_latency_ms:.0f} ms")
    print(f"{'stage done':<36} {'seconds':>8} {'messages/s':>11} {'ratio to ingress':>17}")
    rows = [("ingress (baseline: webhooks answered)", ingress_s)]
    rows += [(f"{topic} complete", done[topic]) for topic in topics[1:]]
    rows.append(("logger: 4 events per message stored", logged))
    for label, seconds in rows:
        print(f"{label:<36} {seconds:8.2f} {n / seconds:11.0f} {ingress_s / seconds:17.2f}")
    print("\nCPU per message, by process (ms): " + ", ".join(
        f"{name} {(cpu_after[name] - cpu_before.get(name, 0.0)) * 1000 / n:.2f}" for name in cpu_after))
    return 0


if __name__ == "__main__":
    sys.exit(main())
