"""Redis connection that fails at start with a message naming the address."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from runtime.errors import DependencyUnreachable


async def connect_redis(url: str, *, service: str) -> Redis:
    redis = Redis.from_url(url)
    try:
        await redis.ping()
    except (RedisError, OSError) as exc:
        await redis.aclose()
        raise DependencyUnreachable(service, "Redis", url, str(exc)) from exc
    return redis
