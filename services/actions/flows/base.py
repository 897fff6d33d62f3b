"""What every flow shares: the dependencies, the turn's context, the decision a step returns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, JsonValue, ValidationError

from contracts import ActionError, ActionOutcome, IntentDetected, derive_event_id
from contracts.dialogue import DialogueUpdate, Offer, PendingConfirmation
from contracts.replies import ApiProblem, Reply
from services.actions.adapters.business_api import BusinessApi, BusinessApiError
from services.actions.adapters.endpoints import Operation
from services.actions.faq import FaqIndex
from services.actions.profile import BusinessProfile, ProfileError, load_profile
from services.actions.settings import DEFAULT_PROFILE_FILE, ActionsSettings
from services.actions.state import DialogueState
from services.actions.understanding import ACTS, Answer
from services.actions.understanding import fold as fold_words

ENTITY_TYPES = ("fecha", "hora", "paquete", "email", "nombre", "referencia")
PAST_LOOKING_INTENTS = frozenset({"consultar_historial"})
WEEKDAY_WORDS = ("lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo")


@dataclass(frozen=True)
class ActionsDeps:
    """What the policy needs from the outside; the composition root builds it from settings."""

    business_api: BusinessApi
    confidence_threshold: float = 0.45
    flow_idle_s: float = 900.0
    timezone: str = "America/Mexico_City"
    handoff_s: float = 4 * 3600.0
    business_number: str = "whatsapp:+14155238886"
    profile: BusinessProfile = field(default_factory=lambda: load_profile(DEFAULT_PROFILE_FILE))
    """The business's profile (address, hours, policies, FAQs): the only source of those facts."""

    @classmethod
    def from_settings(cls, settings: ActionsSettings, business_api: BusinessApi) -> ActionsDeps:
        """Raises `ProfileError` (naming the file and every problem) for a bad profile, or when its
        time zone is not `BUSINESS_TIMEZONE`."""
        profile = load_profile(settings.business_profile_file)
        if profile.timezone != settings.timezone:
            raise ProfileError(f"{settings.business_profile_file}: timezone {profile.timezone} differs from "
                               f"BUSINESS_TIMEZONE={settings.timezone}")
        return cls(business_api=business_api, confidence_threshold=settings.confidence_threshold,
                   flow_idle_s=settings.flow_idle_s, timezone=settings.timezone, handoff_s=settings.handoff_s,
                   business_number=settings.business_number, profile=profile)

    @cached_property
    def faq(self) -> FaqIndex:
        return FaqIndex.from_profile(self.profile)

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Context:
    """One customer message and everything a flow may read while deciding about it."""

    event: IntentDetected
    state: DialogueState
    deps: ActionsDeps

    @property
    def text(self) -> str:
        return self.event.payload.text

    @property
    def intent(self) -> str | None:
        return self.event.payload.intent

    @cached_property
    def today(self) -> dt.date:
        """The business's date when the message arrived (never the wall clock: replays agree)."""
        return self.event.payload.received_at.astimezone(self.deps.zone).date()

    @cached_property
    def answer(self) -> Answer | None:
        """The yes or no NLU heard, alone ("sí porfa") or opening the message ("sí, y …"), if confident."""
        payload, threshold = self.event.payload, self.deps.confidence_threshold
        if payload.act is not None and payload.act.confidence >= threshold:
            return ACTS[payload.act.name]
        if payload.intent in ACTS and payload.confidence >= threshold:
            return ACTS[payload.intent]
        return None

    @cached_property
    def hora_bare(self) -> bool:
        """Whether the customer's hour had no part of day ("a las 7"): NLU's `hora` role `bare`.
        An hour without a role (older NLU) counts as explicit: never read as the other half of the day."""
        for entity in reversed(self.event.payload.entities):
            if entity.entity == "hora":
                return entity.role == "bare"
        return False

    def recalled(self, entity: str) -> str | None:
        """The value of `entity` said in an earlier turn and not yet expired (the flow idle time)."""
        value = self.state.recalled(entity, now=self.event.payload.received_at, idle_s=self.deps.flow_idle_s)
        return str(value) if value is not None else None

    @cached_property
    def entities(self) -> dict[str, str]:
        """The last value of each entity type in the message ("no el viernes, el sábado" → sábado)."""
        found: dict[str, str] = {}
        for entity in self.event.payload.entities:
            if entity.entity in ENTITY_TYPES and entity.value is not None:
                found[entity.entity] = str(entity.value)
        if "fecha" in found:
            found["fecha"] = self._forward(found["fecha"])
        return found

    def _forward(self, fecha: str) -> str:
        """NLU reads a bare weekday backwards when it takes the message for a history question
        ("la del lunes" → last Monday); nothing the actions stage does with a date looks back, so
        such a weekday means the next one."""
        if self.intent not in PAST_LOOKING_INTENTS:
            return fecha
        try:
            day = dt.date.fromisoformat(fecha)
        except ValueError:
            return fecha
        said = next((fold_words(self.text[e.start:e.end]) for e in self.event.payload.entities
                     if e.entity == "fecha" and e.start is not None and e.end is not None), "")
        if day >= self.today or not any(name in said for name in WEEKDAY_WORDS):
            return fecha
        ahead = (day.weekday() - self.today.weekday() - 1) % 7 + 1
        return (self.today + dt.timedelta(days=ahead)).isoformat()

    def idempotency_key(self, action: str) -> str:
        """Derived from the message's event id: replaying it sends the same key, so nothing happens twice."""
        return derive_event_id(self.event.event_id, f"actions:{action}")

    async def call(self, operation: Operation, params: Mapping[str, Any] | None = None, *,
                   idempotent_action: str | None = None) -> Any:
        key = self.idempotency_key(idempotent_action) if idempotent_action else None
        return await self.deps.business_api.call(operation, params, client_phone=self.event.payload.customer,
                                                 idempotency_key=key)


