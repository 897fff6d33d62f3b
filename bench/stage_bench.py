"""Each consuming stage alone, with 1, 2 and 4 processes in its group: which saturates first, and
whether adding processes raises it.

For each stage (nlu, actions, responder, logger) a broker of its own; for each process count a
fresh group of that many processes (`<STAGE>_CONCURRENCY` per process), given time to settle
their partitions, then `--events` events of new conversations published to the stage's input.
Measured: the stage's output rate from its first output to its last (events/s), and the stage's
CPU per event (psutil, all its processes). Nlu and actions call the reference business API answering
after `--business-api-latency-ms` (50 ms by default, as a remote system would); the responder
writes templates and sends to the Twilio stand-in; the logger's output is its PostgreSQL rows.
The baseline, measured in the same run, is one process: the ratio says what each process added.
Every input topic has 8 partitions, the most processes a group can use.

    .venv/bin/python bench/stage_bench.py [--stages nlu actions responder logger] [--processes 1 2 4]
        [--events 2000] [--business-api-latency-ms 50] [--json results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loadgen import cpu_seconds, outputs_seen, prefill
from bench.logger_bench import DATABASE_URL, inbound
from bench.responder_bench import REDIS_URL, reply_event
from contracts import (
    ACTION_COMPLETED,
    INTENT_DETECTED,
    MESSAGE_RECEIVED,
    REPLY_SENT,
    IntentDetected,
    IntentDetectedPayload,
    Topic,
)
from contracts.events import Event
from devstack import infra
from devstack.databases import create_database, drop_database
from runtime.kafka import all_topic_specs, ensure_topics

BUSINESS = "whatsapp:+14155238886"
TEXTS = ("hola, ¿qué paquetes tienen?", "quiero agendar una clase el viernes a las 7", "¿cuál es el horario?",
         "¿aceptan transferencia?", "necesito cancelar mi clase de mañana", "¿cuántas clases me quedan?")
ASKS = ("consultar_paquetes", "consultar_horarios")  # both answered from the business API


def asked(n: int, run: str) -> IntentDetected:
    """An `intent.detected` of a new conversation asking what only the business API knows."""
    customer = f"whatsapp:+5255{run}{n:06d}"
    now = datetime.now(UTC)
    chain = str(uuid.uuid4())
    intent = ASKS[n % len(ASKS)]
    return IntentDetected(
        event_id=str(uuid.uuid4()), occurred_at=now, conversation_id=customer, correlation_id=chain,
        causation_id=chain,
        payload=IntentDetectedPayload(message_sid=f"SM{uuid.uuid4().hex}", customer=customer, business=BUSINESS,
                                      text="¿qué paquetes tienen?" if intent == "consultar_paquetes"
                                      else "¿qué horarios hay?", intent=intent, confidence=0.95,
                                      model_version="bench", received_at=now),
    )


def said(n: int, run: str) -> Event:
    event = inbound(n, conversations=10**9)
    text = TEXTS[n % len(TEXTS)]
    return event.model_copy(update={"payload": event.payload.model_copy(update={"body": text})})


@dataclass
class StageSpec:
    module: str
    source: Topic[Any]
    make: Callable[[int, str], Event]
    sink: Topic[Any] | None  # None: the logger, whose output is its PostgreSQL rows


STAGES = {
    "nlu": StageSpec("services.nlu", MESSAGE_RECEIVED, said, INTENT_DETECTED),
    "actions": StageSpec("services.actions", INTENT_DETECTED, asked, ACTION_COMPLETED),
    "responder": StageSpec("services.responder", ACTION_COMPLETED, reply_event, REPLY_SENT),
    "logger": StageSpec("services.logger", MESSAGE_RECEIVED, said, None),
}


@dataclass
class Result:
    stage: str
    processes: int
    events: int
    done: int
    rate: float
    cpu_ms: float
    rss_mb: float  # resident memory of the stage's processes after the burst


async def arrivals(bootstrap: str, topic: str, chains: set[str], timeout_s: float) -> list[float]:
    return (await outputs_seen(bootstrap, [topic], chains, timeout_s))[topic]


async def rows_seen(dsn: str, ids: set[str], timeout_s: float) -> list[float]:
    """Times (from `logged_at`, on the monotonic clock) of this run's events in the logger's table."""
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + timeout_s
        count = 0
        while count < len(ids) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            with contextlib.suppress(asyncpg.UndefinedTableError):
                count = await conn.fetchval("SELECT count(*) FROM orchestrator.events WHERE event_id = ANY($1::uuid[])",
                                            list(ids))
        stamps = await conn.fetch("SELECT extract(epoch FROM logged_at) AS at FROM orchestrator.events "
                                  "WHERE event_id = ANY($1::uuid[]) ORDER BY logged_at", list(ids))
    finally:
        await conn.close()
    offset = time.monotonic() - time.time()
    return [float(r["at"]) + offset for r in stamps]


async def one_run(procs: infra.Processes, spec: StageSpec, name: str, *, processes: int, events: int,
                  bootstrap: str, env: dict[str, str], log_dir: Path, dsn: str | None, settle_s: float = 0.0) -> Result:
    """Start `processes` of the stage, let them settle, publish `events` of `spec.make` and measure."""
    started, ports = [], []
    prefix = spec.module.rsplit(".", 1)[1].upper()
    for n in range(processes):
        port = infra.free_port()
        started.append(procs.start(f"{name}-{processes}-{n}", [sys.executable, "-m", spec.module],
                                   log_path=log_dir / f"{name}-{processes}-{n}.log",
                                   env={**env, f"{prefix}_HTTP_PORT": str(port)}))
        ports.append(port)
    try:
        for n, port in enumerate(ports):
            await asyncio.to_thread(infra.wait_http_ok, f"http://127.0.0.1:{port}/readyz", what=f"{name}-{n}",
                                    procs=procs, timeout=120)
        # the group settles its partitions (Tansu rebalances slowly); a recovering stage reads its state
        await asyncio.sleep(settle_s or (15 if processes > 1 else 5))
        run = str(uuid.uuid4().int % 10_000).zfill(4)
        batch = [spec.make(n, run) for n in range(events)]
        timeout_s = 60 + events / 20
        if spec.sink is not None:
            watcher: Awaitable[list[float]] = asyncio.create_task(
                arrivals(bootstrap, spec.sink.name, {e.correlation_id for e in batch}, timeout_s))
            await asyncio.sleep(1.0)  # the watcher is positioned at the end before the burst
        else:
            assert dsn is not None
            watcher = rows_seen(dsn, {e.event_id for e in batch}, timeout_s)
        cpu_before = sum(cpu_seconds(p.pid) for p in started)
        await prefill(bootstrap, spec.source, batch)
        seen = await watcher
        cpu = sum(cpu_seconds(p.pid) for p in started) - cpu_before
        rss_mb = sum(psutil.Process(p.pid).memory_info().rss for p in started) / 2**20
    finally:
        for n in range(processes):
            procs.stop(f"{name}-{processes}-{n}")
    rate = (len(seen) - 1) / (seen[-1] - seen[0]) if len(seen) > 1 and seen[-1] > seen[0] else 0.0
    return Result(name, processes, events, len(seen), rate, 1000 * cpu / max(1, len(seen)), rss_mb)


@dataclass
class Setup:
    """What a stage needs around it: a broker of its own, a database, the stand-ins, its environment."""

    procs: infra.Processes
    bootstrap: str
    env: dict[str, str]
    dsn: str


@contextlib.asynccontextmanager
async def stage_setup(name: str, log_dir: Path, *, concurrency: int, business_api_latency_ms: float
                      ) -> AsyncIterator[Setup]:
    procs = infra.Processes()
    dsn: str | None = None
    try:
        bootstrap = infra.start_tansu(procs, port=infra.free_port(), log_dir=log_dir / name)
        await ensure_topics(bootstrap, all_topic_specs())
        dsn = await create_database(DATABASE_URL, prefix=f"stage_bench_{name}")
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "REDIS_URL": REDIS_URL, "LOG_LEVEL": "WARNING",
               f"{name.upper()}_CONCURRENCY": str(concurrency), "DATABASE_URL": dsn}
        if name in ("nlu", "actions"):  # nlu reads the package names at start
            api_port = infra.free_port()
            procs.start("business-api", [sys.executable, "-m", "business_api"], log_path=log_dir / "business-api.log",
                        env={**env, "BUSINESS_API_PORT": str(api_port),
                             "BUSINESS_API_LATENCY_MS": str(business_api_latency_ms)})
            await asyncio.to_thread(infra.wait_http_ok, f"http://127.0.0.1:{api_port}/healthz", what="business API",
                                    procs=procs)
            env["BUSINESS_API_URL"] = f"http://127.0.0.1:{api_port}"
        if name == "responder":
            twilio_port = infra.free_port()
            procs.start("twilio", [sys.executable, "-m", "twilio_standin"], log_path=log_dir / "twilio.log",
                        env={**env, "TWILIO_STANDIN_PORT": str(twilio_port), "TWILIO_STANDIN_CALLBACKS": "false"})
            await asyncio.to_thread(infra.wait_http_ok, f"http://127.0.0.1:{twilio_port}/healthz", what="Twilio",
                                    procs=procs)
            env["TWILIO_API_BASE_URL"] = f"http://127.0.0.1:{twilio_port}"
        if name == "logger":
            env |= {"LOGGER_JSONL_PATH": str(log_dir / "events.jsonl"), "LOGGER_CONSOLE": "false"}
        yield Setup(procs, bootstrap, env, dsn)
    finally:
        with contextlib.suppress(Exception):
            procs.stop_all()
        if dsn is not None:
            with contextlib.suppress(Exception):
                await drop_database(dsn)


async def bench_stage(name: str, args: argparse.Namespace, log_dir: Path) -> list[Result]:
    results = []
    async with stage_setup(name, log_dir, concurrency=args.concurrency,
                           business_api_latency_ms=args.business_api_latency_ms) as setup:
        for processes in args.processes:
            result = await one_run(setup.procs, STAGES[name], name, processes=processes, events=args.events,
                                   bootstrap=setup.bootstrap, env=setup.env, log_dir=log_dir, dsn=setup.dsn)
            print(f"{name:>9}  {processes:>9}  {result.done:>6}/{result.events:<6}  {result.rate:>8.1f}  "
                  f"{result.cpu_ms:>11.2f}  {result.rss_mb:>6.0f}", flush=True)
            results.append(result)
    return results


def ratios(results: Sequence[Result]) -> None:
    by_stage: dict[str, list[Result]] = {}
    for result in results:
        by_stage.setdefault(result.stage, []).append(result)
    print("\nprocesses vs one process (events/s):")
    for stage, rows in by_stage.items():
        base = rows[0].rate
        print(f"  {stage:>9}: " + ", ".join(f"{r.processes} → x{r.rate / base:.2f}" for r in rows if base))
    single = {stage: rows[0] for stage, rows in by_stage.items()}
    if single:
        slowest = min(single.values(), key=lambda r: r.rate)
        print(f"saturates first with one process each: {slowest.stage} ({slowest.rate:.0f} events/s)")


async def main_async(args: argparse.Namespace) -> list[Result]:
    log_dir = Path(tempfile.mkdtemp(prefix="stage-bench-"))
    print(f"each stage alone, {args.events} events of new conversations, {args.concurrency} in flight per process; "
          f"business API answering after {args.business_api_latency_ms:.0f} ms")
    print(f"{'stage':>9}  {'processes':>9}  {'done/events':>13}  {'events/s':>8}  {'CPU ms/event':>11}  {'RSS MB':>6}")
    results: list[Result] = []
    for name in args.stages:
        results.extend(await bench_stage(name, args, log_dir))
    ratios(results)
    print(f"logs: {log_dir}")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stages", nargs="+", choices=list(STAGES), default=list(STAGES))
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=256, help="Records in flight per process")
    parser.add_argument("--business-api-latency-ms", type=float, default=50.0)
    parser.add_argument("--json", help="Also write the results to this file (for bench/plots.py)")
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    if args.json:
        figures = {"concurrency": args.concurrency, "business_api_latency_ms": args.business_api_latency_ms,
                   "results": [asdict(r) for r in results]}
        Path(args.json).write_text(json.dumps(figures, indent=1) + "\n")
    return 0 if all(r.done == r.events for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
