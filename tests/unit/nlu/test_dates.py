"""`fecha`: relative and absolute Spanish dates, resolved against the message's own day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from ._shared import MEXICO_CITY, TODAY, trained_engine, values

# TODAY is Wednesday 2026-11-25.
FORWARD = [
    ("hoy", "2026-11-25"),
    ("mañana", "2026-11-26"),
    ("manana", "2026-11-26"),
    ("mñn a las 5", "2026-11-26"),
    ("MAÑANAAAA", "2026-11-26"),
    ("pasado mañana", "2026-11-27"),
    ("ayer", "2026-11-24"),
    ("anteayer", "2026-11-23"),
    ("el jueves", "2026-11-26"),
    ("el miércoles", "2026-12-02"),  # same weekday as today: the next one, not today
    ("este miércoles", "2026-11-25"),
    ("el jueves que viene", "2026-11-26"),
    ("el próximo jueves", "2026-11-26"),
    ("el jueves de la semana que viene", "2026-12-03"),
    ("el sábado pasado", "2026-11-21"),
    ("el pasado miércoles", "2026-11-18"),
    ("¿podés el viernes?", "2026-11-27"),  # voseo
    ("tenés lugar el sabado?", "2026-11-28"),
    ("15/04", "2027-04-15"),  # already past this year: next year
    ("15-04-2027", "2027-04-15"),
    ("el 3/12/26", "2026-12-03"),
    ("12 de marzo", "2027-03-12"),
    ("el 1ro de diciembre", "2026-12-01"),
    ("primero de enero", "2027-01-01"),
    ("el 15 de diciembre de 2027", "2027-12-15"),
    ("el 22", "2026-12-22"),  # the 22nd of this month has passed
    ("el 28", "2026-11-28"),
    ("el día 25", "2026-11-25"),
    ("cancelo la del 30", "2026-11-30"),
    ("en 3 días", "2026-11-28"),
    ("dentro de una semana", "2026-12-02"),
]


@pytest.mark.parametrize(("text", "expected"), FORWARD)
def test_dates_resolve_against_the_message_day(text: str, expected: str) -> None:
    assert values(text, "fecha") == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "a las 7 de la mañana",
        "por la mañana",
        "esta mañana fui",
        "los lunes abren?",
        "las 10 clases",
        "el 5 de la tarde",
        "17.30",
        "55-1234-5678",
        "el 31/02",
        "la semana que viene",
    ],
)
def test_not_dates(text: str) -> None:
    assert values(text, "fecha") == []


def test_tomorrow_in_the_morning_is_one_date() -> None:
    assert values("mañana por la mañana", "fecha") == ["2026-11-26"]


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        ("mañana", date(2026, 12, 31), "2027-01-01"),
        ("el 5", date(2026, 12, 30), "2027-01-05"),
        ("el 31", date(2026, 11, 5), "2026-12-31"),  # November has no 31st
        ("el 30", date(2027, 1, 31), "2027-03-30"),  # nor has February a 30th
        ("el lunes", date(2026, 12, 29), "2027-01-04"),
        ("el sábado pasado", date(2027, 1, 1), "2026-12-26"),
        ("29/02", date(2026, 3, 1), "2028-02-29"),
        ("pasado mañana", date(2028, 2, 28), "2028-03-01"),
    ],
)
def test_month_and_year_rollover(text: str, today: date, expected: str) -> None:
    assert values(text, "fecha", today=today) == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("¿fui el lunes?", "2026-11-23"),
        ("¿qué compré el 20/11?", "2026-11-20"),
        ("¿qué pagué el 15 de diciembre?", "2025-12-15"),
        ("la clase del 22", "2026-11-22"),
        ("el próximo lunes", "2026-11-30"),  # an explicit "próximo" still looks forward
    ],
)
def test_history_questions_look_backwards(text: str, expected: str) -> None:
    assert values(text, "fecha", past=True) == [expected]


def test_replaying_an_old_message_resolves_against_its_own_time() -> None:
    engine = trained_engine()
    sent = datetime(2020, 2, 28, 10, 0, tzinfo=MEXICO_CITY)
    result = engine.parse("¿me agendas mañana a las 5?", reference_time=sent)
    assert [(e.entity, e.value) for e in result.entities] == [("fecha", "2020-02-29"), ("hora", "17:00")]


def test_reference_time_is_converted_to_the_business_time_zone() -> None:
    engine = trained_engine()
    # 03:00 UTC on the 26th is still 21:00 on the 25th in Mexico City.
    late_evening = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    result = engine.parse("quiero turno para mañana", reference_time=late_evening)
    assert [e.value for e in result.entities if e.entity == "fecha"] == ["2026-11-26"]
    same_instant = late_evening.astimezone(timezone(timedelta(hours=9)))
    again = engine.parse("quiero turno para mañana", reference_time=same_instant)
    assert again.entities == result.entities


def test_today_is_the_fixture_day() -> None:
    assert TODAY == date(2026, 11, 25)
    assert TODAY.weekday() == 2  # Wednesday
