"""agendar_cita: day → free times → time → booking, with the real NLU reading the customer's words.

The conversation starts on Wednesday 25 November 2026 at 15:00 in Mexico City: "el viernes" is
the 27th, "el sábado" the 28th, "el domingo" the 29th (no classes), "mañana" the 26th.
"""

from __future__ import annotations

import pytest

from contracts import ActionOutcome, derive_event_id
from services.actions.adapters.business_api import BusinessApiError
from services.actions.adapters.endpoints import Operation
from tests.unit.actions.conversation import CUSTOMER, Conversation, text_of
from tests.unit.actions.fake_studio import FakeStudio

FRIDAY, SATURDAY = "2026-11-27", "2026-11-28"


async def test_asks_the_day_offers_the_free_times_then_books(chat: Conversation, studio: FakeStudio) -> None:
    asked = await chat.say("quiero agendar")
    assert (asked.payload.outcome, asked.payload.reply.kind) == (ActionOutcome.NEEDS_INPUT, "ask_date")
    assert (chat.state.flow, chat.state.awaiting) == ("agendar_cita", "fecha")
    assert text_of(asked).startswith("¡Con gusto! ¿Qué día te gustaría venir?")

    offered = await chat.say("el viernes")
    assert offered.payload.reply.kind == "offer_slots"
    assert studio.calls_to(Operation.LIST_SLOTS)[-1].params == {"date": FRIDAY}
    assert [o.label for o in chat.state.offered] == ["07:00", "09:00", "18:00", "19:00", "20:00"]
    assert (chat.state.awaiting, chat.state.slots) == ("hora", {"fecha": FRIDAY})
    assert "Para el viernes 27 de noviembre hay lugar" in text_of(offered)

    booked = await chat.say("a las 7")
    payload = booked.payload
    assert (payload.outcome, payload.action, payload.reply.kind) == (ActionOutcome.SUCCEEDED, "book", "booked")
    assert payload.reply.code == "BK-4821"
    assert payload.intent == "agendar_cita"
    assert "viernes 27 de noviembre a las 07:00" in text_of(booked) and "BK-4821" in text_of(booked)
    assert [b["slot"]["time"] for b in studio.confirmed_bookings(CUSTOMER)] == ["07:00"]
    call = studio.calls_to(Operation.BOOK)[0]
    assert call.client_phone == CUSTOMER
    assert call.idempotency_key == derive_event_id(chat.events[-2].event_id, "actions:book")
    assert chat.state.flow is None and chat.state.awaiting is None and payload.dialogue is not None


@pytest.mark.parametrize(("answer", "time"), [("a las 7", "07:00"), ("la de las 19", "19:00"),
                                              ("la primera", "07:00"), ("la última", "20:00"), ("7", "07:00"),
                                              ("a las 6 de la tarde", "18:00"), ("las 9", "09:00")])
async def test_the_time_can_be_said_many_ways(chat: Conversation, studio: FakeStudio, answer: str, time: str) -> None:
    await chat.say("quiero agendar el viernes")
    booked = await chat.say(answer)
    assert booked.payload.reply.kind == "booked", text_of(booked)
    assert [b["slot"]["time"] for b in studio.confirmed_bookings(CUSTOMER)] == [time]


async def test_several_values_at_once_book_in_one_turn(chat: Conversation, studio: FakeStudio) -> None:
    booked = await chat.say("mañana a las 6 el pack de 10")
    assert booked.payload.reply.kind == "booked"
    [booking] = studio.confirmed_bookings(CUSTOMER)
    assert (booking["slot"]["date"], booking["slot"]["time"], booking["package_id"]) == (
        "2026-11-26", "18:00", "pack-10")
    assert "Pack 10 clases" in text_of(booked)


async def test_an_awaited_value_fills_the_slot_whatever_nlu_called_it(chat: Conversation) -> None:
    await chat.say("quiero agendar")
    offered = await chat.say("el viernes", intent="consultar_historial", confidence=0.97,
                             entities=[("fecha", FRIDAY, "viernes")])
    assert offered.payload.reply.kind == "offer_slots" and chat.state.slots == {"fecha": FRIDAY}
    booked = await chat.say("la de las 19", intent="cancelar_cita", confidence=0.72, entities=[("hora", "19:00")])
    assert booked.payload.reply.kind == "booked"


async def test_changing_the_day_replaces_it(chat: Conversation, studio: FakeStudio) -> None:
    await chat.say("quiero agendar el viernes")
    changed = await chat.say("mejor el sábado")
    assert changed.payload.reply.kind == "offer_slots"
    assert chat.state.slots == {"fecha": SATURDAY}
    assert [o.label for o in chat.state.offered] == ["07:00", "09:00"]
    await chat.say("la primera")
    [booking] = studio.confirmed_bookings(CUSTOMER)
    assert (booking["slot"]["date"], booking["slot"]["time"]) == (SATURDAY, "07:00")


