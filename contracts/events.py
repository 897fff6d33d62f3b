"""Event models: one envelope, one typed payload per event type.

Every model is frozen and ignores unknown fields, so a consumer tolerates additive changes made
by a newer producer. A breaking change is a new `schema_version` with a pure upcaster from the
previous one (`contracts/upcasting.py`): `Topic.decode` lifts an older record to the current
version before validating it, and refuses a version newer than it knows instead of misreading it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, field_validator

from contracts.dialogue import DialogueUpdate
from contracts.replies import ErrorKind, Register, Reply


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


def utc_now() -> datetime:
    return datetime.now(UTC)


class Event(_Frozen):
    """The envelope every event shares. Subclasses fix `type` and the payload model."""

    TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1

    event_id: str
    type: str
    schema_version: int = 1
    occurred_at: AwareDatetime
    conversation_id: Annotated[str, Field(min_length=1, description="The customer's WhatsApp address")]
    correlation_id: Annotated[str, Field(description="Id of the inbound message.received that started the chain")]
    causation_id: Annotated[str | None, Field(description="Id of the event that caused this one")] = None

    @field_validator("occurred_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @classmethod
    def caused_by(cls, cause: Event, *, stage: str, payload: Any, occurred_at: datetime | None = None) -> Self:
        """Build the event that `stage` produces in response to `cause`, with a derived id."""
        from contracts.ids import derive_event_id

        return cls(
            event_id=derive_event_id(cause.event_id, stage),
            type=cls.TYPE,
            schema_version=cls.SCHEMA_VERSION,
            occurred_at=occurred_at or utc_now(),
            conversation_id=cause.conversation_id,
            correlation_id=cause.correlation_id,
            causation_id=cause.event_id,
            payload=payload,
        )


# --- message.received ------------------------------------------------------------------------


class Media(_Frozen):
    url: str
    content_type: str


class Location(_Frozen):
    latitude: float
    longitude: float
    label: str | None = None
    address: str | None = None


class MessageReceivedPayload(_Frozen):
    message_sid: str
    account_sid: str
    customer: Annotated[str, Field(description="Twilio `From`: whatsapp:+E164 of the customer")]
    business: Annotated[str, Field(description="Twilio `To`: whatsapp:+E164 of the business")]
    body: str = ""
    num_media: int = 0
    media: tuple[Media, ...] = ()
    profile_name: str | None = None
    wa_id: str | None = None
    button_text: str | None = None
    button_payload: str | None = None
    location: Location | None = None
    throttled: bool = False
    received_at: AwareDatetime


class MessageReceived(Event):
    TYPE: ClassVar[str] = "message.received"
    type: Literal["message.received"] = "message.received"
    payload: MessageReceivedPayload


# --- intent.detected -------------------------------------------------------------------------


class IntentScore(_Frozen):
    name: str
    confidence: float


class Entity(_Frozen):
    entity: str
    value: JsonValue
    start: int | None = None
    end: int | None = None
    extractor: str | None = None
    role: Annotated[str | None, Field(
        description="Rasa's entity role. For `hora`: `bare` when the customer said an hour with no part of day "
        "(\"a las 7\": the value is one reading, the other half of the day is possible), `explicit` otherwise"
    )] = None


DialogueActName = Literal["afirmar", "negar"]


class DialogueAct(_Frozen):
    """A yes or a no that opens a message which goes on with a request ("sí, y también quiero ver precios")."""

    name: DialogueActName
    confidence: float
    end: Annotated[int, Field(description="Where the act's words end in the text")]


class SecondRequest(_Frozen):
    """Another request later in the same message ("quiero reservar el lunes y tb saber cuánto vale el bono")."""

    name: str
    confidence: float
    start: Annotated[int, Field(description="Where it starts in the text; entities from there on are its own")]


class NluOutcome(StrEnum):
    CLASSIFIED = "classified"
    EMPTY = "empty"
    MEDIA_ONLY = "media_only"
    LOCATION = "location"
    THROTTLED = "throttled"


class IntentDetectedPayload(_Frozen):
    message_sid: str
    customer: str
    business: str
    text: str
    outcome: NluOutcome = NluOutcome.CLASSIFIED
    intent: str | None
    confidence: float = 0.0
    ranking: tuple[IntentScore, ...] = ()
    entities: tuple[Entity, ...] = ()
    act: Annotated[
        DialogueAct | None,
        Field(description="The yes or no the message opens with, when the rest is another request (its intent)"),
    ] = None
    also: Annotated[
        SecondRequest | None, Field(description="A second request in the message; `intent` is the first one's")
    ] = None
    model_version: str
    source: Annotated[str, Field(
        description="builtin, rasa, builtin-fallback when Rasa failed, or button: a tapped choice read exactly from "
        "its id (contracts/taps.py), no model asked"
    )] = "builtin"
    latency_ms: float = 0.0
    media: tuple[Media, ...] = ()
    location: Location | None = None
    profile_name: str | None = None
    received_at: AwareDatetime


class IntentDetected(Event):
    TYPE: ClassVar[str] = "intent.detected"
    type: Literal["intent.detected"] = "intent.detected"
    payload: IntentDetectedPayload


# --- action.completed ------------------------------------------------------------------------


class ActionOutcome(StrEnum):
    """What the action stage concluded; responder turns it into words."""

    ANSWERED = "answered"
    NEEDS_INPUT = "needs_input"
    NEEDS_CONFIRMATION = "needs_confirmation"
    SUCCEEDED = "succeeded"
    CANCELLED = "cancelled"
    CLARIFICATION = "clarification"
    FAILED = "failed"


class ActionError(_Frozen):
    """How the business API call behind an action failed."""

    kind: ErrorKind
    message: str
    status: int | None = None
    code: Annotated[str | None, Field(description="The business API's error code, e.g. slot_full")] = None


class ActionCompletedPayload(_Frozen):
    customer: str
    business: str
    intent: str | None
    action: Annotated[str, Field(description="The decision taken, e.g. list_packages or clarify")]
    outcome: ActionOutcome
    reply: Annotated[Reply, Field(description="What to tell the customer: a kind and its typed values")]
    followup: Annotated[
        Reply | None, Field(description="A second part after the reply: the question of a flow put aside")
    ] = None
    user_text: str = ""
    form_of_address: Annotated[
        Register, Field(description="How the customer addresses the bot (tú, vos or usted): the reply's register")
    ] = "tu"
    error: ActionError | None = None
    received_at: Annotated[
        AwareDatetime | None,
        Field(description="When the customer's message this answers reached ingress (None for a reply nobody "
              "asked for, e.g. a payment confirmed): responder's 24-hour window"),
    ] = None
    dialogue: Annotated[
        DialogueUpdate | None,
        Field(description="The dialogue state the decision leaves (flow, slots, awaiting, pending, offered)"),
    ] = None


class ActionCompleted(Event):
    TYPE: ClassVar[str] = "action.completed"
    SCHEMA_VERSION: ClassVar[int] = 2
    type: Literal["action.completed"] = "action.completed"
    schema_version: int = 2
    payload: ActionCompletedPayload


# --- reply.sent / reply.failed / reply.status ------------------------------------------------


class ReplySentPayload(_Frozen):
    to: str
    from_: Annotated[str, Field(alias="from")]
    body: str
    message_sid: str
    template: Annotated[str, Field(description="The reply kind that was written")]
    generator: Literal["template", "llm"] = "template"
    attempts: int = 1
    message_sids: Annotated[
        tuple[str, ...], Field(description="Every message sent, in order, when a long body went out in parts")
    ] = ()
    content_sid: Annotated[
        str | None, Field(description="Twilio Content (buttons, list, approved template) the message used")
    ] = None
    model: Annotated[str | None, Field(description="The LLM that wrote it (OpenRouter's `model`)")] = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: Annotated[float | None, Field(description="OpenRouter's `usage.cost`, in credits (USD)")] = None
    llm_latency_ms: float | None = None
    fallback: Annotated[
        str | None, Field(description="Why a template wrote the reply although an LLM is configured")
    ] = None

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True, serialize_by_alias=True)


class ReplySent(Event):
    TYPE: ClassVar[str] = "reply.sent"
    type: Literal["reply.sent"] = "reply.sent"
    payload: ReplySentPayload


class ReplyFailedPayload(_Frozen):
    to: str
    body: str
    template: str
    error_code: int | None = None
    error_message: str
    attempts: int


class ReplyFailed(Event):
    TYPE: ClassVar[str] = "reply.failed"
    type: Literal["reply.failed"] = "reply.failed"
    payload: ReplyFailedPayload


class ReplyStatusPayload(_Frozen):
    message_sid: str
    status: str
    account_sid: str
    to: str | None = None
    from_: Annotated[str | None, Field(alias="from")] = None
    error_code: int | None = None
    error_message: str | None = None

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True, serialize_by_alias=True)


class ReplyStatus(Event):
    TYPE: ClassVar[str] = "reply.status"
    type: Literal["reply.status"] = "reply.status"
    payload: ReplyStatusPayload


# --- payments, handoff, staff -----------------------------------------------------------------------


class PaymentUpdatedPayload(_Frozen):
    """The business's system says a purchase was paid (or its payment failed): ingress receives its
    signed webhook. The conversation is the customer's WhatsApp address."""

    customer: Annotated[str, Field(description="whatsapp:+E164 of the customer who bought")]
    purchase_id: Annotated[str, Field(description="The purchase in the business's system")]
    status: Literal["paid", "failed"]
    package: str = ""
    amount: float | None = None
    currency: str = ""
    valid_until: AwareDatetime | None = None
    occurred_at: Annotated[AwareDatetime, Field(description="When the business recorded it")]


