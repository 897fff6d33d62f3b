"""``Idempotency-Key`` support: a replayed request gets the stored response, not a second effect.

The response of a successful request is stored in ``idempotency_keys`` in the same transaction
as its effect. A transaction-scoped advisory lock on (scope, key) makes a concurrent duplicate
wait for the first request to commit and then read its response. Failed requests (4xx) had no
effect and are not stored: retrying them runs them again. A key reused for a different request
is refused with 422 ``idempotency_key_reused``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from business_api.errors import InvalidRequest

MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Outcome:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False


def check_key(raw: str | None) -> str | None:
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidRequest(
            "invalid_idempotency_key", f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters"
        )
    return key


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method.upper(), path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def run_once(
    conn: asyncpg.Connection,
    *,
    scope: str,
    key: str | None,
    request_fingerprint: str,
    effect: Callable[[], Awaitable[tuple[int, dict[str, Any]]]],
) -> Outcome:
    """Run `effect` in a transaction, or return the response stored for (scope, key)."""
    async with conn.transaction():
        if key is not None:
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 1))", f"{scope}\n{key}")
            stored = await conn.fetchrow(
                "SELECT fingerprint, status_code, body FROM idempotency_keys WHERE scope = $1 AND key = $2", scope, key
            )
            if stored is not None:
                if stored["fingerprint"] != request_fingerprint:
                    raise InvalidRequest(
                        "idempotency_key_reused", "this Idempotency-Key was already used for a different request"
                    )
                return Outcome(stored["status_code"], json.loads(stored["body"]), replayed=True)
        status_code, body = await effect()
        if key is not None:
            await conn.execute(
                """
                INSERT INTO idempotency_keys (scope, key, fingerprint, status_code, body)
                VALUES ($1, $2, $3, $4, $5::json)
                """,
                scope,
                key,
                request_fingerprint,
                status_code,
                json.dumps(body),
            )
    return Outcome(status_code, body)


async def purge(conn: asyncpg.Connection, retention_days: int) -> int:
    """Forget keys older than the retention period; return how many."""
    deleted = await conn.fetchval(
        """
        WITH gone AS (DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(days => $1) RETURNING 1)
        SELECT count(*) FROM gone
        """,
        retention_days,
    )
    return int(deleted)
