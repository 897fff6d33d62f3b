"""Drive the policy like the agent does: text → NLU's reading → intent.detected → handle → reply.

NLU's readings are recorded (`nlu_recordings.json`, the `intent.detected` fields NLU fills for
each text on each day), not computed: editing the training data cannot break a policy test.
`make nlu-recordings` re-records them with the shipped model (the policy tests run once with
`RECORD_NLU=1`, which reads every text with the real engine and rewrites the file); review the
diff like any other change of behaviour."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from contracts import (
    ActionCompleted,
    DialogueAct,
    Entity,
    Event,
    IntentDetected,
    IntentDetectedPayload,
    IntentScore,
    MessageReceived,
    MessageReceivedPayload,
    NluOutcome,
    PaymentUpdated,
    PaymentUpdatedPayload,
    SecondRequest,
    StaffActed,
    StaffPayload,
    inbound_event_id,
    payment_event_id,
    staff_event_id,
)
from services.actions.adapters.business_api import BusinessApi
from services.actions.handler import ActionsDeps, handle
from services.actions.profile import BusinessProfile, load_profile
from services.actions.settings import DEFAULT_PROFILE_FILE
from services.actions.state import DialogueState, StateEvent
from services.responder.templates import render

MEXICO_CITY = ZoneInfo("America/Mexico_City")
START = dt.datetime(2026, 11, 25, 15, 0, tzinfo=MEXICO_CITY)  # a Wednesday afternoon
CUSTOMER = "whatsapp:+5215500000001"
BUSINESS = "whatsapp:+14155238886"


RECORDINGS = Path(__file__).parent / "nlu_recordings.json"
RECORDING = os.environ.get("RECORD_NLU") == "1"
recorded: dict[str, dict[str, Any]] = {}
"""The readings this run used (what `RECORD_NLU=1` writes back)."""


@cache
def _recordings() -> dict[str, dict[str, Any]]:
    loaded: dict[str, dict[str, Any]] = json.loads(RECORDINGS.read_text()) if RECORDINGS.exists() else {}
    return loaded


def nlu_reading(text: str, at: dt.datetime) -> dict[str, Any]:
    """What NLU says about `text` sent at `at`: intent, confidence, ranking, entities."""
    key = f"{at.astimezone(MEXICO_CITY).date().isoformat()} {text}"
    if RECORDING:
        from tests.unit.nlu._shared import trained_engine  # only when recording: training takes seconds

        result = trained_engine().parse(text, reference_time=at)
        act, second = result.dialogue_act, result.second_request
        reading = {"intent": result.intent.name, "confidence": round(result.intent.confidence, 4),
                   "ranking": [[r.name, round(r.confidence, 4)] for r in result.intent_ranking[:3]],
                   "entities": [[e.entity, e.value, e.start, e.end, e.role] for e in result.entities],
                   "act": [act.name, round(act.confidence, 4), act.end] if act is not None else None,
                   "also": [second.name, round(second.confidence, 4), second.start] if second is not None else None}
    else:
        found = _recordings().get(key)
        if found is None:
            raise AssertionError(f"no recorded NLU reading for {key!r}: run `make nlu-recordings`")
        reading = found
    recorded[key] = reading
    return reading


def write_recordings(*, prune: bool) -> None:
    """Write the readings used; `prune` (a run where every test passed) drops the ones no test used."""
    readings = recorded if prune else {**_recordings(), **recorded}
    RECORDINGS.write_text(json.dumps(dict(sorted(readings.items())), ensure_ascii=False, indent=1) + "\n")


def detected(text: str, *, at: dt.datetime, sid: str, customer: str = CUSTOMER, intent: str | None = None,
             confidence: float | None = None, entities: Sequence[tuple[str, ...]] | None = None,
             outcome: NluOutcome = NluOutcome.CLASSIFIED) -> IntentDetected:
    """The intent.detected NLU publishes for `text`; given an `intent`, NLU is not run and `confidence`
    and `entities` are taken as given."""
    received = MessageReceived(
        event_id=inbound_event_id(sid), type="message.received", occurred_at=at, conversation_id=customer,
        correlation_id=inbound_event_id(sid),
        payload=MessageReceivedPayload(message_sid=sid, account_sid="AC1", customer=customer, business=BUSINESS,
                                       body=text, received_at=at),
    )
    found: list[Entity] = []
    act: DialogueAct | None = None
    also: SecondRequest | None = None
    ranking: tuple[IntentScore, ...] = ()
    nlu_intent, nlu_confidence = None, 0.0
    if text.strip() and outcome is NluOutcome.CLASSIFIED and intent is None:
        reading = nlu_reading(text, at)
        nlu_intent, nlu_confidence = reading["intent"], reading["confidence"]
        ranking = tuple(IntentScore(name=name, confidence=score) for name, score in reading["ranking"])
        found = [Entity(entity=name, value=value, start=start, end=end, extractor="recorded", role=role)
                 for name, value, start, end, *rest in reading["entities"] for role in [rest[0] if rest else None]]
        if reading.get("act"):
            name, score, end = reading["act"]
            act = DialogueAct(name=name, confidence=score, end=end)
        if reading.get("also"):
            name, score, start = reading["also"]
            also = SecondRequest(name=name, confidence=score, start=start)
    if entities is not None:  # (entity, value) or (entity, value, the words in the text that say it)
        found = []
        for name, value, *said in entities:
            span = said[0] if said else value
            start = text.find(span) if span in text else None
            found.append(Entity(entity=name, value=value, start=start,
                                end=None if start is None else start + len(span)))
    payload = IntentDetectedPayload(
        message_sid=sid, customer=customer, business=BUSINESS, text=text, outcome=outcome,
        intent=intent if intent is not None else (nlu_intent if outcome is NluOutcome.CLASSIFIED else None),
        confidence=confidence if confidence is not None else nlu_confidence, ranking=ranking,
        entities=tuple(found), act=act, also=also, model_version="test", received_at=at,
    )
    return IntentDetected.caused_by(received, stage="nlu", payload=payload)


def profile_for(api: BusinessApi) -> BusinessProfile:
    """The shipped profile, its packages rule matching the business API's (the fake's is configurable)."""
    profile = load_profile(DEFAULT_PROFILE_FILE)
    required = bool(getattr(api, "booking_requires_package", True))
    policies = profile.policies.model_copy(update={"packages_required": required})
    return profile.model_copy(update={"policies": policies})


class Conversation:
    """One customer talking to the policy; keeps the state as the agent's table would."""

    def __init__(self, api: BusinessApi, *, deps: ActionsDeps | None = None, customer: str = CUSTOMER,
                 start: dt.datetime = START) -> None:
        self.api = api
        self.deps = deps or ActionsDeps(business_api=api, profile=profile_for(api))
        self.customer = customer
        self.clock = start
        self.state = DialogueState.empty(customer)
        self.events: list[StateEvent] = []
        self.replies: list[ActionCompleted] = []
        self.outputs: list[Event] = []
        self._sid = 0

    def next_event(self, text: str, *, after_s: float = 20.0, **overrides: Any) -> IntentDetected:
        self.clock += dt.timedelta(seconds=after_s)
        if hasattr(self.api, "now"):
            self.api.now = self.clock
        self._sid += 1
        return detected(text, at=self.clock, sid=f"SM{self.customer[-4:]}{self._sid:04d}{id(self) % 10000}",
                        customer=self.customer, **overrides)

    async def send(self, event: IntentDetected | PaymentUpdated | StaffActed) -> ActionCompleted | None:
        self.state, outputs = await handle(self.state, event, self.deps)
        self.events.append(event)
        self.outputs.extend(o.event for o in outputs)
        completed = [o.event for o in outputs if isinstance(o.event, ActionCompleted)]
        self.events.extend(completed)
        self.replies.extend(completed)
        return completed[0] if completed else None

    async def payment(self, status: Literal["paid", "failed"], package: str, *, purchase_id: str = "1",
                      after_s: float = 60.0, recorded_at: dt.datetime | None = None) -> ActionCompleted | None:
        """The business's notice that a purchase was paid or failed (payment.updated), recorded by the business
        at `recorded_at` (a notice redelivered has the same)."""
        self.clock += dt.timedelta(seconds=after_s)
        recorded_at = recorded_at or self.clock
        event_id = payment_event_id(purchase_id, status, recorded_at)
        return await self.send(PaymentUpdated(
            event_id=event_id, type="payment.updated", occurred_at=self.clock, conversation_id=self.customer,
            correlation_id=event_id, payload=PaymentUpdatedPayload(
                customer=self.customer, purchase_id=purchase_id, status=status, package=package,
                valid_until=self.clock + dt.timedelta(days=90), occurred_at=recorded_at)))

    async def staff(self, action: Literal["reply", "hand_back"], body: str = "", *,
                    after_s: float = 1.0) -> ActionCompleted | None:
        """Staff acting on the conversation through the admin API (staff.acted), `after_s` later."""
        self.clock += dt.timedelta(seconds=after_s)
        self._sid += 1
        event_id = staff_event_id(f"{self.customer}/{self._sid}")
        return await self.send(StaffActed(
            event_id=event_id, type="staff.acted", occurred_at=self.clock, conversation_id=self.customer,
            correlation_id=event_id, payload=StaffPayload(customer=self.customer, action=action, body=body,
                                                          request_id=str(self._sid))))

    async def say(self, text: str, *, after_s: float = 20.0, **overrides: Any) -> ActionCompleted:
        completed = await self.send(self.next_event(text, after_s=after_s, **overrides))
        assert completed is not None, f"no action.completed for {text!r}"
        return completed


def text_of(completed: ActionCompleted) -> str:
    payload = completed.payload
    return render(payload.reply, business="Estudio Sol", followup=payload.followup, register=payload.form_of_address)
