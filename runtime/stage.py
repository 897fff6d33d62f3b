"""The thin consumer loop every consuming stage runs: decode, handle, publish, commit.

All decisions live in the stage's `handle(event) -> outputs` function, which tests call without
Kafka. The loop adds what every stage needs: the error policy of `runtime.errors.classify`
(poison records to the dead-letter topic at once, transient failures retried with backoff, unknown
errors retried a few times; the dead letter carries error, reason, topic, partition and offset in
headers), offsets committed only after the outputs are acknowledged, trace context and
correlation id, metrics, and a heartbeat that liveness checks.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from opentelemetry import trace

from contracts import Topic, dead_letter_topic
from contracts.events import Event
from runtime.errors import classify
from runtime.kafka import Publisher
from runtime.logs import correlation_id
from runtime.metrics import (
    CONSUMER_LAG,
    DEAD_LETTERED,
    END_TO_END_SECONDS,
    EVENTS_CONSUMED,
    STAGE_RETRIES,
    STAGE_SECONDS,
)
from runtime.resilience import backoff_delay
from runtime.tracing import extract_context

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)


@dataclass(frozen=True)
class Output:
    """One event a handler asks the loop to publish."""

    topic: Topic[Any]
    event: Event


Handler = Callable[[E], Awaitable[Sequence[Output]]]


class RecordLike(Protocol):
    """What the processor reads of a record: aiokafka's ConsumerRecord and faust's Message both fit."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Any


class RecordProcessor(Generic[E]):
    """Decode, handle with retries, publish the outputs; dead-letter what cannot be processed."""

    def __init__(
        self,
        *,
        name: str,
        sources: Sequence[Topic[E]],
        handler: Handler[E],
        publisher: Publisher,
        max_attempts: int = 3,
        retry_attempts: int = 8,
        backoff_base_s: float = 0.2,
        backoff_max_s: float = 5.0,
    ) -> None:
        self.name = name
        self.sources = {topic.name: topic for topic in sources}
        self.handler = handler
        self.publisher = publisher
        self.max_attempts = max_attempts
        self.retry_attempts = retry_attempts
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self._tracer = trace.get_tracer(f"orchestrator.{name}")

    async def process(self, record: RecordLike) -> E | None:
        """The decoded event when the handler succeeded and its outputs were acknowledged; None when
        the record was dead-lettered."""
        EVENTS_CONSUMED.labels(self.name, record.topic).inc()
        started = time.perf_counter()
        try:
            event = self.sources[record.topic].decode(record.value or b"")
        except ValueError as exc:
            await self._dead_letter(record, exc, reason="undecodable", attempts=0)
            return None
        token = correlation_id.set(event.correlation_id)
        try:
            with self._tracer.start_as_current_span(
                f"{self.name} {record.topic}", context=extract_context(_headers(record)),
                kind=trace.SpanKind.CONSUMER,
                attributes={"messaging.system": "kafka", "messaging.destination.name": record.topic,
                            "event.id": event.event_id, "correlation.id": event.correlation_id},
            ):
                return event if await self._handle_with_retries(record, event) else None
        finally:
            correlation_id.reset(token)
            STAGE_SECONDS.labels(self.name).observe(time.perf_counter() - started)

    async def _handle_with_retries(self, record: RecordLike, event: E) -> bool:
        attempt = 0
        while True:
            attempt += 1
            try:
                outputs = await self.handler(event)
                for output in outputs:
                    await self.publisher.publish(output.topic, output.event)
                    if (received := _received_at(output.event)) is not None:
                        END_TO_END_SECONDS.labels(self.name).observe(time.time() - received)
                return True
            except Exception as exc:  # classified: dead-lettered now or after retries, never lost
                kind = classify(exc)
                limit = {"poison": 1, "transient": self.retry_attempts, "unknown": self.max_attempts}[kind]
                if attempt >= limit:
                    reason = "poison" if kind == "poison" else "exhausted"
                    await self._dead_letter(record, exc, reason=reason, attempts=attempt)
                    return False
                STAGE_RETRIES.labels(self.name).inc()
                delay = backoff_delay(attempt, self.backoff_base_s, self.backoff_max_s, "equal")
                log.warning("handler failed (%s, attempt %d/%d), retrying in %.2f s: %s",
                            kind, attempt, limit, delay, exc)
                await asyncio.sleep(delay)

    async def _dead_letter(self, record: RecordLike, exc: BaseException, *, reason: str, attempts: int) -> None:
        DEAD_LETTERED.labels(self.name, reason).inc()
        error = f"{type(exc).__name__}: {exc}"
        log.error("dead-lettering %s[%d]@%d (%s): %s", record.topic, record.partition, record.offset, reason, error)
        headers = [
            *_headers(record),
            ("dlq.error", error[:4000].encode()),
            ("dlq.reason", reason.encode()),
            ("dlq.stage", self.name.encode()),
            ("dlq.topic", record.topic.encode()),
            ("dlq.partition", str(record.partition).encode()),
            ("dlq.offset", str(record.offset).encode()),
            ("dlq.attempts", str(attempts).encode()),
            ("dlq.traceback", "".join(traceback.format_exception(exc))[-4000:].encode()),
        ]
        await self.publisher.publish_raw(dead_letter_topic(self.name), record.value, key=record.key,
                                         headers=headers)


