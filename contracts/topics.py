"""Typed topics: a name bound to its event model and its key (the conversation id)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from contracts.events import (
    ActionCompleted,
    Event,
    IntentDetected,
    MessageReceived,
    ReplyFailed,
    ReplySent,
    ReplyStatus,
)

E = TypeVar("E", bound=Event)


class UnsupportedSchemaVersion(ValueError):
    """An event carries a schema_version this code has no upcaster for."""


@dataclass(frozen=True)
class Topic(Generic[E]):
    name: str
    event_type: type[E]
    partitions: int = 8

    def key(self, event: E) -> bytes:
        return event.conversation_id.encode()

    def encode(self, event: E) -> bytes:
        return event.model_dump_json(by_alias=True).encode()

    def decode(self, raw: bytes) -> E:
        """Parse one record value; raises ValueError (incl. ValidationError) for a poison record."""
        try:
            event = self.event_type.model_validate_json(raw)
        except ValidationError:
            raise
        if event.schema_version > self.event_type.SCHEMA_VERSION:
            raise UnsupportedSchemaVersion(
                f"{self.name}: schema_version {event.schema_version} is newer than "
                f"{self.event_type.SCHEMA_VERSION}, which this consumer understands"
            )
        return event


MESSAGE_RECEIVED = Topic("message.received", MessageReceived)
INTENT_DETECTED = Topic("intent.detected", IntentDetected)
ACTION_COMPLETED = Topic("action.completed", ActionCompleted)
REPLY_SENT = Topic("reply.sent", ReplySent)
REPLY_FAILED = Topic("reply.failed", ReplyFailed)
REPLY_STATUS = Topic("reply.status", ReplyStatus)

ALL_TOPICS: tuple[Topic[Any], ...] = (
    MESSAGE_RECEIVED,
    INTENT_DETECTED,
    ACTION_COMPLETED,
    REPLY_SENT,
    REPLY_FAILED,
    REPLY_STATUS,
)

STAGES: tuple[str, ...] = ("nlu", "actions", "responder", "logger")

# The changelog of the actions stage's dialogue-state table (faust app id "actions", table "dialogue"):
# the dialogue state of every conversation, recovered from Kafka by a restarted or rescaled worker.
DIALOGUE_CHANGELOG = "actions-dialogue-changelog"


def dead_letter_topic(stage: str) -> str:
    """The dead-letter topic of a consuming stage: records it could not process, with the error."""
    return f"dlq.{stage}"


def topic_for(name: str) -> Topic[Any]:
    for topic in ALL_TOPICS:
        if topic.name == name:
            return topic
    raise KeyError(name)
