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

# The new rows of a batch folded into `conversation_days` (migration 0005), in the statement that
# inserts them: an event inserted once is counted once, whatever is redelivered or replayed.
_FOLD_SQL = """
, folded AS (
    SELECT conversation_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
           count(*) FILTER (WHERE type = 'message.received') AS messages_in,
           count(*) FILTER (WHERE type = 'reply.sent') AS messages_out,
           min(occurred_at) FILTER (WHERE type IN ('message.received', 'reply.sent')) AS first_message_at,
           max(occurred_at) FILTER (WHERE type IN ('message.received', 'reply.sent')) AS last_message_at,
           coalesce(array_agg(DISTINCT payload->>'intent' ORDER BY payload->>'intent')
                    FILTER (WHERE type = 'intent.detected' AND payload->>'intent' IS NOT NULL), '{{}}') AS intents,
           bool_or(type = 'conversation.handed_off') AS handed_off,
           bool_or((type = 'payment.updated' AND payload->>'status' = 'paid')
                   OR (type = 'action.completed' AND payload->'reply'->>'kind' = 'payment_confirmed')) AS purchased,
           bool_or(type = 'action.completed' AND payload->'reply'->>'kind' = 'booked') AS booked,
           bool_or(type = 'action.completed' AND payload->'reply'->>'kind' = 'cancelled') AS cancelled,
           bool_or(type = 'conversation.opted_out') AS opted_out,
           bool_or(type = 'action.completed' AND payload->'reply'->>'kind' IN ('abandoned', 'flow_expired'))
               AS flow_dropped,
           max(occurred_at) FILTER (WHERE type = 'action.completed') AS last_action_at,
           (array_agg(payload->>'outcome' ORDER BY occurred_at DESC)
                FILTER (WHERE type = 'action.completed'))[1] AS last_action_outcome,
           count(*) FILTER (WHERE type = 'reply.sent' AND payload->>'generator' = 'llm') AS replies_llm,
           count(*) FILTER (WHERE type = 'reply.sent' AND coalesce(payload->>'generator', 'template') = 'template')
               AS replies_template
    FROM inserted GROUP BY 1, 2
), days AS (
    INSERT INTO {schema}.conversation_days AS d SELECT * FROM folded
    ON CONFLICT (conversation_id, day) DO UPDATE SET
        messages_in = d.messages_in + excluded.messages_in,
        messages_out = d.messages_out + excluded.messages_out,
        first_message_at = least(d.first_message_at, excluded.first_message_at),
        last_message_at = greatest(d.last_message_at, excluded.last_message_at),
        intents = ARRAY(SELECT DISTINCT i FROM unnest(d.intents || excluded.intents) AS i ORDER BY i),
        handed_off = d.handed_off OR excluded.handed_off,
        purchased = d.purchased OR excluded.purchased,
        booked = d.booked OR excluded.booked,
        cancelled = d.cancelled OR excluded.cancelled,
        opted_out = d.opted_out OR excluded.opted_out,
        flow_dropped = d.flow_dropped OR excluded.flow_dropped,
        last_action_outcome = CASE WHEN excluded.last_action_at >= d.last_action_at OR d.last_action_at IS NULL
                                   THEN coalesce(excluded.last_action_outcome, d.last_action_outcome)
                                   ELSE d.last_action_outcome END,
        last_action_at = greatest(d.last_action_at, excluded.last_action_at),
        replies_llm = d.replies_llm + excluded.replies_llm,
        replies_template = d.replies_template + excluded.replies_template
)
"""

_INSERTED_SQL = """
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
    RETURNING event_id, type, occurred_at, conversation_id, payload
)"""

# One statement for a whole batch: the rows travel as one array per column. `n` is each row's place
# in the batch; the answer lists the places of the rows inserted (for an event id twice in a batch,
# the first). Ids and payloads are sent as text and cast here, so a value PostgreSQL rejects fails
# on the server with a DataError rather than in the client's encoder.
INSERT_SQL = _INSERTED_SQL + _FOLD_SQL + """
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
INSERT_COUNTED_SQL = _INSERTED_SQL + _FOLD_SQL + """
SELECT count(*) FROM inserted
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
        self._insert_dead_letters = DEAD_LETTER_SQL.format(schema=schema)
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
        rows = [(d["event_id"], d["type"], int(d.get("schema_version", 1)), datetime.fromisoformat(d["occurred_at"]),
                 d["conversation_id"], d["correlation_id"], d.get("causation_id"),
                 orjson.dumps(d.get("payload") or {}).decode()) for d in documents]
        return int(await self._run(self._pool.fetchval, self._insert_counted, rows))

    async def _append(self, rows: Sequence[tuple[Any, ...]]) -> list[bool]:
        inserted_rows = await self._run(self._pool.fetch, self._insert, rows)
        inserted = [False] * len(rows)
        for row in inserted_rows:
            inserted[row["n"] - 1] = True
        return inserted

    @staticmethod
    async def _run(call: Callable[..., Awaitable[Any]], sql: str, rows: Sequence[tuple[Any, ...]]) -> Any:
        """`sql` with the rows sent as one array per column (the eight of the insert statements)."""
        columns: tuple[list[Any], ...] = ([], [], [], [], [], [], [], [])
        for row in rows:
            for column, value in zip(columns, row, strict=True):
                column.append(value)
        try:
            return await call(sql, *columns)
        except (asyncpg.DataError, EncoderDataError) as exc:  # the server's refusal, or the client encoder's
            raise RowRejected(f"PostgreSQL refused the batch's values: {exc}") from exc

    async def append_dead_letters(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Rows of `dead_letters` (`services/logger/dead_letters.py` builds them), idempotent by the
        record's topic, partition and offset."""
        await self._pool.executemany(self._insert_dead_letters, rows)

    async def count(self) -> int:
        return int(await self._pool.fetchval(f"SELECT count(*) FROM {self._schema}.events"))

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

    async def ready(self) -> bool:
        return bool(await self._pool.fetchval("SELECT 1") == 1)

    async def close(self) -> None:
        await self._pool.close()