@dataclass(frozen=True)
class Decision:
    """What the stage concluded about one message: the action.completed it publishes."""

    action: str
    outcome: ActionOutcome
    reply: Reply
    dialogue: DialogueUpdate = field(default_factory=DialogueUpdate)
    error: ActionError | None = None
    intent: str | None = None
    """The intent the decision served (the flow's, when "sí" confirmed a cancellation); None: NLU's."""
    drops_interrupted: bool = False
    """The customer closed the conversation or declined to resume: forget the flow put aside."""
    followup: Reply | None = None
    """A second part of the reply: the question of a flow put aside."""
    claim: str | None = None
    """The purchase the customer says they paid another way: recorded as payment.claimed for staff."""

    def with_followup(self, followup: Reply | None) -> Decision:
        return replace(self, followup=followup)

    def with_dialogue(self, dialogue: DialogueUpdate) -> Decision:
        return replace(self, dialogue=dialogue)


class Flow(Protocol):
    """A multi-turn task: collects its slots, maybe asks for confirmation, then calls the API."""

    name: str
    verbs: tuple[str, ...]
    """The flow's own verbs ("cancélala" while cancelling): next to a value they ask for nothing new."""

    def extract(self, ctx: Context, slots: Mapping[str, JsonValue], offered: Sequence[Offer],
                awaiting: str | None) -> dict[str, JsonValue]:
        """The values this message gives the flow, read in the context of what was asked."""
        ...

    def merge(self, slots: Mapping[str, JsonValue], found: Mapping[str, JsonValue], *,
              editing: bool = False) -> dict[str, JsonValue]:
        """The slots after this message's values. A correction may drop values that depended on the old
        one; `editing` (a summary being changed: "mejor a las 9") keeps the others."""
        ...

    async def step(self, ctx: Context, slots: dict[str, JsonValue], *, not_understood: bool = False,
                   edited: bool = False) -> Decision:
        """The next move with these slots: ask for what is missing, confirm, or act. `edited`: the
        customer changed a summary, which the next one says."""
        ...

    async def confirmed(self, ctx: Context, pending: PendingConfirmation) -> Decision:
        ...

    def reconfirm(self, ctx: Context, pending: PendingConfirmation) -> Decision:
        """The pending question again, for an answer that was neither yes nor no."""
        ...

    def declined(self, ctx: Context, pending: PendingConfirmation) -> Decision:
        ...


def action_error(error: BusinessApiError) -> ActionError:
    return ActionError(kind=error.kind, message=error.message, status=error.status, code=error.code)


def api_failure(action: str, error: BusinessApiError, *, dialogue: DialogueUpdate) -> Decision:
    """The reply for a failed call: FAILED, the error with the API's code, and a reply that explains it."""
    return Decision(action, ActionOutcome.FAILED,
                    ApiProblem(error=error.kind, code=error.code, operation=error.operation),
                    dialogue, action_error(error))


def failed(action: str, error: BusinessApiError, shown: Decision) -> Decision:
    """A failed call whose reply is another decision's (e.g. "full" answered by offering other times)."""
    return Decision(action, ActionOutcome.FAILED, shown.reply, shown.dialogue, action_error(error))


def asking(action: str, reply: Reply, dialogue: DialogueUpdate) -> Decision:
    return Decision(action, ActionOutcome.NEEDS_INPUT, reply, dialogue)


def confirming(action: str, reply: Reply, dialogue: DialogueUpdate) -> Decision:
    return Decision(action, ActionOutcome.NEEDS_CONFIRMATION, reply, dialogue)


def done(action: str, reply: Reply) -> Decision:
    return Decision(action, ActionOutcome.SUCCEEDED, reply, DialogueUpdate())


M = TypeVar("M", bound=BaseModel)


def parsed(model: type[M], data: Any, *, operation: str) -> M:
    """The business API's answer read as `model`; an answer of the wrong shape is the API's failure
    (kind unavailable, code unexpected_response), never a crash of the stage."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BusinessApiError("unavailable", f"unexpected answer: {exc.errors()[0]['msg']}",
                               operation=operation, code="unexpected_response") from None


def parse_date(value: Any) -> dt.date | None:
    """An ISO date from a slot or an API answer; None when absent or not a date."""
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def without(slots: Mapping[str, JsonValue], *names: str) -> dict[str, JsonValue]:
    return {key: value for key, value in slots.items() if key not in names}
