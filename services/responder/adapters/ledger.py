"""Redis ledger of replies, so that a redelivered `action.completed` never sends twice.

States per reply (keyed by the reply's derived event id): absent → `sending:<unix time>` (claimed
just before the Twilio call) → `sent:<MessageSid>` (recorded right after). The remaining window
is a crash between Twilio accepting the message and the `sent` record: the redelivery then finds
`sending` and asks Twilio whether a message with the same body went to that number since the
claim, sending only if none did.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from redis.asyncio import Redis

from runtime.twilio_rest import REPLIED_PREFIX

LEDGER_TTL_S = 7 * 24 * 3600
SID_PREFIX = "responder:sid:"  # read by ingress to link delivery callbacks to their conversation


class ReplyLedger:
    def __init__(self, redis: Redis, *, prefix: str = "responder:reply:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def claim(self, reply_id: str) -> str | None:
        """Claim the reply for sending. None if claimed now; else the existing state."""
        key = self._prefix + reply_id
        if await self._redis.set(key, f"sending:{time.time():.3f}", nx=True, ex=LEDGER_TTL_S):
            return None
        state = await self._redis.get(key)
        return state.decode() if isinstance(state, bytes) else state

    async def record_sent(self, reply_id: str, sid: str, correlation_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._prefix + reply_id, f"sent:{sid}", ex=LEDGER_TTL_S)
            pipe.set(SID_PREFIX + sid, correlation_id, ex=LEDGER_TTL_S)
            pipe.set(REPLIED_PREFIX + correlation_id, sid, ex=LEDGER_TTL_S)
            await pipe.execute()

    async def record_failed(self, reply_id: str) -> None:
        await self._redis.set(self._prefix + reply_id, "failed", ex=LEDGER_TTL_S)


def claimed_at(state: str) -> datetime:
    return datetime.fromtimestamp(float(state.split(":", 1)[1]), UTC)
