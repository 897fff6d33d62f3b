"""The dialogue state of one conversation, folded from its events: actions' own projection.

`state = apply(state, event)` over a conversation's `intent.detected` and `action.completed`
events, in the order they were produced (each action.completed right after the intent.detected
that caused it):

- `intent.detected` adds the user's turn, moves `updated_at` (the time of the customer's last
  message, from the event itself: replays are deterministic), remembers the values it mentions
  (a day, a time, a package, a booking code) with the time they were said, and the register the
  customer uses (tú, vos, usted) when the message shows it;
- `staff.acted` records a staff message as a turn, or hands the conversation back to the bot;
- `payment.updated` is only recorded as applied (the decision it causes changes the rest);
- `action.completed` carries the actions stage's decision in `payload.dialogue` (a
  `contracts.dialogue.DialogueUpdate`): the active flow, its slots, what the bot waits for, the
  pending confirmation, what it offered, the flow's pending question and the interrupted flow
  replace the previous ones, and the bot's turn is added; a flow that ended (done or dropped)
  forgets the values carried for it. An `opted_out` reply (the customer asked for no more
  messages) records when they asked (`opted_out_at`, the message's `received_at`); any later
  reply to a message of theirs (one with `received_at`) ends it: writing again is consent.

`apply` is idempotent by event id: an event whose id is among the last `MAX_APPLIED` applied ids
returns the state unchanged, so a redelivered record (at-least-once, DESIGN.md section 9) never
applies twice.

The state is stored as JSON in the faust Table's changelog. It carries `version`; `load_state`
upcasts an older stored version before validating, so a renamed field is converted, never
silently dropped when a worker recovers the table. `python -m services.actions.replay` rebuilds
states from the topics.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue

from contracts import ACTION_COMPLETED, ActionCompleted, ActionOutcome, IntentDetected, PaymentUpdated, StaffActed
from contracts.dialogue import DialogueUpdate, FlowSnapshot, Offer, PendingConfirmation
from contracts.replies import FlowName, Register, Reply
from services.actions.understanding import register_of

MAX_TURNS = 10
MAX_APPLIED = 64
STATE_VERSION = 2
REMEMBERED_ENTITIES = ("fecha", "hora", "paquete", "referencia")
FLOW_NAMES: frozenset[str] = frozenset(get_args(FlowName))

StateEvent = IntentDetected | ActionCompleted | PaymentUpdated | StaffActed
"""The events the dialogue state is folded from."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Turn(_Frozen):
    """One message of the conversation. A bot turn's `text` is the kind of reply it asked for."""

    role: Literal["user", "bot"]
    text: str
    intent: str | None = None
    at: AwareDatetime


class Mention(_Frozen):
    """A value the customer said in an earlier turn, to fill a later request that leaves it out."""

    value: JsonValue
    at: Annotated[AwareDatetime, Field(description="When the customer said it (the message's time)")]


class LastReply(_Frozen):
    """The last action.completed, kept to re-publish it unchanged when its cause is redelivered."""

    cause_id: str
    event: dict[str, JsonValue]


