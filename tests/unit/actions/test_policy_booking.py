"""agendar_cita: day → free times → time → a summary to confirm → booking, with NLU's recorded readings.

The conversation starts on Wednesday 25 November 2026 at 15:00 in Mexico City: "el viernes" is
the 27th, "el sábado" the 28th, "el domingo" the 29th (no classes), "mañana" the 26th. Weekday
classes are at 07:00, 09:00, 18:00, 19:00 and 20:00 (none at 08:00); Saturday at 07:00 and 09:00.
"""

from __future__ import annotations

import pytest

from contracts import ActionOutcome, derive_event_id
from services.actions.adapters.business_api import BusinessApiError
from services.actions.adapters.endpoints import Operation
from tests.unit.actions.conversation import CUSTOMER, Conversation, text_of
from tests.unit.actions.fake_studio import FakeStudio

THURSDAY, FRIDAY, SATURDAY = "2026-11-26", "2026-11-27", "2026-11-28"


def booked_times(studio: FakeStudio) -> list[tuple[str, str]]:
    return [(b["slot"]["date"], b["slot"]["time"]) for b in studio.confirmed_bookings(CUSTOMER)]


async def test_asks_the_day_offers_the_free_times_summarises_then_books(chat: Conversation,
                                                                       studio: FakeStudio) -> None:
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

    summary = await chat.say("a las 7")
    assert (summary.payload.outcome, summary.payload.reply.kind) == (ActionOutcome.NEEDS_CONFIRMATION,
                                                                     "confirm_booking")
    assert text_of(summary) == "Te reservo Mat Pilates el viernes 27 de noviembre a las 07:00. ¿Confirmas?"
    assert studio.calls_to(Operation.BOOK) == [], "nothing is booked before the yes"
    assert chat.state.pending is not None and chat.state.pending.action == "book"

    booked = await chat.say("sí")
    payload = booked.payload
    assert (payload.outcome, payload.action, payload.reply.kind) == (ActionOutcome.SUCCEEDED, "book", "booked")
    assert payload.reply.code == "BK-4821" and payload.intent == "agendar_cita"
    assert "viernes 27 de noviembre a las 07:00" in text_of(booked) and "BK-4821" in text_of(booked)
    assert booked_times(studio) == [(FRIDAY, "07:00")]
    call = studio.calls_to(Operation.BOOK)[0]
    assert call.client_phone == CUSTOMER
    assert call.idempotency_key == derive_event_id(chat.events[-2].event_id, "actions:book")
    assert chat.state.flow is None and chat.state.awaiting is None and chat.state.pending is None


@pytest.mark.parametrize(("answer", "time"), [("a las 7", "07:00"), ("la de las 19", "19:00"),
                                              ("la primera", "07:00"), ("la última", "20:00"), ("7", "07:00"),
                                              ("a las 6 de la tarde", "18:00"), ("las 9", "09:00"),
                                              ("a las 8", "20:00"), ("la de las ocho de la noche", "20:00")])
async def test_the_time_can_be_said_many_ways(chat: Conversation, studio: FakeStudio, answer: str, time: str) -> None:
    await chat.say("quiero agendar el viernes")
    summary = await chat.say(answer)
    assert summary.payload.reply.kind == "confirm_booking", text_of(summary)
    assert summary.payload.reply.time == time
    await chat.say("sí")
    assert booked_times(studio) == [(FRIDAY, time)]


@pytest.mark.parametrize("yes", ["sí", "simón", "de una", "sip porfa", "hágale", "ándale pues", "obvio", "👍🏻",
                                 "dale", "va", "sale", "confirmo", "claro que sí", "perfecto"])
async def test_yes_the_way_people_say_it_books(chat: Conversation, studio: FakeStudio, yes: str) -> None:
    await chat.say("quiero reservar el viernes a las 7 de la noche")
    booked = await chat.say(yes)
    assert booked.payload.reply.kind == "booked", text_of(booked)
    assert booked_times(studio) == [(FRIDAY, "19:00")]


