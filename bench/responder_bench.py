"""Responder throughput with a slow LLM: bounded by its configured concurrency, not by the latency.

Starts Tansu, the Twilio stand-in and the OpenRouter stand-in (answering after `--llm-latency-ms`),
then for each run a fresh responder process with `RESPONDER_CONCURRENCY=<n>`: pre-fills
`action.completed` with one reply per new conversation, and measures how fast `reply.sent` fills,
from the first reply to the last, and the responder's CPU per reply. The baseline, measured in the
same run, is a low concurrency (16): the ratio says what concurrency buys when each reply waits on
the LLM. The bound to compare with is concurrency / latency.

    .venv/bin/python bench/responder_bench.py [--replies 2000] [--llm-latency-ms 1000] [--concurrency 16 256]
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loadgen import cpu_seconds, outputs_seen, prefill
from contracts import (
    ACTION_COMPLETED,
    REPLY_FAILED,
    REPLY_SENT,
    ActionCompleted,
    ActionCompletedPayload,
    ActionOutcome,
)
from contracts.replies import Booked
from devstack import infra
from runtime.kafka import all_topic_specs, ensure_topics

BUSINESS = "whatsapp:+14155238886"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def reply_event(n: int, run: str) -> ActionCompleted:
    customer = f"whatsapp:+5255{run}{n:06d}"
    now = datetime.now(UTC)
    chain = str(uuid.uuid4())
    return ActionCompleted(
        event_id=str(uuid.uuid4()), occurred_at=now, conversation_id=customer, correlation_id=chain,
        causation_id=chain,
        payload=ActionCompletedPayload(
            customer=customer, business=BUSINESS, intent="agendar_cita", action="book", outcome=ActionOutcome.SUCCEEDED,
            reply=Booked(date=now.date(), time="19:00", class_name="Pilates Mat", code=f"B-{n}"),
            user_text="sí, porfa", received_at=now,
        ),
    )


async def one_run(procs: infra.Processes, *, bootstrap: str, env: dict[str, str], concurrency: int, replies: int,
                  log_dir: Path, processes: int = 1, profile: bool = False) -> tuple[float, float, int, int]:
    """(replies/s, CPU ms per reply, replies sent, replies failed) of `processes` responders in one
    consumer group, `concurrency` in all (each process gets its share)."""
    names, started = [], []
    for n in range(processes):
        port = infra.free_port()
        name = f"responder-{concurrency}-{n}"
        run_env = {**env, "RESPONDER_CONCURRENCY": str(max(1, concurrency // processes)),
                   "RESPONDER_HTTP_PORT": str(port)}
        profiler = ["-m", "cProfile", "-o", str(log_dir / f"{name}.prof")] if profile else []
        started.append(procs.start(name, [sys.executable, *profiler, "-m", "services.responder"],
                                   log_path=log_dir / f"{name}.log", env=run_env))
        names.append((name, port))
    try:
        for name, port in names:
            await asyncio.to_thread(infra.wait_http_ok, f"http://127.0.0.1:{port}/readyz", what=name, procs=procs)
        if processes > 1:
            await asyncio.sleep(12)  # the group settles its partitions among them (Tansu rebalances slowly)
        run = uuid.uuid4().hex[:4]
        run_digits = str(int(run, 16) % 10_000).zfill(4)
        events = [reply_event(n, run_digits) for n in range(replies)]
        chains = {e.correlation_id for e in events}
        llm_ms: list[float] = []

        def llm_latency(topic: str, payload: dict[str, Any]) -> None:
            if topic == REPLY_SENT.name and isinstance(payload.get("llm_latency_ms"), int | float):
                llm_ms.append(payload["llm_latency_ms"])

        watcher = asyncio.create_task(outputs_seen(bootstrap, [REPLY_SENT.name, REPLY_FAILED.name], chains,
                                                   timeout_s=120 + replies / max(1, concurrency), payloads=llm_latency))
        await asyncio.sleep(1.0)  # the watcher is positioned at the end before the burst
        others = {name: child for name, child in procs.children if child not in started}
        others_before = {name: cpu_seconds(child.pid) for name, child in others.items()}
        cpu_before = sum(cpu_seconds(proc.pid) for proc in started)
        filling = time.monotonic()
        await prefill(bootstrap, ACTION_COMPLETED, events)
        filled = time.monotonic() - filling
        arrived = await watcher
        seen, failed = arrived[REPLY_SENT.name], len(arrived[REPLY_FAILED.name])
        cpu = sum(cpu_seconds(proc.pid) for proc in started) - cpu_before
        spent = {name: 1000 * (cpu_seconds(child.pid) - others_before[name]) / max(1, len(seen))
                 for name, child in others.items()}
        print(f"    filled in {filled:.1f} s; CPU ms/reply of the rest: "
              + ", ".join(f"{name} {ms:.2f}" for name, ms in spent.items()))
        if llm_ms:
            llm_ms.sort()
            print(f"    LLM call as the responder saw it: p50 {llm_ms[len(llm_ms) // 2]:.0f} ms, "
                  f"p90 {llm_ms[len(llm_ms) * 9 // 10]:.0f} ms, p99 {llm_ms[len(llm_ms) * 99 // 100]:.0f} ms")
    finally:
        for name, _ in names:
            procs.stop(name)
    if len(seen) < 2:
        return 0.0, 0.0, len(seen), failed
    rate = (len(seen) - 1) / (seen[-1] - seen[0])
    return rate, 1000 * cpu / max(1, len(seen)), len(seen), failed


async def main_async(args: argparse.Namespace) -> int:
    procs = infra.Processes()
    log_dir = Path(tempfile.mkdtemp(prefix="responder-bench-"))
    try:
        bootstrap = infra.start_tansu(procs, port=infra.free_port(), log_dir=log_dir)
        await ensure_topics(bootstrap, all_topic_specs())
        twilio_port, llm_port = infra.free_port(), infra.free_port()
        procs.start("twilio", [sys.executable, "-m", "twilio_standin"], log_path=log_dir / "twilio.log",
                    env={**os.environ, "TWILIO_STANDIN_PORT": str(twilio_port), "TWILIO_STANDIN_CALLBACKS": "false",
                         "TWILIO_STANDIN_LATENCY_MS": str(args.twilio_latency_ms)})
        procs.start("openrouter", [sys.executable, "-m", "openrouter_standin"], log_path=log_dir / "openrouter.log",
                    env={**os.environ, "OPENROUTER_STANDIN_PORT": str(llm_port),
                         "OPENROUTER_STANDIN_LATENCY_MS": str(args.llm_latency_ms)})
        for port in (twilio_port, llm_port):
            await asyncio.to_thread(infra.wait_http_ok, f"http://127.0.0.1:{port}/healthz", what="stand-in",
                                    procs=procs)
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "REDIS_URL": REDIS_URL,
               "TWILIO_API_BASE_URL": f"http://127.0.0.1:{twilio_port}",
               "OPENROUTER_API_KEY": "sk-or-v1-demo-standin-0000000000000000",
               "OPENROUTER_BASE_URL": f"http://127.0.0.1:{llm_port}",
               "RESPONDER_LLM_TIMEOUT_S": str(max(4.0, 3 * args.llm_latency_ms / 1000)),
               "RESPONDER_LLM_BUDGET_S": str(max(6.0, 4 * args.llm_latency_ms / 1000)),
               "LOG_LEVEL": "WARNING", **({"KAFKA_MAX_BATCH_BYTES": str(512 * 1024)} if args.batching else {})}
        print(f"responder, one reply per new conversation, LLM stand-in answering after {args.llm_latency_ms:.0f} ms, "
              f"Twilio stand-in after {args.twilio_latency_ms:.0f} ms, producer "
              + ("batching" if args.batching else "one record per batch (Tansu)"))
        print(f"{'concurrency':>11}  {'replies':>7}  {'replies/s':>9}  {'bound c/L':>9}  {'CPU ms/reply':>12}  failed")
        results: dict[int, float] = {}
        for concurrency in args.concurrency:
            count = min(args.replies, max(100, concurrency * 8))
            rate, cpu_ms, sent, failed = await one_run(procs, bootstrap=bootstrap, env=env, concurrency=concurrency,
                                                       replies=count, log_dir=log_dir, profile=args.profile,
                                                       processes=args.processes if concurrency == max(args.concurrency)
                                                       else 1)
            bound = concurrency / (args.llm_latency_ms / 1000) if args.llm_latency_ms else float("inf")
            results[concurrency] = rate
            print(f"{concurrency:>11}  {sent:>7}  {rate:>9.1f}  {bound:>9.0f}  {cpu_ms:>12.2f}  {failed}")
        base = args.concurrency[0]
        for concurrency, rate in results.items():
            if concurrency != base and results[base]:
                print(f"concurrency {concurrency} vs {base}: x{rate / results[base]:.1f} replies/s")
        print(f"logs: {log_dir}")
        return 0
    finally:
        with contextlib.suppress(Exception):
            procs.stop_all()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=2000, help="Most replies per run (each run: 8 × concurrency)")
    parser.add_argument("--llm-latency-ms", type=float, default=1000.0)
    parser.add_argument("--twilio-latency-ms", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 256])
    parser.add_argument("--processes", type=int, default=1,
                        help="Responder processes sharing the highest concurrency (one consumer group)")
    parser.add_argument("--batching", action="store_true",
                        help="Producer batching as on Apache Kafka (KAFKA_MAX_BATCH_BYTES=512 KB) instead of "
                        "Tansu's one record per batch (DESIGN.md section 9; nothing here reads end offsets)")
    parser.add_argument("--profile", action="store_true", help="cProfile each responder (.prof files in the logs)")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
