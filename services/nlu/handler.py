"""The nlu stage's decision: what a received message means, and who said so.

`Parser` reads a message with a real Rasa server when one is configured (`RASA_URL`) and with
the built-in engine otherwise, or when Rasa gives no usable answer (`RasaUnavailable`: timeout,
5xx, bad JSON, open circuit). The `intent.detected` event says which: `source` is "rasa",
"builtin" or "builtin-fallback", and `model_version` names the model that answered.

Rasa's entity values are surface text ("mañana", "a las 5"), which the actions stage cannot
book with, and Rasa does not know when the message was sent. So on the Rasa path `fecha` and
`hora` come from the built-in rules, resolved against the message's own time, unless Rasa's
value for that type is already resolved (ISO date, HH:MM). Rasa's other entities are kept.
The dialogue act (the yes or no a message is or opens with) is the built-in reading's too, as
Rasa has no such field: when Rasa's intent is itself `afirmar`/`negar` the act is Rasa's, and a
built-in act for the whole message is dropped when Rasa reads the message as something else.
An opt-out keyword as the whole message ("STOP", "baja": `engine/keywords.py`) is answered by the
built-in rule without asking Rasa.

A tapped quick-reply button or list item whose `ButtonPayload` is a tap id (`contracts/taps.py`) is
read exactly from the id by `services/nlu/taps.py`, without asking any model: confidence 1.0,
`source` "button". Any other payload is read from the text like a typed message.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from prometheus_client import Counter, Gauge

from contracts import (
    INTENT_DETECTED,
    DialogueAct,
    Entity,
    IntentDetected,
    IntentDetectedPayload,
    IntentScore,
    MessageReceived,
    NluOutcome,
    SecondRequest,
)
from runtime.resilience import CircuitState
from runtime.stage import Handler, Output
from services.nlu.adapters.rasa import RasaClient, RasaUnavailable
from services.nlu.engine import (
    DialogueActPrediction,
    EntityPrediction,
    NluEngine,
    ParseResult,
    SecondRequestPrediction,
)
from services.nlu.engine.acts import ACTS
from services.nlu.engine.keywords import is_opt_out_keyword
from services.nlu.taps import TAP_SOURCE, tapped

STAGE = "nlu"
RASA_MODEL_UNKNOWN = "rasa"
TIME_ENTITIES = ("fecha", "hora")
_RESOLVED = {"fecha": re.compile(r"\d{4}-\d{2}-\d{2}"), "hora": re.compile(r"\d{2}:\d{2}")}

Source = Literal["builtin", "rasa", "builtin-fallback"]

log = logging.getLogger(__name__)

PARSES = Counter("nlu_parses_total", "Messages parsed, by who answered (builtin, rasa, builtin-fallback, button)",
                 ["source"])
RASA_FAILURES = Counter("nlu_rasa_failures_total",
                        "Failed requests to Rasa, and calls refused by the open circuit, by reason", ["reason"])
RASA_CIRCUIT = Gauge("nlu_rasa_circuit_state", "Rasa circuit breaker: 0 closed, 1 half-open, 2 open")


def record_rasa_failure(exc: RasaUnavailable) -> None:
    """`RasaClient(on_failure=...)` hook: count the failure by reason."""
    RASA_FAILURES.labels(exc.reason).inc()


def record_circuit_change(old: CircuitState, new: CircuitState) -> None:
    """`CircuitBreaker(on_change=...)` hook: export the state, log the transition."""
    RASA_CIRCUIT.set(new.level)
    level = logging.WARNING if new is CircuitState.OPEN else logging.INFO
    log.log(level, "rasa circuit %s -> %s", old, new)


@dataclass(frozen=True, slots=True)
class Parsed:
    result: ParseResult
    source: Source
    model_version: str


class Parser:
    """Rasa when configured and answering, the built-in engine otherwise. One per process."""

    def __init__(
        self,
        engine: NluEngine,
        rasa: RasaClient | None = None,
        *,
        status_ttl_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.rasa = rasa
        self.status_ttl_s = status_ttl_s
        self._clock = clock
        self._rasa_model: str | None = None
        self._rasa_model_checked_at: float | None = None

    @property
    def rasa_model(self) -> str:
        """Rasa's loaded model file as `GET /status` names it, or "rasa" until it has said."""
        return self._rasa_model or RASA_MODEL_UNKNOWN

    async def refresh_rasa_model(self) -> None:
        if self.rasa is not None:
            self._rasa_model_checked_at = self._clock()
            self._rasa_model = await self.rasa.status() or self._rasa_model

    def parse_builtin(self, text: str, *, reference_time: datetime, source: Source = "builtin") -> Parsed:
        """The built-in engine's reading (synchronous: about 0.2 ms). Raises `EmptyText`."""
        return Parsed(self.engine.parse(text, reference_time=reference_time), source, self.engine.model_version)

    async def parse(self, text: str, *, reference_time: datetime, message_id: str | None = None) -> Parsed:
        """Rasa's reading when it gives one, else the built-in engine's. Raises `EmptyText`."""
        builtin = self.parse_builtin(text, reference_time=reference_time)  # also refuses empty text
        if self.rasa is None or is_opt_out_keyword(text):  # "STOP" is the rule's, whoever else reads it
            return builtin
        try:
            answer = await self.rasa.parse(text, message_id=message_id)
        except RasaUnavailable as exc:
            log.log(logging.INFO if exc.reason == "circuit_open" else logging.WARNING,
                    "rasa gave no answer, the built-in model answers: %s", exc)
            return Parsed(builtin.result, "builtin-fallback", builtin.model_version)
        if self._rasa_model_checked_at is None or self._clock() - self._rasa_model_checked_at >= self.status_ttl_s:
            await self.refresh_rasa_model()
        return Parsed(with_builtin_act(with_resolved_times(answer, builtin.result), builtin.result), "rasa",
                      self.rasa_model)


