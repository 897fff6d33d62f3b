"""The event log in PostgreSQL: one row per event, idempotent by event id, plus analytics views."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from asyncpg.exceptions._base import DataError as EncoderDataError
from pydantic import BaseModel

from contracts.events import Event
from runtime.errors import DependencyUnreachable, PoisonEvent

SCHEMA_SQL = """
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.events (
    event_id        uuid PRIMARY KEY,
    type            text        NOT NULL,
    schema_version  integer     NOT NULL,
    occurred_at     timestamptz NOT NULL,
    conversation_id text        NOT NULL,
    correlation_id  text        NOT NULL,
    causation_id    text,
    payload         jsonb       NOT NULL,
    topic           text        NOT NULL,
    kafka_partition integer,
    kafka_offset    bigint,
    logged_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS events_conversation_idx ON {schema}.events (conversation_id, occurred_at);
CREATE INDEX IF NOT EXISTS events_correlation_idx ON {schema}.events (correlation_id);
CREATE INDEX IF NOT EXISTS events_type_time_idx ON {schema}.events (type, occurred_at);
CREATE OR REPLACE VIEW {schema}.intents_per_day AS
    SELECT date_trunc('day', occurred_at) AS day, payload->>'intent' AS intent, count(*) AS messages,
           avg((payload->>'confidence')::float) AS avg_confidence
    FROM {schema}.events WHERE type = 'intent.detected' GROUP BY 1, 2;
CREATE OR REPLACE VIEW {schema}.outcomes_per_intent AS
    SELECT payload->>'intent' AS intent, payload->>'outcome' AS outcome, count(*) AS actions
    FROM {schema}.events WHERE type = 'action.completed' GROUP BY 1, 2;
"""

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
        return await cls.on_pool(pool, schema=schema)

    @classmethod
    async def on_pool(cls, pool: asyncpg.Pool, *, schema: str) -> EventStore:
        """The store on an open pool, its table and views created if missing."""
        store = cls(pool, schema=schema)
        async with pool.acquire() as conn:
            await conn.execute(SCHEMA_SQL.format(schema=schema))
        return store

    async def append_many(self, events: Sequence[Event]) -> list[bool]:
        """Insert the events with one statement, one transaction; for each, False when it was already
        there (a redelivery, or its id earlier in the same batch). Raises `RowRejected` when
        PostgreSQL refuses a value of the batch: write the events one by one to find which."""
        columns: tuple[list[Any], ...] = ([], [], [], [], [], [], [], [])
        for event in events:
            payload = getattr(event, "payload", None)
            values = (event.event_id, event.type, event.schema_version, event.occurred_at, event.conversation_id,
                      event.correlation_id, event.causation_id,
                      payload.model_dump_json(by_alias=True) if isinstance(payload, BaseModel) else "{}")
            for column, value in zip(columns, values, strict=True):
                column.append(value)
        try:
            rows = await self._pool.fetch(self._insert, *columns)
        except (asyncpg.DataError, EncoderDataError) as exc:  # the server's refusal, or the client encoder's
            raise RowRejected(f"PostgreSQL refused the batch's values: {exc}") from exc
        inserted = [False] * len(events)
        for row in rows:
            inserted[row["n"] - 1] = True
        return inserted

    async def ready(self) -> bool:
        return bool(await self._pool.fetchval("SELECT 1") == 1)

    async def close(self) -> None:
        await self._pool.close()
