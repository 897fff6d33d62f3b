"""Redis connection that fails at start with a message naming the address."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from runtime.errors import DependencyUnreachable

MAX_CONNECTIONS = 100
POOL_TIMEOUT_S = 5.0


def redis_client(url: str) -> Redis:
    """A client whose pool makes a burst wait for a free connection instead of failing
    (redis-py's default pool raises "Too many connections" past 100 concurrent commands)."""
    pool = BlockingConnectionPool.from_url(url, max_connections=MAX_CONNECTIONS, timeout=POOL_TIMEOUT_S)
    return Redis(connection_pool=pool)


async def connect_redis(url: str, *, service: str) -> Redis:
    redis = redis_client(url)
    try:
        await redis.ping()
    except (RedisError, OSError) as exc:
        await redis.aclose()
        raise DependencyUnreachable(service, "Redis", url, str(exc)) from exc
    return redis
