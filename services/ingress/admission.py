"""Admission of an inbound webhook in one atomic Redis round trip, shared by every ingress replica.

One Lua script claims the MessageSid (so that Twilio's retries are published once), takes a token
from the sender's bucket (per-sender rate limit), and, for a throttled sender, claims the one
notice allowed per window. A claim whose publish failed is released so that the retry goes out.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

_ADMIT = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', tonumber(ARGV[1])) == false then
  return {0, 0, 0}
end
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local capacity = tonumber(ARGV[2])
local rate = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[2], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[2], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[2], math.ceil(capacity / rate) + 1)
local notice = 0
if allowed == 0 and redis.call('SET', KEYS[3], '1', 'NX', 'EX', tonumber(ARGV[4])) then
  notice = 1
end
return {1, allowed, notice}
"""


@dataclass(frozen=True)
class Admitted:
    first: bool  # False: a retry of a message already claimed or published
    allowed: bool  # False: over the sender's rate; published flagged as throttled
    notice: bool  # True once per window for a throttled sender


class Admission:
    def __init__(self, redis: Redis, *, dedup_ttl_s: int, capacity: int, refill_per_s: float,
                 notice_window_s: int, prefix: str = "ingress:") -> None:
        self._redis = redis
        self._args = [dedup_ttl_s, capacity, refill_per_s, notice_window_s]
        self._prefix = prefix
        self._script = redis.register_script(_ADMIT)

    def _seen_key(self, message_sid: str) -> str:
        return f"{self._prefix}seen:{message_sid}"

    async def admit(self, message_sid: str, sender: str) -> Admitted:
        keys = [self._seen_key(message_sid), f"{self._prefix}rate:{sender}", f"{self._prefix}notice:{sender}"]
        first, allowed, notice = await self._script(keys=keys, args=self._args)
        return Admitted(first=bool(first), allowed=bool(allowed), notice=bool(notice))

    async def release(self, message_sid: str) -> None:
        """Forget a claim whose publish failed, so that Twilio's retry is published."""
        await self._redis.delete(self._seen_key(message_sid))
