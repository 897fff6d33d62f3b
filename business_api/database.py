"""The asyncpg pool, the start-up reachability check and the migration runner.

Every connection runs with ``search_path`` set to the API's schema, so the SQL here and in the
migrations names tables without a schema and the same database can hold other schemas (the
orchestrator's event log). Migrations are ``migrations/NNNN_name.sql`` files applied in order,
each in its own transaction, and recorded in ``schema_migrations``; a session advisory lock makes
concurrent starts take turns, so two processes starting at once apply each migration once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any

import asyncpg

from business_api.errors import DatabaseUnavailable
from business_api.settings import BusinessApiSettings

logger = logging.getLogger("business_api.database")

MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Failures worth waiting out while PostgreSQL starts; anything else (unknown database, bad
# password) is reported at once.
_TRANSIENT = (OSError, asyncio.TimeoutError, asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations() -> list[Migration]:
    folder = resources.files("business_api").joinpath("migrations")
    found: dict[int, Migration] = {}
    for entry in folder.iterdir():
        match = MIGRATION_FILE.match(entry.name)
        if not match:
            continue
        version = int(match.group(1))
        if version in found:
            raise RuntimeError(f"two migrations numbered {version:04d}: {found[version].name} and {match.group(2)}")
        found[version] = Migration(version, match.group(2), entry.read_text(encoding="utf-8"))
    return [found[version] for version in sorted(found)]


def _server_settings(settings: BusinessApiSettings) -> dict[str, str]:
    return {"search_path": settings.db_schema, "application_name": "business-api", "timezone": "UTC"}


def _reason(error: BaseException) -> str:
    if isinstance(error, asyncio.TimeoutError):
        return "timed out"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


async def _with_retries(settings: BusinessApiSettings, connect: Any) -> Any:
    """Call ``connect(timeout)`` until it succeeds, a permanent error occurs or the start-up budget is spent."""
    deadline = time.monotonic() + settings.connect_timeout_s
    while True:
        remaining = deadline - time.monotonic()
        try:
            return await connect(max(remaining, 0.5))
        except _TRANSIENT as error:
            if time.monotonic() + 0.25 >= deadline:
                raise DatabaseUnavailable(settings.database_address, _reason(error)) from error
            await asyncio.sleep(0.25)
        except (asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            raise DatabaseUnavailable(settings.database_address, _reason(error)) from error


async def probe(settings: BusinessApiSettings) -> None:
    """Raise `DatabaseUnavailable` unless PostgreSQL answers at the configured address."""

    async def connect(timeout: float) -> None:
        conn = await asyncpg.connect(settings.database_url, timeout=timeout)
        await conn.close()

    await _with_retries(settings, connect)


async def create_pool(settings: BusinessApiSettings) -> asyncpg.Pool:
    async def connect(timeout: float) -> asyncpg.Pool:
        return await asyncpg.create_pool(
            settings.database_url,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            timeout=timeout,
            server_settings=_server_settings(settings),
        )

    pool: asyncpg.Pool = await _with_retries(settings, connect)
    return pool


@asynccontextmanager
async def startup_lock(conn: asyncpg.Connection, schema: str) -> AsyncIterator[None]:
    """Hold a session advisory lock (one per schema) while migrating and seeding."""
    key = f"business_api.startup:{schema}"
    await conn.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", key)
    try:
        yield
    finally:
        # Best effort: on a broken connection the server has released the lock already, and
        # the original error is the one worth reporting.
        with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            await conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", key)


async def migrate(conn: asyncpg.Connection, schema: str) -> list[Migration]:
    """Apply the migrations not applied yet; return them. Call it under `startup_lock`."""
    await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    await conn.execute(f'SET search_path TO "{schema}"')
    await conn.execute(
        """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version     integer PRIMARY KEY,
            name        text NOT NULL,
            checksum    text NOT NULL,
            applied_at  timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    applied = {
        row["version"]: row["checksum"] for row in await conn.fetch("SELECT version, checksum FROM schema_migrations")
    }
    done: list[Migration] = []
    for migration in load_migrations():
        if migration.version in applied:
            if applied[migration.version] != migration.checksum:
                logger.warning(
                    "migration %04d_%s changed after it was applied; add a new migration instead",
                    migration.version,
                    migration.name,
                )
            continue
        async with conn.transaction():
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                migration.checksum,
            )
        logger.info("applied migration %04d_%s in schema %s", migration.version, migration.name, schema)
        done.append(migration)
    return done
