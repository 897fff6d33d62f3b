"""`paquete`: mentions of the business's catalogue resolved to the canonical package name.

Three kinds of cue, tried on folded text:
- number cues: "pack 10", "paquete de diez", "el de 10", "10 clases" -> the one catalogue
  name with that number in it;
- aliases: the catalogue names and the training data's synonyms ("una clase" -> "Clase
  suelta"), matched as whole words;
- distinctive words: a word of the text close (rapidfuzz ratio, or a common prefix of 6+
  letters, same first letter) to a word found in only one catalogue name ("mensual" ->
  "Mensualidad ilimitada").

An alias made only of generic words ("una clase") is a weak cue: it gets a lower confidence so
the engine can keep it only when the message is about packages or payment.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from .lexicon import NUMBER_WORDS, alternation, parse_number
from .text import Found, fold

STRONG_CONFIDENCE = 1.0
WEAK_CONFIDENCE = 0.6
_FUZZY_MIN_RATIO = 80.0
_MIN_COMMON_PREFIX = 6
_MIN_FUZZY_WORD = 5

GENERIC_WORDS = frozenset(
    {"pack", "paquete", "paquetes", "plan", "clase", "clases", "sesion", "sesiones", "bono"}
    | {"el", "la", "los", "las", "un", "una", "de", "del", "al", "mi", "sola", "solo"}
    | set(NUMBER_WORDS),
)
_PACK_WORDS = r"pack|packs|pak|paq|paquete|paquetes|paqete|paqute|plan|bono|promo|combo"
_NUMBER = r"\d{1,2}|" + alternation(NUMBER_WORDS)
_NUMBER_CUE = re.compile(
    r"\b(?:(?:" + _PACK_WORDS + r")\s+(?:de\s+)?|(?:el|la)\s+de\s+)(?P<n>" + _NUMBER + r")\b"
    r"(?:\s+(?:clases|sesiones))?"
    r"|\b(?P<m>" + _NUMBER + r")\s+(?:clases|sesiones)\b",
)
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True, slots=True)
class _Alias:
    canonical: str
    weak: bool


class PackageMatcher:
    """Finds catalogue packages in folded text; built once per catalogue."""

    def __init__(self, catalogue: Sequence[str], aliases: Mapping[str, str] | None = None) -> None:
        self.catalogue = tuple(catalogue)
        self._by_number = _index_by_number(self.catalogue)
        self._distinctive = _distinctive_words(self.catalogue)
        self._aliases = _alias_table(self.catalogue, aliases or {})
        self._alias_pattern = (
            re.compile(r"(?=\b(" + alternation(re.escape(alias) for alias in self._aliases) + r")\b)")
            if self._aliases
            else None
        )

    def find(self, folded: str) -> list[Found]:
        """Every package mention, possibly overlapping (the caller keeps the longest)."""
        return [*self._number_cues(folded), *self._alias_matches(folded), *self._fuzzy_words(folded)]

    def _number_cues(self, folded: str) -> list[Found]:
        found = []
        for match in _NUMBER_CUE.finditer(folded):
            number = parse_number(match.group("n") or match.group("m"))
            name = self._by_number.get(number) if number is not None else None
            if name is not None:
                found.append(Found(match.start(), match.end(), name, STRONG_CONFIDENCE))
        return found

    def _alias_matches(self, folded: str) -> list[Found]:
        if self._alias_pattern is None:
            return []
        found = []  # the pattern is a lookahead, so overlapping aliases are all found
        for match in self._alias_pattern.finditer(folded):
            alias = self._aliases[match.group(1)]
            confidence = WEAK_CONFIDENCE if alias.weak else STRONG_CONFIDENCE
            found.append(Found(match.start(1), match.end(1), alias.canonical, confidence))
        return found

    def _fuzzy_words(self, folded: str) -> list[Found]:
        found = []
        for match in _WORD.finditer(folded):
            word = match.group(0)
            if len(word) < _MIN_FUZZY_WORD or word in GENERIC_WORDS:
                continue
            best = max(
                ((_similarity(word, known), name) for known, name in self._distinctive.items()),
                default=(0.0, ""),
            )
            if best[0] >= _FUZZY_MIN_RATIO:
                found.append(Found(match.start(), match.end(), best[1], round(best[0] / 100, 3)))
        return found


def _similarity(word: str, known: str) -> float:
    if word[0] != known[0]:
        return 0.0  # typos rarely hit the first letter; "limitadas" is not "ilimitada"
    if len(_common_prefix(word, known)) >= _MIN_COMMON_PREFIX:
        return 100.0
    return float(fuzz.ratio(word, known))


def _common_prefix(first: str, second: str) -> str:
    length = 0
    for left, right in zip(first, second, strict=False):
        if left != right:
            break
        length += 1
    return first[:length]


def _index_by_number(catalogue: Sequence[str]) -> dict[int, str]:
    numbers: dict[int, list[str]] = {}
    for name in catalogue:
        for token in re.findall(r"\d+", name):
            numbers.setdefault(int(token), []).append(name)
    return {number: names[0] for number, names in numbers.items() if len(names) == 1}


def _distinctive_words(catalogue: Sequence[str]) -> dict[str, str]:
    """Words that appear in exactly one catalogue name and are not generic."""
    words_per_name = {name: set(_WORD.findall(fold(name).folded)) - GENERIC_WORDS for name in catalogue}
    counts = Counter(word for words in words_per_name.values() for word in words)
    return {
        word: name
        for name, words in words_per_name.items()
        for word in sorted(words)
        if counts[word] == 1 and len(word) >= _MIN_FUZZY_WORD
    }


def _alias_table(catalogue: Sequence[str], aliases: Mapping[str, str]) -> dict[str, _Alias]:
    known = set(catalogue)
    pairs = [(name, name) for name in catalogue] + [
        (alias, canonical) for alias, canonical in aliases.items() if canonical in known
    ]
    table: dict[str, _Alias] = {}
    for alias, canonical in pairs:
        folded = " ".join(fold(alias).folded.split())
        if folded:
            weak = set(_WORD.findall(folded)) <= GENERIC_WORDS and not re.search(r"\d", folded)
            table[folded] = _Alias(canonical, weak)
    return table
