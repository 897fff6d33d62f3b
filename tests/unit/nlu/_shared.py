"""Helpers shared by the NLU unit tests."""

from __future__ import annotations

from datetime import date, datetime, time
from functools import cache
from zoneinfo import ZoneInfo

from services.nlu.engine import DEMO_CATALOGUE, EngineConfig, NluEngine
from services.nlu.engine.entities import Entity, EntityExtractor
from services.nlu.engine.packages import PackageMatcher

MEXICO_CITY = ZoneInfo("America/Mexico_City")
# The evaluation split's reference time: Wednesday 25 November 2026, 15:00 in Mexico City.
REFERENCE_TIME = datetime(2026, 11, 25, 15, 0, tzinfo=MEXICO_CITY)
TODAY = REFERENCE_TIME.date()


@cache
def trained_engine() -> NluEngine:
    """The engine on the shipped training data, trained once per test process."""
    return NluEngine.train(catalogue=DEMO_CATALOGUE, config=EngineConfig())


def extractor(opens: time = time(7), closes: time = time(21)) -> EntityExtractor:
    return EntityExtractor(PackageMatcher(DEMO_CATALOGUE), opens=opens, closes=closes)


def values(text: str, entity: str, *, today: date = TODAY, past: bool = False) -> list[str]:
    """Resolved values of one entity type found in `text` by the rules alone."""
    return [e.value for e in extractor().extract(text, today, past=past) if e.entity == entity]


def entities(text: str, *, today: date = TODAY) -> list[Entity]:
    return extractor().extract(text, today)
