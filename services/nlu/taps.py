"""A tapped quick-reply button or list item, read exactly from its id: no model is asked.

The responder offers choices with ids of the scheme in `contracts/taps.py`; a tap comes back as
`ButtonPayload`. `tapped` turns one into the `intent.detected` a customer typing the same choice
would get from the engine, with nothing left to guess: confidence 1.0, `source` "button", and the
entities named and shaped as the engine's extractors name them, which is how actions reads them:

- `act:afirmar` / `act:negar`: intent `afirmar`/`negar` and the same dialogue act over the whole
  text, as the engine reads a plain "sí" or "no";
- `intent:<name>`: that intent (one the model knows; any other name is not read as a tap);
- `time:19:00`, `date:2026-12-03`, `slot:2026-12-03T19:00`: `agendar_cita` with `hora` (HH:MM,
  role `explicit`: a tapped time is never the other half of the day) and/or `fecha` (ISO date);
- `package:<id>`: `pagar_servicio` with `paquete` = the package's id (the engine's typed reading
  gives the catalogue name; actions matches a package by name or id);
- `booking:<code>`: `cancelar_cita` with `referencia` = the booking code.

The text is what the customer saw and sent, the button's title (`ButtonText`); an entity's
`start`/`end` point into it when the title shows the value ("19:00"), else they are None. A
payload that is not one of ours (unknown kind, malformed value, an intent the model does not
know) gives None, and the message is read from its text like any other.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection

from contracts import (
    DialogueAct,
    Entity,
    IntentDetected,
    IntentDetectedPayload,
    IntentScore,
    MessageReceived,
    NluOutcome,
    Tap,
    decode_tap,
)
from services.nlu.engine.times import EXPLICIT

TAP_SOURCE = "button"
TAP_MODEL_VERSION = "taps-v1"
"""`model_version` of a tap's reading: the id scheme answered, not a model."""
TAP_EXTRACTOR = "ButtonPayload"
VALUE_INTENTS = {"time": "agendar_cita", "date": "agendar_cita", "slot": "agendar_cita",
                 "package": "pagar_servicio", "booking": "cancelar_cita"}
"""The request a tapped value answers: times and days are offered to book, packages to buy, bookings to cancel."""
_SAID = {"afirmar": "sí", "negar": "no"}

log = logging.getLogger(__name__)


def intent_of(tap: Tap) -> str:
    """The intent a tap means."""
    if tap.kind in ("act", "intent"):
        return tap.value
    return VALUE_INTENTS[tap.kind]


def entities_of(tap: Tap, text: str) -> tuple[Entity, ...]:
    """The entities a tap carries, in reading order (`fecha` before `hora`), named as the engine names them."""
    found: list[tuple[str, str, str | None]] = []
    if tap.date is not None:
        found.append(("fecha", tap.date.isoformat(), None))
    if tap.time is not None:
        found.append(("hora", tap.time, EXPLICIT))
    if tap.kind == "package":
        found.append(("paquete", tap.value, None))
    if tap.kind == "booking":
        found.append(("referencia", tap.value, None))
    return tuple(_entity(name, value, role, text) for name, value, role in found)


def _entity(name: str, value: str, role: str | None, text: str) -> Entity:
    start = text.find(value)
    if start < 0:
        return Entity(entity=name, value=value, extractor=TAP_EXTRACTOR, role=role)
    return Entity(entity=name, value=value, start=start, end=start + len(value), extractor=TAP_EXTRACTOR, role=role)


def said(tap: Tap) -> str:
    """What the customer would have typed for the tap, when the message carries no title."""
    if tap.kind == "act":
        return _SAID[tap.value]
    if tap.kind == "intent":
        return tap.value.replace("_", " ")
    if tap.kind == "slot":
        return f"{tap.value[:10]} {tap.value[11:]}"
    return tap.value


def tapped(event: MessageReceived, *, stage: str, intents: Collection[str]) -> IntentDetected | None:
    """The exact `intent.detected` for a tap, or None when the message is not a tap of ours (or is
    throttled: that is recorded as such by the normal path). `intents`: those the model knows."""
    payload = event.payload
    if payload.throttled or not payload.button_payload:
        return None
    started = time.perf_counter()
    tap = decode_tap(payload.button_payload)
    intent = intent_of(tap) if tap is not None else None
    if tap is None or intent not in intents:
        log.info("button payload %r is not a tap nlu knows: reading the text instead", payload.button_payload)
        return None
    text = (payload.button_text or payload.body or "").strip() or said(tap)
    act = None
    if tap.kind == "act":
        act = DialogueAct(name="afirmar" if tap.value == "afirmar" else "negar", confidence=1.0, end=len(text))
    detected = IntentDetectedPayload(
        message_sid=payload.message_sid, customer=payload.customer, business=payload.business, text=text,
        outcome=NluOutcome.CLASSIFIED, intent=intent, confidence=1.0,
        ranking=(IntentScore(name=intent, confidence=1.0),), entities=entities_of(tap, text), act=act,
        model_version=TAP_MODEL_VERSION, source=TAP_SOURCE, latency_ms=(time.perf_counter() - started) * 1000,
        media=payload.media, location=payload.location, profile_name=payload.profile_name,
        received_at=payload.received_at,
    )
    return IntentDetected.caused_by(event, stage=stage, payload=detected)
