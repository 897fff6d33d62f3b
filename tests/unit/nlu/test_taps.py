"""Taps read exactly: the id scheme (contracts/taps.py), nlu's reading of a tap (services/nlu/taps.py),
and the round trip responder offer → tap → nlu → actions decision, on the fake studio."""

from __future__ import annotations

import datetime as dt
import itertools
from functools import cache
from types import SimpleNamespace
from typing import Any

import pytest

from contracts import (
    ActionCompleted,
    IntentDetected,
    MessageReceived,
    MessageReceivedPayload,
    NluOutcome,
    Tap,
    decode_tap,
    derive_event_id,
    encode_tap,
    inbound_event_id,
)
from contracts.taps import TAP_ID_MAX, VALUE_MAX
from services.actions.adapters.endpoints import Operation
from services.nlu.engine import DEFAULT_DATA_PATH, IntentPrediction, ParseResult
from services.nlu.engine.training_data import load_training_data
from services.nlu.handler import STAGE, Parser, detect, understand
from services.nlu.taps import TAP_EXTRACTOR, TAP_MODEL_VERSION, TAP_SOURCE
from services.responder.interactive import Interactive, interactive_for
from tests.unit.actions.conversation import BUSINESS, CUSTOMER, START, Conversation, text_of
from tests.unit.actions.fake_studio import FakeStudio
from tests.unit.nlu._shared import REFERENCE_TIME, entities

FRIDAY, SATURDAY, MONDAY = "2026-11-27", "2026-11-28", "2026-11-30"

# --- the id scheme ---------------------------------------------------------------------------------


@pytest.mark.parametrize("tap", [
    Tap("act", "afirmar"), Tap("act", "negar"), Tap("intent", "agendar_cita"), Tap("time", "19:00"),
    Tap("time", "07:30"), Tap("date", "2026-12-03"), Tap("slot", "2026-12-03T19:00"), Tap("package", "pack-10"),
    Tap("package", "42"), Tap("booking", "BK-4821"), Tap("package", "p" * VALUE_MAX),
])
def test_every_tap_round_trips_through_its_id(tap: Tap) -> None:
    encoded = encode_tap(tap)
    assert encoded.startswith(f"{tap.kind}:") and len(encoded) <= TAP_ID_MAX
    assert decode_tap(encoded) == tap


def test_a_tap_knows_its_day_and_time() -> None:
    slot = Tap("slot", "2026-12-03T19:00")
    assert (slot.date, slot.time) == (dt.date(2026, 12, 3), "19:00")
    assert (Tap("date", "2026-12-03").time, Tap("time", "19:00").date) == (None, None)


@pytest.mark.parametrize("payload", [
    None, "", "afirmar", "sí", "yes", "act:", "act:quizás", "ACT:afirmar", "acto:afirmar", "intent:",
    "intent:Agendar", "intent:agendar cita", "time:7:00", "time:24:00", "time:19:60", "time:19:00:00",
    "date:2026-02-30", "date:03/12/2026", "slot:2026-12-03 19:00", "slot:2026-12-03", "slot:2026-13-03T19:00",
    "package:", "package:pack 10", "package:-x", "booking:BK 4821", "booking:" + "1" * (VALUE_MAX + 1), "::",
])
def test_a_payload_not_of_the_scheme_decodes_to_nothing(payload: str | None) -> None:
    assert decode_tap(payload) is None


@pytest.mark.parametrize(("kind", "value"), [("act", "tal vez"), ("time", "7pm"), ("date", "2026-02-30"),
                                             ("nope", "x"), ("booking", "")])
def test_an_invalid_tap_cannot_be_built(kind: Any, value: str) -> None:
    with pytest.raises(ValueError):
        Tap(kind, value)


# --- nlu: a tap read exactly ---------------------------------------------------------------------


@cache
def known_intents() -> tuple[str, ...]:
    return tuple(sorted({example.intent for example in load_training_data(DEFAULT_DATA_PATH).examples}))


class RecordingEngine:
    """The engine's surface the stage uses; it records what it was asked to read (a tap asks nothing)."""

    model_version = "builtin-test"

    def __init__(self) -> None:
        self.classifier = SimpleNamespace(labels=known_intents())
        self.read: list[str] = []

    def parse(self, text: str, *, reference_time: dt.datetime) -> ParseResult:
        self.read.append(text)
        guess = IntentPrediction(name="fuera_de_alcance", confidence=0.3)
        return ParseResult(text=text, intent=guess, intent_ranking=(guess,), entities=())