class DialogueState(_Frozen):
    version: int = STATE_VERSION
    conversation_id: str
    flow: str | None = None
    slots: dict[str, JsonValue] = Field(default_factory=dict)
    awaiting: str | None = None
    pending: PendingConfirmation | None = None
    offered: tuple[Offer, ...] = ()
    interrupted_flow: FlowSnapshot | None = None
    question: Reply | None = None
    after_payment: dict[str, JsonValue] | None = None
    handed_off_until: AwareDatetime | None = None
    handed_off_since: AwareDatetime | None = None
    handed_back_at: Annotated[AwareDatetime | None, Field(description="When staff handed it back")] = None
    silenced: Annotated[dict[str, JsonValue] | None, Field(
        description="The last message the bot kept silent about while a person had the conversation")] = None
    misunderstood: Annotated[int, Field(description="Replies in a row that did not understand the customer")] = 0
    opted_out_at: Annotated[AwareDatetime | None, Field(
        description="When the customer asked for no more messages (None: the bot may write to them)")] = None
    business: Annotated[str | None, Field(description="The business's WhatsApp address the customer writes to")] = None
    form_of_address: Annotated[Register, Field(description="How the customer last showed they address us")] = "tu"
    mentioned: Annotated[dict[str, Mention], Field(description="Entity type → the last value said")] = Field(
        default_factory=dict)
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
                              offered=self.offered, interrupted_flow=self.interrupted_flow, question=self.question,
                              after_payment=self.after_payment, handed_off_until=self.handed_off_until,
                              handed_off_since=self.handed_off_since)

    @property
    def busy(self) -> bool:
        """Whether the bot is in the middle of something that can expire."""
        return bool(self.flow or self.awaiting or self.pending or self.interrupted_flow)

    def has_applied(self, event_id: str) -> bool:
        return event_id in self.applied

    @property
    def opted_out(self) -> bool:
        """Whether the customer asked for no more messages and has not written since: nothing unprompted
        goes to them."""
        return self.opted_out_at is not None

    def handed_off(self, sent_at: datetime) -> bool:
        """Whether a person had the conversation when a message was sent at `sent_at` (the bot stays silent).

        Judged on the message's own time, not on the order events arrive in: staff's hand-back and the
        customer's messages travel on different topics, so a message sent just before the hand-back may
        be read after it (it stays silent), and one sent just after may be read before it (it is
        answered when the hand-back arrives: `silenced`)."""
        if self.handed_off_until is None or self.handed_off_since is None:
            return False
        ends = min(self.handed_off_until, self.handed_back_at) if self.handed_back_at else self.handed_off_until
        return self.handed_off_since <= sent_at < ends

    def recalled(self, entity: str, *, now: datetime, idle_s: float) -> JsonValue | None:
        """The value of `entity` said in an earlier turn, unless it is older than the flow idle time."""
        mention = self.mentioned.get(entity)
        if mention is None or now - mention.at > timedelta(seconds=idle_s):
            return None
        return mention.value

    def last_reply_event(self) -> ActionCompleted | None:
        """The stored last reply as an event of the current schema (upcast when stored by older code)."""
        if self.last_reply is None:
            return None
        return ACTION_COMPLETED.decode_dict(self.last_reply.event)


def apply(state: DialogueState, event: StateEvent) -> DialogueState:
    """The state after `event`; the same state when `event` was already applied."""
    if event.event_id in state.applied:
        return state
    applied = (*state.applied, event.event_id)[-MAX_APPLIED:]
    if isinstance(event, ActionCompleted):
        return _after_decision(state, event, applied)
    if isinstance(event, IntentDetected):
        return _after_message(state, event, applied)
    if isinstance(event, StaffActed):
        if event.payload.action == "hand_back":
            return state.model_copy(update={"applied": applied, "handed_back_at": event.occurred_at,
                                            "misunderstood": 0})
        turn = Turn(role="bot", text="staff", at=event.occurred_at)
        return state.model_copy(update={"applied": applied, "turns": (*state.turns, turn)[-MAX_TURNS:]})
    return state.model_copy(update={"applied": applied})  # a payment.updated: its decision changes the rest


def _after_message(state: DialogueState, event: IntentDetected, applied: tuple[str, ...]) -> DialogueState:
    payload_in = event.payload
    turn = Turn(role="user", text=payload_in.text, intent=payload_in.intent, at=payload_in.received_at)
    mentioned = dict(state.mentioned)
    for entity in payload_in.entities:
        if entity.entity in REMEMBERED_ENTITIES and entity.value is not None:
            mentioned[entity.entity] = Mention(value=entity.value, at=payload_in.received_at)
    return state.model_copy(update={
        "turns": (*state.turns, turn)[-MAX_TURNS:],
        "applied": applied,
        "updated_at": payload_in.received_at,
        "mentioned": mentioned,
        "form_of_address": register_of(payload_in.text) or state.form_of_address,
        "business": payload_in.business,
    })


