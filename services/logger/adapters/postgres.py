"""The event log in PostgreSQL: one row per event, idempotent by event id; its typed and analysis
views come with the schema's migrations (`migrations.py`, `services/logger/migrations/`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import orjson
from asyncpg.exceptions._base import DataError as EncoderDataError
from pydantic import BaseModel

from contracts.events import Event
from runtime.errors import DependencyUnreachable, PoisonEvent
from services.logger.adapters.migrations import MigrationError, migrate

log = logging.getLogger(__name__)

# One statement for a whole batch: the rows travel as one array per column. `n` is each row's place
# in the batch; the answer lists the places of the rows inserted (for an event id twice in a batch,
# the first). Ids and payloads are sent as text and cast here, so a value PostgreSQL rejects fails
# on the server with a DataError rather than in the client's encoder.
INSERT_SQL = """
WITH batch AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::timestamptz[], $5::text[], $6::text[],
                         $7::text[], $8::text[]) WITH ORDINALITY
        AS b(event_id, type, schema_version, occurred_at, conversation_id, correlation_id, causation_id, payload, n)
), inserted AS (
    INSERT INTO {schema}.events (event_id, type, schema_version, occurred_at, conversation_id, correlation_id,
                                 causation_id, payload, topic)
    SELECT event_id::uuid, type, schema_version, occurred_at, conversation_id, correlation_id, causation_id,
           payload::jsonb, type
    FROM batch ORDER BY n
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id
)
SELECT min(batch.n) AS n FROM inserted JOIN batch ON batch.event_id::uuid = inserted.event_id
GROUP BY inserted.event_id
"""

DEAD_LETTER_SQL = """
INSERT INTO {schema}.dead_letters (topic, kafka_partition, kafka_offset, stage, reason, error, attempts, source_topic,
                                   source_partition, source_offset, event_id, event_type, conversation_id,
                                   dead_lettered_at, value)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
ON CONFLICT (topic, kafka_partition, kafka_offset) DO NOTHING
"""

# The same rows, when only how many were new matters (a replay): no per-row answer to build.
INSERT_COUNTED_SQL = """
INSERT INTO {schema}.events (event_id, type, schema_version, occurred_at, conversation_id, correlation_id,
                             causation_id, payload, topic)
SELECT event_id::uuid, type, schema_version, occurred_at, conversation_id, correlation_id, causation_id,
       payload::jsonb, type
FROM unnest($1::text[], $2::text[], $3::integer[], $4::timestamptz[], $5::text[], $6::text[], $7::text[],
            $8::text[]) WITH ORDINALITY
    AS b(event_id, type, schema_version, occurred_at, conversation_id, correlation_id, causation_id, payload, n)
ORDER BY n
ON CONFLICT (event_id) DO NOTHING
"""


class EventStoreError(Exception):
    """Root of the event log's errors."""


class RowRejected(EventStoreError, PoisonEvent):
    """PostgreSQL refuses a value of this event (a NUL character, an event id that is not a UUID):
    writing it again cannot succeed, so the stage dead-letters it at once."""


def describe(dsn: str) -> str:
    parts = urlsplit(dsn)
    return f"{parts.hostname}:{parts.port or 5432}{parts.path}"


class EventStore:
    def __init__(self, pool: asyncpg.Pool, *, schema: str) -> None:
        if not schema.isidentifier():
            raise ValueError(f"invalid schema name {schema!r}")
        self._pool = pool
        self._insert = INSERT_SQL.format(schema=schema)
        self._insert_counted = INSERT_COUNTED_SQL.format(schema=schema)
        self._schema = schema

    @classmethod
    async def connect(cls, dsn: str, *, schema: str, service: str = "logger") -> EventStore:
        if not schema.isidentifier():
            raise ValueError(f"invalid schema name {schema!r}")
        try:
            # batches of many events are written side by side: a few connections serve them
            pool = await asyncpg.create_pool(dsn, min_size=1, max_size=8, timeout=10)
        except (OSError, asyncpg.PostgresError) as exc:
            raise DependencyUnreachable(service, "PostgreSQL", describe(dsn), str(exc)) from exc
        try:
            return await cls.on_pool(pool, schema=schema)
        except MigrationError as exc:  # one line at start, like an unreachable database
            await pool.close()
            raise DependencyUnreachable(service, "PostgreSQL", describe(dsn), str(exc)) from exc

    @classmethod
    async def on_pool(cls, pool: asyncpg.Pool, *, schema: str) -> EventStore:
        """The store on an open pool, its schema migrated to this version (`migrations.py`)."""
        store = cls(pool, schema=schema)
        async with pool.acquire() as conn:
            applied = await migrate(conn, schema)
        if applied:
            log.info("event log schema %s: applied migrations %s", schema, applied)
        return store

    async def append_many(self, events: Sequence[Event]) -> list[bool]:
        """Insert the events with one statement, one transaction; for each, False when it was already
        there (a redelivery, or its id earlier in the same batch). Raises `RowRejected` when
        PostgreSQL refuses a value of the batch: write the events one by one to find which."""
        rows = []
        for event in events:
            payload = getattr(event, "payload", None)
            rows.append((event.event_id, event.type, event.schema_version, event.occurred_at, event.conversation_id,
                         event.correlation_id, event.causation_id,
                         payload.model_dump_json(by_alias=True) if isinstance(payload, BaseModel) else "{}"))
        return await self._append(rows)

    async def append_documents(self, documents: Sequence[Mapping[str, Any]]) -> int:
        """Insert events given as their published JSON documents (a replay reads them so, without
        building each event's model): the same rows the live logger writes. How many were new."""
        columns: tuple[list[Any], ...] = ([], [], [], [], [], [], [], [])
        for d in documents:
            row = (d["event_id"], d["type"], int(d.get("schema_version", 1)), datetime.fromisoformat(d["occurred_at"]),
                   d["conversation_id"], d["correlation_id"], d.get("causation_id"),
                   orjson.dumps(d.get("payload") or {}).decode())
            for column, value in zip(columns, row, strict=True):
                column.append(value)
        status = await self._run(self._pool.execute, self._insert_counted, columns)
        return int(status.rsplit(" ", 1)[-1])  # "INSERT 0 <rows>"

    async def _append(self, rows: Sequence[tuple[Any, ...]]) -> list[bool]:
        columns: tuple[list[Any], ...] = ([], [], [], [], [], [], [], [])
        for row in rows:
            for column, value in zip(columns, row, strict=True):
                column.append(value)
        inserted_rows = await self._run(self._pool.fetch, self._insert, columns)
        inserted = [False] * len(rows)
        for row in inserted_rows:
            inserted[row["n"] - 1] = True
        return inserted

    @staticmethod
    async def _run(call: Callable[..., Awaitable[Any]], sql: str, columns: tuple[list[Any], ...]) -> Any:
        try:
            return await call(sql, *columns)
        except (asyncpg.DataError, EncoderDataError) as exc:  # the server's refusal, or the client encoder's
            raise RowRejected(f"PostgreSQL refused the batch's values: {exc}") from exc

    async def append_dead_letters(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Rows of `dead_letters` (`services/logger/dead_letters.py` builds them), idempotent by the
        record's topic, partition and offset."""
        await self._pool.executemany(DEAD_LETTER_SQL.format(schema=self._schema), rows)

    async def count(self) -> int:
        return int(await self._pool.fetchval(f"SELECT count(*) FROM {self._schema}.events"))

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

    async def ready(self) -> bool:
        return bool(await self._pool.fetchval("SELECT 1") == 1)

    async def close(self) -> None:
        await self._pool.close()
