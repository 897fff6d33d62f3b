"""Loader for Rasa 3 NLU YAML (`version: "3.1"`, an `nlu:` list of intents, synonyms, lookups).

Supported, as in Rasa: `- intent:` items whose `examples` is a `|` block of `- ...` lines (or a
list of `{text: ...}` maps), `- synonym:`, `- lookup:` and `- regex:` items, and inline entity
annotations `[text](entity)` and `[text]{"entity": "e", "value": "v", "role": "r"}`. An
annotation whose value differs from its text is also a synonym, as in Rasa.

One extension that Rasa's schema tolerates (it accepts any extra top-level key): an optional
`reference_time:` (ISO 8601 with offset), the message time that resolved values of relative
dates in the file refer to. The evaluation split uses it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from .errors import TrainingDataError

_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<name>[^)]+)\)|(?P<json>\{[^}]*\}))")


@dataclass(frozen=True, slots=True)
class EntitySpan:
    """An annotated entity; `start`/`end` index the plain example text."""

    entity: str
    text: str
    start: int
    end: int
    value: str | None = None
    role: str | None = None

    @property
    def resolved(self) -> str:
        return self.value if self.value is not None else self.text


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    intent: str
    entities: tuple[EntitySpan, ...] = ()


@dataclass(frozen=True, slots=True)
class TrainingData:
    examples: tuple[Example, ...]
    synonyms: Mapping[str, str]  # alias as written -> canonical value
    lookups: Mapping[str, tuple[str, ...]]
    regexes: Mapping[str, tuple[str, ...]]
    reference_time: datetime | None = None

    @property
    def intents(self) -> tuple[str, ...]:
        return tuple(sorted({example.intent for example in self.examples}))

    def by_intent(self, intent: str) -> tuple[Example, ...]:
        return tuple(example for example in self.examples if example.intent == intent)


def load_training_data(path: Path | str) -> TrainingData:
    """Read one Rasa NLU YAML file."""
    with Path(path).open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    return parse_training_data(document, source=str(path))


def parse_training_data(document: Any, *, source: str = "<memory>") -> TrainingData:
    if not isinstance(document, dict) or not isinstance(document.get("nlu"), list):
        raise TrainingDataError(f"{source}: expected a mapping with an `nlu:` list")
    examples: list[Example] = []
    synonyms: dict[str, str] = {}
    lookups: dict[str, tuple[str, ...]] = {}
    regexes: dict[str, tuple[str, ...]] = {}
    for item in document["nlu"]:
        if not isinstance(item, dict):
            raise TrainingDataError(f"{source}: every `nlu:` item must be a mapping, got {item!r}")
        lines = _example_lines(item.get("examples"), source)
        if "intent" in item:
            parsed = [parse_example(line, str(item["intent"])) for line in lines]
            examples += parsed
            synonyms.update(_implicit_synonyms(parsed))
        elif "synonym" in item:
            synonyms.update((line, str(item["synonym"])) for line in lines)
        elif "lookup" in item:
            lookups[str(item["lookup"])] = tuple(lines)
        elif "regex" in item:
            regexes[str(item["regex"])] = tuple(lines)
        else:
            raise TrainingDataError(f"{source}: unknown `nlu:` item with keys {sorted(item)}")
    return TrainingData(
        examples=tuple(examples),
        synonyms=synonyms,
        lookups=lookups,
        regexes=regexes,
        reference_time=_reference_time(document.get("reference_time"), source),
    )


def parse_example(line: str, intent: str) -> Example:
    """`"para [mañana](fecha)"` -> Example("para mañana", intent, (EntitySpan("fecha", ...),))."""
    pieces: list[str] = []
    entities: list[EntitySpan] = []
    cursor = 0
    length = 0
    for match in _ANNOTATION.finditer(line):
        pieces.append(line[cursor : match.start()])
        length += match.start() - cursor
        name, value, role = _annotation(match)
        surface = match.group("text")
        entities.append(EntitySpan(name, surface, length, length + len(surface), value, role))
        pieces.append(surface)
        length += len(surface)
        cursor = match.end()
    pieces.append(line[cursor:])
    return Example("".join(pieces), intent, tuple(entities))


def _annotation(match: re.Match[str]) -> tuple[str, str | None, str | None]:
    """(entity, value, role) of one inline annotation."""
    if match.group("name") is not None:
        return match.group("name").strip(), None, None
    try:
        spec = json.loads(match.group("json"))
    except json.JSONDecodeError as error:
        raise TrainingDataError(f"bad entity annotation {match.group(0)!r}: {error}") from error
    if not isinstance(spec, dict) or "entity" not in spec:
        raise TrainingDataError(f"entity annotation without `entity`: {match.group(0)!r}")
    value, role = spec.get("value"), spec.get("role")
    return str(spec["entity"]), None if value is None else str(value), None if role is None else str(role)


def _example_lines(examples: Any, source: str) -> list[str]:
    if isinstance(examples, str):
        lines = [line.strip() for line in examples.splitlines()]
        return [line[1:].strip() for line in lines if line.startswith("-") and line[1:].strip()]
    if isinstance(examples, list):
        return [str(entry["text"]).strip() for entry in examples if isinstance(entry, dict)]
    raise TrainingDataError(f"{source}: `examples` must be a `|` block or a list, got {examples!r}")


def _implicit_synonyms(examples: list[Example]) -> dict[str, str]:
    return {
        span.text: span.value
        for example in examples
        for span in example.entities
        if span.value is not None and span.value != span.text
    }


def _reference_time(raw: Any, source: str) -> datetime | None:
    if raw is None:
        return None
    moment = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    if moment.tzinfo is None:
        raise TrainingDataError(f"{source}: reference_time needs a UTC offset, got {raw!r}")
    return moment