async def test_everything_at_once_goes_straight_to_the_summary_with_the_package(chat: Conversation,
                                                                                studio: FakeStudio) -> None:
    studio.paid_package_for(CUSTOMER, "pack-10")
    summary = await chat.say("mañana a las 6 el pack de 10")
    assert summary.payload.reply.kind == "confirm_booking"
    assert text_of(summary) == ("Te reservo Pilates Reformer el jueves 26 de noviembre a las 18:00, con una sesión de "
                                "tu Pack 10 clases (te quedarán 9). ¿Confirmas?")
    booked = await chat.say("sí")
    assert booked.payload.reply.kind == "booked"
    [booking] = studio.confirmed_bookings(CUSTOMER)
    assert (booking["slot"]["date"], booking["slot"]["time"], booking["package_id"]) == (THURSDAY, "18:00", "pack-10")
    assert "Pack 10 clases" in text_of(booked)


async def test_a_package_named_but_not_held_is_never_claimed(chat: Conversation, studio: FakeStudio) -> None:
    summary = await chat.say("mañana a las 6 el pack de 10")
    assert text_of(summary) == "Te reservo Pilates Reformer el jueves 26 de noviembre a las 18:00. ¿Confirmas?"
    await chat.say("sí")
    assert studio.confirmed_bookings(CUSTOMER)[0]["package_id"] is None


async def test_a_booking_and_a_price_question_in_one_message(chat: Conversation, studio: FakeStudio) -> None:
    both = await chat.say("Hola! Quiero reservar el lunes a las 9 de la mañana y tb saber cuanto vale el bono de "
                          "10 clases")
    assert (both.payload.reply.kind, both.payload.followup.kind if both.payload.followup else None) == (
        "packages", "confirm_booking")
    assert text_of(both) == ("Pack 10 clases cuesta $2,000 MXN: 10 clases, vigencia de 90 días.\n\n"
                             "Te reservo Pilates Reformer el lunes 30 de noviembre a las 09:00. ¿Confirmas?")
    await chat.say("sí")
    assert booked_times(studio) == [("2026-11-30", "09:00")]


async def test_the_summary_names_the_package_the_customer_holds(chat: Conversation, studio: FakeStudio) -> None:
    studio.paid_package_for(CUSTOMER, "pack-5")
    summary = await chat.say("quiero reservar el viernes a las 9")
    assert "con una sesión de tu Pack 5 clases" in text_of(summary)
    await chat.say("sí")
    assert studio.confirmed_bookings(CUSTOMER)[0]["package_id"] == "pack-5"


async def test_an_explicit_part_of_day_is_never_overridden(chat: Conversation, studio: FakeStudio) -> None:
    no_class = await chat.say("quiero agendar mañana a las 8 de la mañana")
    reply = no_class.payload.reply
    assert (reply.kind, reply.reason, reply.requested_time) == ("offer_slots", "no_class_at", "08:00")
    assert text_of(no_class).startswith("El jueves 26 de noviembre no tenemos clase a las 08:00.")
    assert [s.time for s in reply.slots] == ["07:00", "09:00", "18:00"], "the nearest times that day"
    assert "20:00" not in text_of(no_class)
    assert studio.calls_to(Operation.BOOK) == [] and chat.state.pending is None
    summary = await chat.say("a las 9 entonces")
    assert summary.payload.reply.kind == "confirm_booking" and summary.payload.reply.time == "09:00"


async def test_a_part_of_day_said_after_a_bare_hour_corrects_the_summary(chat: Conversation,
                                                                          studio: FakeStudio) -> None:
    summary = await chat.say("quiero reservar el viernes a las 8")
    assert summary.payload.reply.time == "20:00", "a bare hour may be the evening"
    corrected = await chat.say("no, de la mañana")
    assert (corrected.payload.reply.kind, corrected.payload.reply.reason) == ("offer_slots", "no_class_at")
    assert studio.calls_to(Operation.BOOK) == []


async def test_a_change_edits_the_summary_instead_of_starting_over(chat: Conversation, studio: FakeStudio) -> None:
    await chat.say("quiero reservar el viernes a las 7 de la noche")
    changed = await chat.say("mejor a las 9")
    assert changed.payload.reply.kind == "confirm_booking"
    assert (changed.payload.reply.date.isoformat(), changed.payload.reply.time) == (FRIDAY, "09:00")
    assert text_of(changed).startswith("Listo, lo cambio. Te reservo Pilates Reformer el viernes 27 de noviembre")
    moved = await chat.say("mejor el jueves")
    assert (moved.payload.reply.date.isoformat(), moved.payload.reply.time) == (THURSDAY, "09:00")
    assert studio.calls_to(Operation.BOOK) == []
    await chat.say("sí")
    assert booked_times(studio) == [(THURSDAY, "09:00")]


