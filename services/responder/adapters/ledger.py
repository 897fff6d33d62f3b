"""Redis ledger of replies, so that a redelivered `action.completed` never sends twice.

States per reply (keyed by the reply's derived event id): absent → `sending:<unix time>` (claimed
just before the Twilio call) → `sent:<MessageSid>` (recorded right after), or `failed:<reply.failed
as JSON>` when Twilio refused it for good or the retries ran out. The remaining window
is a crash between Twilio accepting the message and the `sent` record: the redelivery then finds
`sending` and asks Twilio whether a message with the same body went to that number since the
claim, sending only if none did.

Per chain (keyed by its correlation id) it also records that a reply went out, which the delayed
receipt (`services/responder/receipt.py`) reads, and claims the chain's one receipt.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from redis.asyncio import Redis

LEDGER_TTL_S = 7 * 24 * 3600

FAILED = "failed:"  # + the reply.failed event's JSON
REPLIED_PREFIX = "responder:replied:"  # a reply of the chain went out (key: correlation id, value: its sid)
RECEIPT_PREFIX = "responder:receipt:"  # the chain's delayed receipt was claimed (key: correlation id)

# The reply's `sent:<sid>` and the chain's "a reply went out", both or neither, in one call.
_RECORD_SENT = """
redis.call('SET', KEYS[1], 'sent:' .. ARGV[1], 'EX', ARGV[2])
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
return 1
"""


class ReplyLedger:
    def __init__(self, redis: Redis, *, prefix: str = "responder:reply:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._record_sent = redis.register_script(_RECORD_SENT)

    async def claim(self, reply_id: str) -> str | None:
        """Claim the reply for sending. None if claimed now; else the existing state."""
        key = self._prefix + reply_id
        if await self._redis.set(key, f"sending:{time.time():.3f}", nx=True, ex=LEDGER_TTL_S):
            return None
        state = await self._redis.get(key)
        return state.decode() if isinstance(state, bytes) else state

    async def record_sent(self, reply_id: str, sid: str, correlation_id: str) -> None:
        await self._record_sent(keys=[self._prefix + reply_id, REPLIED_PREFIX + correlation_id],
                                args=[sid, LEDGER_TTL_S])

    async def record_failed(self, reply_id: str, failure: str) -> None:
        """The reply failed for good; `failure` (the `reply.failed` event, as JSON) is kept so that a
        redelivery publishes the same event again (a crash may have come before its publish)."""
        await self._redis.set(self._prefix + reply_id, FAILED + failure, ex=LEDGER_TTL_S)

    async def replied(self, correlation_id: str) -> bool:
        """True once a reply of this chain was recorded as sent."""
        return bool(await self._redis.exists(REPLIED_PREFIX + correlation_id))

    async def claim_receipt(self, correlation_id: str, *, ttl_s: int = LEDGER_TTL_S) -> bool:
        """Claim the chain's one receipt: True for the first caller only, whichever process it runs in."""
        return bool(await self._redis.set(RECEIPT_PREFIX + correlation_id, "1", nx=True, ex=ttl_s))


def claimed_at(state: str) -> datetime:
    return datetime.fromtimestamp(float(state.split(":", 1)[1]), UTC)