K = TypeVar("K")
R = TypeVar("R")


class Lanes(Generic[K, R]):
    """Items of one key processed one after another, items of different keys side by side.

    Each key with work gets a lane: a task that processes its queued items in order and ends when
    the queue is empty. The caller bounds `in_flight` (submitted, not yet finished) by calling
    `wait_for_room` before it submits. `process` must handle its own errors: one escaping it ends
    the lane and is passed to `on_failure` (the consuming stage stops, so that the record is
    redelivered).
    """

    def __init__(self, process: Callable[[R], Awaitable[None]], *, on_failure: Callable[[BaseException], None]) -> None:
        self._process = process
        self._on_failure = on_failure
        self._queues: dict[K, collections.deque[R]] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self.in_flight = 0
        self._room = asyncio.Event()  # set each time an item finishes

    def submit(self, key: K, item: R) -> None:
        self.in_flight += 1
        queue = self._queues.get(key)
        if queue is not None:
            queue.append(item)
            return
        self._queues[key] = collections.deque([item])
        worker = asyncio.create_task(self._run(key))
        self._workers.add(worker)
        worker.add_done_callback(self._worker_done)

    async def wait_for_room(self, limit: int, *, timeout_s: float | None = None) -> bool:
        """Wait until fewer than `limit` items are in flight (at most `timeout_s`); whether they are."""
        while self.in_flight >= limit:
            self._room.clear()
            try:
                await asyncio.wait_for(self._room.wait(), timeout=timeout_s)
            except TimeoutError:
                return self.in_flight < limit
        return True

    async def close(self) -> None:
        """Cancel the lanes (their items are not finished) and wait for them to end."""
        for worker in list(self._workers):
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)

    async def _run(self, key: K) -> None:
        queue = self._queues[key]
        while queue:
            await self._process(queue[0])
            queue.popleft()
            self.in_flight -= 1
            self._room.set()
        del self._queues[key]  # no await since the last check: nothing was queued in between

    def _worker_done(self, worker: asyncio.Task[None]) -> None:
        self._workers.discard(worker)
        if not worker.cancelled() and worker.exception() is not None:
            self._on_failure(worker.exception())  # type: ignore[arg-type]


