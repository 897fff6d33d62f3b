"""The words written for each reply, kept in Redis so that a redelivered `action.completed` sends
the same words: an LLM writes differently each time, and the ledger's "was it already sent?"
lookup (`ledger.py`) finds a crashed send by its body. The first text stored for a reply wins.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

WRITTEN_PREFIX = "responder:written:"
WRITTEN_TTL_S = 7 * 24 * 3600  # as long as the reply ledger remembers the reply


class WrittenReplies:
    def __init__(self, redis: Redis, *, prefix: str = WRITTEN_PREFIX, ttl_s: int = WRITTEN_TTL_S) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl_s = ttl_s

    async def get(self, reply_id: str) -> str | None:
        """What was written for the reply, if anything (None too when Redis failed: logged)."""
        try:
            value = await self._redis.get(self._prefix + reply_id)
        except (RedisError, OSError) as exc:
            log.warning("written reply %s not read: %s", reply_id, exc)
            return None
        return value.decode() if isinstance(value, bytes) else value

    async def keep_first(self, reply_id: str, value: str) -> str:
        """Store `value` unless something was stored first; the stored one (or `value` when Redis failed)."""
        key = self._prefix + reply_id
        try:
            if await self._redis.set(key, value, nx=True, ex=self._ttl_s):
                return value
            stored = await self._redis.get(key)
        except (RedisError, OSError) as exc:
            log.warning("written reply %s not stored: %s", reply_id, exc)
            return value
        if stored is None:
            return value
        return stored.decode() if isinstance(stored, bytes) else str(stored)
