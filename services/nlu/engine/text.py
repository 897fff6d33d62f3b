"""Text folding shared by the classifier and the entity rules.

`fold` lowercases, strips accents (ñ becomes n) and squeezes runs of three or more identical
letters ("holaaaa" -> "hola") while remembering, for every folded character, the index of the
original character it came from. Entity rules run their regular expressions on the folded
text and map spans back with `FoldedText.to_original`, so offsets always point into the text
the user actually sent.

`normalise_for_classifier` goes further (abbreviations, digits) and is only used for features.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Abbreviations and spellings common in Spanish chat, keyed by folded token.
ABBREVIATIONS: dict[str, str] = {
    "q": "que",
    "k": "que",
    "ke": "que",
    "qe": "que",
    "xq": "porque",
    "xk": "porque",
    "pq": "porque",
    "porq": "porque",
    "pa": "para",
    "pal": "para el",
    "xa": "para",
    "porfa": "por favor",
    "porfis": "por favor",
    "porfavor": "por favor",
    "xfa": "por favor",
    "xfavor": "por favor",
    "xfis": "por favor",
    "pf": "por favor",
    "pls": "por favor",
    "plis": "por favor",
    "plz": "por favor",
    "x": "por",
    "tmb": "tambien",
    "tmbn": "tambien",
    "tb": "tambien",
    "tambn": "tambien",
    "d": "de",
    "dnd": "donde",
    "cdo": "cuando",
    "qdo": "cuando",
    "msj": "mensaje",
    "info": "informacion",
    "bn": "bien",
    "bno": "bueno",
    "grax": "gracias",
    "grs": "gracias",
    "grcs": "gracias",
    "grasias": "gracias",
    "hr": "hora",
    "hrs": "horas",
    "hs": "horas",
    "tel": "telefono",
    "cel": "celular",
    "mail": "correo",
    "email": "correo",
    "wsp": "whatsapp",
    "wapp": "whatsapp",
    "nd": "nada",
    "tdo": "todo",
    "tds": "todos",
    "ola": "hola",
    "ntp": "no te preocupes",
    "mnn": "manana",
    "ud": "usted",
    "uds": "ustedes",
    "hno": "hermano",
}

_TOKEN = re.compile(r"\w+", re.UNICODE)
_DIGIT = re.compile(r"\d")
_SPACES = re.compile(r"\s+")
_LETTER_RUN = re.compile(r"([^\W\d_])\1\1")


@dataclass(frozen=True, slots=True)
class FoldedText:
    """A folded copy of `original`; folded character i comes from original[starts[i]:ends[i]]."""

    original: str
    folded: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map the folded span [start, end) to the span of `original` it was made from."""
        if start >= end:
            position = self.starts[start] if start < len(self.starts) else len(self.original)
            return position, position
        return self.starts[start], self.ends[end - 1]


@lru_cache(maxsize=4096)  # per character, not per message: the alphabet is small
def _fold_char(char: str) -> str:
    decomposed = unicodedata.normalize("NFD", char.lower())
    return "".join(part for part in decomposed if not unicodedata.combining(part))


def fold(text: str) -> FoldedText:
    """Lowercase, strip accents and squeeze letter runs of 3+, keeping a map to the original."""
    folded_chars = [_fold_char(char) for char in text]
    folded = "".join(folded_chars)
    if all(len(part) == 1 for part in folded_chars) and not _LETTER_RUN.search(folded):
        # The common case: one folded character per original one.
        return FoldedText(text, folded, tuple(range(len(text))), tuple(range(1, len(text) + 1)))
    return _fold_with_map(text, folded_chars)


def _fold_with_map(text: str, folded_chars: list[str]) -> FoldedText:
    pieces: list[tuple[str, int, int]] = []  # (folded char, original start, original end)
    for index, folded_char in enumerate(folded_chars):
        if not folded_char and pieces:  # a lone combining mark belongs to the previous letter
            part, start, _ = pieces[-1]
            pieces[-1] = (part, start, index + 1)
        pieces.extend((part, index, index + 1) for part in folded_char)
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    position = 0
    while position < len(pieces):
        part = pieces[position][0]
        run_end = position + 1
        while run_end < len(pieces) and pieces[run_end][0] == part:
            run_end += 1
        kept = 1 if part.isalpha() and run_end - position >= 3 else run_end - position
        for _, start, end in pieces[position : position + kept]:
            chars.append(part)
            starts.append(start)
            ends.append(end)
        ends[-1] = pieces[run_end - 1][2]  # the last kept letter covers the whole run
        position = run_end
    return FoldedText(original=text, folded="".join(chars), starts=tuple(starts), ends=tuple(ends))


def _expand(match: re.Match[str]) -> str:
    token = match.group(0)
    return ABBREVIATIONS.get(token, token)


def normalise_for_classifier(text: str) -> str:
    """Folded text with chat abbreviations expanded and every digit mapped to 0."""
    folded = fold(text).folded
    expanded = _TOKEN.sub(_expand, folded)
    return _SPACES.sub(" ", _DIGIT.sub("0", expanded)).strip()


@dataclass(frozen=True, slots=True)
class Found:
    """A span [start, end) of folded text and the value a rule resolved it to."""

    start: int
    end: int
    value: str
    confidence: float = 1.0
