"""End to end, open loop: signed webhooks in at a constant rate, replies out, next to the seed's design.

For each profile, starts the demo stack on free ports (Tansu, business API, Twilio and OpenRouter
stand-ins, the five services, one process each) with the dependencies answering after the
profile's latencies (`zero`: all 0; `realistic`: LLM 800 ms, business API 50 ms, Twilio 200 ms).
Then, at increasing arrival rates, each for `--seconds`, sends signed webhooks without waiting for
answers (`loadgen.run_open`), each from a new customer, texts that reach the LLM in turn
(greetings, price and schedule questions), and reports per step:

- the webhook's acknowledgement latency (p50/p95/p99, from when the request was due);
- webhook-to-reply latency (p50/p95/p99): from when the webhook was due until the reply was
  sent, for the replies the Twilio stand-in recorded (`GET /_standin/messages`, matched by `To`);
- replies recorded / webhooks sent, and the CPU ms per message of every process (psutil).

A step is sustained when every webhook got a 200, every customer got a reply and the reply's p99
is under 2 s above the dependencies' own latency (LLM + business API + Twilio); the rates stop at
the first step that is not. Then our five services are stopped and the baseline, the seed's
design (`bench/seed_baseline.py`: everything inside the webhook request), gets the same
stand-ins, latencies and rates.

Reply times: the stand-in's `date_created` has whole seconds (Twilio's format), too coarse for
these percentiles. Ours is timed by `reply.sent`'s `occurred_at` (written when Twilio has answered),
the baseline by its webhook's answer (it sends the reply first); both are checked against the
stand-in's record to the second.

    .venv/bin/python bench/e2e_bench.py [--profile zero realistic] [--rates 10 20 40 60 80 100 120 150]
                                        [--seconds 6] [--only ours|seed] [--json e2e.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path

import asyncpg
import httpx
import psutil
from aiokafka import AIOKafkaConsumer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loadgen import Result, cpu_seconds, customer_number, run_open, signed_webhooks
from contracts import REPLY_SENT
from devstack import infra
from devstack.stack import SERVICES, Ports, Stack, StackConfig

TEXTS = ("hola", "¿cuánto cuestan los paquetes?", "¿cuál es el horario?", "buenas tardes",
         "¿qué paquetes tienen?", "¿a qué hora son las clases mañana?")
SLACK_MS = 2000.0  # what a sustained step may add to the dependencies' own latency, at p99
WARM_UP = 10  # messages before the first step, not measured


@dataclass(frozen=True)
class Profile:
    llm_ms: float
    business_ms: float
    twilio_ms: float

    @property
    def dependencies_ms(self) -> float:
        """One reply's own wait on its dependencies: one LLM answer, one business API call, one send."""
        return self.llm_ms + self.business_ms + self.twilio_ms

    def env(self) -> dict[str, str]:
        return {"OPENROUTER_STANDIN_LATENCY_MS": str(self.llm_ms), "BUSINESS_API_LATENCY_MS": str(self.business_ms),
                "TWILIO_STANDIN_LATENCY_MS": str(self.twilio_ms)}


PROFILES = {"zero": Profile(0, 0, 0), "realistic": Profile(llm_ms=800, business_ms=50, twilio_ms=200)}


@dataclass
class Step:
    rate: float
    sent: int
    ack: Result
    reply_ms: list[float]
    replies: int
    cpu_ms: dict[str, float]
    machine_busy: float
    coarse_mismatches: int

    def sustained(self, threshold_ms: float) -> bool:
        return (self.ack.statuses == {200: self.sent} and self.replies == self.sent
                and pct(self.reply_ms, 99) <= threshold_ms)


@dataclass
class Run:
    name: str
    steps: list[Step] = field(default_factory=list)

    def best(self, threshold_ms: float) -> float:
        return max((s.rate for s in self.steps if s.sustained(threshold_ms)), default=0.0)


