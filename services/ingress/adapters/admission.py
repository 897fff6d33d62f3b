"""Admission of inbound webhooks in Redis, atomic per message, shared by every ingress replica.

One Lua script claims the MessageSid (so that Twilio's retries are published once), takes a token
from the sender's bucket (per-sender rate limit), and, for a throttled sender, claims the one
notice allowed per window. A claim whose publish failed is released so that the retry goes out.

Webhooks that reach admission in the same event-loop turn share one script call (one round trip,
one command to encode and parse): under load this is most of ingress's Redis cost saved, and a
lone webhook goes out at once, with no timer. The script handles the batch's messages one after
the other, so two retries of one MessageSid in a batch still yield one claim.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from redis.asyncio import Redis

# KEYS: (seen, rate, notice) for each message, in order. ARGV: dedup TTL, bucket capacity,
# refill per second, notice window. Returns (first, allowed, notice) for each message, flattened.
_ADMIT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local ttl = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local rate = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local out = {}
for i = 1, #KEYS, 3 do
  local first, allowed, notice = 0, 0, 0
  if redis.call('SET', KEYS[i], '1', 'NX', 'EX', ttl) then
    first = 1
    local state = redis.call('HMGET', KEYS[i + 1], 'tokens', 'ts')
    local tokens = tonumber(state[1]) or capacity
    local ts = tonumber(state[2]) or now
    tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
    if tokens >= 1 then
      tokens = tokens - 1
      allowed = 1
    end
    redis.call('HSET', KEYS[i + 1], 'tokens', tostring(tokens), 'ts', tostring(now))
    redis.call('EXPIRE', KEYS[i + 1], math.ceil(capacity / rate) + 1)
    if allowed == 0 and redis.call('SET', KEYS[i + 2], '1', 'NX', 'EX', window) then
      notice = 1
    end
  end
  out[#out + 1] = first
  out[#out + 1] = allowed
  out[#out + 1] = notice
end
return out
"""

MAX_BATCH = 256  # messages per script call: keeps each call well under a millisecond of Redis time


@dataclass(frozen=True)
class Admitted:
    first: bool  # False: a retry of a message already claimed or published
    allowed: bool  # False: over the sender's rate; published flagged as throttled
    notice: bool  # True once per window for a throttled sender


@dataclass
class _Waiting:
    message_sid: str
    sender: str
    answer: asyncio.Future[Admitted]


class Admission:
    def __init__(self, redis: Redis, *, dedup_ttl_s: int, capacity: int, refill_per_s: float,
                 notice_window_s: int, prefix: str = "ingress:") -> None:
        self._redis = redis
        self._args = [dedup_ttl_s, capacity, refill_per_s, notice_window_s]
        self._prefix = prefix
        self._script = redis.register_script(_ADMIT)
        self._waiting: list[_Waiting] = []
        self._flushes: set[asyncio.Task[None]] = set()

    def _seen_key(self, message_sid: str) -> str:
        return f"{self._prefix}seen:{message_sid}"

    async def admit(self, message_sid: str, sender: str) -> Admitted:
        """Claim `message_sid` and take a token for `sender`; raises RedisError if Redis fails."""
        waiting = _Waiting(message_sid, sender, asyncio.get_running_loop().create_future())
        self._waiting.append(waiting)
        if len(self._waiting) == 1:  # the first of this turn schedules the call; later ones join it
            flush = asyncio.create_task(self._flush())
            self._flushes.add(flush)
            flush.add_done_callback(self._flushes.discard)
        return await waiting.answer

    async def _flush(self) -> None:
        batch, self._waiting = self._waiting, []
        await asyncio.gather(*(self._call(batch[i:i + MAX_BATCH]) for i in range(0, len(batch), MAX_BATCH)))

    async def _call(self, batch: list[_Waiting]) -> None:
        keys = []
        for waiting in batch:
            keys += [self._seen_key(waiting.message_sid), f"{self._prefix}rate:{waiting.sender}",
                     f"{self._prefix}notice:{waiting.sender}"]
        try:
            flat = await self._script(keys=keys, args=self._args)
        except Exception as exc:  # every webhook of the batch answers 503 and Twilio retries it
            for waiting in batch:
                if not waiting.answer.done():
                    waiting.answer.set_exception(exc)
            return
        except asyncio.CancelledError:  # shutting down: the waiting webhooks are cancelled too
            for waiting in batch:
                waiting.answer.cancel()
            raise
        for n, waiting in enumerate(batch):
            if not waiting.answer.done():  # a webhook whose client went away no longer waits
                first, allowed, notice = flat[3 * n:3 * n + 3]
                waiting.answer.set_result(Admitted(first=bool(first), allowed=bool(allowed), notice=bool(notice)))

    async def release(self, message_sid: str) -> None:
        """Forget a claim whose publish failed, so that Twilio's retry is published."""
        await self._redis.delete(self._seen_key(message_sid))
