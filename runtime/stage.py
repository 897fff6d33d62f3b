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
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
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

    async def process(self, record: RecordLike) -> bool:
        """True when the handler succeeded and its outputs were acknowledged; False when dead-lettered."""
        EVENTS_CONSUMED.labels(self.name, record.topic).inc()
        started = time.perf_counter()
        try:
            event = self.sources[record.topic].decode(record.value or b"")
        except ValueError as exc:
            await self._dead_letter(record, exc, reason="undecodable", attempts=0)
            return False
        token = correlation_id.set(event.correlation_id)
        try:
            with self._tracer.start_as_current_span(
                f"{self.name} {record.topic}", context=extract_context(_headers(record)),
                kind=trace.SpanKind.CONSUMER,
                attributes={"messaging.system": "kafka", "messaging.destination.name": record.topic,
                            "event.id": event.event_id, "correlation.id": event.correlation_id},
            ):
                return await self._handle_with_retries(record, event)
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


class Stage(Generic[E]):
    """The aiokafka consumer loop around a `RecordProcessor`: poll, process each conversation's
    records in order (conversations side by side), commit once the batch's outputs are acknowledged."""

    def __init__(self, processor: RecordProcessor[E], *, consumer: AIOKafkaConsumer) -> None:
        self.processor = processor
        self.name = processor.name
        self.consumer = consumer
        self.last_poll = time.monotonic()
        self._stopping = asyncio.Event()

    def alive(self, *, stall_after_s: float = 60.0) -> bool:
        """Liveness: the loop polled recently (an exception that escaped would stop it polling)."""
        return time.monotonic() - self.last_poll < stall_after_s

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            self.last_poll = time.monotonic()
            batches = await self.consumer.getmany(timeout_ms=500, max_records=200)
            if not batches:
                continue
            # Conversations are processed side by side, each in order (records are keyed by
            # conversation): one slow call (Twilio, the business API) no longer holds up every
            # other conversation of the partition. The batch is committed once all are done.
            async with asyncio.TaskGroup() as conversations:
                for records in _by_key(batches).values():
                    conversations.create_task(self._process_in_order(records))
            await self.consumer.commit({tp: records[-1].offset + 1 for tp, records in batches.items()})
            for tp, records in batches.items():
                self._record_lag(tp, records[-1].offset + 1)

    async def _process_in_order(self, records: Sequence[RecordLike]) -> None:
        for record in records:
            await self.processor.process(record)

    def _record_lag(self, tp: TopicPartition, position: int) -> None:
        record_lag(self.name, tp, highwater=self.consumer.highwater(tp), position=position)


def record_lag(stage: str, tp: TopicPartition, *, highwater: int | None, position: int) -> None:
    """Consumer lag of one partition: the fetch high watermark (right on Tansu too, unlike end
    offsets) minus the position after the last record processed."""
    if highwater is not None:
        CONSUMER_LAG.labels(stage, tp.topic, str(tp.partition)).set(max(0, highwater - position))


def _by_key(batches: Mapping[TopicPartition, Sequence[RecordLike]]) -> dict[object, list[RecordLike]]:
    """The batch's records grouped by partition and key, in offset order within each group."""
    groups: dict[object, list[RecordLike]] = {}
    for tp, records in batches.items():
        for record in records:
            groups.setdefault((tp, record.key), []).append(record)
    return groups


def _headers(record: RecordLike) -> list[tuple[str, bytes]]:
    headers = record.headers or ()
    items = headers.items() if isinstance(headers, dict) else headers
    return [(str(k), bytes(v) if v is not None else b"") for k, v in items]


def _received_at(event: Event) -> float | None:
    received = getattr(event.payload, "received_at", None) if hasattr(event, "payload") else None
    return received.timestamp() if received is not None else None
