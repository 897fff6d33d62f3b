"""The last turns of each conversation, in Redis, for the LLM writer's prompt.

Per conversation a sorted set `responder:context:<conversation id>` of turns (the customer's
message, the bot's reply), scored by time, capped to the last `max_turns` and expiring `ttl_s`
after the last write (older turns are dropped on write and skipped on read). A turn is stored
as canonical JSON built only from its event (`user_turn`, `bot_turn`), so recording the same
turn again, from a redelivery or from `python -m services.responder.replay_context`, adds
nothing. Losing the context only makes the prompt shorter: Redis errors here are logged, never
raised.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from redis.asyncio import Redis
from redis.exceptions import RedisError

from contracts import ActionCompleted, ReplySent

log = logging.getLogger(__name__)

CONTEXT_PREFIX = "responder:context:"
CONTEXT_TTL_S = 24 * 3600
MAX_TURNS = 12
MAX_TURN_CHARS = 600
"""A turn's text is cut to this many characters (a long list of schedules needs no more in a prompt)."""

Role = Literal["user", "bot"]

# One call adds the turns, drops those past the TTL and beyond the last `max turns`, and renews the TTL.
# ARGV: oldest score kept, max turns, TTL in seconds, then score, member, score, member...
_RECORD = """
redis.call('ZADD', KEYS[1], unpack(ARGV, 4))
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[2]) + 1))
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""


@dataclass(frozen=True)
class Turn:
    role: Role
    text: str
    at: datetime
    id: str
    """What makes the turn unique: the customer's message chain, or the reply's event id."""

    def member(self) -> str:
        """The turn as stored: canonical JSON, the same every time the same event is recorded."""
        return json.dumps({"id": self.id, "role": self.role, "text": self.text, "at": self.at.isoformat()},
                          ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_member(cls, raw: str | bytes) -> Turn:
        value = json.loads(raw)
        return cls(role=value["role"], text=value["text"], at=datetime.fromisoformat(value["at"]), id=value["id"])


def user_turn(event: ActionCompleted) -> Turn | None:
    """The customer's message `event` answers (None for a reply nobody asked for, e.g. a payment)."""
    text = event.payload.user_text.strip()
    if not text:
        return None
    at = event.payload.received_at or event.occurred_at
    # Keyed by the message's chain: a second action.completed of the same message is the same turn.
    return Turn("user", text[:MAX_TURN_CHARS], at.astimezone(UTC), f"user:{event.correlation_id}")


def bot_turn(event: ReplySent) -> Turn | None:
    text = event.payload.body.strip()
    if not text:
        return None
    return Turn("bot", text[:MAX_TURN_CHARS], event.occurred_at.astimezone(UTC), f"bot:{event.event_id}")


class ConversationContext:
    def __init__(self, redis: Redis, *, max_turns: int = MAX_TURNS, ttl_s: int = CONTEXT_TTL_S,
                 prefix: str = CONTEXT_PREFIX) -> None:
        if max_turns < 1 or ttl_s < 1:
            raise ValueError("max_turns and ttl_s must be >= 1")
        self._redis = redis
        self.max_turns = max_turns
        self.ttl_s = ttl_s
        self._prefix = prefix
        self._record = redis.register_script(_RECORD)

    def key(self, conversation_id: str) -> str:
        return self._prefix + conversation_id

    async def record(self, conversation_id: str, turns: Iterable[Turn | None]) -> bool:
        """Add `turns` (None ones are skipped); False when Redis failed (logged)."""
        scored = [value for turn in turns if turn is not None for value in (turn.at.timestamp(), turn.member())]
        if not scored:
            return True
        try:
            await self._record(keys=[self.key(conversation_id)],
                               args=[time.time() - self.ttl_s, self.max_turns, self.ttl_s, *scored])
        except (RedisError, OSError) as exc:
            log.warning("conversation context not recorded for %s: %s", conversation_id, exc)
            return False
        return True

    async def recent(self, conversation_id: str, limit: int | None = None) -> list[Turn]:
        """The conversation's last turns within the TTL, oldest first; [] when none or Redis failed."""
        count = min(limit or self.max_turns, self.max_turns)
        try:
            raw = await self._redis.zrangebyscore(self.key(conversation_id), time.time() - self.ttl_s, "+inf")
        except (RedisError, OSError) as exc:
            log.warning("conversation context not read for %s: %s", conversation_id, exc)
            return []
        turns = []
        for member in raw[-count:]:
            try:
                if not isinstance(member, str | bytes):
                    raise TypeError(type(member).__name__)
                turns.append(Turn.from_member(member))
            except (ValueError, KeyError, TypeError):
                log.warning("unreadable context turn in %s: %r", conversation_id, member)
        return turns

    async def clear(self, conversation_id: str) -> None:
        await self._redis.delete(self.key(conversation_id))
