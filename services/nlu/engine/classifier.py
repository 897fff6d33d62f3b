"""Intent classifier: TF-IDF (char_wb 2-5 + word 1-2 grams) + multinomial logistic regression.

Training uses scikit-learn. Confidences are calibrated with temperature scaling: one scalar T
fitted on out-of-fold logits (stratified 3-fold, fixed seed) so that softmax(logits / T)
minimises the log loss on examples the model did not see.

Inference does not go through scikit-learn: `IntentClassifier` keeps the vectorisers'
analyzers, vocabularies and IDF weights plus the coefficient matrix, and scores one message
with a few dictionary lookups and one small matrix product. It computes exactly the same
numbers as the scikit-learn pipeline (a unit test checks it) at a fraction of the per-call
overhead, which is what makes per-message parsing cheap.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import FeatureUnion, Pipeline

from .text import normalise_for_classifier

SEED = 13
REGULARISATION_C = 10.0
_CALIBRATION_FOLDS = 3

FloatArray = NDArray[np.float64]


def build_pipeline(seed: int = SEED) -> Pipeline:
    """The scikit-learn pipeline that is trained; it expects already normalised text."""
    features = FeatureUnion(
        [
            (
                "char",
                TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=False),
            ),
            (
                "word",
                TfidfVectorizer(
                    analyzer="word",
                    ngram_range=(1, 2),
                    sublinear_tf=True,
                    lowercase=False,
                    token_pattern=r"(?u)\b\w+\b",
                ),
            ),
        ],
    )
    model = LogisticRegression(C=REGULARISATION_C, max_iter=5000, random_state=seed)
    return Pipeline([("features", features), ("model", model)])


@dataclass(frozen=True, slots=True)
class _Block:
    """One TF-IDF vectoriser, reduced to what inference needs."""

    analyze: Callable[[str], list[str]]
    vocabulary: dict[str, int]
    idf: FloatArray
    offset: int  # index of this block's first column in the stacked feature space


class IntentClassifier:
    """A trained intent model; `rank` returns every intent with its calibrated confidence."""

    def __init__(self, pipeline: Pipeline, temperature: float) -> None:
        model: LogisticRegression = pipeline.named_steps["model"]
        self.pipeline = pipeline
        self.labels: tuple[str, ...] = tuple(str(label) for label in model.classes_)
        self.temperature = temperature
        self._weights: FloatArray = np.ascontiguousarray(model.coef_.T, dtype=np.float64)
        self._bias: FloatArray = np.asarray(model.intercept_, dtype=np.float64)
        self._blocks = _blocks(pipeline.named_steps["features"])

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[str], *, seed: int = SEED) -> IntentClassifier:
        normalised = [normalise_for_classifier(text) for text in texts]
        temperature = _fit_temperature(normalised, list(labels), seed)
        pipeline = build_pipeline(seed).fit(normalised, list(labels))
        return cls(pipeline, temperature)

    def rank(self, text: str) -> list[tuple[str, float]]:
        """All intents, most likely first, with confidences that sum to 1."""
        probabilities = softmax(self.logits(text) / self.temperature)
        order = np.argsort(-probabilities, kind="stable")
        return [(self.labels[index], float(probabilities[index])) for index in order]

    def logits(self, text: str) -> FloatArray:
        """Decision values of the logistic regression for one raw message."""
        normalised = normalise_for_classifier(text)
        scores = self._bias.copy()
        for block in self._blocks:
            indices, values = _tfidf(block, normalised)
            if len(indices):
                scores += values @ self._weights[indices]
        return scores

    def reference_logits(self, texts: Sequence[str]) -> FloatArray:
        """The same decision values computed by scikit-learn, for checking `logits`."""
        normalised = [normalise_for_classifier(text) for text in texts]
        return np.asarray(self.pipeline.decision_function(normalised), dtype=np.float64)


def _blocks(features: FeatureUnion) -> tuple[_Block, ...]:
    blocks = []
    offset = 0
    for _, vectorizer in features.transformer_list:
        vocabulary = {str(term): int(index) + offset for term, index in vectorizer.vocabulary_.items()}
        blocks.append(
            _Block(
                analyze=vectorizer.build_analyzer(),
                vocabulary=vocabulary,
                idf=np.asarray(vectorizer.idf_, dtype=np.float64),
                offset=offset,
            ),
        )
        offset += len(vectorizer.vocabulary_)
    return tuple(blocks)


def _tfidf(block: _Block, normalised: str) -> tuple[NDArray[np.intp], FloatArray]:
    """Sublinear TF x IDF, L2-normalised: what `TfidfVectorizer.transform` computes for one text."""
    vocabulary = block.vocabulary
    counts = Counter(vocabulary[term] for term in block.analyze(normalised) if term in vocabulary)
    indices = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
    frequencies = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
    values = (1.0 + np.log(frequencies)) * block.idf[indices - block.offset]
    norm = math.sqrt(float(values @ values))
    return indices, values / norm if norm > 0 else values


def _fit_temperature(normalised: list[str], labels: list[str], seed: int) -> float:
    """Temperature that minimises the out-of-fold log loss."""
    folds = StratifiedKFold(n_splits=_CALIBRATION_FOLDS, shuffle=True, random_state=seed)
    logits = cross_val_predict(build_pipeline(seed), normalised, labels, cv=folds, method="decision_function")
    classes = sorted(set(labels))
    targets = np.array([classes.index(label) for label in labels])

    def log_loss(temperature: float) -> float:
        log_probabilities = log_softmax(logits / temperature, axis=1)
        return float(-log_probabilities[np.arange(len(targets)), targets].mean())

    result = minimize_scalar(log_loss, bounds=(0.05, 20.0), method="bounded")
    return float(result.x)
