"""Reading a message in context: yes/no, abandonment, choices among offered options, typed values."""

from __future__ import annotations

import pytest

from contracts import Entity
from contracts.dialogue import Offer
from services.actions import understanding
from services.actions.understanding import choose, email_problem, is_abandon, ordinal, value_only, yes_or_no


@pytest.mark.parametrize("text", ["sí", "si", "Sí, por favor", "dale", "ok", "va", "claro", "confirmo", "👍",
                                  "sale", "claro que sí", "sí, gracias", "de acuerdo", "Si!!", "ok 👍"])
def test_yes(text: str) -> None:
    assert yes_or_no(text) == "yes"


@pytest.mark.parametrize("text", ["no", "No.", "mejor no", "nel", "cancela eso no", "no, gracias", "👎",
                                  "ya no", "todavía no", "olvídalo", "nop"])
def test_no(text: str) -> None:
    assert yes_or_no(text) == "no"


@pytest.mark.parametrize("text", ["sí pero el sábado", "¿cuánto cuesta?", "la primera", "hola", ""])
def test_neither_yes_nor_no(text: str) -> None:
    assert yes_or_no(text) is None


def test_flow_specific_yes_words() -> None:
    assert yes_or_no("sí, cancélala") is None
    assert yes_or_no("sí, cancélala", extra_yes=("cancelala",)) == "yes"


@pytest.mark.parametrize("text", ["olvídalo", "ya no", "mejor no", "no, gracias", "ya no quiero", "déjalo",
                                  "ninguna", "cancela", "no"])
def test_abandon(text: str) -> None:
    assert is_abandon(text)


@pytest.mark.parametrize("text", ["el viernes", "quiero agendar", "sí", "mejor el sábado"])
def test_not_abandon(text: str) -> None:
    assert not is_abandon(text)


@pytest.mark.parametrize(("text", "expected"), [("la primera", 1), ("la segunda opción", 2), ("la última", -1),
                                                ("2", 2), ("el tercero", 3), ("quiero agendar", None)])
def test_ordinals(text: str, expected: int | None) -> None:
    assert ordinal(text) == expected


SLOTS = [Offer(kind="slot", ref=str(n), label=t, data={"time": t, "date": "2026-11-27"})
         for n, t in enumerate(["07:00", "09:00", "18:00", "19:00"], start=1)]


@pytest.mark.parametrize(("text", "hora", "ref"), [
    ("la primera", None, "1"), ("la última", None, "4"), ("7", None, "1"), ("las 9", None, "2"),
    ("a las 7", "07:00", "1"), ("la de las 19", "19:00", "4"), ("a las 6", "18:00", "3"), ("2", None, "2"),
    ("a las 7 de la noche", "19:00", "4"),
])
def test_choose_among_offered_slots(text: str, hora: str | None, ref: str) -> None:
    picked = choose(SLOTS, text, kind="slot", hora=hora)
    assert picked is not None and picked.ref == ref


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
