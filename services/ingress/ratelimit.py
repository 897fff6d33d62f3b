"""Per-sender token bucket in Redis, atomic across every ingress replica (one Lua script)."""

from __future__ import annotations

from redis.asyncio import Redis

_TOKEN_BUCKET = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return allowed
"""


class SenderRateLimiter:
    def __init__(self, redis: Redis, *, capacity: int, refill_per_s: float, notice_window_s: int,
                 prefix: str = "ingress:rate:") -> None:
        self._redis = redis
        self._capacity = capacity
        self._refill_per_s = refill_per_s
        self._notice_window_s = notice_window_s
        self._prefix = prefix
        self._script = redis.register_script(_TOKEN_BUCKET)

    async def allow(self, sender: str) -> bool:
        """Take one token from the sender's bucket; False when it is empty."""
        result = await self._script(keys=[self._prefix + sender], args=[self._capacity, self._refill_per_s])
        return bool(int(result))

    async def first_notice_in_window(self, sender: str) -> bool:
        """True once per window per sender: whether to tell them they are throttled."""
        key = f"{self._prefix}notice:{sender}"
        return bool(await self._redis.set(key, "1", nx=True, ex=self._notice_window_s))
