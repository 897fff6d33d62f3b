"""`paquete`: fuzzy catalogue matching with number cues and the training data's synonyms."""

from __future__ import annotations

import pytest

from services.nlu.engine.packages import WEAK_CONFIDENCE, PackageMatcher
from services.nlu.engine.text import fold

from ._shared import REFERENCE_TIME, trained_engine

DEMO = ("Clase suelta", "Pack 5 clases", "Pack 10 clases", "Mensualidad ilimitada")
SYNONYMS = {"una clase": "Clase suelta", "clase individual": "Clase suelta", "un bono": "No existe"}


def found(text: str, catalogue: tuple[str, ...] = DEMO) -> list[tuple[str, str]]:
    folded = fold(text).folded
    return [(folded[f.start : f.end], f.value) for f in PackageMatcher(catalogue, SYNONYMS).find(folded)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("el de 10", "Pack 10 clases"),
        ("pack 10", "Pack 10 clases"),
        ("Pack 10 clases", "Pack 10 clases"),
        ("paquete de diez", "Pack 10 clases"),
        ("pak de 10 porfa", "Pack 10 clases"),
        ("10 clases", "Pack 10 clases"),
        ("pack 5", "Pack 5 clases"),
        ("el de cinco", "Pack 5 clases"),
        ("mensualidad", "Mensualidad ilimitada"),
        ("la mensualida", "Mensualidad ilimitada"),
        ("el mensual", "Mensualidad ilimitada"),
        ("ilimitado", "Mensualidad ilimitada"),
        ("MENSUALIDAD ILIMITADA", "Mensualidad ilimitada"),
        ("una clase", "Clase suelta"),
        ("clase individual", "Clase suelta"),
        ("una clase suelta", "Clase suelta"),
    ],
)
def test_demo_catalogue(text: str, expected: str) -> None:
    assert {value for _, value in found(text)} == {expected}


@pytest.mark.parametrize(
    "text", ["me quedan 3 clases", "el mensaje", "plazas limitadas", "a las 10", "un bono", "el paquete"]
)
def test_no_package(text: str) -> None:
    assert found(text) == []


def test_synonyms_of_packages_outside_the_catalogue_are_ignored() -> None:
    assert found("un bono") == []


def test_only_generic_words_make_a_weak_cue() -> None:
    folded = fold("cuánto cuesta una clase").folded
    (match,) = PackageMatcher(DEMO, SYNONYMS).find(folded)
    assert match.confidence == WEAK_CONFIDENCE


def test_another_catalogue() -> None:
    salon = ("Corte de pelo", "Tinte completo", "Pack 3 masajes")
    assert {value for _, value in found("quiero el tinte", salon)} == {"Tinte completo"}
    assert {value for _, value in found("el pack de tres", salon)} == {"Pack 3 masajes"}
    assert {value for _, value in found("un corte", salon)} == {"Corte de pelo"}
    assert found("pack 10", salon) == []


def test_weak_cue_counts_only_when_talking_about_packages_or_paying() -> None:
    engine = trained_engine()
    booking = engine.parse("quiero agendar una clase para mañana", reference_time=REFERENCE_TIME)
    assert booking.intent.name == "agendar_cita"
    assert [e.entity for e in booking.entities] == ["fecha"]
    prices = engine.parse("¿cuánto cuesta una clase?", reference_time=REFERENCE_TIME)
    assert prices.intent.name == "consultar_paquetes"
    assert [(e.entity, e.value) for e in prices.entities] == [("paquete", "Clase suelta")]


def test_engine_uses_the_catalogue_it_was_trained_with() -> None:
    engine = trained_engine()
    result = engine.parse("quiero pagar el de 10 y la mensualidad", reference_time=REFERENCE_TIME)
    assert [e.value for e in result.entities] == ["Pack 10 clases", "Mensualidad ilimitada"]