async def test_a_full_class_offers_the_other_free_times_of_that_day(chat: Conversation, studio: FakeStudio) -> None:
    studio.fill(FRIDAY, "19:00")
    full = await chat.say("quiero reservar el viernes a las 7 pm")
    assert full.payload.reply.kind == "slot_full"
    assert [o.label for o in chat.state.offered] == ["07:00", "09:00", "18:00", "20:00"]
    assert text_of(full).startswith("Ese horario ya se llenó")
    assert (chat.state.awaiting, chat.state.slots) == ("hora", {"fecha": FRIDAY})
    assert studio.calls_to(Operation.BOOK) == []
    await chat.say("a las 8 de la noche")
    assert [b["slot"]["time"] for b in studio.confirmed_bookings(CUSTOMER)] == ["20:00"]


async def test_a_class_that_fills_up_before_the_booking_says_so(chat: Conversation, studio: FakeStudio) -> None:
    await chat.say("quiero agendar el viernes")
    studio.fill(FRIDAY, "19:00")  # someone else took the last place meanwhile
    full = await chat.say("la de las 19")
    assert (full.payload.outcome, full.payload.reply.kind) == (ActionOutcome.NEEDS_INPUT, "slot_full")
    assert "19:00" not in [o.label for o in chat.state.offered] and chat.state.awaiting == "hora"


async def test_a_409_slot_full_from_the_booking_offers_the_other_times(chat: Conversation,
                                                                       studio: FakeStudio) -> None:
    await chat.say("quiero agendar el viernes")
    studio.fail_once(Operation.BOOK, BusinessApiError("conflict", "that class is full", status=409,
                                                      code="slot_full"))
    full = await chat.say("la de las 18")
    payload = full.payload
    assert (payload.outcome, payload.reply.kind) == (ActionOutcome.FAILED, "slot_full")
    assert payload.error is not None and (payload.error.kind, payload.error.code) == ("conflict", "slot_full")
    assert "18:00" not in [o.label for o in chat.state.offered] and chat.state.awaiting == "hora"
    assert text_of(full).startswith("Ese horario ya se llenó 😕: la clase del viernes 27 de noviembre a las 18:00")


async def test_a_day_without_free_classes_asks_for_another(chat: Conversation) -> None:
    none = await chat.say("quiero agendar el domingo")
    assert none.payload.reply.kind == "no_slots"
    assert text_of(none) == "El domingo 29 de noviembre no hay clases con lugares disponibles. ¿Te gustaría otro día?"
    assert (chat.state.flow, chat.state.awaiting, chat.state.slots) == ("agendar_cita", "fecha", {})
    offered = await chat.say("el lunes")
    assert offered.payload.reply.kind == "offer_slots"


async def test_a_past_day_or_an_hour_without_class(chat: Conversation) -> None:
    await chat.say("quiero agendar")
    past = await chat.say("el 20 de noviembre de 2026")
    assert past.payload.reply.kind == "date_in_past" and chat.state.awaiting == "fecha"
    await chat.say("el viernes")
    no_class = await chat.say("a las 10")
    assert no_class.payload.reply.kind == "offer_slots"
    assert no_class.payload.reply.reason == "no_class_at"
    assert text_of(no_class).startswith("No tenemos clase a las 10:00 el viernes 27 de noviembre.")


async def test_the_time_first_then_the_day(chat: Conversation, studio: FakeStudio) -> None:
    asked = await chat.say("quiero una clase a las 9")
    assert asked.payload.reply.kind == "ask_date" and chat.state.slots == {"hora": "09:00"}
    assert "a la clase de las 09:00" in text_of(asked)
    await chat.say("el viernes")
    assert [b["slot"]["time"] for b in studio.confirmed_bookings(CUSTOMER)] == ["09:00"]


async def test_booking_when_the_api_is_down_keeps_the_flow(chat: Conversation, studio: FakeStudio) -> None:
    await chat.say("quiero agendar el viernes")
    studio.failing[Operation.BOOK] = BusinessApiError("unavailable", "ConnectError", code="unreachable")
    failed = await chat.say("a las 7")
    payload = failed.payload
    assert (payload.outcome, payload.reply.kind) == (ActionOutcome.FAILED, "api_error")
    assert payload.error is not None and payload.error.kind == "unavailable"
    assert text_of(failed).startswith("No pude comunicarme con el sistema de reservas, inténtalo en unos minutos")
    assert (chat.state.flow, chat.state.slots.get("fecha")) == ("agendar_cita", FRIDAY)
    del studio.failing[Operation.BOOK]
    booked = await chat.say("a las 7")
    assert booked.payload.reply.kind == "booked"


async def test_a_class_already_booked_is_not_booked_again(chat: Conversation, studio: FakeStudio) -> None:
    studio.book_for(CUSTOMER, FRIDAY, "07:00")
    again = await chat.say("quiero reservar el viernes a las 7")
    assert (again.payload.outcome, again.payload.reply.kind) == (ActionOutcome.FAILED, "already_booked")
    assert len(studio.confirmed_bookings(CUSTOMER)) == 1 and chat.state.flow is None