def with_resolved_times(rasa: ParseResult, builtin: ParseResult) -> ParseResult:
    """Rasa's answer with `fecha`/`hora` resolved: Rasa's own if already resolved, else the built-in rules'."""
    kept: list[EntityPrediction] = []
    for entity in rasa.entities:
        pattern = _RESOLVED.get(entity.entity)
        if pattern is None or pattern.fullmatch(entity.value):
            kept.append(entity)
    resolved_types = {entity.entity for entity in kept}
    added = [
        entity for entity in builtin.entities
        if entity.entity in TIME_ENTITIES and entity.entity not in resolved_types
        and not any(entity.start < other.end and other.start < entity.end for other in kept)
    ]
    entities = sorted([*kept, *added], key=lambda entity: (entity.start, entity.end))
    return rasa.model_copy(update={"entities": tuple(entities)})


def with_builtin_act(rasa: ParseResult, builtin: ParseResult) -> ParseResult:
    """Rasa's answer with the dialogue act: Rasa's own intent if it is a yes or a no, else the built-in reading's.

    A built-in act that is the whole message (`end` = its length) stands only if Rasa agrees on
    the intent; one that opens the message ("sí, y también ...") stands whatever Rasa's intent.
    """
    top = rasa.intent
    act: DialogueActPrediction | None
    if top.name in ACTS:
        act = DialogueActPrediction(name=ACTS[top.name], confidence=top.confidence, end=len(rasa.text))
    elif builtin.dialogue_act is not None and builtin.dialogue_act.end < len(builtin.text):
        act = builtin.dialogue_act
    else:
        act = None
    return rasa.model_copy(update={"dialogue_act": act})


def message_text(event: MessageReceived) -> str:
    """What the customer said: the body, or the text of a tapped quick-reply button."""
    payload = event.payload
    return (payload.body or payload.button_text or "").strip()


