"""The Rasa NLU YAML loader, and the shipped data files."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from services.nlu.engine import TrainingDataError
from services.nlu.engine.engine import DEFAULT_DATA_PATH
from services.nlu.engine.text import normalise_for_classifier
from services.nlu.engine.training_data import EntitySpan, load_training_data, parse_example, parse_training_data
from services.nlu.evaluate import EVAL_ACTS_PATH, EVAL_PATH, load_act_cases

INTENTS = {
    "consulta_estado",
    "agendar_cita",
    "consultar_paquetes",
    "pagar_servicio",
    "cancelar_cita",
    "consultar_historial",
    "consultar_creditos",
    "consultar_horarios",
    "consultar_info",
    "actualizar_perfil",
    "saludo",
    "despedida",
    "ayuda",
    "hablar_con_humano",
    "darse_de_baja",
    "fuera_de_alcance",
    "afirmar",
    "negar",
    "agradecer",
}


def test_annotations_become_spans_of_the_plain_text() -> None:
    example = parse_example(
        'quiero el [pack 10]{"entity": "paquete", "value": "Pack 10 clases"} para [mañana](fecha)',
        "pagar_servicio",
    )
    assert example.text == "quiero el pack 10 para mañana"
    assert example.entities == (
        EntitySpan("paquete", "pack 10", 10, 17, "Pack 10 clases"),
        EntitySpan("fecha", "mañana", 23, 29, None),
    )
    assert [example.text[s.start : s.end] for s in example.entities] == ["pack 10", "mañana"]


def test_annotations_carry_rasas_role() -> None:
    example = parse_example('mañana [a las 7]{"entity": "hora", "value": "07:00", "role": "bare"}', "agendar_cita")
    assert example.entities == (EntitySpan("hora", "a las 7", 7, 14, "07:00", "bare"),)


def test_synonyms_lookups_and_reference_time() -> None:
    data = parse_training_data(
        {
            "version": "3.1",
            "reference_time": "2026-11-25T15:00:00-06:00",
            "nlu": [
                {"intent": "saludo", "examples": "- hola\n- buenas\n"},
                {
                    "intent": "pagar_servicio",
                    "examples": [{"text": 'pagar [el de 5]{"entity": "paquete", "value": "Pack 5 clases"}'}],
                },
                {"synonym": "Pack 10 clases", "examples": "- pack 10\n- el de diez\n"},
                {"lookup": "paquete", "examples": "- Pack 10 clases\n"},
            ],
        },
    )
    assert [e.text for e in data.examples] == ["hola", "buenas", "pagar el de 5"]
    assert data.synonyms == {"el de 5": "Pack 5 clases", "pack 10": "Pack 10 clases", "el de diez": "Pack 10 clases"}
    assert data.lookups == {"paquete": ("Pack 10 clases",)}
    assert data.reference_time == datetime(2026, 11, 25, 15, tzinfo=timezone(timedelta(hours=-6)))
    assert data.intents == ("pagar_servicio", "saludo")


@pytest.mark.parametrize(
    "document",
    [
        {"version": "3.1"},
        {"nlu": ["- hola"]},
        {"nlu": [{"story": "x"}]},
        {"nlu": [{"intent": "saludo", "examples": 3}]},
        {"nlu": [{"intent": "saludo", "examples": '- [hola]{"value": 1}'}]},
        {"nlu": [], "reference_time": "2026-11-25T15:00:00"},
    ],
)
def test_malformed_files_are_rejected(document: object) -> None:
    with pytest.raises(TrainingDataError):
        parse_training_data(document)


def test_shipped_training_data_covers_every_intent_with_60_examples() -> None:
    data = load_training_data(DEFAULT_DATA_PATH)
    counts = Counter(example.intent for example in data.examples)
    assert set(counts) == INTENTS
    assert min(counts.values()) >= 60
    assert data.lookups["paquete"]
    assert data.synonyms["el de 10"] == "Pack 10 clases"


def test_yes_and_no_have_80_examples_each() -> None:
    counts = Counter(example.intent for example in load_training_data(DEFAULT_DATA_PATH).examples)
    assert counts["afirmar"] >= 80
    assert counts["negar"] >= 80


def test_pure_thanks_are_not_farewells() -> None:
    data = load_training_data(DEFAULT_DATA_PATH)
    farewells = {normalise_for_classifier(example.text) for example in data.by_intent("despedida")}
    thanks = {normalise_for_classifier(example.text) for example in data.by_intent("agradecer")}
    assert {"gracias", "muchas gracias", "mil gracias"} <= thanks
    assert not farewells & {"gracias", "muchas gracias", "mil gracias"}
    assert {"gracias, eso es todo", "gracias, nos vemos", "bye"} <= farewells


def test_evaluation_split_is_held_out() -> None:
    train = load_training_data(DEFAULT_DATA_PATH)
    held_out = load_training_data(EVAL_PATH)
    counts = Counter(example.intent for example in held_out.examples)
    assert set(counts) == INTENTS
    assert min(counts.values()) >= 20
    assert held_out.reference_time is not None
    seen = {normalise_for_classifier(example.text) for example in train.examples}
    assert [e.text for e in held_out.examples if normalise_for_classifier(e.text) in seen] == []
    acts = load_act_cases(EVAL_ACTS_PATH)
    assert [case.text for case in acts if normalise_for_classifier(case.text) in seen] == []


def test_evaluation_split_has_30_yes_no_and_thanks_each() -> None:
    counts = Counter(example.intent for example in load_training_data(EVAL_PATH).examples)
    assert min(counts["afirmar"], counts["negar"], counts["agradecer"]) >= 30


@pytest.mark.parametrize(
    "document",
    [
        "version: 1",
        "acts: []",
        "acts:\n  - {text: hola}",
        "acts:\n  - {text: 'sí', act: maybe, intent: afirmar}",
    ],
)
def test_malformed_act_files_are_rejected(tmp_path: Path, document: str) -> None:
    path = tmp_path / "acts.yml"
    path.write_text(document, encoding="utf-8")
    with pytest.raises(TrainingDataError):
        load_act_cases(path)
