"""The logger's batch settings: defaults that batch, a bad value named in one line."""

from __future__ import annotations

import pytest

from runtime.settings import settings_errors
from services.logger.settings import LoggerSettings


def test_defaults_batch_and_keep_enough_records_in_flight_to_fill_a_batch() -> None:
    settings = LoggerSettings()
    assert (settings.batch_size, settings.batch_wait_ms) == (500, 50.0)
    assert settings.concurrency >= settings.batch_size


@pytest.mark.parametrize(("variable", "value", "problem"), [
    ("LOGGER_BATCH_SIZE", "0", "input should be greater than or equal to 1"),
    ("LOGGER_BATCH_SIZE", "many", "input should be a valid integer"),
    ("LOGGER_BATCH_WAIT_MS", "-5", "input should be greater than or equal to 0"),
])
def test_a_bad_batch_setting_is_named_in_one_line(variable: str, value: str, problem: str) -> None:
    [line] = settings_errors(LoggerSettings, "logger", {variable: value})
    assert line.startswith(f"error: logger: {variable}={value}: {problem}")
    assert f"; e.g. {variable}=" in line