def _common(event: MessageReceived, text: str, model_version: str) -> dict[str, Any]:
    payload = event.payload
    return {
        "message_sid": payload.message_sid, "customer": payload.customer, "business": payload.business,
        "text": text, "model_version": model_version, "media": payload.media,
        "location": payload.location, "profile_name": payload.profile_name, "received_at": payload.received_at,
    }


def _not_parsed(event: MessageReceived, text: str, model_version: str) -> IntentDetected | None:
    """The event for a message that is not classified (throttled, or no text), else None."""
    payload = event.payload
    if payload.throttled:
        outcome = NluOutcome.THROTTLED
    elif not text:
        outcome = (NluOutcome.MEDIA_ONLY if payload.media else
                   NluOutcome.LOCATION if payload.location else NluOutcome.EMPTY)
    else:
        return None
    detected = IntentDetectedPayload(outcome=outcome, intent=None, **_common(event, text, model_version))
    return IntentDetected.caused_by(event, stage=STAGE, payload=detected)


def _classified(event: MessageReceived, text: str, parsed: Parsed, started: float) -> IntentDetected:
    result = parsed.result
    PARSES.labels(parsed.source).inc()
    detected = IntentDetectedPayload(
        outcome=NluOutcome.CLASSIFIED,
        intent=result.intent.name,
        confidence=result.intent.confidence,
        ranking=tuple(IntentScore(name=r.name, confidence=r.confidence) for r in result.intent_ranking),
        entities=tuple(
            Entity(entity=e.entity, value=e.value, start=e.start, end=e.end, extractor=e.extractor, role=e.role)
            for e in result.entities
        ),
        act=_act(result.dialogue_act),
        also=_also(result.second_request),
        source=parsed.source,
        latency_ms=(time.perf_counter() - started) * 1000,
        **_common(event, text, parsed.model_version),
    )
    return IntentDetected.caused_by(event, stage=STAGE, payload=detected)


def _act(act: DialogueActPrediction | None) -> DialogueAct | None:
    return None if act is None else DialogueAct(name=act.name, confidence=act.confidence, end=act.end)


def _also(second: SecondRequestPrediction | None) -> SecondRequest | None:
    return None if second is None else SecondRequest(name=second.name, confidence=second.confidence,
                                                     start=second.start)


def _tapped(event: MessageReceived, engine: NluEngine) -> IntentDetected | None:
    """The exact reading of a tapped choice (intents limited to those the model knows), else None."""
    tap = tapped(event, stage=STAGE, intents=engine.classifier.labels)
    if tap is not None:
        PARSES.labels(TAP_SOURCE).inc()
    return tap


def detect(engine: NluEngine, event: MessageReceived) -> IntentDetected:
    """The built-in engine's `intent.detected` for `event` (synchronous, no Rasa)."""
    if (tap := _tapped(event, engine)) is not None:
        return tap
    text = message_text(event)
    started = time.perf_counter()
    if (skipped := _not_parsed(event, text, engine.model_version)) is not None:
        return skipped
    parsed = Parser(engine).parse_builtin(text, reference_time=event.payload.received_at)
    return _classified(event, text, parsed, started)


async def understand(parser: Parser, event: MessageReceived) -> IntentDetected:
    """`intent.detected` for `event`, from Rasa when configured and answering, else built-in."""
    if (tap := _tapped(event, parser.engine)) is not None:
        return tap
    text = message_text(event)
    started = time.perf_counter()
    if (skipped := _not_parsed(event, text, parser.engine.model_version)) is not None:
        return skipped
    parsed = await parser.parse(text, reference_time=event.payload.received_at,
                                message_id=event.payload.message_sid)
    return _classified(event, text, parsed, started)


def make_handler(reader: NluEngine | Parser) -> Handler[MessageReceived]:
    """The stage's handler; an engine alone means built-in only (no Rasa)."""
    parser = reader if isinstance(reader, Parser) else Parser(reader)

    async def handle(event: MessageReceived) -> list[Output]:
        return [Output(INTENT_DETECTED, await understand(parser, event))]

    return handle