class Stage(Generic[E]):
    """The aiokafka consumer loop around a `RecordProcessor`: each conversation's records in order,
    conversations side by side up to `concurrency` records in flight, offsets committed as far as
    every record before them is done.

    The loop keeps polling while records are in flight, so one slow call (an LLM, Twilio, the
    business API) holds up only its own conversation, and throughput is bounded by `concurrency`
    rather than by the slowest call of a batch. Per partition the committed position is the lowest
    offset still in flight (or the next one when none is): a crash redelivers at most the records
    in flight, which every stage processes idempotently by event id. A revoked partition is drained
    (its records finished, its position committed) before the new owner starts on it.
    """

    def __init__(self, processor: RecordProcessor[E], *, consumer: AIOKafkaConsumer, concurrency: int = 256,
                 drain_timeout_s: float = 10.0) -> None:
        self.processor = processor
        self.name = processor.name
        self.consumer = consumer
        self.concurrency = concurrency
        self.drain_timeout_s = drain_timeout_s
        self.last_poll = time.monotonic()
        self._stopping = asyncio.Event()
        self._progress: dict[TopicPartition, _Progress] = {}
        self._lanes: Lanes[tuple[TopicPartition, bytes | None], tuple[TopicPartition, RecordLike]] = Lanes(
            self._process, on_failure=self._failed)
        self._settled = asyncio.Event()
        self.joined = False
        """The consumer has joined its group once (possibly with no partition: more processes than partitions)."""

    async def has_joined(self) -> bool:
        """Readiness: a stage still joining its group (seconds on Tansu) would not consume what comes."""
        return self.joined

    def alive(self, *, stall_after_s: float = 60.0) -> bool:
        """Liveness: the loop polled recently. A loop whose every slot is held by a call that never
        returns stops polling, and so fails this check."""
        return time.monotonic() - self.last_poll < stall_after_s

    def stop(self) -> None:
        self._stopping.set()

    def rebalance_listener(self) -> ConsumerRebalanceListener:
        """Pass to `consumer.subscribe`: drains and commits a partition before it is given away."""
        return _DrainOnRevoke(self)

    async def run(self) -> None:
        try:
            while not self._stopping.is_set():
                if not await self._lanes.wait_for_room(self.concurrency, timeout_s=0.5):
                    await self._commit()
                    continue
                self.last_poll = time.monotonic()
                in_flight = self._lanes.in_flight
                batches = await self.consumer.getmany(timeout_ms=100 if in_flight else 500,
                                                      max_records=min(500, self.concurrency - in_flight))
                for tp, records in batches.items():
                    for record in records:
                        self._progress.setdefault(tp, _Progress()).started(record.offset)
                        self._lanes.submit((tp, record.key), (tp, record))
                await self._commit()
            await self.drain(list(self._progress))  # stopped: finish what is in flight, commit it
        finally:
            await self._lanes.close()

    async def _process(self, item: tuple[TopicPartition, RecordLike]) -> None:
        tp, record = item
        await self.processor.process(record)
        self._progress[tp].done(record.offset)
        self._settled.set()

    def _failed(self, exc: BaseException) -> None:
        log.error("%s: a record's processing failed outside the error policy: %s", self.name, exc)
        self.stop()  # the service exits and restarts; the record is redelivered

    async def _commit(self, partitions: Iterable[TopicPartition] | None = None) -> None:
        assigned = self.consumer.assignment()
        due: dict[TopicPartition, int] = {}
        for tp in partitions if partitions is not None else list(self._progress):
            progress = self._progress.get(tp)
            if progress is not None and tp in assigned and progress.position > progress.committed:
                due[tp] = progress.position
        if not due:
            return
        try:
            await self.consumer.commit(due)
        except KafkaError as exc:  # e.g. a rebalance under way: the records come again, idempotently
            log.warning("%s: commit failed (%s); uncommitted records will be redelivered", self.name, exc)
            return
        for tp, position in due.items():
            self._progress[tp].committed = position
            self._record_lag(tp, position)

    async def drain(self, partitions: Iterable[TopicPartition]) -> None:
        """Finish the in-flight records of `partitions` (up to `drain_timeout_s`), commit, forget them."""
        partitions = set(partitions)
        deadline = time.monotonic() + self.drain_timeout_s
        while any(self._progress.get(tp, _EMPTY).busy for tp in partitions) and time.monotonic() < deadline:
            self._settled.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._settled.wait(), timeout=max(0.0, deadline - time.monotonic()))
        await self._commit(partitions)
        for tp in partitions:
            progress = self._progress.get(tp)
            if progress is not None and not progress.busy:
                del self._progress[tp]

    def _record_lag(self, tp: TopicPartition, position: int) -> None:
        record_lag(self.name, tp, highwater=self.consumer.highwater(tp), position=position)


class _Progress:
    """One partition's offsets in flight, in the order they were started."""

    def __init__(self) -> None:
        self._in_flight: collections.deque[int] = collections.deque()
        self._done: set[int] = set()
        self._next = -1
        self.committed = -1

    def started(self, offset: int) -> None:
        self._in_flight.append(offset)
        self._next = offset + 1

    def done(self, offset: int) -> None:
        self._done.add(offset)
        while self._in_flight and self._in_flight[0] in self._done:
            self._done.discard(self._in_flight.popleft())

    @property
    def busy(self) -> bool:
        return bool(self._in_flight)

    @property
    def position(self) -> int:
        """The offset to commit: the lowest still in flight, or the next after the last started."""
        return self._in_flight[0] if self._in_flight else self._next


_EMPTY = _Progress()


class _DrainOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, stage: Stage[Any]) -> None:
        self._stage = stage

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self._stage.drain(revoked)

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        self._stage.joined = True


def record_lag(stage: str, tp: TopicPartition, *, highwater: int | None, position: int) -> None:
    """Consumer lag of one partition: the fetch high watermark (right on Tansu too, unlike end
    offsets) minus the position after the last record processed."""
    if highwater is not None:
        CONSUMER_LAG.labels(stage, tp.topic, str(tp.partition)).set(max(0, highwater - position))


def _headers(record: RecordLike) -> list[tuple[str, bytes]]:
    headers = record.headers or ()
    items = headers.items() if isinstance(headers, dict) else headers
    return [(str(k), bytes(v) if v is not None else b"") for k, v in items]


def _received_at(event: Event) -> float | None:
    received = getattr(event.payload, "received_at", None) if hasattr(event, "payload") else None
    return received.timestamp() if received is not None else None
