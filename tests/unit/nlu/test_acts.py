"""Dialogue acts: yes (`afirmar`), no (`negar`), thanks (`agradecer`) as intents; the act a message opens with."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC

import pytest

from contracts import DialogueAct, MessageReceived, MessageReceivedPayload, inbound_event_id
from services.nlu.engine import DialogueActPrediction, IntentPrediction, NluEngine, ParseResult
from services.nlu.engine.acts import leading_clause, opening_clause
from services.nlu.handler import detect, with_builtin_act

from ._shared import REFERENCE_TIME, trained_engine


@pytest.fixture(scope="module")
def engine() -> Iterator[NluEngine]:
    yield trained_engine()


def parse(engine: NluEngine, text: str) -> ParseResult:
    return engine.parse(text, reference_time=REFERENCE_TIME)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("👋", "saludo"),
        ("👍", "afirmar"),
        ("👍🏽", "afirmar"),
        ("👍🏿👍🏿", "afirmar"),
        ("👌", "afirmar"),
        ("✅", "afirmar"),
        ("✔️", "afirmar"),
        ("👎", "negar"),
        ("👎🏻", "negar"),
        ("❌", "negar"),
        ("🙅‍♀️", "negar"),
        ("🙏", "agradecer"),
        ("🙏🏼", "agradecer"),
        ("❤️", "agradecer"),
        ("💜", "agradecer"),
        ("🥰", "agradecer"),
    ],
)
def test_emoji_alone_mean_something(engine: NluEngine, text: str, intent: str) -> None:
    assert parse(engine, text).intent.name == intent


YES = [
    "sí", "simón", "de una", "sip porfa", "hágale", "ándale pues", "obvio", "sí sí", "dale", "va", "sale",
    "claro que sí", "perfecto, así", "correcto", "confirmo", "ok", "okey", "listo", "sí, esa", "sí, bórrala",
    "órale, esa", "esa mera", "sí, ésa está bien", "sí, confírmala", "adelante", "me parece bien", "siiii",
    "si claro", "ya po", "dale 👍",
]
NO = [
    "no", "nel", "nop", "ni de broma", "paso", "todavía no", "aún no", "eh no, déjala así", "mejor no",
    "no gracias", "no, así déjalo", "negativo", "ni loca", "de ninguna manera", "nah", "no quiero", "ya no",
    "noooo", "nel pastel", "no po",
]


@pytest.mark.parametrize("text", YES)
def test_yes_in_every_region(engine: NluEngine, text: str) -> None:
    result = parse(engine, text)
    assert result.intent.name == "afirmar"
    assert result.dialogue_act == DialogueActPrediction(name="afirmar", confidence=result.intent.confidence,
                                                        end=len(text))


@pytest.mark.parametrize("text", NO)
def test_no_in_every_region(engine: NluEngine, text: str) -> None:
    result = parse(engine, text)
    assert result.intent.name == "negar"
    assert result.dialogue_act is not None and result.dialogue_act.name == "negar"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("gracias", "agradecer"),
        ("mil gracias", "agradecer"),
        ("muchas gracias!!", "agradecer"),
        ("te pasaste", "agradecer"),
        ("genial, gracias", "agradecer"),
        ("gracias crack", "agradecer"),
        ("se agradece", "agradecer"),
        ("qué amable", "agradecer"),
        ("gracias, eso es todo", "despedida"),
        ("gracias, nos vemos", "despedida"),
        ("bye", "despedida"),
    ],
)
def test_thanks_are_not_goodbyes(engine: NluEngine, text: str, intent: str) -> None:
    result = parse(engine, text)
    assert result.intent.name == intent
    assert result.dialogue_act is None


@pytest.mark.parametrize(
    ("text", "act", "head", "intent"),
    [
        ("sí, y también quiero ver precios", "afirmar", "sí", "consultar_paquetes"),
        ("dale, y cuánto cuesta el mensual?", "afirmar", "dale", "consultar_paquetes"),
        ("no, mejor quiero cancelar otra", "negar", "no", "cancelar_cita"),
        ("sí porfa, ah y cámbiame el correo", "afirmar", "sí porfa", "actualizar_perfil"),
        ("Siiii y quiero pagar el pack de 10", "afirmar", "Siiii", "pagar_servicio"),
        ("👍 pero ¿a qué hora abren mañana?", "afirmar", "👍", "consultar_info"),
    ],
)
def test_leading_act(engine: NluEngine, text: str, act: str, head: str, intent: str) -> None:
    result = parse(engine, text)
    assert result.dialogue_act is not None
    assert result.dialogue_act.name == act
    assert result.dialogue_act.confidence >= 0.8
    assert text[: result.dialogue_act.end] == head
    assert result.intent.name == intent
    assert result.intent_ranking[0] == result.intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("sí, quiero agendar el viernes", "agendar_cita"),
        ("no puedo ir, cancélala", "cancelar_cita"),
        ("no puedo ir el viernes, cancélala", "cancelar_cita"),
        ("dale, agéndame el sábado a las 10", "agendar_cita"),
        ("hola, y quiero agendar", "agendar_cita"),
    ],
)
def test_a_yes_or_no_that_runs_into_the_request_is_not_an_act(engine: NluEngine, text: str, intent: str) -> None:
    result = parse(engine, text)
    assert result.intent.name == intent
    assert result.dialogue_act is None


def test_entities_of_a_leading_act_message_cover_the_whole_text(engine: NluEngine) -> None:
    text = "Sííí, y agéndame MAÑANA a las 5 porfa"
    result = parse(engine, text)
    assert result.dialogue_act is not None and result.dialogue_act.end == 4
    assert result.intent.name == "agendar_cita"
    assert [(e.entity, e.value, text[e.start : e.end]) for e in result.entities] == [
        ("fecha", "2026-11-26", "MAÑANA"),
        ("hora", "17:00", "a las 5"),
    ]


@pytest.mark.parametrize(
    ("text", "head", "rest"),
    [
        ("sí, y también quiero ver precios", "sí", "quiero ver precios"),
        ("Siiiii porfa, ah y cámbiame el correo", "Siiiii porfa", "cámbiame el correo"),
        ("mejor no, y quiero reprogramar", "mejor no", "quiero reprogramar"),
        ("ok pero ¿cuánto cuesta?", "ok", "cuánto cuesta?"),
        ("dale. Por cierto, ¿abren el domingo?", "dale", "abren el domingo?"),
        ("Ñoo, otra cosa: mi correo cambió", "Ñoo", "mi correo cambió"),
    ],
)
def test_leading_clause_offsets_point_into_the_original(text: str, head: str, rest: str) -> None:
    clause = leading_clause(text)
    assert clause is not None
    assert (text[: clause.head_end], text[clause.rest_start :]) == (head, rest)


@pytest.mark.parametrize(
    "text",
    [
        "sí, quiero agendar",  # no connector
        "sí",  # no rest
        "sí, y",  # nothing after the connector
        "no, si",  # the rest opens with no connector
        "uno dos tres cuatro cinco, y seis",  # the head is longer than four words
    ],
)
def test_no_leading_clause(text: str) -> None:
    assert leading_clause(text) is None


def test_the_body_has_the_act_and_roles_only_when_there_are(engine: NluEngine) -> None:
    plain = parse(engine, "quiero agendar mañana").model_dump(mode="json")
    assert "dialogue_act" not in plain
    assert all("role" not in entity for entity in plain["entities"])
    body = parse(engine, "sí, y agéndame mañana a las 7").model_dump(mode="json")
    assert body["dialogue_act"] == {"name": "afirmar", "confidence": pytest.approx(body["dialogue_act"]["confidence"]),
                                    "end": 2}
    assert [(e["entity"], e.get("role")) for e in body["entities"]] == [("fecha", None), ("hora", "bare")]
    assert ParseResult.model_validate(body) == parse(engine, "sí, y agéndame mañana a las 7")


def _rasa(text: str, intent: str) -> ParseResult:
    top = IntentPrediction(name=intent, confidence=0.9)
    return ParseResult(text=text, intent=top, intent_ranking=(top,), entities=())


def test_on_the_rasa_path_the_act_comes_from_the_builtin_reading(engine: NluEngine) -> None:
    text = "dale, y cuánto cuesta el mensual?"
    merged = with_builtin_act(_rasa(text, "consultar_paquetes"), parse(engine, text))
    assert merged.intent.name == "consultar_paquetes"
    assert merged.dialogue_act is not None and (merged.dialogue_act.name, merged.dialogue_act.end) == ("afirmar", 4)


def test_on_the_rasa_path_rasas_own_yes_is_the_act(engine: NluEngine) -> None:
    merged = with_builtin_act(_rasa("va que va", "afirmar"), parse(engine, "va que va"))
    assert merged.dialogue_act == DialogueActPrediction(name="afirmar", confidence=0.9, end=len("va que va"))


def test_on_the_rasa_path_a_whole_message_act_needs_rasa_to_agree(engine: NluEngine) -> None:
    builtin = parse(engine, "sí, esa")
    assert builtin.dialogue_act is not None
    assert with_builtin_act(_rasa("sí, esa", "agendar_cita"), builtin).dialogue_act is None


def test_the_event_carries_the_act_and_the_time_role(engine: NluEngine) -> None:
    sid = "SM00000000000000000000000000000042"
    at = REFERENCE_TIME.astimezone(UTC)
    event = MessageReceived(
        event_id=inbound_event_id(sid), type="message.received", occurred_at=at,
        conversation_id="whatsapp:+5215500000009", correlation_id=inbound_event_id(sid),
        payload=MessageReceivedPayload(message_sid=sid, account_sid="AC1", customer="whatsapp:+5215500000009",
                                       business="whatsapp:+14155238886", body="simón, y agéndame mañana a las 7",
                                       received_at=at),
    )
    payload = detect(engine, event).payload
    assert payload.intent == "agendar_cita"
    assert payload.act is not None
    assert (payload.act.name, payload.act.end) == ("afirmar", 5)
    assert isinstance(payload.act, DialogueAct)
    assert [(e.entity, e.value, e.role) for e in payload.entities] == [
        ("fecha", "2026-11-26", None),
        ("hora", "07:00", "bare"),
    ]


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("hola buenas, necesito cancelar mi clase 😕", "cancelar_cita"),
        ("Buenos días! ¿cuántas clases me quedan?", "consultar_creditos"),
        ("holaaa, quiero agendar el viernes a las 7", "agendar_cita"),
        ("buenas tardes. ¿Aceptan tarjeta?", "consultar_info"),
    ],
)
def test_an_opening_greeting_does_not_outweigh_the_request(engine: NluEngine, text: str, intent: str) -> None:
    result = parse(engine, text)
    assert result.intent.name == intent
    assert result.intent_ranking[0] == result.intent


@pytest.mark.parametrize("text", ["hola, buenas tardes", "hola, ¿qué tal?", "buenas! 👋"])
def test_a_greeting_alone_stays_a_greeting(engine: NluEngine, text: str) -> None:
    assert parse(engine, text).intent.name == "saludo"


def test_offsets_after_an_opening_greeting_point_into_the_whole_text(engine: NluEngine) -> None:
    text = "hola! sí, y también quiero ver precios"
    result = parse(engine, text)
    assert result.dialogue_act is not None
    assert text[: result.dialogue_act.end] == "hola! sí"
    assert result.intent.name == "consultar_paquetes"
    text = "buenas, quiero reservar el lunes a las 9 y de paso saber cuánto vale el bono de 10"
    result = parse(engine, text)
    assert result.second_request is not None
    assert text[result.second_request.start:].strip().startswith("saber cuánto")
    assert result.second_request.name == "consultar_paquetes"


@pytest.mark.parametrize(
    ("text", "head", "rest"),
    [("hola buenas, necesito cancelar", "hola buenas", "necesito cancelar"),
     ("¡Holaaa! ¿hay clase hoy?", "¡Holaaa", "¿hay clase hoy?")],
)
def test_opening_clause_offsets(text: str, head: str, rest: str) -> None:
    clause = opening_clause(text)
    assert clause is not None
    assert (text[: clause.head_end], text[clause.rest_start :]) == (head, rest)


@pytest.mark.parametrize("text", ["hola", "hola!", "uno dos tres cuatro cinco, seis"])
def test_no_opening_clause(text: str) -> None:
    assert opening_clause(text) is None


def test_opening_clause_with_only_control_whitespace_after_it_has_no_rest() -> None:
    """Found by hypothesis: a unit separator (whitespace to str.strip) after the mark is no rest."""
    assert opening_clause("0.\x1f") is None
    assert opening_clause("hola,\t\x1f ") is None
