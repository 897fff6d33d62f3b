"""The business profile: the shipped file, validation at start, opening hours, FAQ answers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from business_api import seed
from business_api.settings import BusinessApiSettings
from services.actions.profile import BusinessProfile, OpeningPeriod, ProfileError, load_profile
from services.actions.settings import ActionsSettings

SHIPPED = Path(__file__).parents[3] / "services" / "actions" / "business.yaml"
MEXICO_CITY = ZoneInfo("America/Mexico_City")
# Wednesday 25 November 2026, the week the NLU evaluation split and the policy tests live in.
MONDAY = dt.date(2026, 11, 23)
SATURDAY, SUNDAY = dt.date(2026, 11, 28), dt.date(2026, 11, 29)


def at(day: dt.date, hour: int, minute: int = 0, zone: ZoneInfo = MEXICO_CITY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


@pytest.fixture(scope="module")
def profile() -> BusinessProfile:
    return load_profile(SHIPPED)


def shipped() -> dict[str, Any]:
    raw = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    assert isinstance(raw, dict)
    return raw


def write(tmp_path: Path, raw: object) -> Path:
    path = tmp_path / "business.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def problems_of(tmp_path: Path, raw: object) -> str:
    path = write(tmp_path, raw)
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert "Value error" not in message
    return message


# --- the shipped file --------------------------------------------------------------------------


def test_the_settings_point_at_the_shipped_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ACTIONS_BUSINESS_PROFILE_FILE", raising=False)
    assert ActionsSettings().business_profile_file.resolve() == SHIPPED.resolve()
    monkeypatch.setenv("ACTIONS_BUSINESS_PROFILE_FILE", str(tmp_path / "other.yaml"))
    assert ActionsSettings().business_profile_file == tmp_path / "other.yaml"


def test_the_shipped_profile_describes_the_demo_studio(profile: BusinessProfile) -> None:
    assert profile.name == seed.STUDIO_NAME
    assert profile.timezone == BusinessApiSettings.model_fields["timezone"].default
    assert {package.id: package.name for package in seed.PACKAGES} == {
        package_id: package.name for package_id, package in profile.packages.items()
    }
    assert {method.id for method in profile.payment_methods} >= {"tarjeta", "transferencia", "efectivo"}
    assert profile.policies.late_arrival.tolerance_minutes > 0
    assert profile.handoff.response_time


def test_the_cancellation_policy_is_the_apis_default(profile: BusinessProfile) -> None:
    api_default = BusinessApiSettings.model_fields["cancel_refund_hours"].default
    assert profile.policies.cancellation.hours_before == api_default == 12


def test_every_class_of_the_demo_schedule_happens_while_the_studio_is_open(profile: BusinessProfile) -> None:
    week = seed.schedule(MONDAY, 7)
    assert {day.weekday() for day, _, _ in week} == set(range(6))  # Monday to Saturday
    for day, starts, _ in week:
        start = at(day, starts.hour, starts.minute)
        assert profile.is_open(start), start
        assert profile.is_open(start + dt.timedelta(minutes=49)), start  # classes last 50 minutes
    assert profile.hours_on(SUNDAY) == ()


def test_every_shipped_faq_has_several_questions_and_a_filled_answer(profile: BusinessProfile) -> None:
    assert len(profile.faqs) >= 15
    for faq in profile.faqs:
        assert len(faq.questions) >= 3, faq.id
        answer = profile.answer(faq.id)
        assert "{" not in answer and "}" not in answer, faq.id


def test_answers_quote_the_structured_fields(profile: BusinessProfile) -> None:
    assert profile.address.line in profile.answer("ubicacion")
    assert profile.address.map_url in profile.answer("ubicacion")
    assert profile.answer("horario") == (
        "Nuestro horario:\n- Lunes a viernes: de 7:00 a 21:00\n- Sábado: de 7:00 a 10:00\n- Domingo: cerrado"
    )
    assert "25 de diciembre de 2026 (Navidad)" in profile.answer("dias-festivos")
    payments = profile.answer("formas-de-pago")
    assert all(method.name in payments for method in profile.payment_methods)
    assert "hasta 12 horas antes" in profile.answer("cancelacion")
    assert "10 minutos de tolerancia" in profile.answer("llegar-tarde")
    assert all(package.name in profile.answer("paquetes-incluyen") for package in profile.packages.values())
    with pytest.raises(KeyError):
        profile.answer("no-such-faq")


# --- opening hours -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (at(MONDAY, 7), True),
        (at(MONDAY, 6, 59), False),
        (at(MONDAY, 20, 59), True),
        (at(MONDAY, 21), False),  # closing time is not open
        (at(SATURDAY, 9, 30), True),
        (at(SATURDAY, 10), False),
        (at(SUNDAY, 12), False),
        (at(dt.date(2026, 12, 25), 12), False),  # a Friday, but closed for Christmas
        (dt.datetime(2026, 11, 23, 13, 0, tzinfo=dt.UTC), True),  # 07:00 in Mexico City
        (dt.datetime(2026, 11, 23, 12, 59, tzinfo=dt.UTC), False),
    ],
)
def test_is_open_reads_the_instant_in_the_business_zone(
    profile: BusinessProfile, moment: dt.datetime, is_open: bool
) -> None:
    assert profile.is_open(moment) is is_open


def test_hours_on_a_day(profile: BusinessProfile) -> None:
    assert profile.hours_on(MONDAY) == (OpeningPeriod(opens=dt.time(7), closes=dt.time(21)),)
    assert profile.hours_on(SATURDAY) == (OpeningPeriod(opens=dt.time(7), closes=dt.time(10)),)
    assert profile.hours_on(SUNDAY) == ()
    assert profile.hours_on(dt.date(2027, 1, 1)) == ()
    assert str(profile.hours_on(MONDAY)[0]) == "7:00 a 21:00"


@pytest.mark.parametrize(
    ("after", "opening"),
    [
        (at(SUNDAY, 23, 59), at(dt.date(2026, 11, 30), 7)),  # "cerrado el domingo; abrimos el lunes a las 7"
        (at(SATURDAY, 10, 30), at(dt.date(2026, 11, 30), 7)),
        (at(MONDAY, 6), at(MONDAY, 7)),
        (at(MONDAY, 7), at(dt.date(2026, 11, 24), 7)),  # strictly after: the next period
        (at(MONDAY, 8), at(dt.date(2026, 11, 24), 7)),
        (at(dt.date(2026, 12, 24), 22), at(dt.date(2026, 12, 26), 7)),  # Christmas skipped: Saturday
        (at(dt.date(2026, 12, 31), 21, 30), at(dt.date(2027, 1, 2), 7)),  # New Year's Day skipped
        (dt.datetime(2026, 11, 30, 5, 0, tzinfo=dt.UTC), at(dt.date(2026, 11, 30), 7)),  # Sunday 23:00 local
    ],
)
def test_next_opening(profile: BusinessProfile, after: dt.datetime, opening: dt.datetime) -> None:
    found = profile.next_opening(after)
    assert found == opening
    assert found.tzinfo == MEXICO_CITY
    assert profile.is_open(found)


def test_naive_datetimes_are_refused(profile: BusinessProfile) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        profile.is_open(dt.datetime(2026, 11, 23, 8))
    with pytest.raises(ValueError, match="timezone-aware"):
        profile.next_opening(dt.datetime(2026, 11, 23, 8))


def test_split_days_and_other_zones(tmp_path: Path) -> None:
    raw = shipped()
    raw["timezone"] = "Europe/Madrid"
    raw["hours"]["monday"] = ["09:00-14:00", "16:30-20:00"]
    raw["closed_dates"] = []
    profile = load_profile(write(tmp_path, raw))
    madrid = ZoneInfo("Europe/Madrid")
    assert profile.is_open(at(MONDAY, 13, 59, madrid))
    assert not profile.is_open(at(MONDAY, 15, zone=madrid))
    assert profile.next_opening(at(MONDAY, 14, zone=madrid)) == at(MONDAY, 16, 30, madrid)
    assert "- Lunes: de 9:00 a 14:00 y de 16:30 a 20:00\n- Martes a viernes: de 7:00 a 21:00" in profile.answer(
        "horario"
    )
    assert "ninguno por ahora" in profile.answer("dias-festivos")


# --- validation at start -----------------------------------------------------------------------


def test_an_unreadable_or_malformed_file_names_itself(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ProfileError, match=f"^{missing}: cannot read"):
        load_profile(missing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed", encoding="utf-8")
    with pytest.raises(ProfileError, match=f"^{broken}: not valid YAML"):
        load_profile(broken)
    assert "expected a mapping" in problems_of(tmp_path, ["a", "list"])


def test_every_problem_is_named_at_once(tmp_path: Path) -> None:
    raw = shipped()
    raw["colour"] = "amarillo"
    del raw["hours"]["sunday"]
    raw["hours"]["monday"] = ["07:00-25:00"]
    raw["timezone"] = "Mexico/Gotham"
    raw["policies"]["cancellation"]["hours_before"] = -1
    message = problems_of(tmp_path, raw)
    for expected in ("colour: Extra inputs are not permitted", "hours.sunday: Field required",
                     "hours.monday.0", "unknown time zone 'Mexico/Gotham'",
                     "policies.cancellation.hours_before"):
        assert expected in message


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        (["21:00-07:00"], "closes at 07:00, not after it opens at 21:00"),
        (["07:00-14:00", "13:00-20:00"], "13:00 starts before the period before it ends (14:00)"),
        (["7:00-21:00"], "expected a quoted 'HH:MM' time"),
        ([420], "expected 'HH:MM-HH:MM'"),
        ("07:00-21:00", "tuple"),
    ],
)
def test_bad_opening_hours(tmp_path: Path, hours: object, expected: str) -> None:
    raw = shipped()
    raw["hours"]["monday"] = hours
    assert expected in problems_of(tmp_path, raw)


def test_an_unquoted_yaml_time_is_refused_not_misread(tmp_path: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8").replace(
        'monday: ["07:00-21:00"]', "monday: [{opens: 07:00, closes: 19:00}]"
    )
    path = tmp_path / "business.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError, match=r"hours\.monday\.0\.closes.*expected a quoted 'HH:MM' time, got 1140"):
        load_profile(path)


def test_a_studio_closed_every_day_is_refused(tmp_path: Path) -> None:
    raw = shipped()
    raw["hours"] = {day: [] for day in raw["hours"]}
    assert "closed every day" in problems_of(tmp_path, raw)


def test_faq_problems(tmp_path: Path) -> None:
    raw = shipped()
    faqs = raw["faqs"]
    faqs[2]["questions"] = ["¿Abren en días festivos?"]
    faqs[3]["id"] = "Formas de pago"
    message = problems_of(tmp_path, raw)
    assert "faqs.2.questions: Tuple should have at least 2 items" in message
    assert "faqs.3.id: String should match pattern" in message


def test_faq_consistency_problems(tmp_path: Path) -> None:
    """Checked once every field is valid, all of them at once."""
    raw = shipped()
    faqs = raw["faqs"]
    faqs.append(dict(faqs[0]))  # the same id again, with the same questions
    faqs[1]["answer"] = "Abrimos {horas} y {includes:pack-20}."
    message = problems_of(tmp_path, raw)
    assert "faq id 'ubicacion' appears 2 times" in message
    assert "faqs.horario: unknown placeholder {horas} (known: {name}," in message
    assert "faqs.horario: {includes:pack-20} names no package of `packages`" in message


def test_questions_differing_only_in_accents_and_case_are_duplicates(tmp_path: Path) -> None:
    raw = shipped()
    raw["faqs"][1]["questions"].append("donde estan")  # "¿Dónde están?" belongs to ubicacion
    assert "the question 'donde estan' is also a question of 'ubicacion'" in problems_of(tmp_path, raw)


def test_an_answer_too_long_for_one_message_is_refused(tmp_path: Path) -> None:
    raw = shipped()
    raw["faqs"][0]["answer"] = "Muy largo. " * 150 + "{hours}"
    assert "more than 1500 (one WhatsApp message)" in problems_of(tmp_path, raw)


def test_other_fields_are_checked(tmp_path: Path) -> None:
    raw = shipped()
    raw["address"]["map_url"] = "maps.google.com/?q=sol"
    raw["email"] = "hola-arroba-sol.mx"
    raw["payment_methods"] = []
    raw["closed_dates"].append({"date": "2026-12-25", "reason": "otra vez"})
    raw["packages"]["Pack 20"] = {"name": "Pack 20", "includes": ["Veinte clases"]}
    raw["version"] = 2
    message = problems_of(tmp_path, raw)
    for expected in ("address.map_url", "email", "payment_methods: Tuple should have at least 1 item",
                     "version: Input should be 1"):
        assert expected in message
    raw["version"], raw["address"], raw["email"] = 1, shipped()["address"], "hola@sol.mx"
    raw["payment_methods"] = shipped()["payment_methods"]
    message = problems_of(tmp_path, raw)
    assert "closed date '2026-12-25' appears 2 times" in message
    assert "packages: 'Pack 20' is not a package id" in message


def test_the_profile_is_frozen(profile: BusinessProfile) -> None:
    with pytest.raises(ValueError, match="frozen"):
        profile.name = "Otro estudio"  # type: ignore[misc]
