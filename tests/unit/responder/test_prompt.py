"""The LLM writer's prompt: the persona, the rules, the reply's data, the draft, the register and the
recent turns; and no fact beyond them."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from contracts import replies as r
from contracts.replies import Register
from openrouter_standin.app import draft_of
from services.responder.adapters.context import Turn
from services.responder.prompt import DEFAULT_PERSONA, build_messages, reply_data
from services.responder.templates import render

BUSINESS = "Estudio Sol Pilates"
FRIDAY = dt.date(2026, 12, 11)
BOOKED = r.Booked(code="BK-4821", date=FRIDAY, time="19:00", class_name="Pilates Reformer", package="Pack 10 clases",
                  sessions_left=5)
TURNS = [
    Turn("user", "hola, ¿tienen clase el viernes a las 7?", dt.datetime(2026, 12, 9, 18, 0, tzinfo=dt.UTC), "u1"),
    Turn("bot", "¡Sí! El viernes 11 de diciembre hay lugar a las 19:00.\n¿Te reservo?",
         dt.datetime(2026, 12, 9, 18, 0, 5, tzinfo=dt.UTC), "b1"),
    Turn("user", "dale, reservame", dt.datetime(2026, 12, 9, 18, 1, tzinfo=dt.UTC), "u2"),
]


def messages(register: Register = "tu", persona: str = DEFAULT_PERSONA, turns: list[Turn] = TURNS,
             followup: r.ResumeFlow | None = None) -> tuple[str, str, str]:
    draft = render(BOOKED, business=BUSINESS, followup=followup, register=register)
    system, user = build_messages(reply=BOOKED, followup=followup, draft=draft, register=register, business=BUSINESS,
                                  persona=persona, turns=turns)
    assert (system["role"], user["role"]) == ("system", "user")
    return system["content"], user["content"], draft


def test_the_system_message_carries_the_business_the_persona_and_the_whatsapp_rules() -> None:
    system, _, _ = messages(persona="Somos un estudio chiquito de barrio; hablamos con mucha calidez.")
    assert "Eres el asistente de WhatsApp de Estudio Sol Pilates." in system
    assert "Somos un estudio chiquito de barrio; hablamos con mucha calidez." in system
    for rule in ("*negrita*", "sin títulos", "sin tablas", "sin **", "¡ ¿ y tildes", "Breve", "No agregues precios"):
        assert rule in system


@pytest.mark.parametrize(("register", "says", "forbids"), [
    ("tu", "«¿quieres…?»", "No uses voseo"),
    ("vos", "«¿querés…?», «podés», «tenés»", "Nunca uses «tú»"),
    ("usted", "«¿quiere…?»", "Nunca tutees"),
])
def test_the_register_is_spelled_out_with_its_verb_forms(register: Register, says: str, forbids: str) -> None:
    system, user, _ = messages(register)
    assert says in system and forbids in system
    assert f"Registro del cliente: {register}." in user


def test_the_user_message_holds_the_kind_the_typed_data_and_the_draft_between_markers() -> None:
    _, user, draft = messages()
    assert "Tipo de respuesta: «booked»." in user
    data = json.loads(user.split("DATOS (la única fuente de hechos, en JSON):\n", 1)[1].split("\n\n", 1)[0])
    assert data == {"respuesta": BOOKED.model_dump(mode="json")}
    assert f"<<<BORRADOR\n{draft}\nBORRADOR>>>" in user
    assert draft_of([{"role": "user", "content": user}]) == draft  # the stand-in finds it


def test_a_followup_is_part_of_the_data() -> None:
    followup = r.ResumeFlow(flow="pagar_servicio")
    _, user, draft = messages(followup=followup)
    assert "«booked», seguido de «resume_flow»" in user
    assert reply_data(BOOKED, followup)["seguimiento"] == {"kind": "resume_flow", "flow": "pagar_servicio"}
    assert "¿Seguimos con la compra de tu paquete?" in draft and draft in user


def test_the_recent_turns_come_first_oldest_first_one_line_each() -> None:
    _, user, _ = messages()
    transcript = user.split("\n\n", 1)[0]
    assert transcript.splitlines() == [
        "Conversación reciente (lo más nuevo al final):",
        "Cliente: hola, ¿tienen clase el viernes a las 7?",
        "Asistente: ¡Sí! El viernes 11 de diciembre hay lugar a las 19:00. / ¿Te reservo?",
        "Cliente: dale, reservame",
    ]
    _, without, _ = messages(turns=[])
    assert "Conversación reciente" not in without


def test_the_prompt_states_no_fact_beyond_the_data_the_draft_and_the_turns() -> None:
    system, user, draft = messages()
    assert not re.search(r"\d", system), "the instructions hold no number, date, time or price"
    sources = json.dumps(reply_data(BOOKED, None)) + draft + "".join(turn.text for turn in TURNS)
    for number in re.findall(r"\d+", user):
        assert number in sources, number
    assert "http" not in user and "$" not in user  # this reply has neither a link nor a price
