"""Typed topics: a name bound to its event model and its key (the conversation id)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from contracts.events import (
    ActionCompleted,
    ConversationHandedOff,
    ConversationOptedIn,
    ConversationOptedOut,
    Event,
    IntentDetected,
    MessageReceived,
    PaymentClaimed,
    PaymentUpdated,
    ReplyFailed,
    ReplySent,
    ReplyStatus,
    StaffActed,
)
from contracts.upcasting import upcast

E = TypeVar("E", bound=Event)


class UnsupportedSchemaVersion(ValueError):
    """An event carries a schema_version newer than this code, or one it has no upcaster for."""


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
        """Parse one record value, upcast to the current schema version, validate.

        Raises ValueError (`UnsupportedSchemaVersion`, pydantic's `ValidationError`, or for bytes that
        are not a JSON object) for a poison record: the stage dead-letters it without retrying.
        """
        try:
            document = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{self.name}: not JSON: {exc}") from None
        if not isinstance(document, dict):
            raise ValueError(f"{self.name}: expected a JSON object, got {type(document).__name__}")
        return self.decode_dict(document)

    def decode_dict(self, document: Mapping[str, Any]) -> E:
        """`decode` for an already parsed record (e.g. an event kept inside a stored state)."""
        current = self.event_type.SCHEMA_VERSION
        version = document.get("schema_version", 1)
        if not isinstance(version, int) or version > current:
            raise UnsupportedSchemaVersion(
                f"{self.name}: schema_version {version!r} is newer than {current}, which this consumer understands"
            )
        try:
            lifted = upcast(self.name, dict(document), to_version=current)
        except LookupError as exc:
            raise UnsupportedSchemaVersion(str(exc)) from None
        return self.event_type.model_validate(lifted)


MESSAGE_RECEIVED = Topic("message.received", MessageReceived)
INTENT_DETECTED = Topic("intent.detected", IntentDetected)
ACTION_COMPLETED = Topic("action.completed", ActionCompleted)
REPLY_SENT = Topic("reply.sent", ReplySent)
REPLY_FAILED = Topic("reply.failed", ReplyFailed)
REPLY_STATUS = Topic("reply.status", ReplyStatus)
PAYMENT_UPDATED = Topic("payment.updated", PaymentUpdated)
CONVERSATION_HANDED_OFF = Topic("conversation.handed_off", ConversationHandedOff)
STAFF_ACTED = Topic("staff.acted", StaffActed)
PAYMENT_CLAIMED = Topic("payment.claimed", PaymentClaimed)
CONVERSATION_OPTED_OUT = Topic("conversation.opted_out", ConversationOptedOut)
CONVERSATION_OPTED_IN = Topic("conversation.opted_in", ConversationOptedIn)

ALL_TOPICS: tuple[Topic[Any], ...] = (
    MESSAGE_RECEIVED,
    INTENT_DETECTED,
    ACTION_COMPLETED,
    REPLY_SENT,
    REPLY_FAILED,
    REPLY_STATUS,
    PAYMENT_UPDATED,
    CONVERSATION_HANDED_OFF,
    STAFF_ACTED,
    PAYMENT_CLAIMED,
    CONVERSATION_OPTED_OUT,
    CONVERSATION_OPTED_IN,
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