def pct(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


class ReplySentClock:
    """When `reply.sent` says each customer's first reply went out (wall clock), read as it comes."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = AIOKafkaConsumer(REPLY_SENT.name, bootstrap_servers=bootstrap, auto_offset_reset="latest",
                                         enable_auto_commit=False, group_id=None)
        self.sent_at: dict[str, float] = {}
        self.by_generator: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            for records in (await self.consumer.getmany(timeout_ms=200, max_records=5000)).values():
                for record in records:
                    event = REPLY_SENT.decode(record.value or b"")
                    if event.payload.to not in self.sent_at:
                        self.sent_at[event.payload.to] = event.occurred_at.timestamp()
                        generator = event.payload.generator
                        self.by_generator[generator] = self.by_generator.get(generator, 0) + 1

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.consumer.stop()


@dataclass
class Target:
    """What receives the webhooks, which processes' CPU is its cost, and when its replies went out."""

    name: str
    url: str
    processes: dict[str, int]
    reply_times: Callable[[Result, float, list[str]], dict[str, float]]


def cpu_of(processes: dict[str, int]) -> dict[str, float]:
    seconds = {}
    for name, pid in processes.items():
        with contextlib.suppress(psutil.NoSuchProcess):
            seconds[name] = cpu_seconds(pid)
    return seconds


async def recorded_replies(twilio: httpx.AsyncClient, customers: set[str], *, timeout_s: float,
                           ready: Callable[[set[str]], bool]) -> dict[str, float]:
    """Each customer's first message in the Twilio stand-in (its `date_created`, epoch seconds),
    polled until all have one and `ready` agrees, or `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        records = (await twilio.get("/_standin/messages")).json()
        created: dict[str, float] = {}
        for record in records:
            if record["to"] in customers and record["to"] not in created:
                created[record["to"]] = parsedate_to_datetime(record["date_created"]).timestamp()
        if (len(created) == len(customers) and ready(set(created))) or time.monotonic() > deadline:
            return created
        await asyncio.sleep(0.5)


async def step(target: Target, *, rate: float, seconds: float, first_sender: int, stack: Stack,
               twilio: httpx.AsyncClient, connections: int, drain_s: float,
               ready: Callable[[set[str]], bool]) -> Step:
    count = int(rate * seconds)
    requests = signed_webhooks(target.url, count, bodies=TEXTS, senders=count, first_sender=first_sender,
                               account_sid=stack.config.account_sid, auth_token=stack.config.auth_token)
    customers = [customer_number(first_sender + i) for i in range(count)]
    await twilio.delete("/_standin/messages")  # keeps the polling below cheap
    cpu_before = cpu_of(target.processes)
    psutil.cpu_percent()
    ack = await run_open(target.url, lambda i: requests[i], rate=rate, seconds=seconds, connections=connections)
    created = await recorded_replies(twilio, set(customers), timeout_s=drain_s, ready=ready)
    busy = psutil.cpu_percent()
    cpu_after = cpu_of(target.processes)
    sent_at = target.reply_times(ack, rate, customers)
    reply_ms, mismatches = [], 0
    for i, customer in enumerate(customers):
        if customer in created and customer in sent_at:
            at = sent_at[customer]
            reply_ms.append((at - (ack.started_at + i / rate)) * 1000)
            mismatches += not created[customer] - 0.25 <= at <= created[customer] + 1.25  # whole seconds, clocks
    cpu_ms = {name: (cpu_after[name] - cpu_before[name]) * 1000 / count for name in cpu_after if name in cpu_before}
    return Step(rate, count, ack, reply_ms, len(created), cpu_ms, busy, mismatches)


def acknowledged(ack: Result, rate: float, customers: list[str]) -> dict[str, float]:
    """The baseline sends the reply before it answers the webhook: the answer's time bounds the reply's."""
    return {customer: ack.started_at + i / rate + ack.by_index[i] / 1000
            for i, customer in enumerate(customers) if not math.isnan(ack.by_index[i])}


async def ramp(target: Target, args: argparse.Namespace, *, stack: Stack, threshold_ms: float, offset: int,
               ready: Callable[[set[str]], bool]) -> Run:
    run = Run(target.name)
    # kept-alive connections expire before uvicorn's own 5 s keep-alive timeout closes them under us
    async with httpx.AsyncClient(base_url=stack.url("twilio"), trust_env=False, timeout=30,
                                 limits=httpx.Limits(keepalive_expiry=2.0)) as twilio:
        measure = functools.partial(step, target, stack=stack, twilio=twilio, connections=args.connections,
                                    drain_s=threshold_ms / 1000 + 10, ready=ready)
        await measure(rate=WARM_UP / 2, seconds=2, first_sender=offset)
        for n, rate in enumerate(args.rates, start=1):
            result = await measure(rate=rate, seconds=args.seconds, first_sender=offset + n * 100_000)
            run.steps.append(result)
            print(f"  {target.name} {rate:g}/s: ack p99 {result.ack.pct(99):.0f} ms, reply p99 "
                  f"{pct(result.reply_ms, 99):.0f} ms, replies {result.replies}/{result.sent}", flush=True)
            if not result.sustained(threshold_ms):
                break
    return run


def print_run(run: Run, profile_name: str, threshold_ms: float) -> None:
    print(f"\n**{run.name}**, profile `{profile_name}` (sustained: every webhook 200, every reply recorded, "
          f"reply p99 ≤ {threshold_ms:.0f} ms)\n")
    print("| rate/s | sent | ack p50 | ack p95 | ack p99 | reply p50 | reply p95 | reply p99 | replies/sent "
          "| machine busy | sustained |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for s in run.steps:
        statuses = "" if s.ack.statuses == {200: s.sent} else f" {dict(sorted(s.ack.statuses.items()))}"
        print(f"| {s.rate:g} | {s.sent} | {s.ack.pct(50):.1f} ms | {s.ack.pct(95):.1f} ms | {s.ack.pct(99):.1f} ms "
              f"| {pct(s.reply_ms, 50):.0f} ms | {pct(s.reply_ms, 95):.0f} ms | {pct(s.reply_ms, 99):.0f} ms "
              f"| {s.replies}/{s.sent}{statuses} | {s.machine_busy:.0f} % "
              f"| {'yes' if s.sustained(threshold_ms) else '**no**'} |")
    names = sorted({name for s in run.steps for name in s.cpu_ms}, key=lambda n: (n not in SERVICES, n))
    print("\nCPU ms per message, by process:\n")
    print("| rate/s | " + " | ".join(names) + " | total |")
    print("|---|" + "---|" * (len(names) + 1))
    for s in run.steps:
        print(f"| {s.rate:g} | " + " | ".join(f"{s.cpu_ms.get(name, 0.0):.2f}" for name in names)
              + f" | {sum(s.cpu_ms.values()):.1f} |")
    mismatches = sum(s.coarse_mismatches for s in run.steps)
    if mismatches:
        print(f"\n{mismatches} reply times disagree with the stand-in's date_created (whole seconds)")


def run_profile(profile_name: str, args: argparse.Namespace) -> tuple[Run | None, Run | None]:
    profile = PROFILES[profile_name]
    threshold_ms = profile.dependencies_ms + SLACK_MS
    run_dir = Path(tempfile.mkdtemp(prefix=f"bench-e2e-{profile_name}-"))
    stack = Stack(StackConfig(run_dir=run_dir, ports=Ports.free(), fresh_database=True, llm_standin=True,
                              extra_env={"LOG_LEVEL": "WARNING", "LOGGER_CONSOLE": "false", **profile.env()}))
    print(f"\nprofile {profile_name}: LLM {profile.llm_ms:g} ms, business API {profile.business_ms:g} ms, "
          f"Twilio {profile.twilio_ms:g} ms; starting the stack…", flush=True)
    stack.start()
    ours = seed = None
    try:
        every = {name: proc.pid for name, proc in stack.procs.children}
        if args.only in (None, "ours"):
            ours = asyncio.run(measure_ours(stack, every, args, threshold_ms))
        for service in SERVICES:
            stack.stop_service(service)
        if args.only in (None, "seed"):
            port = infra.free_port()
            proc = stack.procs.start("seed", [sys.executable, str(Path(__file__).parent / "seed_baseline.py"),
                                              "--port", str(port), "--twilio-url", stack.url("twilio"),
                                              "--llm-url", stack.url("openrouter")],
                                     log_path=stack.log_dir / "seed.log", env=stack.service_env())
            # It trains the NLU model before it answers: seconds alone, a minute or more on a busy machine.
            infra.wait_http_ok(f"http://127.0.0.1:{port}/healthz", what="seed baseline", procs=stack.procs,
                               timeout=300)
            rest = {name: pid for name, pid in every.items() if name not in SERVICES}
            target = Target("seed baseline", f"http://127.0.0.1:{port}", {"seed": proc.pid, **rest}, acknowledged)
            seed = asyncio.run(ramp(target, args, stack=stack, threshold_ms=threshold_ms, offset=20_000_000,
                                    ready=lambda _: True))
    finally:
        stack.stop()
    for run in (ours, seed):
        if run is not None:
            print_run(run, profile_name, threshold_ms)
    if ours is not None and seed is not None:
        summary(ours, seed, threshold_ms)
    return ours, seed


async def measure_ours(stack: Stack, every: dict[str, int], args: argparse.Namespace, threshold_ms: float) -> Run:
    clock = ReplySentClock(stack.bootstrap)
    await clock.start()
    await asyncio.sleep(1.0)  # positioned at the end before the first webhook
    try:
        target = Target("ours (ingress → Kafka → nlu → actions → responder)", stack.ingress_url, every,
                        lambda _ack, _rate, _customers: dict(clock.sent_at))
        ready: Callable[[set[str]], bool] = lambda customers: customers <= clock.sent_at.keys()  # noqa: E731
        run = await ramp(target, args, stack=stack, threshold_ms=threshold_ms, offset=10_000_000, ready=ready)
        print(f"  replies by generator: {clock.by_generator}")
        await asyncio.sleep(3.0)  # the logger writes the last events
        print_hops(await hop_latencies(stack.database_url))
        return run
    finally:
        await clock.stop()


HOPS = (("ingress → nlu", "message.received", "intent.detected"),
        ("nlu → actions", "intent.detected", "action.completed"),
        ("actions → responder (reply sent)", "action.completed", "reply.sent"))


async def hop_latencies(dsn: str) -> dict[str, list[float]]:
    """Per hop, ms between one stage's event and the next stage's for the same message (each event's
    `occurred_at`, written when its stage made it), from the logger's table: where the reply's time goes."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT correlation_id, type, min(occurred_at) AS at FROM orchestrator.events "
                                "WHERE type = ANY($1::text[]) GROUP BY correlation_id, type",
                                sorted({t for _, a, b in HOPS for t in (a, b)}))
    finally:
        await conn.close()
    chains: dict[str, dict[str, float]] = {}
    for row in rows:
        chains.setdefault(row["correlation_id"], {})[row["type"]] = row["at"].timestamp()
    return {hop: [1000 * (times[b] - times[a]) for times in chains.values() if a in times and b in times]
            for hop, a, b in HOPS}