_sids = itertools.count(1)


def tapped_message(payload: str | None, title: str | None, *, at: dt.datetime = REFERENCE_TIME,
                   throttled: bool = False) -> MessageReceived:
    sid = f"SMTAP{next(_sids):06d}"
    return MessageReceived(
        event_id=inbound_event_id(sid), type="message.received", occurred_at=at, conversation_id=CUSTOMER,
        correlation_id=inbound_event_id(sid),
        payload=MessageReceivedPayload(message_sid=sid, account_sid="AC1", customer=CUSTOMER, business=BUSINESS,
                                       body=title or "", button_text=title, button_payload=payload,
                                       throttled=throttled, received_at=at),
    )


def read(payload: str | None, title: str | None, **kwargs: Any) -> tuple[IntentDetected, RecordingEngine]:
    engine = RecordingEngine()
    return detect(engine, tapped_message(payload, title, **kwargs)), engine  # type: ignore[arg-type]


def shape(detected: IntentDetected) -> list[tuple[Any, ...]]:
    return [(e.entity, e.value, e.start, e.end, e.role) for e in detected.payload.entities]


@pytest.mark.parametrize(("payload", "title", "act"), [("act:afirmar", "Sí, resérvame", "afirmar"),
                                                       ("act:negar", "No, cambiar algo", "negar")])
def test_a_yes_or_no_tap_is_the_act_for_sure_and_no_model_reads_it(payload: str, title: str, act: str) -> None:
    detected, engine = read(payload, title)
    p = detected.payload
    assert (p.outcome, p.intent, p.confidence, p.source, p.model_version) == (
        NluOutcome.CLASSIFIED, act, 1.0, TAP_SOURCE, TAP_MODEL_VERSION)
    assert p.act is not None and (p.act.name, p.act.confidence, p.act.end) == (act, 1.0, len(title))
    assert [(s.name, s.confidence) for s in p.ranking] == [(act, 1.0)]
    assert (p.text, p.entities, p.also) == (title, (), None)
    assert engine.read == [], "a tap is never read by the model"


def test_a_time_tap_carries_the_hour_as_the_engine_names_a_typed_one() -> None:
    detected, _ = read("time:19:00", "19:00")
    assert (detected.payload.intent, detected.payload.act) == ("agendar_cita", None)
    typed = [(e.entity, e.value, e.start, e.end, e.role) for e in entities("19:00")]
    assert shape(detected) == typed == [("hora", "19:00", 0, 5, "explicit")]
    assert detected.payload.entities[0].extractor == TAP_EXTRACTOR


def test_a_slot_tap_carries_the_day_then_the_time() -> None:
    detected, _ = read("slot:2026-12-03T07:00", "07:00")
    assert detected.payload.intent == "agendar_cita"
    assert shape(detected) == [("fecha", "2026-12-03", None, None, None), ("hora", "07:00", 0, 5, "explicit")]
    assert [e.value for e in entities("el 3 de diciembre") if e.entity == "fecha"] == ["2026-12-03"]


@pytest.mark.parametrize(("payload", "title", "intent", "entity"), [
    ("date:2026-12-03", "Jue 3 dic", "agendar_cita", ("fecha", "2026-12-03", None, None, None)),
    ("package:pack-10", "Pack 10 clases", "pagar_servicio", ("paquete", "pack-10", None, None, None)),
    ("booking:BK-4821", "Vie 27 nov · 19:00", "cancelar_cita", ("referencia", "BK-4821", None, None, None)),
])
def test_a_value_tap_asks_what_the_value_was_offered_for(payload: str, title: str, intent: str,
                                                         entity: tuple[Any, ...]) -> None:
    detected, engine = read(payload, title)
    assert (detected.payload.intent, detected.payload.confidence, detected.payload.source) == (intent, 1.0, "button")
    assert shape(detected) == [entity]
    assert engine.read == []


def test_the_booking_code_is_shaped_as_the_engine_reads_a_typed_one() -> None:
    assert [(e.entity, e.value) for e in entities("reserva BK-4821")] == [("referencia", "BK-4821")]


def test_an_intent_tap_is_that_intent() -> None:
    detected, _ = read("intent:consultar_horarios", "Consultar horarios")
    p = detected.payload
    assert (p.intent, p.confidence, p.entities, p.act, p.text) == ("consultar_horarios", 1.0, (), None,
                                                                   "Consultar horarios")