class PaymentUpdated(Event):
    TYPE: ClassVar[str] = "payment.updated"
    type: Literal["payment.updated"] = "payment.updated"
    payload: PaymentUpdatedPayload


class HandedOffPayload(_Frozen):
    """The bot handed the conversation to a person and stays silent until it is handed back."""

    customer: str
    reason: Literal["asked", "not_understood", "unknown_question", "payment_claim"]
    summary: Annotated[str, Field(description="What the customer said last, for the staff who take over")] = ""
    until: Annotated[AwareDatetime, Field(description="When the bot speaks again if nobody hands it back")]


class ConversationHandedOff(Event):
    TYPE: ClassVar[str] = "conversation.handed_off"
    type: Literal["conversation.handed_off"] = "conversation.handed_off"
    payload: HandedOffPayload


class OptOutPayload(_Frozen):
    """The customer asked for no more messages ("baja", "STOP"), or Twilio refused a send with 21610."""

    customer: str
    source: Literal["customer", "twilio"]
    text: Annotated[str, Field(description="What the customer wrote (source customer)")] = ""
    error_code: int | None = None


class ConversationOptedOut(Event):
    TYPE: ClassVar[str] = "conversation.opted_out"
    type: Literal["conversation.opted_out"] = "conversation.opted_out"
    payload: OptOutPayload


