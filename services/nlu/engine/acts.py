"""Dialogue acts: a yes (`afirmar`) or a no (`negar`), the whole message or its opening clause.

The acts are intents of the classifier, learned from the training data like any other. This
module only says where a message's opening clause ends, so the engine can classify that clause
and the rest apart: "sí, y también quiero ver precios" is a yes and a price question.

The opening clause ends at a boundary, punctuation (, . ; : ! ? …, a new line) or a connector
word (y, pero, ah, aunque, además, también, mejor), where the rest opens with a connector that
adds or swaps a request ("y también", "ah y", "pero", "mejor", "por cierto"...); it is at most
four words long, and the first such boundary wins ("che, dale, y pasame el alias": "che, dale").
Without a connector the yes is part of the request: "sí, quiero agendar el viernes" is a
booking, not a yes to whatever was on the table, and "no puedo ir, cancélala" a cancellation.
Those connector words are the one hand-written list here; which clause is a yes or a no, and
what the rest asks for, is the classifier's call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from .text import fold

ActName = Literal["afirmar", "negar"]
ACTS: dict[str, ActName] = {"afirmar": "afirmar", "negar": "negar"}
MAX_HEAD_WORDS = 4
# The opening clause alone must be a yes or a no with at least this confidence, and the rest
# alone another intent with more than REST_MIN_CONFIDENCE (tuned on data/eval_acts.yml).
HEAD_MIN_CONFIDENCE = 0.8
REST_MIN_CONFIDENCE = 0.5

_CONNECTOR_WORDS = r"y|pero|ah|aunque|ademas|tambien|mejor"
_BOUNDARY = re.compile(r"[,.;:!?…\n]+|\b(?:" + _CONNECTOR_WORDS + r")\b")
_SEPARATORS = r"[\s¡¿,.;:!?…\-]*"
_CONNECTOR = re.compile(
    r"(?:" + _SEPARATORS + r"\b(?:" + _CONNECTOR_WORDS + r"|e|aparte|igual|oye|oe|por\s+cierto"
    r"|otra\s+cosa|otra\s+pregunta|una\s+pregunta)\b)+" + _SEPARATORS,
)


@dataclass(frozen=True, slots=True)
class LeadingClause:
    """Offsets into the original text: the opening clause is text[:head_end], the request text[rest_start:]."""

    head_end: int
    rest_start: int


def leading_clause(text: str) -> LeadingClause | None:
    """Where the opening clause of `text` ends and the request after it starts, if it has both."""
    folded = fold(text)
    chars = folded.folded
    for boundary in _BOUNDARY.finditer(chars):
        head = chars[: boundary.start()]
        if not head.strip(" ¡¿"):
            continue  # "mejor no, y ...", "ah sí, y ...": the connector opens the head itself
        if len(head.split()) > MAX_HEAD_WORDS:
            return None
        connector = _CONNECTOR.match(chars, boundary.start())
        if connector is None:
            continue  # "sí, quiero ...": no clause break here
        if connector.end() >= len(chars.rstrip()):
            return None  # "sí, y": nothing after the connector
        head_end = len(head.rstrip(" ,.;:!?…\n"))
        _, original_head_end = folded.to_original(0, head_end)
        return LeadingClause(head_end=original_head_end, rest_start=folded.starts[connector.end()])
    return None


_PUNCTUATION = re.compile(r"[,.;:!?…\n]+")


def opening_clause(text: str) -> LeadingClause | None:
    """The clause before the first punctuation mark, when it is at most MAX_HEAD_WORDS words and
    something follows: "hola buenas, necesito cancelar" → "hola buenas" and "necesito cancelar".
    Whether that clause is a greeting is the classifier's call (engine.py)."""
    folded = fold(text)
    chars = folded.folded
    for boundary in _PUNCTUATION.finditer(chars):
        head = chars[: boundary.start()]
        if not head.strip(" ¡¿"):
            continue
        if len(head.split()) > MAX_HEAD_WORDS or not re.sub(r"[\s,.;:!?¿¡…]+", "", chars[boundary.end():]):
            return None
        rest = boundary.end() + len(chars[boundary.end():]) - len(chars[boundary.end():].lstrip())
        _, original_head_end = folded.to_original(0, len(head.rstrip()))
        return LeadingClause(head_end=original_head_end, rest_start=folded.starts[rest])
    return None


# A second request in the same message: "quiero reservar el lunes a las 9 y tb saber cuánto vale el
# bono de 10". Only connectors that add a request open it, after at least MIN_FIRST_WORDS words.
MIN_FIRST_WORDS = 3
SECOND_MIN_CONFIDENCE = 0.6
_ADDING = re.compile(
    r"(?:[,.;!?]\s*|\s)(?:y\s+)?(?:tb|tmb|tambien|ademas|de\s+paso|aparte|por\s+cierto|otra\s+cosa|"
    r"otra\s+pregunta|ah\s+y|y\s+otra\s+cosa)\b",
)


def second_request(text: str) -> int | None:
    """Where a second request of `text` starts (its connector's end, in the original text), if any."""
    folded = fold(text)
    chars = folded.folded
    for match in _ADDING.finditer(chars):
        if len(chars[: match.start()].split()) < MIN_FIRST_WORDS:
            continue
        rest = match.end()
        if not chars[rest:].strip(" ,.;:!?¿¡"):
            return None
        return int(folded.starts[rest]) if rest < len(folded.starts) else None
    return None
