"""Rebuild the dialogue state of every conversation from the topics: actions' replay command.

    python -m services.actions.replay [--conversation whatsapp:+52...] [--write-changelog]

Reads `intent.detected` and `action.completed` from the beginning, folds each conversation's
events in the order they were produced (each `action.completed` right after the `intent.detected`
that caused it) with `services.actions.state.apply`, and prints one JSON state per line. With
`--write-changelog` it also writes each state to the dialogue Table's changelog, in the partition
of the conversation's records, so a worker started afterwards recovers the rebuilt states (stop
the actions workers first: a running worker would overwrite them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer

from contracts import ACTION_COMPLETED, INTENT_DETECTED, ActionCompleted, IntentDetected
from contracts.topics import DIALOGUE_CHANGELOG
from runtime.kafka import producer_config, read_to_end
from runtime.settings import load_settings
from services.actions.settings import ActionsSettings
from services.actions.state import DialogueState, encode_state, fold


@dataclass
class ConversationLog:
    partition: int
    messages: list[IntentDetected] = field(default_factory=list)


def rebuild(messages: Sequence[tuple[int, IntentDetected]], replies: Sequence[ActionCompleted],
            *, only: str | None = None) -> dict[str, tuple[int, DialogueState]]:
    """conversation id → (partition, state), folded from the conversation's events in order."""
    by_cause = {reply.causation_id: reply for reply in replies}
    logs: dict[str, ConversationLog] = {}
    for partition, message in messages:
        if only is None or message.conversation_id == only:
            logs.setdefault(message.conversation_id, ConversationLog(partition)).messages.append(message)
    states: dict[str, tuple[int, DialogueState]] = {}
    for conversation, log in logs.items():
        events: list[IntentDetected | ActionCompleted] = []
        for message in log.messages:
            events.append(message)
            if (reply := by_cause.get(message.event_id)) is not None:
                events.append(reply)
        states[conversation] = (log.partition, fold(events, conversation))
    return states


async def replay(settings: ActionsSettings, *, only: str | None, write: bool) -> int:
    bootstrap = settings.kafka_bootstrap_servers
    messages = [(r.partition, INTENT_DETECTED.decode(r.value))
                for r in await read_to_end(bootstrap, INTENT_DETECTED.name) if r.value is not None]
    replies = [ACTION_COMPLETED.decode(r.value) for r in await read_to_end(bootstrap, ACTION_COMPLETED.name)
               if r.value is not None]
    states = rebuild(messages, replies, only=only)
    producer = AIOKafkaProducer(**producer_config(settings)) if write else None
    if producer is not None:
        await producer.start()
    try:
        for conversation, (partition, state) in sorted(states.items()):
            value = encode_state(state)
            print(value.decode())
            if producer is not None:
                await producer.send_and_wait(DIALOGUE_CHANGELOG, value, partition=partition,
                                             key=json.dumps(conversation).encode())
    finally:
        if producer is not None:
            await producer.stop()
    print(f"replayed {len(states)} conversations from {len(messages)} messages and {len(replies)} replies"
          + (f"; written to {DIALOGUE_CHANGELOG}" if write else ""), file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.actions.replay", description=__doc__.split("\n")[0])
    parser.add_argument("--conversation", help="only this conversation (whatsapp:+E164)")
    parser.add_argument("--write-changelog", action="store_true",
                        help="also write the states to the dialogue Table's changelog (stop actions first)")
    args = parser.parse_args(argv)
    settings = load_settings(ActionsSettings, "actions")
    return asyncio.run(replay(settings, only=args.conversation, write=args.write_changelog))


if __name__ == "__main__":
    sys.exit(main())
