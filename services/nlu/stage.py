"""The nlu stage's decision: what a received message means. Pure apart from the engine call."""

from __future__ import annotations

import time

from contracts import (
    INTENT_DETECTED,
    Entity,
    IntentDetected,
    IntentDetectedPayload,
    IntentScore,
    MessageReceived,
    NluOutcome,
)
from runtime.stage import Output
from services.nlu.engine import EmptyText, NluEngine

STAGE = "nlu"


def message_text(event: MessageReceived) -> str:
    """What the customer said: the body, or the text of a tapped quick-reply button."""
    payload = event.payload
    return (payload.body or payload.button_text or "").strip()


def detect(engine: NluEngine, event: MessageReceived) -> IntentDetected:
    payload = event.payload
    text = message_text(event)
    started = time.perf_counter()
    common = {
        "message_sid": payload.message_sid, "customer": payload.customer, "business": payload.business,
        "text": text, "model_version": engine.model_version, "media": payload.media,
        "location": payload.location, "profile_name": payload.profile_name, "received_at": payload.received_at,
    }
    if payload.throttled:
        detected = IntentDetectedPayload(outcome=NluOutcome.THROTTLED, intent=None, **common)
        return IntentDetected.caused_by(event, stage=STAGE, payload=detected)
    try:
        result = engine.parse(text, reference_time=payload.received_at)
    except EmptyText:
        outcome = (NluOutcome.MEDIA_ONLY if payload.media else
                   NluOutcome.LOCATION if payload.location else NluOutcome.EMPTY)
        detected = IntentDetectedPayload(outcome=outcome, intent=None, **common)
    else:
        detected = IntentDetectedPayload(
            outcome=NluOutcome.CLASSIFIED,
            intent=result.intent.name,
            confidence=result.intent.confidence,
            ranking=tuple(IntentScore(name=r.name, confidence=r.confidence) for r in result.intent_ranking),
            entities=tuple(
                Entity(entity=e.entity, value=e.value, start=e.start, end=e.end, extractor=e.extractor)
                for e in result.entities
            ),
            latency_ms=(time.perf_counter() - started) * 1000,
            **common,
        )
    return IntentDetected.caused_by(event, stage=STAGE, payload=detected)


def make_handler(engine: NluEngine):  # type: ignore[no-untyped-def]
    async def handle(event: MessageReceived) -> list[Output]:
        return [Output(INTENT_DETECTED, detect(engine, event))]

    return handle
