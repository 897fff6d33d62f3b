"""The held-out evaluation meets the thresholds the CLI enforces."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.nlu.engine.training_data import load_training_data
from services.nlu.evaluate import (
    DEFAULT_MIN_MACRO_F1,
    DEFAULT_MIN_TIME_ACCURACY,
    EVAL_PATH,
    TIME_ENTITIES,
    Report,
    evaluate,
    format_report,
)

from ._shared import trained_engine


@pytest.fixture(scope="module")
def report() -> Iterator[Report]:
    yield evaluate(trained_engine(), load_training_data(EVAL_PATH))


def test_intent_macro_f1(report: Report) -> None:
    assert report.macro_f1 >= DEFAULT_MIN_MACRO_F1 >= 0.92


@pytest.mark.parametrize("entity", TIME_ENTITIES)
def test_date_and_time_value_accuracy(report: Report, entity: str) -> None:
    assert report.value_accuracy(entity) >= DEFAULT_MIN_TIME_ACCURACY >= 0.95


def test_every_entity_type_is_found(report: Report) -> None:
    scores = {score.entity: score for score in report.entities}
    assert set(scores) >= {"fecha", "hora", "paquete", "email", "referencia", "nombre"}
    assert all(score.precision >= 0.9 and score.recall >= 0.8 for score in scores.values())


def test_confidences_are_calibrated(report: Report) -> None:
    assert report.calibration_error < 0.1


def test_report_lists_intents_and_confusions(report: Report) -> None:
    text = format_report(report)
    assert "intent macro F1" in text
    assert "top confusions" in text
    assert all(score.intent in text for score in report.per_intent)
