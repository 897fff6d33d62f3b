"""Dead letters into the log: every record of the stages' dead-letter topics (`dlq.<stage>`), with the
error its headers carry, as a row of `<schema>.dead_letters` (counted in `error_stats`).

A record there is no event of ours to decode (it may be the very bytes that could not be decoded),
so this is a loop of its own beside the logger's stage, in its own consumer group: read a batch,
insert its rows (idempotent by topic, partition and offset), commit. An insert that fails is
retried with backoff; the offsets are committed only after the rows are in.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord

from contracts.topics import STAGES, dead_letter_topic
from runtime.resilience import retry
from services.logger.adapters.postgres import EventStore

log = logging.getLogger(__name__)

GROUP = "logger-dead-letters"
TOPICS = tuple(dead_letter_topic(stage) for stage in STAGES)

def row(record: ConsumerRecord[bytes, bytes]) -> tuple[Any, ...]:
    """The row of one dead-letter record: its place, the error from its headers, and what can be read of
    the event (ids, type, conversation) when its value is JSON."""
    headers: Mapping[str, str] = {key: _clean(value) for key, value in record.headers}
    text = _clean(record.value)
    try:
        document = orjson.loads(record.value or b"")
    except orjson.JSONDecodeError:
        document = None
    envelope = document if isinstance(document, dict) else {}

    def number(name: str) -> int | None:
        value = headers.get(name, "")
        return int(value) if value.lstrip("-").isdigit() else None

    return (
        record.topic, record.partition, record.offset,
        headers.get("dlq.stage") or record.topic.removeprefix("dlq."), headers.get("dlq.reason") or "unknown",
        headers.get("dlq.error") or "", number("dlq.attempts"), headers.get("dlq.topic"),
        number("dlq.partition"), number("dlq.offset"),
        _text(envelope.get("event_id")), _text(envelope.get("type")), _text(envelope.get("conversation_id")),
        dt.datetime.fromtimestamp(record.timestamp / 1000, dt.UTC), text,
    )


def _text(value: object) -> str | None:
    return value.replace("\x00", "") if isinstance(value, str) else None


def _clean(raw: bytes | None) -> str:
    """Text PostgreSQL accepts from any bytes: invalid UTF-8 replaced, NUL characters dropped (a row
    refused would hold the whole batch back)."""
    return (raw or b"").decode("utf-8", "replace").replace("\x00", "")


async def store_dead_letters(consumer: AIOKafkaConsumer, store: EventStore, *, stop: asyncio.Event) -> None:
    """Until `stop`: each batch of dead-letter records inserted, then its offsets committed."""
    while not stop.is_set():
        batches = await consumer.getmany(timeout_ms=500, max_records=500)
        rows = [row(record) for records in batches.values() for record in records]
        if not rows:
            continue

        async def insert(rows: list[tuple[Any, ...]] = rows) -> None:
            await store.append_dead_letters(rows)

        await retry(insert, attempts=8, retry_on=(OSError, asyncpg.PostgresError, asyncpg.InterfaceError),
                    base_s=0.5, max_s=10.0,
                    on_retry=lambda n, exc, delay: log.warning("dead letters not stored (%s), retrying in %.1f s",
                                                               exc, delay))
        await consumer.commit()
        log.warning("%d dead-lettered records stored in the log's dead_letters", len(rows))