def test_a_tap_without_its_title_says_what_would_have_been_typed() -> None:
    assert read("act:afirmar", None)[0].payload.text == "sí"
    assert read("slot:2026-12-03T19:00", None)[0].payload.text == "2026-12-03 19:00"


def test_a_tap_has_the_id_the_stage_gives_any_reading_of_the_message() -> None:
    message = tapped_message("act:afirmar", "Sí")
    detected = detect(RecordingEngine(), message)  # type: ignore[arg-type]
    assert detected.event_id == derive_event_id(message.event_id, STAGE)
    assert detected.causation_id == message.event_id


@pytest.mark.parametrize("payload", ["yes", "act:quizás", "intent:volar", "time:25:00", "package:pack 10"])
def test_a_payload_nlu_does_not_know_is_read_from_the_text(payload: str) -> None:
    detected, engine = read(payload, "Sí, claro")
    assert engine.read == ["Sí, claro"]
    assert (detected.payload.source, detected.payload.model_version, detected.payload.intent) == (
        "builtin", "builtin-test", "fuera_de_alcance")


def test_a_throttled_tap_is_recorded_as_throttled() -> None:
    detected, engine = read("act:afirmar", "Sí", throttled=True)
    assert (detected.payload.outcome, detected.payload.intent, engine.read) == (NluOutcome.THROTTLED, None, [])


async def test_the_stage_reads_a_tap_without_asking_any_model() -> None:
    engine = RecordingEngine()
    detected = await understand(Parser(engine), tapped_message("time:07:00", "07:00"))  # type: ignore[arg-type]
    assert (detected.payload.source, detected.payload.intent, engine.read) == ("button", "agendar_cita", [])


# --- the round trip: the responder offers, the customer taps, actions decides --------------------


def offer_of(completed: ActionCompleted) -> Interactive:
    payload = completed.payload
    interactive = interactive_for(payload.reply, payload.followup, text_of(completed), payload.form_of_address)
    assert interactive is not None, f"{payload.reply.kind} offers no taps"
    return interactive


async def tap(chat: Conversation, payload: str, title: str) -> ActionCompleted:
    """The customer taps a choice 20 s later: ingress's message.received, nlu's reading, actions' decision."""
    chat.clock += dt.timedelta(seconds=20)
    chat.api.now = chat.clock  # type: ignore[attr-defined]
    detected = detect(RecordingEngine(), tapped_message(payload, title, at=chat.clock))  # type: ignore[arg-type]
    assert detected.payload.source == "button"
    completed = await chat.send(detected)
    assert completed is not None
    return completed


async def tap_title(chat: Conversation, completed: ActionCompleted, title: str) -> ActionCompleted:
    """Tap the choice titled `title` among those the responder offered with `completed`'s reply."""
    choice = next(c for c in offer_of(completed).choices if c.title == title)
    return await tap(chat, choice.id, choice.title)


def booked_times(studio: FakeStudio) -> list[tuple[str, str]]:
    return [(b["slot"]["date"], b["slot"]["time"]) for b in studio.confirmed_bookings(CUSTOMER)]


@pytest.fixture
def studio() -> FakeStudio:
    return FakeStudio(now=START)


@pytest.fixture
def chat(studio: FakeStudio) -> Conversation:
    return Conversation(studio)


async def test_a_tapped_time_is_summarised_then_a_tapped_yes_books_it(chat: Conversation,
                                                                       studio: FakeStudio) -> None:
    offered = await chat.say("quiero agendar el viernes")
    assert offered.payload.reply.kind == "offer_slots"
    assert [c.title for c in offer_of(offered).choices] == ["07:00", "09:00", "18:00", "19:00", "20:00"]
    summary = await tap_title(chat, offered, "19:00")
    reply = summary.payload.reply
    assert reply.kind == "confirm_booking" and (reply.date.isoformat(), reply.time) == (FRIDAY, "19:00")
    assert studio.calls_to(Operation.BOOK) == [], "a tap books nothing before the yes"
    assert [c.id for c in offer_of(summary).choices] == ["act:afirmar", "act:negar"]
    booked = await tap_title(chat, summary, "Sí, resérvame")
    assert (booked.payload.reply.kind, booked.payload.intent) == ("booked", "agendar_cita")
    assert booked_times(studio) == [(FRIDAY, "19:00")]


