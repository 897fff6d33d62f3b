"""`hora`: clock times to HH:MM, bare hours read against the opening hours."""

from __future__ import annotations

from datetime import time

import pytest

from services.nlu.engine.times import bare_hour

from ._shared import TODAY, entities, extractor, values

EXPLICIT = [
    ("a las 5 de la tarde", "17:00"),
    ("17hs", "17:00"),
    ("a las 17 hs", "17:00"),
    ("17:30", "17:30"),
    ("7pm", "19:00"),
    ("7:30 p.m.", "19:30"),
    ("9 am", "09:00"),
    ("12pm", "12:00"),
    ("10 y media", "10:30"),
    ("a las 8 y cuarto", "08:15"),
    ("a las 9 menos cuarto", "08:45"),
    ("a las 5 menos 10 de la tarde", "16:50"),
    ("a la una menos cuarto", "12:45"),
    ("mediodía", "12:00"),
    ("al medio día", "12:00"),
    ("medianoche", "00:00"),
    ("a las 7 de la mañana", "07:00"),
    ("a las 9 de la noche", "21:00"),
    ("a las 12 de la noche", "00:00"),
    ("a la 1 del mediodía", "13:00"),
    ("a las cinco y media de la tarde", "17:30"),
    ("a las 07:30", "07:30"),
    ("a las 17.30", "17:30"),
    ("tipo 6", "18:00"),
    ("para las 6 pm porfa", "18:00"),
    ("la clase de las 8", "08:00"),
]


@pytest.mark.parametrize(("text", "expected"), EXPLICIT)
def test_clock_times(text: str, expected: str) -> None:
    assert values(text, "hora") == [expected]


# Default opening hours 07:00-21:00: morning if open then, otherwise afternoon.
BARE_DEFAULT_HOURS = [
    ("a las 1", "13:00"),
    ("a la una", "13:00"),
    ("a las 3", "15:00"),
    ("a las 6", "18:00"),
    ("a las 7", "07:00"),
    ("a las 8", "08:00"),
    ("a las 10", "10:00"),
    ("a las 11", "11:00"),
    ("a las 12", "12:00"),
    ("a las 15", "15:00"),
]


@pytest.mark.parametrize(("text", "expected"), BARE_DEFAULT_HOURS)
def test_bare_hours_use_the_opening_hours(text: str, expected: str) -> None:
    assert values(text, "hora") == [expected]


@pytest.mark.parametrize(
    ("hour", "opens", "closes", "expected"),
    [
        (9, time(10), time(22), time(21)),  # 09:00 closed, 21:00 open
        (11, time(10), time(22), time(11)),
        (8, time(6), time(23), time(8)),  # both open: as written
        (4, time(9), time(14), time(16)),  # neither open: afternoon
    ],
)
def test_bare_hour_rule(hour: int, opens: time, closes: time, expected: time) -> None:
    assert bare_hour(hour, 0, opens, closes) == expected


def test_other_opening_hours_change_bare_hours() -> None:
    late_salon = extractor(opens=time(10), closes=time(22))
    found = late_salon.extract("¿me das turno a las 9?", TODAY)
    assert [(e.entity, e.value) for e in found] == [("hora", "21:00")]


@pytest.mark.parametrize(
    "text",
    ["dura 2 horas", "tengo 5 clases", "las 10 clases", "cuesta 17.30", "a las 25", "de 3 a 4 de las 10 clases"],
)
def test_not_times(text: str) -> None:
    assert values(text, "hora") == []


def test_date_and_time_together() -> None:
    found = [(e.entity, e.value) for e in extractor().extract("mañana a las 10 de la mañana", TODAY)]
    assert found == [("fecha", "2026-11-26"), ("hora", "10:00")]


@pytest.mark.parametrize(
    ("text", "value", "role"),
    [
        ("a las 7", "07:00", "bare"),
        ("tipo 8", "08:00", "bare"),
        ("a las 7:30", "07:30", "bare"),
        ("a las siete y media", "07:30", "bare"),
        ("a las 3", "15:00", "bare"),
        ("a las 12", "12:00", "bare"),
        ("a las 9 menos cuarto", "08:45", "bare"),
        ("a la una", "13:00", "bare"),
        ("a las 8 de la mañana", "08:00", "explicit"),
        ("7pm", "19:00", "explicit"),
        ("9 am", "09:00", "explicit"),
        ("19:00", "19:00", "explicit"),
        ("17hs", "17:00", "explicit"),
        ("a las 7 hs", "07:00", "explicit"),
        ("a las 5 de la tarde", "17:00", "explicit"),
        ("07:30", "07:30", "explicit"),
        ("a las 0:30", "00:30", "explicit"),
        ("mediodía", "12:00", "explicit"),
        ("medianoche", "00:00", "explicit"),
        ("a la 1 del mediodía", "13:00", "explicit"),
    ],
)
def test_time_role_says_whether_the_part_of_day_was_said(text: str, value: str, role: str) -> None:
    """A bare hour keeps the opening-hours value; the role says the other half of the day is possible."""
    assert [(e.value, e.role) for e in entities(text) if e.entity == "hora"] == [(value, role)]


def test_only_times_have_a_role() -> None:
    found = entities("mañana a las 7, el pack 10, soy Ana")
    assert {e.entity: e.role for e in found} == {"fecha": None, "hora": "bare", "paquete": None, "nombre": None}
