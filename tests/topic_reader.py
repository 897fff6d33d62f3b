"""Read a topic back from the broker in tests: every record up to the fetch high watermark, or
just the high watermarks (how many records a topic holds, without reading them)."""

from __future__ import annotations

import asyncio
import uuid
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts import Topic
from contracts.events import Event
from runtime.kafka import read_to_end

E = TypeVar("E", bound=Event)


def _reader(bootstrap: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                            client_id=f"reader-{uuid.uuid4().hex[:6]}")


async def read_all(bootstrap: str, topic: Topic[E], *, timeout: float = 10.0) -> list[E]:
    """All events on `topic`, read with a throwaway consumer until each partition's high watermark."""
    return [topic.decode(r.value) for r in await read_to_end(bootstrap, topic.name, timeout_s=timeout)
            if r.value is not None]


async def high_watermark(bootstrap: str, topic: Topic[E], *, timeout: float = 10.0) -> int:
    """The sum of `topic`'s partition high watermarks: every record the broker acknowledged so far.

    From fetch responses, which are right on Tansu too; its ListOffsets end offsets are not when a
    producer batches (DESIGN.md section 9), so they only serve as a start that is never past the end.
    """
    consumer = _reader(bootstrap)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic.name) or set()
        if not partitions:
            raise AssertionError(f"topic {topic.name} does not exist")
        tps = [TopicPartition(topic.name, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        deadline = asyncio.get_running_loop().time() + timeout
        while any(consumer.highwater(tp) is None for tp in tps):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no fetch answer for every partition of {topic.name} within {timeout} s")
            await consumer.getmany(timeout_ms=200)
        return sum(consumer.highwater(tp) or 0 for tp in tps)
    finally:
        await consumer.stop()
