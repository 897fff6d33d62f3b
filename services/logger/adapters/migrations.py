"""Versioned migrations of the event log's schema, applied at start.

Each file of `services/logger/migrations/` is one version, `NNNN_what.sql`, its SQL written with
`{schema}` where the schema's name goes. `migrate` applies the versions a database lacks, in order,
in one transaction, and records each in `<schema>.schema_migrations`; it holds an advisory lock
meanwhile, so two loggers starting at once apply each version once. A database that already holds
a version this code does not know (a newer logger migrated it) is refused: the older logger would
write to a schema it does not understand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(Exception):
    """The migrations cannot be applied (unknown versions in the database, a broken file)."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    def for_schema(self, schema: str) -> str:
        return self.sql.replace("{schema}", schema)


def migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations in `directory`, by version; versions must run 1, 2, 3... without a gap."""
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: a migration is named NNNN_what.sql")
        found.append(Migration(int(match.group(1)), match.group(2), path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise MigrationError(f"migration versions must run 1..{len(found)} without a gap: {versions}")
    return found


async def migrate(conn: asyncpg.Connection, schema: str, known: list[Migration] | None = None) -> list[int]:
    """Apply the migrations `schema` lacks; the versions applied now."""
    if not schema.isidentifier():
        raise ValueError(f"invalid schema name {schema!r}")
    known = migrations() if known is None else known
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"orchestrator.migrations.{schema}")
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        await conn.execute(f"""CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
            version    integer PRIMARY KEY,
            name       text        NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now())""")
        applied = {row["version"] for row in await conn.fetch(f"SELECT version FROM {schema}.schema_migrations")}
        unknown = sorted(applied - {m.version for m in known})
        if unknown:
            raise MigrationError(f"schema {schema} holds migrations {unknown} this logger does not know: "
                                 "a newer version migrated it")
        done = []
        for migration in known:
            if migration.version in applied:
                continue
            await conn.execute(migration.for_schema(schema))
            await conn.execute(f"INSERT INTO {schema}.schema_migrations (version, name) VALUES ($1, $2)",
                               migration.version, migration.name)
            done.append(migration.version)
    return done