def _after_decision(state: DialogueState, event: ActionCompleted, applied: tuple[str, ...]) -> DialogueState:
    payload = event.payload
    turn = Turn(role="bot", text=payload.reply.kind, intent=payload.intent, at=event.occurred_at)
    missed = (bool(getattr(payload.reply, "not_understood", False))
              or getattr(payload.reply, "reason", None) in ("low_confidence", "empty"))
    changes: dict[str, Any] = {
        "turns": (*state.turns, turn)[-MAX_TURNS:],
        "applied": applied,
        "last_reply": LastReply(cause_id=event.causation_id or "", event=event.model_dump(mode="json", by_alias=True)),
        "misunderstood": state.misunderstood + 1 if missed else 0,
    }
    if payload.reply.kind == "opted_out":
        changes["opted_out_at"] = payload.received_at or event.occurred_at
    elif payload.received_at is not None:
        changes["opted_out_at"] = None  # they wrote again and were answered: consent
    if payload.dialogue is not None:
        changes.update(dict(payload.dialogue))
        since = payload.dialogue.handed_off_since
        if since is not None and (state.handed_back_at is None or since > state.handed_back_at):
            changes["handed_back_at"] = None  # a new handoff: the last hand-back belongs to the one before
    if payload.intent in FLOW_NAMES and payload.outcome in (ActionOutcome.SUCCEEDED, ActionOutcome.CANCELLED):
        changes["mentioned"] = {}  # carried values expire with the flow they served
    return state.model_copy(update=changes)


def with_dialogue(state: DialogueState, update: DialogueUpdate) -> DialogueState:
    """`state` with its decision part replaced (what applying an action.completed does)."""
    return state.model_copy(update=dict(update))


def is_stale(state: DialogueState, now: datetime, idle_s: float) -> bool:
    """Whether the customer's last message was more than `idle_s` seconds before `now`: what the bot
    showed then (a list of times) no longer explains a short answer."""
    return state.updated_at is not None and now - state.updated_at > timedelta(seconds=idle_s)


def is_expired(state: DialogueState, now: datetime, idle_s: float) -> bool:
    """Whether the customer left an unfinished flow idle for more than `idle_s` seconds at `now`."""
    return state.busy and is_stale(state, now, idle_s)


def fold(events: Iterable[StateEvent], conversation_id: str,
         state: DialogueState | None = None) -> DialogueState:
    """The state of a conversation rebuilt from its events (a replay)."""
    current = state or DialogueState.empty(conversation_id)
    for event in events:
        current = apply(current, event)
    return current


# --- stored versions -------------------------------------------------------------------------------


def _v1_to_v2(raw: Mapping[str, Any]) -> dict[str, Any]:
    """v2 added `mentioned` (values said in earlier turns): a v1 state remembers none."""
    return {**raw, "version": 2, "mentioned": {}}


STATE_UPCASTERS: dict[int, Callable[[Mapping[str, Any]], dict[str, Any]]] = {1: _v1_to_v2}
"""Stored version → the function that lifts it one version up (pure, on the raw JSON)."""


class UnknownStateVersion(ValueError):
    """The table holds a state written by newer code than this worker."""


def encode_state(state: DialogueState) -> bytes:
    """The state as the table keeps it and its changelog stores it: JSON bytes. One bytes object per
    conversation instead of a tree of dicts: a tenth of the memory, and nothing for the garbage
    collector to scan, so a message costs the same with 100k live conversations as with 1k."""
    return state.model_dump_json().encode()


def decode_state(stored: bytes) -> DialogueState:
    """A state from the table (`encode_state`'s JSON, or an older version's), upcast and validated."""
    return load_state(json.loads(stored))


def load_state(raw: Mapping[str, Any]) -> DialogueState:
    """A stored state (JSON from the table's changelog), upcast to `STATE_VERSION` and validated."""
    current: dict[str, Any] = dict(raw)
    version = int(current.get("version", 1))
    if version > STATE_VERSION:
        raise UnknownStateVersion(f"dialogue state version {version} is newer than {STATE_VERSION}")
    while version < STATE_VERSION:
        current = STATE_UPCASTERS[version](current)
        version = int(current["version"])
    return DialogueState.model_validate(current)
