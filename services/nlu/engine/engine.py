"""`NluEngine`: intent classifier + entity rules, answering in Rasa's `/model/parse` shape."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

from .acts import (
    ACTS,
    HEAD_MIN_CONFIDENCE,
    REST_MIN_CONFIDENCE,
    SECOND_MIN_CONFIDENCE,
    ActName,
    leading_clause,
    opening_clause,
    second_request,
)
from .classifier import IntentClassifier
from .entities import PACKAGE_EXTRACTOR, PATTERN_EXTRACTOR, Entity, EntityExtractor
from .errors import EmptyText, InvalidConfig, NaiveReferenceTime
from .identifiers import WEAK_NAME_CONFIDENCE
from .keywords import OPT_OUT_INTENT, is_opt_out_keyword
from .packages import WEAK_CONFIDENCE, PackageMatcher
from .training_data import load_training_data

DEFAULT_DATA_PATH = Path(__file__).resolve().parent.parent / "data" / "nlu.yml"
DEMO_CATALOGUE: tuple[str, ...] = ("Clase suelta", "Pack 5 clases", "Pack 10 clases", "Mensualidad ilimitada")
# Intents for which a weak package cue ("una clase") is still read as a package.
PACKAGE_INTENTS = frozenset({"consultar_paquetes", "pagar_servicio"})
# Intents for which a weak name cue ("cámbialo a Ximena") is still read as a name.
NAME_INTENTS = frozenset({"actualizar_perfil"})
# What may follow a yes or a no without being a request: "sí, y muchas gracias" stays a yes.
NOT_REQUESTS = frozenset({"agradecer", "saludo", "despedida", "fuera_de_alcance"})
# Intents whose open date references ("el lunes", "el 20/11") point to the past.
PAST_INTENTS = frozenset({"consultar_historial"})
RANKING_LENGTH = 10


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Business settings the entity rules need. Opening hours are [opens_at, closes_at)."""

    timezone: str = "America/Mexico_City"
    opens_at: time = time(7, 0)
    closes_at: time = time(21, 0)
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise InvalidConfig(f"unknown time zone {self.timezone!r}") from error
        if not self.opens_at < self.closes_at:
            raise InvalidConfig(f"opening hours must open before they close: {self.opens_at}-{self.closes_at}")
        object.__setattr__(self, "zone", zone)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IntentPrediction(_Frozen):
    name: str
    confidence: float


