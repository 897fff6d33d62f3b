"""cancelar_cita: pick the booking, confirm with yes/no, cancel (or keep it)."""

from __future__ import annotations

import pytest

from contracts import ActionOutcome, derive_event_id
from services.actions.adapters.business_api import BusinessApiError
from services.actions.adapters.endpoints import Operation
from tests.unit.actions.conversation import CUSTOMER, Conversation, text_of
from tests.unit.actions.fake_studio import FakeStudio

FRIDAY, MONDAY, TUESDAY = "2026-11-27", "2026-11-30", "2026-12-01"


async def test_the_only_booking_is_confirmed_then_cancelled(chat: Conversation, studio: FakeStudio) -> None:
    studio.book_for(CUSTOMER, FRIDAY, "19:00")
    asked = await chat.say("quiero cancelar mi clase")
    payload = asked.payload
    assert (payload.outcome, payload.reply.kind) == (ActionOutcome.NEEDS_CONFIRMATION, "confirm_cancel")
    assert text_of(asked) == ("¿Confirmas que cancelo tu clase del viernes 27 de noviembre a las 19:00 (BK-4821)? "
                              "Responde «sí» o «no».")
    assert chat.state.pending is not None and chat.state.pending.action == "cancel_booking"
    assert {k: chat.state.pending.params[k] for k in ("code", "date", "time")} == {
        "code": "BK-4821", "date": "2026-11-27", "time": "19:00"}
    assert studio.calls_to(Operation.LIST_BOOKINGS)[0].client_phone == CUSTOMER

    done = await chat.say("sí")
    assert (done.payload.outcome, done.payload.reply.kind) == (ActionOutcome.SUCCEEDED, "cancelled")
    assert done.payload.intent == "cancelar_cita"
    assert studio.confirmed_bookings(CUSTOMER) == []
    [call] = studio.calls_to(Operation.CANCEL_BOOKING)
    assert call.params == {"code": "BK-4821"}
    assert call.idempotency_key == derive_event_id(chat.events[-2].event_id, "actions:cancel")
    assert text_of(done).startswith("Listo, cancelé tu clase del viernes 27 de noviembre a las 19:00")
    assert chat.state.flow is None and chat.state.pending is None


@pytest.mark.parametrize("yes", ["sí", "si", "dale", "ok", "va", "claro", "confirmo", "👍", "sí, cancélala",
                                 "Sí, por favor"])
async def test_yes_words_cancel(chat: Conversation, studio: FakeStudio, yes: str) -> None:
    studio.book_for(CUSTOMER, FRIDAY, "19:00")
    await chat.say("cancela mi reserva")
    done = await chat.say(yes)
    assert done.payload.reply.kind == "cancelled", text_of(done)
    assert studio.confirmed_bookings(CUSTOMER) == []


@pytest.mark.parametrize("no", ["no", "mejor no", "nel", "no, gracias", "👎", "eh no, déjala así", "todavía no",
                                "ni de broma"])
async def test_no_words_keep_the_booking(chat: Conversation, studio: FakeStudio, no: str) -> None:
    studio.book_for(CUSTOMER, FRIDAY, "19:00")
    await chat.say("cancela mi reserva")
    kept = await chat.say(no)
    assert (kept.payload.outcome, kept.payload.reply.kind) == (ActionOutcome.CANCELLED, "kept"), text_of(kept)
    assert text_of(kept) == ("Perfecto, conservo tu clase del viernes 27 de noviembre a las 19:00. "
                             "¡Nos vemos en clase! 💪")
    assert len(studio.confirmed_bookings(CUSTOMER)) == 1 and studio.calls_to(Operation.CANCEL_BOOKING) == []
    assert chat.state.flow is None


@pytest.mark.parametrize("unclear", ["cancela eso no", "che, ¿sabés si va a llover?", "¿y si llueve?"])
async def test_a_message_that_is_not_a_clear_yes_never_cancels(chat: Conversation, studio: FakeStudio,
                                                               unclear: str) -> None:
    studio.book_for(CUSTOMER, FRIDAY, "19:00")
    await chat.say("cancela mi reserva")
    answer = await chat.say(unclear)
    assert answer.payload.reply.kind != "cancelled", text_of(answer)
    assert len(studio.confirmed_bookings(CUSTOMER)) == 1 and studio.calls_to(Operation.CANCEL_BOOKING) == []
    assert chat.state.pending is not None, "the question stays pending"


@pytest.fixture
def three_bookings(studio: FakeStudio) -> None:
    for date, time in ((FRIDAY, "19:00"), (MONDAY, "09:00"), (TUESDAY, "19:00")):
        studio.book_for(CUSTOMER, date, time)


@pytest.mark.parametrize(("pick", "code"), [("la del lunes", "BK-4822"), ("BK-4823", "BK-4823"),
                                            ("la primera", "BK-4821"), ("la del martes a las 7", "BK-4823")])