async def test_a_no_to_the_summary_asks_what_to_change(chat: Conversation, studio: FakeStudio) -> None:
    await chat.say("quiero reservar el viernes a las 7 de la noche")
    asked = await chat.say("no")
    assert asked.payload.reply.kind == "ask_change" and chat.state.flow == "agendar_cita"
    assert studio.calls_to(Operation.BOOK) == []
    summary = await chat.say("el sábado a las 9")
    assert summary.payload.reply.kind == "confirm_booking"
    assert (summary.payload.reply.date.isoformat(), summary.payload.reply.time) == (SATURDAY, "09:00")
    dropped = await chat.say("mejor no, olvídalo")
    assert dropped.payload.reply.kind == "ask_change" or dropped.payload.reply.kind == "abandoned"
    assert studio.calls_to(Operation.BOOK) == []


async def test_a_no_then_nothing_to_change_drops_the_booking(chat: Conversation, studio: FakeStudio) -> None:
    await chat.say("quiero reservar el viernes a las 7 de la noche")
    await chat.say("no")
    dropped = await chat.say("olvídalo")
    assert dropped.payload.reply.kind == "abandoned" and chat.state.flow is None
    assert studio.calls_to(Operation.BOOK) == []


async def test_an_awaited_value_fills_the_slot_whatever_nlu_called_it(chat: Conversation) -> None:
    await chat.say("quiero agendar")
    offered = await chat.say("el viernes", intent="consultar_historial", confidence=0.97,
                             entities=[("fecha", FRIDAY, "viernes")])
    assert offered.payload.reply.kind == "offer_slots" and chat.state.slots == {"fecha": FRIDAY}
    summary = await chat.say("la de las 19", intent="cancelar_cita", confidence=0.72, entities=[("hora", "19:00")])
    assert summary.payload.reply.kind == "confirm_booking"


async def test_changing_the_day_replaces_it(chat: Conversation, studio: FakeStudio) -> None:
    await chat.say("quiero agendar el viernes")
    changed = await chat.say("mejor el sábado")
    assert changed.payload.reply.kind == "offer_slots"
    assert chat.state.slots == {"fecha": SATURDAY}
    assert [o.label for o in chat.state.offered] == ["07:00", "09:00"]
    await chat.say("la primera")
    await chat.say("sí")
    assert booked_times(studio) == [(SATURDAY, "07:00")]


async def test_a_full_class_offers_the_other_free_times_of_that_day(chat: Conversation, studio: FakeStudio) -> None:
    studio.fill(FRIDAY, "19:00")
    full = await chat.say("quiero reservar el viernes a las 7 pm")
    assert full.payload.reply.kind == "slot_full"
    assert [o.label for o in chat.state.offered] == ["07:00", "09:00", "18:00", "20:00"]
    assert text_of(full).startswith("Ese horario ya se llenó")
    assert (chat.state.awaiting, chat.state.slots) == ("hora", {"fecha": FRIDAY})
    await chat.say("a las 8 de la noche")
    await chat.say("sí")
    assert booked_times(studio) == [(FRIDAY, "20:00")]


async def test_a_class_that_fills_up_before_the_summary_says_so(chat: Conversation, studio: FakeStudio) -> None:
    await chat.say("quiero agendar el viernes")
    studio.fill(FRIDAY, "19:00")  # someone else took the last place meanwhile
    full = await chat.say("la de las 19")
    assert (full.payload.outcome, full.payload.reply.kind) == (ActionOutcome.NEEDS_INPUT, "slot_full")
    assert "19:00" not in [o.label for o in chat.state.offered] and chat.state.awaiting == "hora"


async def test_a_409_slot_full_on_the_yes_offers_the_other_times(chat: Conversation, studio: FakeStudio) -> None:
    await chat.say("quiero agendar el viernes")
    await chat.say("la de las 18")
    studio.fail_once(Operation.BOOK, BusinessApiError("conflict", "that class is full", status=409,
                                                      code="slot_full"))
    full = await chat.say("sí")
    payload = full.payload
    assert (payload.outcome, payload.reply.kind) == (ActionOutcome.FAILED, "slot_full")
    assert payload.error is not None and (payload.error.kind, payload.error.code) == ("conflict", "slot_full")
    assert "18:00" not in [o.label for o in chat.state.offered] and chat.state.awaiting == "hora"
    assert text_of(full).startswith("Ese horario ya se llenó 😕: la clase del viernes 27 de noviembre a las 18:00")


