"""Kafka clients configured once, for the development broker (Tansu) or Apache Kafka.

DESIGN.md section 9: on Tansu every producer sends one record per batch (otherwise its end
offsets are wrong) and never uses the idempotent producer (it is rejected). On Kafka we batch
and turn idempotence on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.partitioner import DefaultPartitioner

from contracts import ALL_TOPICS, Topic, dead_letter_topic
from contracts.events import Event
from contracts.topics import DIALOGUE_CHANGELOG, INTENT_DETECTED, STAGES
from runtime.errors import DependencyUnreachable
from runtime.metrics import EVENTS_PRODUCED
from runtime.settings import ServiceSettings
from runtime.tracing import KafkaHeaders, inject_headers

log = logging.getLogger(__name__)

TANSU_MAX_BATCH_BYTES = 16  # smaller than any record: one record per batch on the dev broker
KAFKA_MAX_BATCH_BYTES = 512 * 1024  # large batches keep tail latency low when many senders await


def producer_config(settings: ServiceSettings) -> dict[str, Any]:
    on_tansu = settings.kafka_profile == "tansu"
    return {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "acks": "all",
        "enable_idempotence": not on_tansu,
        "max_batch_size": settings.kafka_max_batch_bytes
        or (TANSU_MAX_BATCH_BYTES if on_tansu else KAFKA_MAX_BATCH_BYTES),
        "linger_ms": 0 if on_tansu else 2,
        "request_timeout_ms": settings.kafka_request_timeout_ms,
    }


TANSU_FETCH_WAIT_MS = 50
"""How long a consumer's fetch may wait for records on Tansu. Tansu answers a waiting fetch when its
wait is over, not when a record arrives (measured: a record sent to an idle consumer waited 200 ms
at p50 with aiokafka's default 500 ms, 29 ms with 100, 7 ms with 10), so every hop of the pipeline
cost ~200 ms of waiting. Shorter waits cost idle fetches (at 20 ms the broker's and the logger's
CPU per message tripled at 10 messages/s): 50 ms, and the logger, off the reply's path, keeps
500. Apache Kafka answers as soon as a record arrives: its default is kept there."""
KAFKA_FETCH_WAIT_MS = 500


def fetch_wait_ms(settings: ServiceSettings) -> int:
    if settings.kafka_fetch_wait_ms is not None:
        return settings.kafka_fetch_wait_ms
    return TANSU_FETCH_WAIT_MS if settings.kafka_profile == "tansu" else KAFKA_FETCH_WAIT_MS


def consumer_config(settings: ServiceSettings, group_id: str) -> dict[str, Any]:
    return {
        "fetch_max_wait_ms": fetch_wait_ms(settings),
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": settings.kafka_session_timeout_ms,
        "rebalance_timeout_ms": settings.kafka_rebalance_timeout_ms,
        "heartbeat_interval_ms": max(1000, settings.kafka_session_timeout_ms // 5),
        "max_poll_interval_ms": 300_000,
    }


async def _start_with_retry(client: AIOKafkaProducer | AIOKafkaConsumer | AIOKafkaAdminClient, *,
                            service: str, address: str, attempts: int = 5) -> None:
    delay = 0.5
    for attempt in range(1, attempts + 1):
        try:
            await client.start()
            return
        except (KafkaError, OSError) as exc:
            if attempt == attempts:
                await _close(client)
                reason = str(exc) or type(exc).__name__
                raise DependencyUnreachable(service, "the Kafka broker", address, reason) from exc
            log.warning("broker not reachable yet (%s), retrying in %.1f s", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def _close(client: AIOKafkaProducer | AIOKafkaConsumer | AIOKafkaAdminClient) -> None:
    with contextlib.suppress(Exception):
        if isinstance(client, AIOKafkaAdminClient):
            await client.close()
        else:
            await client.stop()


class Publisher:
    """Publishes typed events and waits for the broker's acknowledgement (acks=all)."""

    def __init__(self, producer: AIOKafkaProducer, *, stage: str) -> None:
        self._producer = producer
        self._stage = stage
        self._partitioner = DefaultPartitioner()
        self._senders: dict[tuple[str, int], asyncio.Lock] = {}

    @classmethod
    async def connect(cls, settings: ServiceSettings, *, stage: str) -> Publisher:
        producer = AIOKafkaProducer(**producer_config(settings))
        await _start_with_retry(producer, service=stage, address=settings.kafka_bootstrap_servers)
        return cls(producer, stage=stage)

    async def publish(self, topic: Topic[Any], event: Event, *, headers: KafkaHeaders | None = None) -> None:
        await self._send(topic.name, topic.encode(event), key=topic.key(event), headers=inject_headers(headers))
        EVENTS_PRODUCED.labels(self._stage, topic.name).inc()

    async def publish_raw(self, topic: str, value: bytes | None, *, key: bytes | None,
                          headers: KafkaHeaders) -> None:
        await self._send(topic, value, key=key, headers=headers)
        EVENTS_PRODUCED.labels(self._stage, topic).inc()

    async def _send(self, topic: str, value: bytes | None, *, key: bytes | None, headers: KafkaHeaders) -> None:
        """Append the record to its partition's batch, one sender per partition at a time, then wait
        for the broker's acknowledgement.

        aiokafka lets every sender whose partition's batch is full wait for that batch to drain, and
        wakes them all at each drain: with one record per batch (Tansu) and hundreds of records in
        flight, each record woke every other sender of its partition, which cost 17 % of the
        responder's CPU at 256 in flight. Queued on a lock per partition, they are woken one at a
        time. The partition is the one aiokafka's default partitioner gives the key (murmur2), so
        keys land where every other producer of the system puts them."""
        if key is None:
            await self._producer.send_and_wait(topic, value, key=key, headers=headers)
            return
        partitions = sorted(await self._producer.partitions_for(topic))
        partition = self._partitioner(key, partitions, partitions)
        sender = self._senders.get((topic, partition))
        if sender is None:
            sender = self._senders[(topic, partition)] = asyncio.Lock()
        async with sender:
            delivered = await self._producer.send(topic, value, key=key, partition=partition, headers=headers)
        await delivered

    async def ready(self) -> bool:
        try:
            await asyncio.wait_for(self._producer.client.fetch_all_metadata(), timeout=2.0)
        except (KafkaError, OSError, TimeoutError):
            return False
        return True

    async def close(self) -> None:
        await self._producer.stop()


async def connect_consumer(settings: ServiceSettings, *, stage: str, group_id: str,
                           topics: Iterable[str]) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(*topics, **consumer_config(settings, group_id))
    await _start_with_retry(consumer, service=stage, address=settings.kafka_bootstrap_servers)
    return consumer


def all_topic_specs(partitions: int | None = None) -> list[tuple[str, int]]:
    """Every topic of the system with its partition count, dead-letter topics included."""
    specs = [(topic.name, partitions or topic.partitions) for topic in ALL_TOPICS]
    specs += [(dead_letter_topic(stage), partitions or 1) for stage in STAGES]
    specs.append((DIALOGUE_CHANGELOG, partitions or INTENT_DETECTED.partitions))  # co-partitioned with its source
    return specs


async def ensure_topics(bootstrap_servers: str, specs: Iterable[tuple[str, int]], *, service: str = "devstack") -> None:
    """Create the topics that do not exist yet (Tansu auto-creates with 4 partitions otherwise)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=10_000)
    await _start_with_retry(admin, service=service, address=bootstrap_servers)
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(name, num_partitions=n, replication_factor=1) for name, n in specs if name not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()


async def read_to_end(bootstrap_servers: str, topic: str, *,
                      timeout_s: float | None = None) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of `topic`, read with a throwaway consumer (no group) up to each partition's fetch
    high watermark as of reading: right on Tansu too, whose ListOffsets end offsets are not
    (DESIGN.md section 9). With `timeout_s`, stops reading then and returns what it has."""
    records: list[ConsumerRecord[bytes, bytes]] = []
    async for _, batch in stream_to_end(bootstrap_servers, [topic], timeout_s=timeout_s):
        records.extend(batch)
    return records


async def stream_to_end(bootstrap_servers: str, topics: Iterable[str], *,
                        start: Mapping[TopicPartition, int] | None = None, timeout_s: float | None = None,
                        max_records: int = 5000,
                        ) -> AsyncIterator[tuple[TopicPartition, list[ConsumerRecord[bytes, bytes]]]]:
    """The records of `topics`, batch by batch per partition, from `start`'s offsets (else the
    beginning) up to each partition's fetch high watermark as of reading, with a consumer of no
    group: the live groups' offsets are never touched. With `timeout_s`, stops reading then."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False,
                                client_id=f"reader-{uuid.uuid4().hex[:6]}")
    await _start_with_retry(consumer, service="reader", address=bootstrap_servers)
    try:
        tps = [TopicPartition(topic, p) for topic in topics for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(tps)
        for tp in tps:
            if start is not None and tp in start:
                consumer.seek(tp, start[tp])
            else:
                await consumer.seek_to_beginning(tp)
        pending = set(tps)
        loop = asyncio.get_running_loop()
        deadline = None if timeout_s is None else loop.time() + timeout_s
        while pending and (deadline is None or loop.time() < deadline):
            for tp, batch in (await consumer.getmany(timeout_ms=300, max_records=max_records)).items():
                yield tp, batch
            for tp in list(pending):
                highwater = consumer.highwater(tp)
                if highwater is not None and await consumer.position(tp) >= highwater:
                    pending.discard(tp)
    finally:
        await consumer.stop()