class OptInPayload(_Frozen):
    """An opted-out customer wrote again: messages may go to them again."""

    customer: str
    text: str = ""


class ConversationOptedIn(Event):
    TYPE: ClassVar[str] = "conversation.opted_in"
    type: Literal["conversation.opted_in"] = "conversation.opted_in"
    payload: OptInPayload


class StaffPayload(_Frozen):
    """Staff act on a conversation through ingress's admin API: a message to send, or the hand-back."""

    customer: str
    business: Annotated[str | None, Field(description="The business's WhatsApp address to send from")] = None
    staff: Annotated[str, Field(description="Who acted (the admin token's name)")] = "staff"
    action: Literal["reply", "hand_back"]
    body: Annotated[str, Field(description="The message to send (action reply)", max_length=1600)] = ""
    request_id: Annotated[str, Field(description="The admin request's idempotency key")]


class StaffActed(Event):
    TYPE: ClassVar[str] = "staff.acted"
    type: Literal["staff.acted"] = "staff.acted"
    payload: StaffPayload


class PaymentClaimedPayload(_Frozen):
    """The customer says they paid by other means or sent a receipt: recorded for staff to check;
    nothing is marked paid."""

    customer: str
    text: str = ""
    media: tuple[Media, ...] = ()
    purchase_id: str | None = None


class PaymentClaimed(Event):
    TYPE: ClassVar[str] = "payment.claimed"
    type: Literal["payment.claimed"] = "payment.claimed"
    payload: PaymentClaimedPayload


EVENT_TYPES: tuple[type[Event], ...] = (
    MessageReceived,
    IntentDetected,
    ActionCompleted,
    ReplySent,
    ReplyFailed,
    ReplyStatus,
    PaymentUpdated,
    ConversationHandedOff,
    StaffActed,
    PaymentClaimed,
    ConversationOptedOut,
    ConversationOptedIn,
)
