"""Dead-lettered records reach the log's `dead_letters` and `error_stats`, once each, from a real
broker into a real PostgreSQL; offsets are committed only after the rows are in."""

from __future__ import annotations

import asyncio
import time

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts import topic_for
from services.logger.adapters.postgres import EventStore
from services.logger.dead_letters import GROUP, TOPICS, store_dead_letters
from tests.integration.logger.scripted import script


async def dead_letter(bootstrap: str) -> tuple[str, str]:
    """Publishes what a stage dead-letters: a decodable event that failed, and bytes that are no event."""
    event = script()["A"].events[1]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_batch_size=16, linger_ms=0)
    await producer.start()
    try:
        await producer.send_and_wait("dlq.actions", topic_for(event.type).encode(event), key=b"k", headers=[
            ("dlq.error", b"BusinessApiError: timed out"), ("dlq.reason", b"exhausted"), ("dlq.stage", b"actions"),
            ("dlq.topic", b"intent.detected"), ("dlq.partition", b"3"), ("dlq.offset", b"41"),
            ("dlq.attempts", b"8")])
        await producer.send_and_wait("dlq.nlu", b"\xff not json\x00", key=b"k", headers=[  # no UTF-8, a NUL
            ("dlq.error", b"ValidationError: \x00..."), ("dlq.reason", b"undecodable"), ("dlq.stage", b"nlu"),
            ("dlq.topic", b"message.received"), ("dlq.partition", b"0"), ("dlq.offset", b"7"),
            ("dlq.attempts", b"0")])
    finally:
        await producer.stop()
    return event.event_id, event.conversation_id


async def rows_stored(pool: asyncpg.Pool, count: int, *, timeout_s: float) -> None:
    """Bounded polling until `count` rows are in `dead_letters` (whatever the loop's pace)."""
    deadline = time.monotonic() + timeout_s
    while await pool.fetchval("SELECT count(*) FROM orchestrator.dead_letters") < count:
        assert time.monotonic() < deadline, "the dead letters did not reach the log"
        await asyncio.sleep(0.2)


async def test_dead_letters_are_stored_once_and_counted_in_error_stats(own_broker: str, fresh_database: str) -> None:
    event_id, conversation = await dead_letter(own_broker)
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=2)
    store = await EventStore.on_pool(pool, schema="orchestrator")
    try:
        for _ in range(2):  # a second consumer of the group (a restart) finds nothing left to store
            consumer = AIOKafkaConsumer(*TOPICS, bootstrap_servers=own_broker, group_id=GROUP,
                                        enable_auto_commit=False, auto_offset_reset="earliest",
                                        session_timeout_ms=10_000, rebalance_timeout_ms=10_000)
            await consumer.start()
            stop = asyncio.Event()
            loop = asyncio.create_task(store_dead_letters(consumer, store, stop=stop))
            await rows_stored(pool, 2, timeout_s=30)
            await asyncio.sleep(1.0)  # the loop's commit after the insert
            stop.set()
            await loop
            committed = await consumer.committed(TopicPartition("dlq.actions", 0)) or 0
            committed += sum([await consumer.committed(TopicPartition("dlq.actions", p)) or 0 for p in range(1, 8)])
            await consumer.stop()
            assert committed == 1  # the one record of dlq.actions, committed after its row was in

        rows = {r["stage"]: dict(r) for r in await pool.fetch("SELECT * FROM orchestrator.dead_letters")}
        assert set(rows) == {"actions", "nlu"}
        failed = rows["actions"]
        assert (failed["reason"], failed["error"], failed["attempts"]) == ("exhausted", "BusinessApiError: timed out",
                                                                           8)
        assert (failed["source_topic"], failed["source_partition"], failed["source_offset"]) == ("intent.detected",
                                                                                                 3, 41)
        assert (failed["event_id"], failed["conversation_id"]) == (event_id, conversation)
        assert (rows["nlu"]["reason"], rows["nlu"]["event_id"], rows["nlu"]["value"]) == ("undecodable", None,
                                                                                          "\ufffd not json")
        assert rows["nlu"]["error"] == "ValidationError: ..."  # PostgreSQL refuses NUL in text: dropped
        stats = {(r["stage"], r["error_kind"]): r["errors"]
                 for r in await pool.fetch("SELECT * FROM orchestrator.error_stats")}
        assert stats == {("actions", "dead_letter:exhausted"): 1, ("nlu", "dead_letter:undecodable"): 1}
    finally:
        await pool.close()
