"""Rebuild what responder keeps in Redis from the topics: the conversations' recent turns, and the
times the 24-hour window and the opt-out are decided on (`adapters/reach_store.py`).

    python -m services.responder.replay_context [--conversation whatsapp:+52...]

Reads `action.completed` (the customer's message each reply answers, `user_text`) and
`reply.sent` (the bot's replies to them) from the beginning, keeps per conversation the turns of
the context's time to live (24 h), the last `MAX_TURNS`, and records them into the conversation
context (`adapters/context.py`) as the running responder does. Recording is idempotent: a turn
already there is not added twice, so it can run while responder runs. From `message.received` and
`conversation.opted_out` it records each conversation's last inbound time and opt-out (the store
keeps the later time, so this too is safe while responder runs).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from contracts import (
    ACTION_COMPLETED,
    CONVERSATION_OPTED_OUT,
    MESSAGE_RECEIVED,
    REPLY_SENT,
    ActionCompleted,
    ConversationOptedOut,
    Event,
    MessageReceived,
    ReplySent,
    Topic,
)
from runtime.kafka import read_to_end
from runtime.redis_client import connect_redis
from runtime.settings import load_settings
from services.responder.adapters.context import CONTEXT_TTL_S, MAX_TURNS, ConversationContext, Turn, bot_turn, user_turn
from services.responder.adapters.reach_store import INBOUND_TTL_S, ReachStore
from services.responder.handler import STAGE
from services.responder.settings import ResponderSettings

log = logging.getLogger(__name__)
E = TypeVar("E", bound=Event)


def rebuild(completed: Sequence[ActionCompleted], sent: Sequence[ReplySent], *, only: str | None = None,
            now: datetime | None = None, ttl_s: int = CONTEXT_TTL_S,
            max_turns: int = MAX_TURNS) -> dict[str, list[Turn]]:
    """conversation id → its last turns within `ttl_s` of `now`, oldest first: the customer's messages
    and the replies to them (a staff message or a receipt has no action.completed behind it)."""
    since = (now or datetime.now(UTC)) - timedelta(seconds=ttl_s)
    answered = {event.event_id for event in completed}
    turns: dict[str, dict[str, Turn]] = {}
    candidates = [(e.conversation_id, user_turn(e)) for e in completed]
    candidates += [(e.conversation_id, bot_turn(e)) for e in sent if e.causation_id in answered]
    for conversation, turn in candidates:
        if turn is not None and turn.at >= since and (only is None or conversation == only):
            turns.setdefault(conversation, {})[turn.id] = turn
    return {conversation: sorted(by_id.values(), key=lambda t: t.at)[-max_turns:]
            for conversation, by_id in turns.items()}


def reach_times(received: Sequence[MessageReceived], opted_out: Sequence[ConversationOptedOut], *,
                only: str | None = None, now: datetime | None = None,
                ) -> tuple[dict[str, datetime], dict[str, datetime]]:
    """(conversation → last inbound time within the window's reach, conversation → last opt-out)."""
    since = (now or datetime.now(UTC)) - timedelta(seconds=INBOUND_TTL_S)
    inbound: dict[str, datetime] = {}
    for event in received:
        at = event.payload.received_at
        if at >= since and (only is None or event.conversation_id == only):
            inbound[event.conversation_id] = max(at, inbound.get(event.conversation_id, at))
    opted: dict[str, datetime] = {}
    for out in opted_out:
        if only is None or out.conversation_id == only:
            opted[out.conversation_id] = max(out.occurred_at, opted.get(out.conversation_id, out.occurred_at))
    return inbound, opted


async def replay(settings: ResponderSettings, *, only: str | None = None) -> int:
    bootstrap = settings.kafka_bootstrap_servers
    completed = await _read(bootstrap, ACTION_COMPLETED)
    sent = await _read(bootstrap, REPLY_SENT)
    conversations = rebuild(completed, sent, only=only)
    inbound, opted_out = reach_times(await _read(bootstrap, MESSAGE_RECEIVED),
                                     await _read(bootstrap, CONVERSATION_OPTED_OUT), only=only)
    redis = await connect_redis(settings.redis_url, service=STAGE)
    try:
        context = ConversationContext(redis)
        failed = 0
        for conversation, turns in sorted(conversations.items()):
            if not await context.record(conversation, turns):
                failed += 1
        store = ReachStore(redis)
        for conversation, at in inbound.items():
            await store.inbound(conversation, at)
        for conversation, at in opted_out.items():
            await store.opted_out(conversation, at)
    finally:
        await redis.aclose()
    print(f"rebuilt the context of {len(conversations)} conversations from {len(completed)} action.completed and "
          f"{len(sent)} reply.sent, the window of {len(inbound)} and the opt-out of {len(opted_out)}"
          + (f"; {failed} failed (see the log)" if failed else ""), file=sys.stderr)
    return 1 if failed else 0


async def _read(bootstrap: str, topic: Topic[E]) -> list[E]:
    """The topic's events; a record that does not decode (a poison one, dead-lettered long ago) is skipped."""
    events = []
    for record in await read_to_end(bootstrap, topic.name):
        if record.value is None:
            continue
        try:
            events.append(topic.decode(record.value))
        except ValueError as exc:
            log.warning("%s partition %d offset %d skipped: %s", topic.name, record.partition, record.offset, exc)
    return events


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.responder.replay_context",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--conversation", help="only this conversation (whatsapp:+E164)")
    args = parser.parse_args(argv)
    settings = load_settings(ResponderSettings, STAGE)
    return asyncio.run(replay(settings, only=args.conversation))


if __name__ == "__main__":
    sys.exit(main())
