"""Read a topic back from the broker in tests: every record up to the fetch high watermark."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts import Topic
from contracts.events import Event


async def read_all(bootstrap: str, topic: Topic[Event], *, timeout: float = 10.0) -> list[Event]:
    """All events on `topic`, read with a throwaway consumer until each partition's high watermark."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                client_id=f"reader-{uuid.uuid4().hex[:6]}")
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic.name) or set()
        tps = [TopicPartition(topic.name, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        events: list[Event] = []
        done: set[TopicPartition] = set()
        deadline = asyncio.get_running_loop().time() + timeout
        while len(done) < len(tps) and asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(timeout_ms=300)
            for records in batches.values():
                events.extend(topic.decode(r.value) for r in records if r.value is not None)
            for tp in tps:
                highwater = consumer.highwater(tp)
                if highwater is not None and await consumer.position(tp) >= highwater:
                    done.add(tp)
        return events
    finally:
        await consumer.stop()
