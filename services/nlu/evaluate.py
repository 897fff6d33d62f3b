"""Evaluate the builtin NLU engine on the held-out split.

    uv run python -m services.nlu.evaluate [--min-macro-f1 X] [--min-time-accuracy Y]
        [--min-act-accuracy Z] [--min-leading-act-accuracy W]

Trains on `data/nlu.yml`, parses every example of `data/eval.yml` at the file's
`reference_time`, prints intent accuracy, macro F1, a per-intent table, the most frequent
confusions, the calibration error, the affirm/deny accuracy, entity precision/recall per type,
value accuracy and `hora` role accuracy; then parses `data/eval_acts.yml` for the leading-act
accuracy. Exits with status 1 when macro F1, the fecha/hora value accuracy, the affirm/deny
accuracy or the leading-act accuracy is under its threshold.

Entity matching: a prediction matches a gold mention of the same type whose span overlaps it
(annotators disagree on whether "el" belongs to "el jueves"; the value is what matters).
Value accuracy of a type = gold mentions matched by a prediction with exactly the gold value,
over all gold mentions of that type (a missed mention counts as wrong). Role accuracy of `hora`
= gold mentions annotated with a role matched by a prediction with that role.

Affirm/deny accuracy = among the examples whose gold intent is `afirmar` or `negar`, the share
predicted as exactly that intent. Leading-act accuracy = among the messages of
`eval_acts.yml`, the share whose act (afirmar, negar or none) and intent are both right.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from services.nlu.engine import DEMO_CATALOGUE, EngineConfig, NluEngine, ParseResult, TrainingDataError
from services.nlu.engine.acts import ACTS
from services.nlu.engine.training_data import EntitySpan, Example, TrainingData, load_training_data

DATA_DIR = Path(__file__).resolve().parent / "data"
TRAIN_PATH = DATA_DIR / "nlu.yml"
EVAL_PATH = DATA_DIR / "eval.yml"
EVAL_ACTS_PATH = DATA_DIR / "eval_acts.yml"
# Defaults sit slightly under the measured numbers (see docs/nlu.md) so a regression fails.
DEFAULT_MIN_MACRO_F1 = 0.94
DEFAULT_MIN_TIME_ACCURACY = 0.97
DEFAULT_MIN_ACT_ACCURACY = 0.97
DEFAULT_MIN_LEADING_ACT_ACCURACY = 0.9
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
class RoleScore:
    entity: str
    accuracy: float
    gold: int  # gold mentions annotated with a role


@dataclass(frozen=True, slots=True)
class Report:
    examples: int
    accuracy: float
    macro_f1: float
    per_intent: tuple[IntentScore, ...]
    confusions: tuple[tuple[str, str, int], ...]  # (gold, predicted, count), most frequent first
    calibration_error: float
    act_accuracy: float  # affirm/deny: gold afirmar/negar predicted as exactly that intent
    act_examples: int
    entities: tuple[EntityScore, ...]
    roles: tuple[RoleScore, ...]
    errors: tuple[tuple[str, str, str], ...]  # (text, gold, predicted)

    def value_accuracy(self, entity: str) -> float:
        return next((score.value_accuracy for score in self.entities if score.entity == entity), 0.0)

    def role_accuracy(self, entity: str) -> float:
        return next((score.accuracy for score in self.roles if score.entity == entity), 0.0)


@dataclass(frozen=True, slots=True)
class ActCase:
    """One message of `eval_acts.yml`: the act it should carry (None: no act) and the intent."""

    text: str
    act: str | None
    intent: str


@dataclass(frozen=True, slots=True)
class ActReport:
    cases: int
    accuracy: float  # act and intent both right
    act_accuracy: float  # act right (name, or none)
    errors: tuple[tuple[ActCase, str | None, str], ...]  # (case, predicted act, predicted intent)


def evaluate(engine: NluEngine, data: TrainingData) -> Report:
    """Parse every example of `data` at its reference time and score intents and entities."""
    if data.reference_time is None:
        raise ValueError("the evaluation file needs a top-level `reference_time`")
    results = [engine.parse(example.text, reference_time=data.reference_time) for example in data.examples]
    gold = [example.intent for example in data.examples]
    predicted = [result.intent.name for result in results]
    per_intent = _intent_scores(gold, predicted)
    confusions = Counter((g, p) for g, p in zip(gold, predicted, strict=True) if g != p)
    acts = [(g, p) for g, p in zip(gold, predicted, strict=True) if g in ACTS]
    return Report(
        examples=len(gold),
        accuracy=sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold),
        macro_f1=sum(score.f1 for score in per_intent) / len(per_intent),
        per_intent=per_intent,
        confusions=tuple((g, p, n) for (g, p), n in confusions.most_common()),
        calibration_error=_expected_calibration_error(gold, results),
        act_accuracy=_ratio(sum(g == p for g, p in acts), len(acts)),
        act_examples=len(acts),
        entities=_entity_scores(data.examples, results),
        roles=_role_scores(data.examples, results),
        errors=tuple(
            (example.text, example.intent, result.intent.name)
            for example, result in zip(data.examples, results, strict=True)
            if example.intent != result.intent.name
        ),
    )


def load_act_cases(path: Path | str) -> tuple[ActCase, ...]:
    """The `acts:` list of an act evaluation file (see data/eval_acts.yml)."""
    with Path(path).open(encoding="utf-8") as handle:
        document: Any = yaml.safe_load(handle)
    items = document.get("acts") if isinstance(document, dict) else None
    if not isinstance(items, list) or not items:
        raise TrainingDataError(f"{path}: expected a mapping with a non-empty `acts:` list")
    cases = []
    for item in items:
        if not isinstance(item, dict) or not {"text", "act", "intent"} <= set(item):
            raise TrainingDataError(f"{path}: every item needs text, act and intent, got {item!r}")
        act = item["act"]
        if act is not None and act not in ACTS:
            raise TrainingDataError(f"{path}: act must be one of {sorted(ACTS)} or null, got {act!r}")
        cases.append(ActCase(text=str(item["text"]), act=act, intent=str(item["intent"])))
    return tuple(cases)


def evaluate_acts(engine: NluEngine, cases: Sequence[ActCase], reference_time: datetime) -> ActReport:
    """Parse every case and score its act (name or none) and its intent."""
    errors = []
    acts_right = 0
    for case in cases:
        result = engine.parse(case.text, reference_time=reference_time)
        act = result.dialogue_act.name if result.dialogue_act is not None else None
        acts_right += act == case.act
        if act != case.act or result.intent.name != case.intent:
            errors.append((case, act, result.intent.name))
    return ActReport(
        cases=len(cases),
        accuracy=_ratio(len(cases) - len(errors), len(cases)),
        act_accuracy=_ratio(acts_right, len(cases)),
        errors=tuple(errors),
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


def _role_scores(examples: Sequence[Example], results: Sequence[ParseResult]) -> tuple[RoleScore, ...]:
    """Per entity type with role annotations: gold mentions matched by a prediction with that role."""
    gold_by_type: Counter[str] = Counter()
    right_by_type: Counter[str] = Counter()
    for example, result in zip(examples, results, strict=True):
        for span in example.entities:
            if span.role is None:
                continue
            gold_by_type[span.entity] += 1
            right_by_type[span.entity] += any(
                e.entity == span.entity and e.role == span.role and _overlaps(span, e.start, e.end)
                for e in result.entities
            )
    return tuple(
        RoleScore(entity, _ratio(right_by_type[entity], gold), gold) for entity, gold in sorted(gold_by_type.items())
    )


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
        f"affirm/deny accuracy: {report.act_accuracy:.4f} ({report.act_examples} examples)",
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
    lines += [f"{s.entity} role accuracy: {s.accuracy:.3f} ({s.gold} mentions)" for s in report.roles]
    if show_errors and report.errors:
        lines += ["", "misclassified:"]
        lines += [f"  [{gold} -> {predicted}] {text}" for text, gold, predicted in report.errors]
    return "\n".join(lines)


def format_act_report(report: ActReport, *, show_errors: bool = True) -> str:
    lines = [
        f"leading-act accuracy: {report.accuracy:.4f} ({report.cases} messages; act alone {report.act_accuracy:.4f})",
    ]
    if show_errors and report.errors:
        lines += [
            f"  [{case.act}/{case.intent} -> {act}/{intent}] {case.text}" for case, act, intent in report.errors
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--min-macro-f1", type=float, default=DEFAULT_MIN_MACRO_F1)
    parser.add_argument("--min-time-accuracy", type=float, default=DEFAULT_MIN_TIME_ACCURACY)
    parser.add_argument("--min-act-accuracy", type=float, default=DEFAULT_MIN_ACT_ACCURACY,
                        help="affirm/deny accuracy: eval examples of afirmar/negar predicted as exactly that")
    parser.add_argument("--min-leading-act-accuracy", type=float, default=DEFAULT_MIN_LEADING_ACT_ACCURACY)
    parser.add_argument("--train", type=Path, default=TRAIN_PATH)
    parser.add_argument("--eval", type=Path, default=EVAL_PATH)
    parser.add_argument("--acts", type=Path, default=EVAL_ACTS_PATH)
    parser.add_argument("--quiet", action="store_true", help="do not list misclassified examples")
    args = parser.parse_args(argv)

    engine = NluEngine.train(args.train, catalogue=DEMO_CATALOGUE, config=EngineConfig())
    data = load_training_data(args.eval)
    report = evaluate(engine, data)
    assert data.reference_time is not None  # evaluate() refuses a file without one
    act_report = evaluate_acts(engine, load_act_cases(args.acts), data.reference_time)
    print(f"model: {engine.model_version}")
    print(format_report(report, show_errors=not args.quiet))
    print()
    print(format_act_report(act_report, show_errors=not args.quiet))

    failures = []
    if report.macro_f1 < args.min_macro_f1:
        failures.append(f"macro F1 {report.macro_f1:.4f} < {args.min_macro_f1}")
    for entity in TIME_ENTITIES:
        if report.value_accuracy(entity) < args.min_time_accuracy:
            failures.append(f"{entity} value accuracy {report.value_accuracy(entity):.4f} < {args.min_time_accuracy}")
    if report.act_accuracy < args.min_act_accuracy:
        failures.append(f"affirm/deny accuracy {report.act_accuracy:.4f} < {args.min_act_accuracy}")
    if act_report.accuracy < args.min_leading_act_accuracy:
        failures.append(f"leading-act accuracy {act_report.accuracy:.4f} < {args.min_leading_act_accuracy}")
    print("\nFAIL: " + "; ".join(failures) if failures else "\nOK: all thresholds met")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