def print_hops(hops: dict[str, list[float]]) -> None:
    print("\nWhere the reply's time goes, every step of the run (ms between one stage's event and the next's):\n")
    print("| hop | messages | p50 | p95 | p99 |")
    print("|---|---|---|---|---|")
    for hop, values in hops.items():
        print(f"| {hop} | {len(values)} | {pct(values, 50):.0f} | {pct(values, 95):.0f} | {pct(values, 99):.0f} |")


def summary(ours: Run, seed: Run, threshold_ms: float) -> None:
    print("\n| at the highest rate both sustained | ack p50 | ack p99 | reply p50 | reply p99 |")
    print("|---|---|---|---|---|")
    common = min(ours.best(threshold_ms), seed.best(threshold_ms))
    for run in (ours, seed):
        at = next((s for s in run.steps if s.rate == common), None)
        if at is not None:
            print(f"| {run.name} at {common:g}/s | {at.ack.pct(50):.1f} ms | {at.ack.pct(99):.1f} ms "
                  f"| {pct(at.reply_ms, 50):.0f} ms | {pct(at.reply_ms, 99):.0f} ms |")
    print(f"\nhighest sustained rate: ours {ours.best(threshold_ms):g}/s, seed baseline {seed.best(threshold_ms):g}/s "
          f"(steps {', '.join(f'{s.rate:g}' for s in ours.steps)} / {', '.join(f'{s.rate:g}' for s in seed.steps)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", nargs="+", choices=sorted(PROFILES), default=["zero", "realistic"])
    parser.add_argument("--rates", type=float, nargs="+", default=[10, 20, 40, 60, 80, 100, 120, 150])
    parser.add_argument("--seconds", type=float, default=5.0, help="Duration of each step")
    parser.add_argument("--connections", type=int, default=256,
                        help="Load generator's connections (a webhook waiting for one counts that wait)")
    parser.add_argument("--only", choices=["ours", "seed"], help="Measure one side only")
    parser.add_argument("--json", help="Also write the steps' figures to this file (for bench/plots.py)")
    args = parser.parse_args()
    started = time.monotonic()
    figures = {}
    for name in args.profile:
        ours, seed = run_profile(name, args)
        figures[name] = {run.name: [step_figures(s) for s in run.steps] for run in (ours, seed) if run is not None}
    print(f"\n(whole run {time.monotonic() - started:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1) + "\n")
    return 0


def step_figures(step: Step) -> dict[str, float]:
    return {"rate": step.rate, "sent": step.sent, "replies": step.replies,
            "ack_p50_ms": step.ack.pct(50), "ack_p99_ms": step.ack.pct(99),
            "reply_p50_ms": pct(step.reply_ms, 50), "reply_p95_ms": pct(step.reply_ms, 95),
            "reply_p99_ms": pct(step.reply_ms, 99),
            "services_cpu_ms_per_message": sum(ms for name, ms in step.cpu_ms.items() if name in SERVICES)}

if __name__ == "__main__":
    sys.exit(main())
