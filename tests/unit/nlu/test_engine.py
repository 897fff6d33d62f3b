"""NluEngine: intents across Spanish varieties, the response shape, edge cases, determinism."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.nlu.engine import (
    DEFAULT_DATA_PATH,
    DEMO_CATALOGUE,
    EmptyText,
    EngineConfig,
    InvalidConfig,
    NaiveReferenceTime,
    NluEngine,
)
from services.nlu.engine.training_data import load_training_data
from services.nlu.evaluate import EVAL_PATH

from ._shared import REFERENCE_TIME, trained_engine


@pytest.fixture(scope="module")
def engine() -> Iterator[NluEngine]:
    yield trained_engine()


def intent_of(engine: NluEngine, text: str) -> str:
    return engine.parse(text, reference_time=REFERENCE_TIME).intent.name


@pytest.mark.parametrize(
    "text",
    [
        "quiero cancelar la deuda",
        "necesito cancelar el saldo",
        "¿cómo cancelo lo que debo?",
        "vengo a cancelar la deuda que tengo con ustedes",
    ],
)
def test_cancelling_a_debt_is_paying(engine: NluEngine, text: str) -> None:
    assert intent_of(engine, text) == "pagar_servicio"


@pytest.mark.parametrize("text", ["quiero cancelar mi cita", "cancelar", "cancelá el turno de mañana"])
def test_cancelling_a_booking(engine: NluEngine, text: str) -> None:
    assert intent_of(engine, text) == "cancelar_cita"


REGIONAL = [
    # Mexico
    ("qué onda, me apartas lugar para el sábado a las 10?", "agendar_cita"),
    ("oye, ¿a cuánto está el paquete de diez?", "consultar_paquetes"),
    ("ahorita no puedo ir, cancélame la cita porfa", "cancelar_cita"),
    # Colombia
    ("buenas, regáleme una cita para el viernes", "agendar_cita"),
    ("parce, ¿ya quedó confirmada mi reserva?", "consulta_estado"),
    ("¿me colabora con los horarios de mañana?", "consultar_horarios"),
    # Argentina (voseo)
    ("che, ¿tenés turno para el jueves?", "agendar_cita"),
    ("¿podés pasarme el alias para pagar?", "pagar_servicio"),
    ("¿querés que te mande mi mail nuevo? es ana@gmail.com", "actualizar_perfil"),
    # Spain
    ("vale, quería coger cita para el lunes", "agendar_cita"),
    ("¿qué precio tienen los bonos?", "consultar_paquetes"),
    ("hasta luego, gracias tío", "despedida"),
    # Chile
    ("wena, ¿tení hora pa mañana?", "agendar_cita"),
    ("cancela mi hora del martes po", "cancelar_cita"),
    # Peru
    ("causa, ¿cuántas clases me quedan?", "consultar_creditos"),
    ("ya pe, ¿aceptan yape?", "consultar_info"),
    # short, typos, emojis
    ("precio?", "consultar_paquetes"),
    ("hola", "saludo"),
    ("holaaa 👋", "saludo"),
    ("ayudaaa", "ayuda"),
    ("chau 👋", "despedida"),
    ("q horarios tienen el sabado", "consultar_horarios"),
    ("xq no me llego la confirmacion de mi cita??", "consulta_estado"),
    ("jajaja cuéntame un chiste", "fuera_de_alcance"),
    ("asdkjhasd", "fuera_de_alcance"),
    # credits, the studio's profile, a person
    ("oye, ¿hasta cuándo me sirve mi paquete?", "consultar_creditos"),
    ("¿todavía me quedan sesiones?", "consultar_creditos"),
    ("¿tienen estacionamiento por ahí?", "consultar_info"),
    ("¿aceptan pagos con tarjeta?", "consultar_info"),
    ("¿me devuelven la lana si cancelo?", "consultar_info"),
    ("quiero que me atienda alguien de recepción", "hablar_con_humano"),
    ("pásame con una persona porfa", "hablar_con_humano"),
    ("¿va a llover el sábado?", "fuera_de_alcance"),
]


@pytest.mark.parametrize(("text", "expected"), REGIONAL)
def test_regional_varieties(engine: NluEngine, text: str, expected: str) -> None:
    assert intent_of(engine, text) == expected


def test_two_topics_in_one_message(engine: NluEngine) -> None:
    result = engine.parse(
        "hola! quería pagar el pack de 10 y de paso agendar para el jueves a las 7 de la tarde",
        reference_time=REFERENCE_TIME,
    )
    assert {r.name for r in result.intent_ranking[:2]} & {"pagar_servicio", "agendar_cita"}
    assert [(e.entity, e.value) for e in result.entities] == [
        ("paquete", "Pack 10 clases"),
        ("fecha", "2026-11-26"),
        ("hora", "19:00"),
    ]


def test_response_has_rasa_shape(engine: NluEngine) -> None:
    text = "me agendas mañana a las 5? mi correo es ana@x.com"
    result = engine.parse(text, reference_time=REFERENCE_TIME)
    body = result.model_dump(mode="json")
    assert set(body) == {"text", "intent", "intent_ranking", "entities"}
    assert body["text"] == text
    assert body["intent"] == body["intent_ranking"][0]
    ranking = [r["confidence"] for r in body["intent_ranking"]]
    assert len(ranking) == 10
    assert ranking == sorted(ranking, reverse=True)
    assert 0.0 < sum(ranking) <= 1.0 + 1e-9
    assert set(body["entities"][0]) == {"entity", "value", "start", "end", "confidence_entity", "extractor"}
    with pytest.raises(ValidationError):
        result.text = "changed"  # type: ignore[misc]


@pytest.mark.parametrize("text", ["", " ", "\n\t  ", "\u3000"])
def test_blank_text_is_not_classified(engine: NluEngine, text: str) -> None:
    with pytest.raises(EmptyText):
        engine.parse(text, reference_time=REFERENCE_TIME)


def test_naive_reference_time_is_refused(engine: NluEngine) -> None:
    with pytest.raises(NaiveReferenceTime):
        engine.parse("hola", reference_time=datetime(2026, 11, 25, 15))


def test_invalid_config_is_refused() -> None:
    with pytest.raises(InvalidConfig):
        EngineConfig(timezone="Mars/Olympus_Mons")
    with pytest.raises(InvalidConfig):
        EngineConfig(opens_at=time(21), closes_at=time(7))


def test_model_version_names_the_training_file(engine: NluEngine) -> None:
    assert engine.model_version.startswith("builtin-")
    assert len(engine.model_version) == len("builtin-") + 12


def test_fast_scoring_equals_scikit_learn(engine: NluEngine) -> None:
    texts = [example.text for example in load_training_data(EVAL_PATH).examples] + ["🙂", "a", "ñññ"]
    fast = np.stack([engine.classifier.logits(text) for text in texts])
    np.testing.assert_allclose(fast, engine.classifier.reference_logits(texts), rtol=1e-9, atol=1e-9)


def test_two_trainings_give_identical_results(engine: NluEngine) -> None:
    again = NluEngine.train(DEFAULT_DATA_PATH, catalogue=DEMO_CATALOGUE, config=EngineConfig())
    assert again.model_version == engine.model_version
    assert again.classifier.temperature == engine.classifier.temperature
    for example in load_training_data(EVAL_PATH).examples:
        first = engine.parse(example.text, reference_time=REFERENCE_TIME)
        second = again.parse(example.text, reference_time=REFERENCE_TIME)
        assert first == second


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_parse_never_raises_on_arbitrary_text(text: str) -> None:
    engine = trained_engine()
    if not text.strip():
        with pytest.raises(EmptyText):
            engine.parse(text, reference_time=REFERENCE_TIME)
        return
    result = engine.parse(text, reference_time=REFERENCE_TIME)
    assert result.intent.name
    assert all(0 <= e.start < e.end <= len(text) for e in result.entities)
