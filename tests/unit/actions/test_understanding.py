"""Reading a message in context: the hours a time can mean, choices among offered options, typed values.

Yes and no are NLU's learned dialogue acts (afirmar, negar): tests/unit/nlu and the policy tests."""

from __future__ import annotations

import pytest

from contracts import Entity
from contracts.dialogue import Offer
from services.actions import understanding
from services.actions.understanding import at_time, choose, email_problem, ordinal, time_candidates, value_only


def test_an_explicit_time_means_only_itself_a_bare_hour_either_half_of_the_day() -> None:
    assert time_candidates("08:00", bare=False) == ("08:00",)
    assert time_candidates("20:00", bare=False) == ("20:00",)
    assert time_candidates("07:00", bare=True) == ("07:00", "19:00")
    assert time_candidates("15:00", bare=True) == ("15:00", "03:00")
    assert time_candidates("7:30", bare=True) == ("07:30", "19:30")
    assert at_time(["19:00", "20:00"], time_candidates("08:00", bare=False)) is None
    assert at_time(["19:00", "20:00"], time_candidates("07:00", bare=True)) == "19:00"


@pytest.mark.parametrize(("text", "expected"), [("la primera", 1), ("la segunda opción", 2), ("la última", -1),
                                                ("2", 2), ("el tercero", 3), ("quiero agendar", None)])
def test_ordinals(text: str, expected: int | None) -> None:
    assert ordinal(text) == expected


SLOTS = [Offer(kind="slot", ref=str(n), label=t, data={"time": t, "date": "2026-11-27"})
         for n, t in enumerate(["07:00", "09:00", "18:00", "19:00"], start=1)]


@pytest.mark.parametrize(("text", "hora", "bare", "ref"), [
    ("la primera", None, False, "1"), ("la última", None, False, "4"), ("7", None, False, "1"),
    ("las 9", None, False, "2"), ("a las 7", "07:00", True, "1"), ("la de las 19", "19:00", False, "4"),
    ("a las 6", "18:00", True, "3"), ("2", None, False, "2"), ("a las 7 de la noche", "19:00", False, "4"),
    ("a las 6 de la mañana", "06:00", False, None), ("a las 6", "06:00", True, "3"),
])
def test_choose_among_offered_slots(text: str, hora: str | None, bare: bool, ref: str | None) -> None:
    picked = choose(SLOTS, text, kind="slot", hora=hora, bare=bare)
    assert (picked.ref if picked is not None else None) == ref


def test_esa_picks_the_one_option_on_the_table() -> None:
    [one] = SLOTS[:1]
    assert choose([one], "esa", kind="slot") == one
    assert choose([one], "esa mera", kind="slot") == one
    assert choose(SLOTS, "esa", kind="slot") is None


def test_choose_nothing_when_it_does_not_match() -> None:
    assert choose(SLOTS, "a las 10", kind="slot", hora="10:00") is None
    assert choose(SLOTS, "la quinta", kind="slot") is None
    assert choose([], "la primera", kind="slot") is None


def _entity(text: str, value: str, name: str = "fecha") -> Entity:
    start = text.index(value)
    return Entity(entity=name, value="2026-11-28", start=start, end=start + len(value))


@pytest.mark.parametrize(("text", "span"), [("el viernes", "viernes"), ("mejor el sábado", "sábado"),
                                            ("sí, el sábado por favor", "sábado")])
def test_value_only_messages(text: str, span: str) -> None:
    assert value_only(text, [_entity(text, span)])


def test_a_message_with_a_request_is_not_only_a_value() -> None:
    text = "quiero cancelar la del sábado"
    assert not value_only(text, [_entity(text, "sábado")])
    assert value_only("la primera", []) and value_only("7", [])


@pytest.mark.parametrize(("value", "problem"), [
    ("ana@example.com", None), ("ana.lopez+pilates@mail.example.mx", None), ("anaexample.com", "missing_at"),
    ("ana@example", "missing_dot"), ("ana@", "missing_domain"), ("@example.com", "missing_user"),
    ("ana @example.com", "spaces"), ("ana@@example.com", "several_at"), ("ana@exa_mple.com", "invalid_characters"),
])
def test_email_problems(value: str, problem: str | None) -> None:
    assert email_problem(value) == problem


def test_typed_values() -> None:
    assert understanding.email_candidate("mi correo es ana@example") == "ana@example"
    assert understanding.email_candidate("hola") is None
    assert understanding.name_candidate("Ana López.") == "Ana López"
    assert understanding.name_candidate("¿qué paquetes tienen?") is None
    assert understanding.name_problem("A") == "too_short" and understanding.name_problem("Ana2") == "digits"
    assert understanding.profile_field_in("quiero cambiar mi correo") == "email"
    assert understanding.profile_field_in("cambia mi nombre") == "nombre"


@pytest.mark.parametrize(("text", "register"), [
    ("¿me anotás para el jueves?", "vos"), ("che, ¿tenés lugar a las 7?", "vos"), ("decime los precios", "vos"),
    ("buenas tardes, ¿me puede agendar una clase?", "usted"), ("disculpe, quisiera cancelar", "usted"),
    ("me regala los precios por favor", "usted"), ("¿puedes agendarme el viernes?", "tu"),
    ("quiero agendar", None), ("¿se puede pagar con tarjeta?", None), ("hola", None), ("qué paquetes tienen", None),
])
def test_the_customers_register(text: str, register: str | None) -> None:
    assert understanding.register_of(text) == register


def test_a_spelled_out_email() -> None:
    assert understanding.email_candidate("martina.gomez arroba gmail punto com") == "martina.gomez@gmail.com"
    assert understanding.email_candidate("ana arroba gmail") == "ana@gmail"
