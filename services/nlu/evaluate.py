"""Evaluate the builtin NLU engine on the held-out split.

    uv run python -m services.nlu.evaluate [--min-macro-f1 X] [--min-time-accuracy Y]

Trains on `data/nlu.yml`, parses every example of `data/eval.yml` at the file's
`reference_time`, prints intent accuracy, macro F1, a per-intent table, the most frequent
confusions, the calibration error, entity precision/recall per type and value accuracy, and
exits with status 1 when macro F1 or the fecha/hora value accuracy is under its threshold.

Entity matching: a prediction matches a gold mention of the same type whose span overlaps it
(annotators disagree on whether "el" belongs to "el jueves"; the value is what matters).
Value accuracy of a type = gold mentions matched by a prediction with exactly the gold value,
over all gold mentions of that type (a missed mention counts as wrong).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from services.nlu.engine import DEMO_CATALOGUE, EngineConfig, NluEngine, ParseResult
from services.nlu.engine.training_data import EntitySpan, Example, TrainingData, load_training_data

DATA_DIR = Path(__file__).resolve().parent / "data"
TRAIN_PATH = DATA_DIR / "nlu.yml"
EVAL_PATH = DATA_DIR / "eval.yml"
# Defaults sit slightly under the measured numbers (see docs/nlu.md) so a regression fails.
DEFAULT_MIN_MACRO_F1 = 0.94
DEFAULT_MIN_TIME_ACCURACY = 0.97
TIME_ENTITIES = ("fecha", "hora")
_CALIBRATION_BINS = 10


@dataclass(frozen=True, slots=True)
class IntentScore:
    intent: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class EntityScore:
    entity: str
    precision: float
    recall: float
    value_accuracy: float
    gold: int
    predicted: int


@dataclass(frozen=True, slots=True)
class Report:
    examples: int
    accuracy: float
    macro_f1: float
    per_intent: tuple[IntentScore, ...]
    confusions: tuple[tuple[str, str, int], ...]  # (gold, predicted, count), most frequent first
    calibration_error: float
    entities: tuple[EntityScore, ...]
    errors: tuple[tuple[str, str, str], ...]  # (text, gold, predicted)

    def value_accuracy(self, entity: str) -> float:
        return next((score.value_accuracy for score in self.entities if score.entity == entity), 0.0)


def evaluate(engine: NluEngine, data: TrainingData) -> Report:
    """Parse every example of `data` at its reference time and score intents and entities."""
    if data.reference_time is None:
        raise ValueError("the evaluation file needs a top-level `reference_time`")
    results = [engine.parse(example.text, reference_time=data.reference_time) for example in data.examples]
    gold = [example.intent for example in data.examples]
    predicted = [result.intent.name for result in results]
    per_intent = _intent_scores(gold, predicted)
    confusions = Counter((g, p) for g, p in zip(gold, predicted, strict=True) if g != p)
    return Report(
        examples=len(gold),
        accuracy=sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold),
        macro_f1=sum(score.f1 for score in per_intent) / len(per_intent),
        per_intent=per_intent,
        confusions=tuple((g, p, n) for (g, p), n in confusions.most_common()),
        calibration_error=_expected_calibration_error(gold, results),
        entities=_entity_scores(data.examples, results),
        errors=tuple(
            (example.text, example.intent, result.intent.name)
            for example, result in zip(data.examples, results, strict=True)
            if example.intent != result.intent.name
        ),
    )


def _intent_scores(gold: Sequence[str], predicted: Sequence[str]) -> tuple[IntentScore, ...]:
    scores = []
    for intent in sorted(set(gold)):
        true_positive = sum(g == p == intent for g, p in zip(gold, predicted, strict=True))
        precision = _ratio(true_positive, sum(p == intent for p in predicted))
        recall = _ratio(true_positive, sum(g == intent for g in gold))
        f1 = _ratio(2 * precision * recall, precision + recall)
        scores.append(IntentScore(intent, precision, recall, f1, sum(g == intent for g in gold)))
    return tuple(scores)


def _expected_calibration_error(gold: Sequence[str], results: Sequence[ParseResult]) -> float:
    """Weighted gap between confidence and accuracy over equal-width confidence bins."""
    bins: list[list[tuple[float, bool]]] = [[] for _ in range(_CALIBRATION_BINS)]
    for intent, result in zip(gold, results, strict=True):
        confidence = result.intent.confidence
        index = min(int(confidence * _CALIBRATION_BINS), _CALIBRATION_BINS - 1)
        bins[index].append((confidence, result.intent.name == intent))
    total = sum(len(members) for members in bins)
    return sum(
        len(members)
        / total
        * abs(sum(c for c, _ in members) / len(members) - sum(ok for _, ok in members) / len(members))
        for members in bins
        if members
    )


def _entity_scores(examples: Sequence[Example], results: Sequence[ParseResult]) -> tuple[EntityScore, ...]:
    types = sorted(
        {span.entity for example in examples for span in example.entities}
        | {entity.entity for result in results for entity in result.entities}
    )
    scores = []
    for entity_type in types:
        gold_total = predicted_total = matched_gold = matched_predicted = right_value = 0
        for example, result in zip(examples, results, strict=True):
            gold = [span for span in example.entities if span.entity == entity_type]
            predicted = [entity for entity in result.entities if entity.entity == entity_type]
            gold_total += len(gold)
            predicted_total += len(predicted)
            matched_predicted += sum(any(_overlaps(span, e.start, e.end) for span in gold) for e in predicted)
            for span in gold:
                overlapping = [e for e in predicted if _overlaps(span, e.start, e.end)]
                matched_gold += bool(overlapping)
                right_value += any(e.value == span.resolved for e in overlapping)
        scores.append(
            EntityScore(
                entity=entity_type,
                precision=_ratio(matched_predicted, predicted_total),
                recall=_ratio(matched_gold, gold_total),
                value_accuracy=_ratio(right_value, gold_total),
                gold=gold_total,
                predicted=predicted_total,
            ),
        )
    return tuple(scores)


def _overlaps(span: EntitySpan, start: int, end: int) -> bool:
    return span.start < end and start < span.end


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def format_report(report: Report, *, show_errors: bool = True) -> str:
    lines = [
        f"examples: {report.examples}",
        f"intent accuracy: {report.accuracy:.4f}",
        f"intent macro F1: {report.macro_f1:.4f}",
        f"expected calibration error: {report.calibration_error:.4f}",
        "",
        f"{'intent':<22}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}",
    ]
    lines += [
        f"{s.intent:<22}{s.precision:>10.3f}{s.recall:>10.3f}{s.f1:>10.3f}{s.support:>9}" for s in report.per_intent
    ]
    lines += ["", "top confusions (gold -> predicted):"]
    lines += [f"  {gold} -> {predicted}: {count}" for gold, predicted, count in report.confusions[:10]] or ["  none"]
    lines += ["", f"{'entity':<14}{'precision':>10}{'recall':>10}{'value acc':>11}{'gold':>6}{'pred':>6}"]
    lines += [
        f"{s.entity:<14}{s.precision:>10.3f}{s.recall:>10.3f}{s.value_accuracy:>11.3f}{s.gold:>6}{s.predicted:>6}"
        for s in report.entities
    ]
    if show_errors and report.errors:
        lines += ["", "misclassified:"]
        lines += [f"  [{gold} -> {predicted}] {text}" for text, gold, predicted in report.errors]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--min-macro-f1", type=float, default=DEFAULT_MIN_MACRO_F1)
    parser.add_argument("--min-time-accuracy", type=float, default=DEFAULT_MIN_TIME_ACCURACY)
    parser.add_argument("--train", type=Path, default=TRAIN_PATH)
    parser.add_argument("--eval", type=Path, default=EVAL_PATH)
    parser.add_argument("--quiet", action="store_true", help="do not list misclassified examples")
    args = parser.parse_args(argv)

    engine = NluEngine.train(args.train, catalogue=DEMO_CATALOGUE, config=EngineConfig())
    report = evaluate(engine, load_training_data(args.eval))
    print(f"model: {engine.model_version}")
    print(format_report(report, show_errors=not args.quiet))

    failures = []
    if report.macro_f1 < args.min_macro_f1:
        failures.append(f"macro F1 {report.macro_f1:.4f} < {args.min_macro_f1}")
    for entity in TIME_ENTITIES:
        if report.value_accuracy(entity) < args.min_time_accuracy:
            failures.append(f"{entity} value accuracy {report.value_accuracy(entity):.4f} < {args.min_time_accuracy}")
    print("\nFAIL: " + "; ".join(failures) if failures else "\nOK: all thresholds met")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
