"""Opting out: the learned `darse_de_baja`, the whole-message keywords, and "baja" in its other senses."""

from __future__ import annotations

import pytest

from services.nlu.engine import NluEngine
from services.nlu.engine.keywords import OPT_OUT_INTENT, is_opt_out_keyword

from ._shared import REFERENCE_TIME, trained_engine


@pytest.fixture(scope="module")
def engine() -> NluEngine:
    return trained_engine()


@pytest.mark.parametrize("text", ["STOP", "stop", " Stop. ", "BAJA", "baja!", "Unsubscribe", "CANCELAR SUSCRIPCION",
                                  "cancelar   suscripción", "¡Baja!", "STOOOP"])
def test_a_keyword_as_the_whole_message_is_an_opt_out_by_rule(engine: NluEngine, text: str) -> None:
    assert is_opt_out_keyword(text)
    result = engine.parse(text, reference_time=REFERENCE_TIME)
    assert (result.intent.name, result.intent.confidence) == (OPT_OUT_INTENT, 1.0)
    assert result.entities == () and result.dialogue_act is None


@pytest.mark.parametrize("text", ["stop por favor", "baja de la clase del sábado", "la clase baja de precio?",
                                  "cancelar", "suscripción", "stopp", "bajas"])
def test_a_keyword_inside_a_longer_message_is_left_to_the_model(text: str) -> None:
    assert not is_opt_out_keyword(text)


@pytest.mark.parametrize("text", ["no me escriban más", "ya no quiero recibir mensajes", "dame de baja",
                                  "desuscribirme", "che, no me manden más mensajes", "no me escribáis más"])
def test_asking_for_no_more_messages_is_learned(engine: NluEngine, text: str) -> None:
    result = engine.parse(text, reference_time=REFERENCE_TIME)
    assert result.intent.name == OPT_OUT_INTENT and result.intent.confidence >= 0.6


@pytest.mark.parametrize(("text", "expected"), [
    ("la clase baja de precio?", "consultar_paquetes"),
    ("dame de baja de la clase del viernes", "cancelar_cita"),
    ("bájame de la clase del jueves", "cancelar_cita"),
    ("no me llegan los mensajes", "ayuda"),
])
def test_baja_in_its_other_senses_is_not_an_opt_out(engine: NluEngine, text: str, expected: str) -> None:
    assert engine.parse(text, reference_time=REFERENCE_TIME).intent.name == expected


def test_losing_weight_is_never_an_opt_out(engine: NluEngine) -> None:
    for text in ("quiero bajar de peso", "¿pilates ayuda a bajar de peso?", "necesito bajar unos kilos"):
        assert engine.parse(text, reference_time=REFERENCE_TIME).intent.name != OPT_OUT_INTENT, text
