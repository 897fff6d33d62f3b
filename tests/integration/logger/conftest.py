"""The logger's event log on a fresh PostgreSQL database, with every statement its pool runs counted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest

from services.logger.adapters.jsonl import JsonlWriter
from services.logger.adapters.postgres import EventStore
from services.logger.handler import LoggerDeps


@dataclass
class EventLog:
    deps: LoggerDeps
    pool: asyncpg.Pool
    jsonl_path: Path
    statements: list[str] = field(default_factory=list)

    @property
    def inserts(self) -> int:
        """INSERT statements into the event log so far (one per batch, or per event written alone)."""
        return sum(1 for sql in self.statements if "INSERT INTO orchestrator.events" in sql)

    async def rows(self) -> int:
        return int(await self.pool.fetchval("SELECT count(*) FROM orchestrator.events"))

    def jsonl_ids(self) -> list[str]:
        import json

        return [json.loads(line)["event_id"] for line in self.jsonl_path.read_text().splitlines()]


@pytest.fixture
async def event_log(fresh_database: str, tmp_path: Path) -> AsyncIterator[EventLog]:
    statements: list[str] = []

    async def count_statements(conn: asyncpg.Connection) -> None:
        conn.add_query_logger(lambda record: statements.append(record.query))

    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=8, init=count_statements)
    store = await EventStore.on_pool(pool, schema="orchestrator")
    jsonl = JsonlWriter.open(tmp_path / "events.jsonl")
    yield EventLog(LoggerDeps(store=store, jsonl=jsonl, console=True), pool, tmp_path / "events.jsonl", statements)
    jsonl.close()
    await pool.close()
