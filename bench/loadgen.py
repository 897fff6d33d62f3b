"""A small HTTP/1.1 load generator on raw asyncio sockets (keep-alive), light enough to share 2 cores.

Closed loop (`run_closed`): C connections send back to back, for throughput. Open loop
(`run_open`): requests start at a fixed rate whatever the latency, for honest tail latency.
`signed_webhooks` builds the requests the benchmarks send: distinct, correctly signed Twilio
webhooks; `cpu_seconds` is what a server process spent on them.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import orjson
import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts import Event, Topic
from devstack.webhooks import inbound_params, new_message_sid, sign

Request = tuple[str, bytes, dict[str, str]]  # (path, body, headers)
RequestFactory = Callable[[int], Request]  # i → request
WEBHOOK_PATH = "/webhooks/twilio/whatsapp"
BUSINESS_NUMBER = "whatsapp:+14155238886"


E = TypeVar("E", bound=Event)

def customer_number(n: int) -> str:
    """The WhatsApp address of the benchmarks' customer number `n`."""
    return f"whatsapp:+52155{n:08d}"


def signed_webhooks(base_url: str, count: int, *, bodies: Sequence[str], senders: int, account_sid: str,
                    auth_token: str, first_sender: int = 0) -> list[Request]:
    """`count` inbound webhooks (distinct MessageSids, `senders` customers from `first_sender` on,
    `bodies` in turn) signed for `base_url`, the URL the server checks signatures against."""
    made = []
    for i in range(count):
        params = inbound_params(body=bodies[i % len(bodies)], customer=customer_number(first_sender + i % senders),
                                business=BUSINESS_NUMBER, account_sid=account_sid, message_sid=new_message_sid())
        made.append((WEBHOOK_PATH, urlencode(params).encode(), {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": sign(base_url + WEBHOOK_PATH, params, auth_token)}))
    return made


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


@dataclass
class Result:
    count: int
    seconds: float
    latencies_ms: list[float]
    statuses: dict[int, int]
    server_cpu_ms: float = 0.0
    started_at: float = 0.0
    """Wall-clock time (`time.time()`) of the start; open loop: request i was due at `started_at + i / rate`."""
    by_index: list[float] = field(default_factory=list)
    """Open loop: each request's latency (ms) by its index, NaN when it got no answer."""

    @property
    def rps(self) -> float:
        return self.count / self.seconds

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]

    def line(self, label: str) -> str:
        return (f"{label:<34} {self.rps:8.0f} req/s  p50 {self.pct(50):6.2f} ms  p99 {self.pct(99):7.2f} ms  "
                f"max {max(self.latencies_ms):7.1f} ms  statuses {dict(sorted(self.statuses.items()))}")


def _encode(host: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionResetError("the server closed the connection before answering")
    status = int(status_line.split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


async def run_closed(url: str, make: RequestFactory, *, total: int, connections: int) -> Result:
    parts = urlsplit(url)
    host = parts.netloc
    counter = iter(range(total))
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        for i in counter:
            path, body, headers = make(i)
            started = time.perf_counter()
            writer.write(_encode(host, path, body, headers))
            status = await _read_response(reader)
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return Result(len(latencies), time.perf_counter() - started, latencies, statuses)


async def run_open(url: str, make: RequestFactory, *, rate: float, seconds: float, connections: int = 64) -> Result:
    """Start `rate` requests per second for `seconds`, each on an idle pooled connection."""
    parts = urlsplit(url)
    host = parts.netloc
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection(parts.hostname, parts.port))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    total = int(rate * seconds)
    by_index = [math.nan] * total

    async def one(i: int, scheduled: float) -> None:
        reader, writer = await pool.get()
        path, body, headers = make(i)
        request = _encode(host, path, body, headers)
        try:
            try:
                writer.write(request)
                status = await _read_response(reader)
            except ConnectionResetError:  # the server closed it while idle (keep-alive timeout): again, anew
                writer.close()
                reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
                writer.write(request)
                status = await _read_response(reader)
        except (ConnectionError, asyncio.IncompleteReadError):  # counted as status 0, on a new connection
            writer.close()
            statuses[0] = statuses.get(0, 0) + 1
            pool.put_nowait(await asyncio.open_connection(parts.hostname, parts.port))
            return
        latencies.append((time.perf_counter() - scheduled) * 1000)  # includes any wait for a connection
        by_index[i] = latencies[-1]
        statuses[status] = statuses.get(status, 0) + 1
        pool.put_nowait((reader, writer))

    started_at, start = time.time(), time.perf_counter()
    tasks = []
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, scheduled)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    while not pool.empty():
        pool.get_nowait()[1].close()
    return Result(len(latencies), elapsed, latencies, statuses, started_at=started_at, by_index=by_index)


def median(values: list[float]) -> float:
    return statistics.median(values)


async def outputs_seen(bootstrap: str, topics: Sequence[str], chains: set[str], timeout_s: float, *,
                       payloads: Callable[[str, dict[str, Any]], None] | None = None) -> dict[str, list[float]]:
    """Arrival times (monotonic) of this run's events on `topics`, by topic, read as they come until
    one per chain arrived. Only the envelope is parsed (orjson, no model): the watcher shares the
    machine with what it measures. `payloads(topic, payload)` sees each event's payload."""
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, auto_offset_reset="latest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    seen: dict[str, list[float]] = {topic: [] for topic in topics}
    count = 0
    try:
        deadline = time.monotonic() + timeout_s
        while count < len(chains) and time.monotonic() < deadline:
            for tp, records in (await consumer.getmany(timeout_ms=200, max_records=5000)).items():
                now = time.monotonic()
                for record in records:
                    try:
                        event = orjson.loads(record.value or b"")
                    except orjson.JSONDecodeError:
                        continue
                    if isinstance(event, dict) and event.get("correlation_id") in chains:
                        seen[tp.topic].append(now)
                        count += 1
                        if payloads is not None:
                            payloads(tp.topic, event.get("payload") or {})
    finally:
        await consumer.stop()
    return seen


async def prefill(bootstrap: str, topic: Topic[E], events: Sequence[E]) -> None:
    """Publish `events` to `topic` (keyed by conversation) before a stage starts on them."""
    await prefill_raw(bootstrap, topic.name, [(topic.key(e), topic.encode(e), None) for e in events])


async def prefill_raw(bootstrap: str, topic: str, records: Sequence[tuple[bytes, bytes, int | None]]) -> None:
    """Publish (key, value, partition or None for the key's) records to `topic`, one record per batch
    as on Tansu; in rounds of 1,000 so the queued one-record batches do not time out."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_batch_size=16, linger_ms=0)
    await producer.start()
    try:
        for start in range(0, len(records), 1000):
            await asyncio.gather(*(producer.send_and_wait(topic, value, key=key, partition=partition)
                                   for key, value, partition in records[start:start + 1000]))
    finally:
        await producer.stop()
