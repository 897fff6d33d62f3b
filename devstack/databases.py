"""Fresh PostgreSQL databases and Redis databases for isolated runs (tests, benchmarks)."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg


def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


async def create_database(dsn: str, prefix: str = "t", *, attempts: int = 50) -> str:
    """Create an empty database next to `dsn`'s and return its DSN.

    A server started a moment ago may still refuse connections: retried for about ten seconds.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    for attempt in range(1, attempts + 1):
        try:
            conn = await asyncpg.connect(dsn)
            break
        except OSError:
            if attempt == attempts:
                raise
            await asyncio.sleep(0.2)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(dsn, name)


async def drop_database(dsn: str) -> None:
    name = urlsplit(dsn).path.lstrip("/")
    admin = with_database(dsn, "postgres")
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
