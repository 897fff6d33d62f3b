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
from typing import Any
from zoneinfo import ZoneInfo

from contracts import (
    ActionCompleted,
    DialogueAct,
    Entity,
    IntentDetected,
    IntentDetectedPayload,
    IntentScore,
    MessageReceived,
    MessageReceivedPayload,
    NluOutcome,
    SecondRequest,
    inbound_event_id,
)
from services.actions.adapters.business_api import BusinessApi
from services.actions.handler import ActionsDeps, handle
from services.actions.state import DialogueState
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


class Conversation:
    """One customer talking to the policy; keeps the state as the agent's table would."""

    def __init__(self, api: BusinessApi, *, deps: ActionsDeps | None = None, customer: str = CUSTOMER,
                 start: dt.datetime = START) -> None:
        self.api = api
        self.deps = deps or ActionsDeps(business_api=api)
        self.customer = customer
        self.clock = start
        self.state = DialogueState.empty(customer)
        self.events: list[IntentDetected | ActionCompleted] = []
        self.replies: list[ActionCompleted] = []
        self._sid = 0

    def next_event(self, text: str, *, after_s: float = 20.0, **overrides: Any) -> IntentDetected:
        self.clock += dt.timedelta(seconds=after_s)
        if hasattr(self.api, "now"):
            self.api.now = self.clock
        self._sid += 1
        return detected(text, at=self.clock, sid=f"SM{self.customer[-4:]}{self._sid:04d}{id(self) % 10000}",
                        customer=self.customer, **overrides)

    async def send(self, event: IntentDetected) -> ActionCompleted | None:
        self.state, outputs = await handle(self.state, event, self.deps)
        self.events.append(event)
        completed = [o.event for o in outputs if isinstance(o.event, ActionCompleted)]
        self.events.extend(completed)
        self.replies.extend(completed)
        return completed[0] if completed else None

    async def say(self, text: str, *, after_s: float = 20.0, **overrides: Any) -> ActionCompleted:
        completed = await self.send(self.next_event(text, after_s=after_s, **overrides))
        assert completed is not None, f"no action.completed for {text!r}"
        return completed


def text_of(completed: ActionCompleted) -> str:
    payload = completed.payload
    return render(payload.reply, business="Estudio Sol", followup=payload.followup, register=payload.form_of_address)
