"""The event log in PostgreSQL: one row per event, idempotent by event id, plus analytics views."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from contracts.events import Event
from runtime.errors import DependencyUnreachable

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

INSERT_SQL = """
INSERT INTO {schema}.events (event_id, type, schema_version, occurred_at, conversation_id, correlation_id,
                             causation_id, payload, topic, kafka_partition, kafka_offset)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11)
ON CONFLICT (event_id) DO NOTHING
"""


def describe(dsn: str) -> str:
    parts = urlsplit(dsn)
    return f"{parts.hostname}:{parts.port or 5432}{parts.path}"


class EventStore:
    def __init__(self, pool: asyncpg.Pool, *, schema: str) -> None:
        self._pool = pool
        self._insert = INSERT_SQL.format(schema=schema)

    @classmethod
    async def connect(cls, dsn: str, *, schema: str, service: str = "logger") -> EventStore:
        if not schema.isidentifier():
            raise ValueError(f"invalid schema name {schema!r}")
        try:
            # the stage logs conversations side by side: a few connections serve them
            pool = await asyncpg.create_pool(dsn, min_size=1, max_size=8, timeout=10)
        except (OSError, asyncpg.PostgresError) as exc:
            raise DependencyUnreachable(service, "PostgreSQL", describe(dsn), str(exc)) from exc
        async with pool.acquire() as conn:
            await conn.execute(SCHEMA_SQL.format(schema=schema))
        return cls(pool, schema=schema)

    async def append(self, event: Event, *, topic: str, partition: int | None = None,
                     offset: int | None = None) -> bool:
        """Insert the event; False when it was already there (a redelivery)."""
        dumped: dict[str, Any] = event.model_dump(mode="json", by_alias=True)
        status = await self._pool.execute(
            self._insert, event.event_id, event.type, event.schema_version, event.occurred_at,
            event.conversation_id, event.correlation_id, event.causation_id, json.dumps(dumped["payload"]),
            topic, partition, offset,
        )
        return bool(status.endswith(" 1"))

    async def ready(self) -> bool:
        return bool(await self._pool.fetchval("SELECT 1") == 1)

    async def close(self) -> None:
        await self._pool.close()
