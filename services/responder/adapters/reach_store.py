"""The times `reach.py` reads, kept in Redis from the stream: the customer's last inbound message
and when they opted out (a message written after it opts them back in). A cache: replaying
`message.received` and `conversation.opted_out`
(`python -m services.responder.replay_context`) rebuilds it; lost, a reply to a fresh message still
knows its own inbound time (`action.completed.received_at`)."""

from __future__ import annotations

import datetime as dt

from redis.asyncio import Redis

INBOUND_PREFIX = "responder:inbound:"
OPTED_OUT_PREFIX = "responder:opted_out:"
INBOUND_TTL_S = 25 * 3600  # the window is 24 h: older is as good as unknown
OPTED_OUT_TTL_S = 400 * 24 * 3600

# Keep the later of the stored and the given time (redeliveries and replays come out of order).
_KEEP_LATEST = """
local current = redis.call('GET', KEYS[1])
if current and tonumber(current) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""


class ReachStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._keep_latest = redis.register_script(_KEEP_LATEST)

    async def inbound(self, conversation_id: str, at: dt.datetime) -> None:
        await self._keep_latest(keys=[INBOUND_PREFIX + conversation_id], args=[at.timestamp(), INBOUND_TTL_S])

    async def opted_out(self, conversation_id: str, at: dt.datetime) -> None:
        await self._keep_latest(keys=[OPTED_OUT_PREFIX + conversation_id], args=[at.timestamp(), OPTED_OUT_TTL_S])

    async def times(self, conversation_id: str) -> tuple[dt.datetime | None, dt.datetime | None]:
        """(last inbound, opted out at) of the conversation, None where unknown."""
        keys = (INBOUND_PREFIX + conversation_id, OPTED_OUT_PREFIX + conversation_id)
        inbound, opted_out = await self._redis.mget(*keys)
        return _time(inbound), _time(opted_out)


def _time(raw: bytes | str | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(float(raw), dt.UTC) if raw is not None else None