@pytest.mark.parametrize("time", ["07:00", "19:00"])
async def test_a_time_tap_is_that_exact_time_of_the_day_being_booked(chat: Conversation, time: str) -> None:
    await chat.say("quiero agendar el viernes")
    summary = await tap(chat, f"time:{time}", time)
    reply = summary.payload.reply
    assert reply.kind == "confirm_booking" and (reply.date.isoformat(), reply.time) == (FRIDAY, time)


async def test_a_tapped_no_to_the_summary_books_nothing(chat: Conversation, studio: FakeStudio) -> None:
    await chat.say("quiero agendar el viernes")
    summary = await tap(chat, "slot:2026-11-27T19:00", "19:00")
    declined = await tap_title(chat, summary, "No, cambiar algo")
    assert declined.payload.reply.kind == "ask_change"
    assert studio.calls_to(Operation.BOOK) == [] and booked_times(studio) == []
    assert chat.state.pending is None


async def test_a_time_tapped_on_an_older_offer_is_booked_on_the_day_it_showed(chat: Conversation,
                                                                               studio: FakeStudio) -> None:
    friday = await chat.say("quiero agendar el viernes")
    saturday = await chat.say("mejor el sábado")
    assert saturday.payload.reply.kind == "offer_slots" and chat.state.slots["fecha"] == SATURDAY
    summary = await tap_title(chat, friday, "19:00")
    reply = summary.payload.reply
    assert reply.kind == "confirm_booking" and (reply.date.isoformat(), reply.time) == (FRIDAY, "19:00")
    await tap(chat, "act:afirmar", "Sí, resérvame")
    assert booked_times(studio) == [(FRIDAY, "19:00")]


@pytest.mark.parametrize(("answer", "kind", "left"), [("No, consérvala", "kept", 2), ("Sí, cancélala", "cancelled", 1)])
async def test_a_tapped_booking_is_the_one_confirmed_then_kept_or_cancelled(chat: Conversation, studio: FakeStudio,
                                                                             answer: str, kind: str, left: int) -> None:
    studio.book_for(CUSTOMER, FRIDAY, "19:00")
    monday = studio.book_for(CUSTOMER, MONDAY, "07:00")
    which = await chat.say("quiero cancelar mi clase")
    assert which.payload.reply.kind == "choose_booking"
    confirm = await tap_title(chat, which, "Lun 30 nov · 07:00")
    assert confirm.payload.reply.kind == "confirm_cancel" and confirm.payload.reply.booking.code == monday["code"]
    done = await tap_title(chat, confirm, answer)
    assert done.payload.reply.kind == kind
    assert len(studio.confirmed_bookings(CUSTOMER)) == left
    assert [c.params for c in studio.calls_to(Operation.CANCEL_BOOKING)] == (
        [{"code": monday["code"]}] if kind == "cancelled" else [])


async def test_a_tapped_package_is_confirmed_with_its_price_then_bought(chat: Conversation,
                                                                        studio: FakeStudio) -> None:
    which = await chat.say("quiero comprar un paquete")
    assert which.payload.reply.kind == "choose_package"
    confirm = await tap_title(chat, which, "Pack 10 clases")
    assert confirm.payload.reply.kind == "confirm_purchase" and confirm.payload.reply.package.name == "Pack 10 clases"
    assert studio.calls_to(Operation.PURCHASE) == []
    bought = await tap_title(chat, confirm, "Sí, comprar")
    assert bought.payload.reply.kind == "payment_link"
    assert [c.params for c in studio.calls_to(Operation.PURCHASE)] == [{"package_id": "pack-10"}]


async def test_a_tapped_option_of_the_greeting_starts_that_request(chat: Conversation) -> None:
    hello = await chat.say("hola")
    assert hello.payload.reply.kind == "greeting"
    asked = await tap_title(chat, hello, "Agendar una clase")
    assert (asked.payload.reply.kind, chat.state.flow) == ("ask_date", "agendar_cita")


async def test_a_tapped_yes_after_no_bookings_asks_for_the_day(chat: Conversation) -> None:
    none = await chat.say("quiero cancelar mi clase")
    assert none.payload.reply.kind == "no_bookings"
    asked = await tap_title(chat, none, "Sí, agendar una")
    assert asked.payload.reply.kind == "ask_date"