async def test_a_day_without_free_classes_asks_for_another(chat: Conversation) -> None:
    none = await chat.say("quiero agendar el domingo")
    assert none.payload.reply.kind == "no_slots"
    assert text_of(none) == ("El domingo 29 de noviembre estamos cerrados; volvemos a abrir el lunes 30 de noviembre a "
                             "las 07:00. ¿Te gustaría otro día?")
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
    assert text_of(no_class).startswith("El viernes 27 de noviembre no tenemos clase a las 10:00.")


async def test_the_time_first_then_the_day(chat: Conversation, studio: FakeStudio) -> None:
    asked = await chat.say("quiero una clase a las 9")
    assert asked.payload.reply.kind == "ask_date" and chat.state.slots["hora"] == "09:00"
    assert "a la clase de las 09:00" in text_of(asked)
    summary = await chat.say("el viernes")
    assert summary.payload.reply.kind == "confirm_booking" and summary.payload.reply.time == "09:00"
    await chat.say("sí")
    assert booked_times(studio) == [(FRIDAY, "09:00")]


async def test_booking_when_the_api_is_down_keeps_the_question(chat: Conversation, studio: FakeStudio) -> None:
    await chat.say("quiero agendar el viernes a las 7 de la mañana")
    studio.failing[Operation.BOOK] = BusinessApiError("unavailable", "ConnectError", code="unreachable")
    failed = await chat.say("sí")
    payload = failed.payload
    assert (payload.outcome, payload.reply.kind) == (ActionOutcome.FAILED, "api_error")
    assert payload.error is not None and payload.error.kind == "unavailable"
    assert text_of(failed).startswith("No pude comunicarme con el sistema de reservas, inténtalo en unos minutos")
    assert (chat.state.flow, chat.state.pending is not None) == ("agendar_cita", True)
    del studio.failing[Operation.BOOK]
    booked = await chat.say("sí")
    assert booked.payload.reply.kind == "booked"


async def test_a_class_already_booked_is_not_booked_again(chat: Conversation, studio: FakeStudio) -> None:
    studio.book_for(CUSTOMER, FRIDAY, "07:00")
    await chat.say("quiero reservar el viernes a las 7 de la mañana")
    again = await chat.say("sí")
    assert (again.payload.outcome, again.payload.reply.kind) == (ActionOutcome.FAILED, "already_booked")
    assert len(studio.confirmed_bookings(CUSTOMER)) == 1 and chat.state.flow is None


async def test_yes_and_another_request_confirms_and_answers_it(chat: Conversation, studio: FakeStudio) -> None:
    await chat.say("quiero reservar el viernes a las 9")
    both = await chat.say("sí, y también quiero ver precios")
    assert (both.payload.reply.kind, both.payload.followup.kind if both.payload.followup else None) == (
        "booked", "packages")
    assert booked_times(studio) == [(FRIDAY, "09:00")]
    assert "BK-4821" in text_of(both) and "Pack 10 clases" in text_of(both)
    assert {o.kind for o in chat.state.offered} == {"package"}


async def test_asking_whether_there_is_room_answers_yes_and_offers_to_book(chat: Conversation,
                                                                           studio: FakeStudio) -> None:
    answer = await chat.say("¿hay lugar el viernes a las 7 de la noche?")
    reply = answer.payload.reply
    assert (reply.kind, reply.asked, reply.time) == ("confirm_booking", True, "19:00")
    assert text_of(answer).startswith("¡Sí hay lugar! Pilates Reformer el viernes 27 de noviembre a las 19:00")
    assert studio.calls_to(Operation.BOOK) == []
    await chat.say("sí")
    assert booked_times(studio) == [(FRIDAY, "19:00")]


async def test_a_part_of_day_without_an_hour_offers_that_part_of_the_day(chat: Conversation) -> None:
    offered = await chat.say("quiero una clase el viernes en la tarde")
    assert offered.payload.reply.kind == "offer_slots"
    assert [s.time for s in offered.payload.reply.slots] == ["18:00", "19:00"]
    morning = await chat.say("mejor el lunes en la mañana")
    assert [s.time for s in morning.payload.reply.slots] == ["07:00", "09:00"]