@pytest.mark.usefixtures("three_bookings")
async def test_several_bookings_are_listed_and_one_is_picked(chat: Conversation, studio: FakeStudio, pick: str,
                                                             code: str) -> None:
    listed = await chat.say("quiero cancelar una clase")
    assert listed.payload.reply.kind == "choose_booking"
    assert [o.ref for o in chat.state.offered] == ["BK-4821", "BK-4822", "BK-4823"]
    assert "• viernes 27 de noviembre a las 19:00 (Pilates Reformer, BK-4821)" in text_of(listed)
    asked = await chat.say(pick)
    assert asked.payload.reply.kind == "confirm_cancel", text_of(asked)
    assert asked.payload.reply.booking.code == code
    await chat.say("sí")
    assert [b["code"] for b in studio.bookings if b["status"] == "cancelled"] == [code]


@pytest.mark.usefixtures("three_bookings")
async def test_the_day_in_the_request_picks_the_booking(chat: Conversation) -> None:
    asked = await chat.say("quiero cancelar mi clase del lunes")
    assert asked.payload.reply.kind == "confirm_cancel" and asked.payload.reply.booking.code == "BK-4822"


@pytest.mark.usefixtures("three_bookings")
async def test_a_correction_while_confirming_asks_again_for_the_other_booking(chat: Conversation) -> None:
    await chat.say("quiero cancelar mi clase del lunes")
    asked = await chat.say("no, la del martes")
    assert asked.payload.reply.kind == "confirm_cancel" and asked.payload.reply.booking.code == "BK-4823"


@pytest.mark.usefixtures("three_bookings")
async def test_a_day_without_booking_lists_them(chat: Conversation) -> None:
    listed = await chat.say("cancela mi clase del sábado")
    assert listed.payload.reply.kind == "choose_booking" and listed.payload.reply.reason == "no_match"
    assert text_of(listed).startswith("No encontré una reserva para el sábado 28 de noviembre entre tus próximas")


async def test_nothing_to_cancel(chat: Conversation) -> None:
    none = await chat.say("quiero cancelar mi clase")
    assert none.payload.reply.kind == "no_bookings" and chat.state.flow is None
    assert text_of(none) == "No tienes clases reservadas próximamente. ¿Quieres agendar una?"


async def test_an_unclear_answer_repeats_the_question(chat: Conversation, studio: FakeStudio) -> None:
    studio.book_for(CUSTOMER, FRIDAY, "19:00")
    await chat.say("quiero cancelar mi clase")
    again = await chat.say("mmm a ver")
    assert again.payload.reply.kind == "confirm_cancel" and again.payload.reply.not_understood
    assert text_of(again).startswith("Perdona, no te entendí. ¿Confirmas que cancelo")
    assert chat.state.pending is not None


async def test_another_question_while_confirming_is_answered_then_the_cancellation_resumes(
        chat: Conversation, studio: FakeStudio) -> None:
    studio.book_for(CUSTOMER, FRIDAY, "19:00")
    await chat.say("quiero cancelar mi clase")
    answered = await chat.say("¿qué paquetes tienen?")
    assert answered.payload.reply.kind == "packages" and answered.payload.followup is not None
    assert text_of(answered).endswith("Sigamos con la cancelación. ¿Confirmas que cancelo tu clase del viernes 27 de "
                                      "noviembre a las 19:00 (BK-4821)?")
    assert "¿Te gustaría comprar alguno" not in text_of(answered), "one question per message"
    assert chat.state.pending is not None and chat.state.flow == "cancelar_cita", "the question stays pending"
    assert studio.confirmed_bookings(CUSTOMER) != []
    await chat.say("sí")
    assert studio.confirmed_bookings(CUSTOMER) == []


async def test_a_class_that_already_started_cannot_be_cancelled(chat: Conversation, studio: FakeStudio) -> None:
    studio.book_for(CUSTOMER, FRIDAY, "19:00")
    await chat.say("quiero cancelar mi clase")
    studio.fail_once(Operation.CANCEL_BOOKING, BusinessApiError("conflict", "started", status=409,
                                                                code="booking_in_past"))
    late = await chat.say("sí")
    assert (late.payload.outcome, late.payload.reply.kind) == (ActionOutcome.FAILED, "cancel_too_late")
    assert late.payload.error is not None and late.payload.error.code == "booking_in_past"


async def test_cancelling_while_the_api_is_down_keeps_the_question(chat: Conversation, studio: FakeStudio) -> None:
    studio.book_for(CUSTOMER, FRIDAY, "19:00")
    await chat.say("quiero cancelar mi clase")
    studio.fail_once(Operation.CANCEL_BOOKING, BusinessApiError("unavailable", "timeout", code="timeout"))
    failed = await chat.say("sí")
    assert failed.payload.outcome is ActionOutcome.FAILED and failed.payload.reply.kind == "api_error"
    assert chat.state.pending is not None, "a later yes can still cancel"
    await chat.say("sí")
    assert studio.confirmed_bookings(CUSTOMER) == []
