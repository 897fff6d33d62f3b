"""All entity rules run over one folded copy of the message, overlaps resolved, offsets mapped back.

When two mentions overlap, the entity type earlier in `_PRIORITY` wins, then the longer span:
an e-mail address is never read as a name, "a las 10" is a time even if "10 clases" follows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time

from .dates import find_dates
from .identifiers import find_emails, find_names, find_references
from .packages import PackageMatcher
from .text import FoldedText, Found, fold
from .times import find_times

DATE_EXTRACTOR = "BuiltinDateExtractor"
TIME_EXTRACTOR = "BuiltinTimeExtractor"
PACKAGE_EXTRACTOR = "BuiltinPackageMatcher"
PATTERN_EXTRACTOR = "BuiltinPatternExtractor"

_PRIORITY = ("email", "referencia", "hora", "fecha", "paquete", "nombre")


@dataclass(frozen=True, slots=True)
class Entity:
    """One entity; `start`/`end` index the original text, `value` is resolved."""

    entity: str
    value: str
    start: int
    end: int
    extractor: str
    confidence: float = 1.0
    role: str | None = None  # `hora`: "bare" or "explicit" (see times.py)


@dataclass(frozen=True, slots=True)
class _Candidate:
    entity: str
    extractor: str
    found: Found


class EntityExtractor:
    """Deterministic rules for fecha, hora, email, referencia, nombre and catalogue packages."""

    def __init__(self, packages: PackageMatcher, *, opens: time, closes: time) -> None:
        self._packages = packages
        self._opens = opens
        self._closes = closes

    def extract(self, text: str, today: date, *, past: bool = False) -> list[Entity]:
        """Entities of `text`, non-overlapping and in reading order.

        `today` resolves relative dates; `past` makes open date references look backwards.
        """
        folded = fold(text)
        rules: tuple[tuple[str, str, Callable[[FoldedText], list[Found]]], ...] = (
            ("email", PATTERN_EXTRACTOR, find_emails),
            ("referencia", PATTERN_EXTRACTOR, find_references),
            ("hora", TIME_EXTRACTOR, lambda t: find_times(t.folded, self._opens, self._closes)),
            ("fecha", DATE_EXTRACTOR, lambda t: find_dates(t.folded, today, past=past)),
            ("paquete", PACKAGE_EXTRACTOR, lambda t: self._packages.find(t.folded)),
            ("nombre", PATTERN_EXTRACTOR, find_names),
        )
        candidates = [
            _Candidate(entity, extractor, found)
            for entity, extractor, find in rules
            for found in find(folded)
            if found.end > found.start
        ]
        return [_to_entity(folded, candidate) for candidate in _without_overlaps(candidates)]


def _without_overlaps(candidates: list[_Candidate]) -> list[_Candidate]:
    ranked = sorted(
        candidates,
        key=lambda c: (_PRIORITY.index(c.entity), c.found.start - c.found.end, c.found.start),
    )
    kept: list[_Candidate] = []
    for candidate in ranked:
        if all(candidate.found.end <= other.found.start or other.found.end <= candidate.found.start for other in kept):
            kept.append(candidate)
    return sorted(kept, key=lambda c: c.found.start)


def _to_entity(folded: FoldedText, candidate: _Candidate) -> Entity:
    start, end = folded.to_original(candidate.found.start, candidate.found.end)
    return Entity(
        entity=candidate.entity,
        value=candidate.found.value,
        start=start,
        end=end,
        extractor=candidate.extractor,
        confidence=candidate.found.confidence,
        role=candidate.found.role,
    )
