"""FAQ retrieval: which of the profile's FAQs a customer's question asks, or none.

Pure and deterministic: no I/O, no clock, no randomness; the same profile and text always give
the same answer. The index holds every question variant of every FAQ in `business.yaml` as a
TF-IDF vector of character n-grams (3 to 5 letters inside word boundaries, sublinear term
frequency, smoothed IDF over the variants) of the folded text: lowercase, no accents, letter
runs of three or more squeezed ("holaaa" is "hola"), punctuation gone. Character n-grams carry
typos, missing accents and verb endings from every region ("estacionarse", "estaciono",
"estacionamiento" share most of their n-grams).

A question's score for an FAQ is the highest cosine similarity between the question and one of
that FAQ's variants. N-grams the index never saw still count in the question's length, as if
seen in no variant at all, so "¿tienen sauna?" is not taken for "¿tienen regaderas?" just
because "sauna" is unknown. Under `threshold` the match is None: the bot says it does not know
and offers a person; it never answers from a guess. docs/business-profile.md gives the
threshold, how it was chosen, and its precision and recall on questions it was not chosen on.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from services.actions.profile import BusinessProfile

DEFAULT_THRESHOLD = 0.50
"""The best F0.5 on the tuning split of tests/unit/actions/faq_cases.yml (0.05 grid); its held-out
split, never used to choose, measures it: precision 0.906, recall 0.738 (docs/business-profile.md)."""

NGRAM_SIZES = (3, 4, 5)

_RUN = re.compile(r"([a-z])\1{2,}")

FILLERS = frozenset({
    "ah", "oh", "eh", "oye", "oiga", "mira", "bueno", "pues", "entonces", "y", "o", "exactamente",
    "exacto", "porfa", "porfavor", "pregunta", "duda", "disculpa", "disculpe", "perdon", "perdona",
    "hola", "buenas", "gracias", "ahora", "otra", "una", "cosa", "tambien",
})
"""Folded words that carry no topic ("ah, y ¿dónde estáis exactamente?"): dropped from a text before
its n-grams are taken, so they neither match a variant nor dilute the words that do."""
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """Lowercase, accents dropped (ñ is n), runs of 3+ letters squeezed, only letters and digits."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(_NOT_WORD.sub(" ", _RUN.sub(r"\1", plain)).split())


def ngrams(text: str) -> Counter[str]:
    """Character n-grams of each folded word padded with spaces (" sol " gives " so", "sol", "ol ")."""
    grams: Counter[str] = Counter()
    for word in fold(text).split():
        if word in FILLERS:
            continue
        padded = f" {word} "
        for size in NGRAM_SIZES:
            grams.update(padded[start:start + size] for start in range(len(padded) - size + 1))
    return grams


@dataclass(frozen=True, slots=True)
class FaqMatch:
    faq_id: str
    answer: str
    """The FAQ's answer exactly as the profile gives it (placeholders filled from its fields)."""
    score: float
    """Cosine similarity in [0, 1] between the text and the closest question of this FAQ."""
    question: str
    """That closest question, as written in the profile."""


@dataclass(frozen=True, slots=True)
class _Variant:
    faq_id: str
    question: str
    vector: Mapping[str, float]


class FaqIndex:
    """The questions of a set of FAQs, ready to be matched against a customer's text."""

    __slots__ = ("_answers", "_idf", "_postings", "_unseen_idf", "_variants", "threshold")

    def __init__(self, faqs: Iterable[tuple[str, Iterable[str], str]], *, threshold: float = DEFAULT_THRESHOLD
                 ) -> None:
        """`faqs`: (id, questions, answer) triples, in the order ties are broken."""
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"the threshold is a cosine similarity in (0, 1], got {threshold}")
        self.threshold = threshold
        self._answers: dict[str, str] = {}
        questions: list[tuple[str, str, Counter[str]]] = []
        for faq_id, variants, answer in faqs:
            if faq_id in self._answers:
                raise ValueError(f"FAQ {faq_id!r} is given twice")
            self._answers[faq_id] = answer
            questions += [(faq_id, question, ngrams(question)) for question in variants]
        documents = len(questions)
        seen_in = Counter(gram for _, _, grams in questions for gram in grams)
        self._idf = {gram: math.log((1 + documents) / (1 + count)) + 1 for gram, count in seen_in.items()}
        self._unseen_idf = math.log(1 + documents) + 1
        self._variants = tuple(_Variant(faq_id, question, self._vector(grams)) for faq_id, question, grams in questions)
        postings: dict[str, list[tuple[int, float]]] = {}
        for position, variant in enumerate(self._variants):
            for gram, weight in variant.vector.items():
                postings.setdefault(gram, []).append((position, weight))
        self._postings = postings

    @classmethod
    def from_profile(cls, profile: BusinessProfile, *, threshold: float = DEFAULT_THRESHOLD) -> FaqIndex:
        """The index of the profile's FAQs, each answer with its placeholders filled."""
        return cls(((faq.id, faq.questions, profile.answer(faq.id)) for faq in profile.faqs), threshold=threshold)

    @property
    def faq_ids(self) -> tuple[str, ...]:
        return tuple(self._answers)

    def match(self, text: str) -> FaqMatch | None:
        """The FAQ the text asks, when its score reaches the threshold; otherwise None."""
        ranking = self.ranking(text)
        if not ranking or ranking[0].score < self.threshold:
            return None
        return ranking[0]

    def ranking(self, text: str) -> list[FaqMatch]:
        """Every FAQ with a score above 0, best first (ties: the profile's order), threshold ignored."""
        similarity: dict[int, float] = {}
        for gram, weight in self._vector(ngrams(text)).items():
            for position, variant_weight in self._postings.get(gram, ()):
                similarity[position] = similarity.get(position, 0.0) + weight * variant_weight
        best: dict[str, tuple[float, str]] = {}
        for position in sorted(similarity):  # the file's order, so ties go to the first variant
            variant, score = self._variants[position], similarity[position]
            if score > best.get(variant.faq_id, (0.0, ""))[0]:
                best[variant.faq_id] = (min(score, 1.0), variant.question)
        order = {faq_id: position for position, faq_id in enumerate(self._answers)}
        ranked = sorted(best.items(), key=lambda item: (-item[1][0], order[item[0]]))
        return [FaqMatch(faq_id, self._answers[faq_id], round(score, 6), question)
                for faq_id, (score, question) in ranked]

    def _vector(self, grams: Counter[str]) -> dict[str, float]:
        weights = {gram: (1 + math.log(count)) * self._idf.get(gram, self._unseen_idf)
                   for gram, count in grams.items()}
        norm = math.sqrt(sum(weight * weight for weight in weights.values()))
        return {gram: weight / norm for gram, weight in weights.items()} if norm else {}
