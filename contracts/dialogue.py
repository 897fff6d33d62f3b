"""The dialogue state of one conversation, folded from its events.

`state = apply(state, event)` over a conversation's `intent.detected` and `action.completed`
events, in the order they were produced (each action.completed right after the intent.detected
that caused it):

- `intent.detected` adds the user's turn and moves `updated_at` (the time of the customer's
  last message, from the event itself: replays are deterministic);
- `action.completed` carries the actions stage's decision in `payload.dialogue` (a
  `DialogueUpdate`): the active flow, its slots, what the bot waits for, the pending
  confirmation, what it offered and the interrupted flow replace the previous ones, and the
  bot's turn is added.

`apply` is idempotent by event id: an event whose id is among the last `MAX_APPLIED` applied ids
returns the state unchanged, so a redelivered record (at-least-once, DESIGN.md section 9) never
applies twice. The state round-trips through JSON (`model_dump(mode="json")` /
`model_validate`), which is how a faust Table or a Redis cache keeps it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue

if TYPE_CHECKING:
    from contracts.events import ActionCompleted, IntentDetected

MAX_TURNS = 10
MAX_APPLIED = 64


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Turn(_Frozen):
    """One message of the conversation. A bot turn's `text` is the reply template it asked for."""

    role: Literal["user", "bot"]
    text: str
    intent: str | None = None
    at: AwareDatetime


class PendingConfirmation(_Frozen):
    """A destructive or paying action waiting for the customer's yes or no."""

    action: Annotated[str, Field(description="What a yes does, e.g. cancel_booking or purchase_package")]
    params: dict[str, JsonValue] = Field(default_factory=dict)
    summary: Annotated[str, Field(description="The action in words, as the customer was asked")] = ""


class Offer(_Frozen):
    """One option the bot listed last (a class time, a booking, a package), for "la primera"."""

    kind: Literal["slot", "booking", "package"]
    ref: Annotated[str, Field(description="Slot id, booking code or package id")]
    label: str = ""
    data: dict[str, JsonValue] = Field(default_factory=dict)


class FlowSnapshot(_Frozen):
    """A flow put aside when the customer asked something else, to offer it again."""

    flow: str
    slots: dict[str, JsonValue] = Field(default_factory=dict)
    awaiting: str | None = None
    pending: PendingConfirmation | None = None
    offered: tuple[Offer, ...] = ()


class DialogueUpdate(_Frozen):
    """What the actions stage decided the dialogue is now; it replaces the previous decision."""

    flow: Annotated[str | None, Field(description="The active intent's flow, None when idle")] = None
    slots: dict[str, JsonValue] = Field(default_factory=dict)
    awaiting: Annotated[str | None, Field(description="The slot or answer the bot asked for")] = None
    pending: PendingConfirmation | None = None
    offered: tuple[Offer, ...] = ()
    interrupted_flow: FlowSnapshot | None = None


class LastReply(_Frozen):
    """The last action.completed, kept to re-publish it unchanged when its cause is redelivered."""

    cause_id: str
    event: dict[str, JsonValue]


class DialogueState(_Frozen):
    conversation_id: str
    flow: str | None = None
    slots: dict[str, JsonValue] = Field(default_factory=dict)
    awaiting: str | None = None
    pending: PendingConfirmation | None = None
    offered: tuple[Offer, ...] = ()
    interrupted_flow: FlowSnapshot | None = None
    turns: tuple[Turn, ...] = ()
    updated_at: Annotated[AwareDatetime | None, Field(description="When the customer last wrote")] = None
    applied: Annotated[tuple[str, ...], Field(description=f"The last {MAX_APPLIED} applied event ids")] = ()
    last_reply: LastReply | None = None

    @classmethod
    def empty(cls, conversation_id: str) -> DialogueState:
        return cls(conversation_id=conversation_id)

    @property
    def dialogue(self) -> DialogueUpdate:
        """The decision part of the state (what an action.completed replaces)."""
        return DialogueUpdate(flow=self.flow, slots=self.slots, awaiting=self.awaiting, pending=self.pending,
                              offered=self.offered, interrupted_flow=self.interrupted_flow)

    @property
    def busy(self) -> bool:
        """Whether the bot is in the middle of something that can expire."""
        return bool(self.flow or self.awaiting or self.pending or self.interrupted_flow)

    def has_applied(self, event_id: str) -> bool:
        return event_id in self.applied


def apply(state: DialogueState, event: IntentDetected | ActionCompleted) -> DialogueState:
    """The state after `event`; the same state when `event` was already applied."""
    from contracts.events import ActionCompleted  # contracts.events imports this module

    if event.event_id in state.applied:
        return state
    applied = (*state.applied, event.event_id)[-MAX_APPLIED:]
    if isinstance(event, ActionCompleted):
        payload = event.payload
        turn = Turn(role="bot", text=payload.reply_template, intent=payload.intent, at=event.occurred_at)
        changes: dict[str, Any] = {
            "turns": (*state.turns, turn)[-MAX_TURNS:],
            "applied": applied,
            "last_reply": LastReply(cause_id=event.causation_id or "", event=event.model_dump(mode="json")),
        }
        if payload.dialogue is not None:
            changes.update(dict(payload.dialogue))
        return state.model_copy(update=changes)
    payload_in = event.payload
    turn = Turn(role="user", text=payload_in.text, intent=payload_in.intent, at=payload_in.received_at)
    return state.model_copy(update={
        "turns": (*state.turns, turn)[-MAX_TURNS:],
        "applied": applied,
        "updated_at": payload_in.received_at,
    })


def with_dialogue(state: DialogueState, update: DialogueUpdate) -> DialogueState:
    """`state` with its decision part replaced (what applying an action.completed does)."""
    return state.model_copy(update=dict(update))


def is_expired(state: DialogueState, now: datetime, idle_s: float) -> bool:
    """Whether the customer left an unfinished flow idle for more than `idle_s` seconds at `now`."""
    if not state.busy or state.updated_at is None:
        return False
    return now - state.updated_at > timedelta(seconds=idle_s)


def fold(events: list[IntentDetected | ActionCompleted], conversation_id: str,
         state: DialogueState | None = None) -> DialogueState:
    """The state of a conversation rebuilt from its events (a replay)."""
    current = state or DialogueState.empty(conversation_id)
    for event in events:
        current = apply(current, event)
    return current
