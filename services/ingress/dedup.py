"""Webhook de-duplication in Redis: one atomic SET NX per MessageSid, shared by every ingress replica."""

from __future__ import annotations

from redis.asyncio import Redis


class Deduplicator:
    def __init__(self, redis: Redis, *, ttl_s: int, prefix: str = "ingress:seen:") -> None:
        self._redis = redis
        self._ttl_s = ttl_s
        self._prefix = prefix

    async def claim(self, key: str) -> bool:
        """True for the first caller with this key; False while it is claimed or after it was published."""
        return bool(await self._redis.set(self._prefix + key, "1", nx=True, ex=self._ttl_s))

    async def release(self, key: str) -> None:
        """Forget a claim whose publish failed, so that Twilio's retry is published."""
        await self._redis.delete(self._prefix + key)