class EntityPrediction(_Frozen):
    entity: str
    value: str
    start: int
    end: int
    confidence_entity: float | None = None
    extractor: str
    role: str | None = None  # Rasa's entity role; `hora`: "bare" or "explicit"

    @model_serializer(mode="wrap")
    def _without_absent_role(self, serialize: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Like Rasa, an entity without a role has no `role` key."""
        body: dict[str, Any] = serialize(self)
        if self.role is None:
            body.pop("role", None)
        return body


class DialogueActPrediction(_Frozen):
    """A yes or a no: the whole message (`end` is its length) or its opening clause (`end` is where it ends)."""

    name: ActName
    confidence: float
    end: int


class SecondRequestPrediction(_Frozen):
    """Another request later in the message ("… y tb saber cuánto vale el bono"): its intent and where it starts."""

    name: str
    confidence: float
    start: int


class ParseResult(_Frozen):
    """Same fields as Rasa's `POST /model/parse` response, plus `dialogue_act` and `second_request`
    when there are."""

    text: str
    intent: IntentPrediction
    intent_ranking: tuple[IntentPrediction, ...]
    entities: tuple[EntityPrediction, ...]
    dialogue_act: DialogueActPrediction | None = None
    second_request: SecondRequestPrediction | None = None

    @model_serializer(mode="wrap")
    def _without_absent_extras(self, serialize: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Without an act or a second request the body is exactly Rasa's shape."""
        body: dict[str, Any] = serialize(self)
        for extra in ("dialogue_act", "second_request"):
            if getattr(self, extra) is None:
                body.pop(extra, None)
        return body


GREETING = "saludo"


class NluEngine:
    """Understands one Spanish WhatsApp message at a time; build it with `NluEngine.train`."""

    def __init__(
        self,
        classifier: IntentClassifier,
        extractor: EntityExtractor,
        config: EngineConfig,
        model_version: str,
    ) -> None:
        self.classifier = classifier
        self.config = config
        self.model_version = model_version
        self._extractor = extractor

    @classmethod
    def train(
        cls,
        data_path: Path | str = DEFAULT_DATA_PATH,
        *,
        catalogue: Sequence[str] = DEMO_CATALOGUE,
        config: EngineConfig | None = None,
    ) -> NluEngine:
        """Train on a Rasa NLU YAML file (a few seconds on one CPU, deterministic)."""
        config = config or EngineConfig()
        data = load_training_data(data_path)
        classifier = IntentClassifier.train(
            [example.text for example in data.examples],
            [example.intent for example in data.examples],
        )
        extractor = EntityExtractor(
            PackageMatcher(catalogue, data.synonyms),
            opens=config.opens_at,
            closes=config.closes_at,
        )
        digest = hashlib.sha256(Path(data_path).read_bytes()).hexdigest()
        return cls(classifier, extractor, config, model_version=f"builtin-{digest[:12]}")

    def parse(self, text: str, *, reference_time: datetime) -> ParseResult:
        """Intent and entities of `text`; relative dates are resolved against `reference_time`.

        `reference_time` is the message's own timestamp (tz-aware), converted to the business
        time zone, so replaying an old message gives the answer it got then.
        Raises `EmptyText` for empty or whitespace-only text instead of guessing an intent.
        """
        if not text.strip():
            raise EmptyText("nothing to classify: the message has no text")
        if reference_time.tzinfo is None or reference_time.utcoffset() is None:
            raise NaiveReferenceTime(f"reference_time must be timezone-aware, got {reference_time!r}")
        if is_opt_out_keyword(text):  # "STOP", "baja": a rule, not the model's call (keywords.py)
            opt_out = IntentPrediction(name=OPT_OUT_INTENT, confidence=1.0)
            return ParseResult(text=text, intent=opt_out, intent_ranking=(opt_out,), entities=())
        today = reference_time.astimezone(self.config.zone).date()
        whole = self._ranking(text)
        start = self._after_greeting(text, whole)
        request = text[start:]
        ranking, act = self._read_act(request, whole if start == 0 else self._ranking(request))
        second = self._second_request(request, ranking) if act is None else None
        if second is not None:
            ranking = self._ranking(request[: second.start])
        if start:
            act = act.model_copy(update={"end": act.end + start}) if act is not None else None
            second = second.model_copy(update={"start": second.start + start}) if second is not None else None
        intent = ranking[0].name
        found = self._extractor.extract(text, today, past=intent in PAST_INTENTS)
        entities = [_prediction(entity) for entity in found
                    if _keep(entity, second.name if second is not None and entity.start >= second.start else intent)]
        return ParseResult(
            text=text,
            intent=ranking[0],
            intent_ranking=ranking,
            entities=tuple(entities),
            dialogue_act=act,
            second_request=second,
        )

    def _after_greeting(self, text: str, whole: tuple[IntentPrediction, ...]) -> int:
        """Where the request starts after an opening greeting ("hola buenas, necesito cancelar mi
        clase"), or 0. The opening clause alone must be a confident `saludo` and the rest a request
        more confident than the whole message: the greeting's words no longer outweigh the request."""
        clause = opening_clause(text)
        if clause is None:
            return 0
        head = self._ranking(text[: clause.head_end])[0]
        if head.name != GREETING or head.confidence < HEAD_MIN_CONFIDENCE:
            return 0
        rest = self._ranking(text[clause.rest_start:])[0]
        if rest.name == GREETING or rest.confidence <= REST_MIN_CONFIDENCE:
            return 0
        if whole[0].name != GREETING and whole[0].confidence >= rest.confidence:
            return 0
        return clause.rest_start

    def _second_request(self, text: str, ranking: tuple[IntentPrediction, ...]) -> SecondRequestPrediction | None:
        """A second request after an adding connector (see acts.py), when the first part and the rest are
        both confident and different requests; the ranking then answers for the first part alone."""
        start = second_request(text)
        if start is None:
            return None
        first, rest = self._ranking(text[:start])[0], self._ranking(text[start:])[0]
        confident = min(first.confidence, rest.confidence) >= SECOND_MIN_CONFIDENCE
        if not confident or first.name == rest.name or {first.name, rest.name} & set(ACTS):
            return None
        return SecondRequestPrediction(name=rest.name, confidence=rest.confidence, start=start)

    def _ranking(self, text: str) -> tuple[IntentPrediction, ...]:
        return tuple(
            IntentPrediction(name=name, confidence=confidence)
            for name, confidence in self.classifier.rank(text)[:RANKING_LENGTH]
        )

    def _read_act(
        self, text: str, ranking: tuple[IntentPrediction, ...]
    ) -> tuple[tuple[IntentPrediction, ...], DialogueActPrediction | None]:
        """The ranking to answer with and the yes/no the message is or opens with (see acts.py).

        When the opening clause alone is a confident yes or no and the rest alone is another
        intent, the answer is the rest's intent and ranking, and the act is the opening clause's.
        This is tried even when the whole message reads as a yes or a no, since in "sí, y también
        quiero ver precios" the yes can outweigh the request; but then the rest must be a request:
        "sí, y muchas gracias" stays one yes. Otherwise a whole message classified
        `afirmar`/`negar` is its own act, and any other message has none.
        """
        top = ranking[0]
        clause = leading_clause(text)
        if clause is not None:
            head = self._ranking(text[: clause.head_end])[0]
            if head.name in ACTS and head.confidence >= HEAD_MIN_CONFIDENCE:
                rest = self._ranking(text[clause.rest_start :])
                request = rest[0].name not in NOT_REQUESTS or top.name not in ACTS
                if rest[0].name not in ACTS and rest[0].confidence > REST_MIN_CONFIDENCE and request:
                    act = DialogueActPrediction(name=ACTS[head.name], confidence=head.confidence, end=clause.head_end)
                    return rest, act
        if top.name in ACTS:
            return ranking, DialogueActPrediction(name=ACTS[top.name], confidence=top.confidence, end=len(text))
        return ranking, None


def _keep(entity: Entity, intent: str) -> bool:
    """Weak cues count only in their intents: a package ("una clase") when the message is about
    packages or paying, a name after "cámbialo a" when it updates the profile."""
    if entity.extractor == PACKAGE_EXTRACTOR and entity.confidence <= WEAK_CONFIDENCE:
        return intent in PACKAGE_INTENTS
    weak_name = entity.entity == "nombre" and entity.confidence <= WEAK_NAME_CONFIDENCE
    if weak_name and entity.extractor == PATTERN_EXTRACTOR:
        return intent in NAME_INTENTS
    return True


def _prediction(entity: Entity) -> EntityPrediction:
    return EntityPrediction(
        entity=entity.entity,
        value=entity.value,
        start=entity.start,
        end=entity.end,
        confidence_entity=entity.confidence,
        extractor=entity.extractor,
        role=entity.role,
    )
