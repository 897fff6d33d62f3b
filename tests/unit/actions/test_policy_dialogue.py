"""Across flows: interruptions and resuming, abandoning, expiry, low confidence, redelivery and replay."""

from __future__ import annotations

import pytest

from contracts import ACTION_COMPLETED, ActionCompleted, ActionOutcome, Media
from services.actions.adapters.endpoints import Operation
from services.actions.handler import ActionsDeps, handle
from services.actions.state import DialogueState, apply, fold
from tests.unit.actions.conversation import CUSTOMER, Conversation, profile_for, text_of
from tests.unit.actions.fake_studio import FakeStudio

FRIDAY = "2026-11-27"


async def test_a_question_mid_flow_is_answered_then_the_flows_question_is_asked_again(
        chat: Conversation, studio: FakeStudio) -> None:
    await chat.say("quiero agendar")
    await chat.say("el viernes")
    answered = await chat.say("¿cuánto cuesta el pack de 10?")
    followup = answered.payload.followup
    assert answered.payload.reply.kind == "packages" and followup is not None and followup.kind == "offer_slots"
    assert text_of(answered) == (
        "Pack 10 clases cuesta $2,000 MXN: 10 clases, vigencia de 90 días.\n\n"
        "Sigamos con tu reserva. ¿A qué hora te anoto el viernes 27 de noviembre? Hay lugar a las 07:00, 09:00, "
        "18:00, 19:00 o 20:00.")
    assert (chat.state.flow, chat.state.awaiting, chat.state.slots) == ("agendar_cita", "hora", {"fecha": FRIDAY})
    assert chat.state.recalled("paquete", now=chat.clock, idle_s=900) == "Pack 10 clases"

    summary = await chat.say("a las 7")
    assert summary.payload.reply.kind == "confirm_booking" and "con una sesión de tu Pack 10 clases" not in text_of(
        summary), "a package asked about is not a package held"
    await chat.say("sí")
    assert [b["slot"]["time"] for b in studio.confirmed_bookings(CUSTOMER)] == ["07:00"]


async def test_the_flow_goes_on_after_a_question(chat: Conversation, studio: FakeStudio) -> None:
    await chat.say("quiero agendar el viernes")
    await chat.say("¿qué paquetes tienen?")
    summary = await chat.say("la de las 19")
    assert summary.payload.reply.kind == "confirm_booking" and summary.payload.reply.time == "19:00"
    assert chat.state.interrupted_flow is None


async def test_declining_to_resume_drops_the_flow(chat: Conversation) -> None:
    await chat.say("quiero agendar el viernes")
    await chat.say("¿qué paquetes tienen?")
    dropped = await chat.say("no")
    assert (dropped.payload.outcome, dropped.payload.reply.kind) == (ActionOutcome.CANCELLED, "abandoned")
    assert text_of(dropped) == "Está bien, dejamos la reserva para otro momento. ¿Te ayudo con algo más?"
    assert chat.state.interrupted_flow is None and chat.state.awaiting is None


async def test_another_flow_mid_flow_then_the_first_is_offered_again(chat: Conversation,
                                                                     studio: FakeStudio) -> None:
    studio.book_for(CUSTOMER, "2026-11-30", "09:00")
    await chat.say("quiero agendar el viernes")
    asked = await chat.say("quiero cancelar mi clase del lunes")
    assert asked.payload.reply.kind == "confirm_cancel"
    assert chat.state.flow == "cancelar_cita" and chat.state.interrupted_flow is not None
    done = await chat.say("sí")
    assert done.payload.reply.kind == "cancelled" and text_of(done).endswith("¿Seguimos con tu reserva?")
    resumed = await chat.say("sí")
    assert resumed.payload.reply.kind == "offer_slots" and chat.state.slots == {"fecha": FRIDAY}


@pytest.mark.parametrize("words", ["olvídalo", "ya no", "mejor no", "cancela", "ya no quiero", "no, gracias"])
async def test_abandoning_a_flow(chat: Conversation, studio: FakeStudio, words: str) -> None:
    await chat.say("quiero agendar el viernes")
    dropped = await chat.say(words)
    assert (dropped.payload.action, dropped.payload.reply.kind) == ("abandon", "abandoned"), text_of(dropped)
    assert chat.state.flow is None and studio.calls_to(Operation.BOOK) == []


async def test_a_greeting_or_thanks_mid_flow_keeps_the_question_pending(chat: Conversation) -> None:
    await chat.say("quiero pagar el pack de 5")
    hello = await chat.say("hola")
    assert hello.payload.reply.kind == "greeting"
    assert text_of(hello).endswith("Sigamos con tu compra. ¿Confirmas la compra de Pack 5 clases por $1,100 MXN?")
    assert chat.state.pending is not None
    thanks = await chat.say("🙏")
    assert thanks.payload.reply.kind == "thanks" and chat.state.pending is not None
    goodbye = await chat.say("gracias, adiós")
    assert goodbye.payload.reply.kind == "goodbye" and chat.state.flow is None


async def test_out_of_scope_mid_flow_says_so_and_asks_again(chat: Conversation) -> None:
    await chat.say("quiero agendar el viernes")
    again = await chat.say("¿venden proteína?")
    assert again.payload.reply.kind == "out_of_scope"
    assert text_of(again).startswith("Con eso no te puedo ayudar, lo siento.\n\nSigamos con tu reserva. ¿A qué hora")
    assert (chat.state.flow, chat.state.awaiting) == ("agendar_cita", "hora")


async def test_something_unclear_mid_flow_repeats_the_question(chat: Conversation) -> None:
    await chat.say("quiero agendar el viernes")
    again = await chat.say("ummm", intent="consultar_historial", confidence=0.2)
    assert again.payload.reply.kind == "offer_slots" and again.payload.reply.not_understood
    assert text_of(again).startswith("Perdona, no te entendí. Para el viernes 27 de noviembre")
    assert (chat.state.flow, chat.state.awaiting) == ("agendar_cita", "hora")


async def test_an_idle_flow_expires_on_message_time(studio: FakeStudio) -> None:
    chat = Conversation(studio, deps=ActionsDeps(business_api=studio, flow_idle_s=600, profile=profile_for(studio)))
    await chat.say("quiero agendar el viernes")
    late = await chat.say("la primera", after_s=601)
    assert (late.payload.outcome, late.payload.reply.kind) == (ActionOutcome.CLARIFICATION, "flow_expired")
    assert text_of(late).startswith("Pasó un buen rato desde tu último mensaje, así que dejé sin terminar la "
                                    "reserva que estábamos armando.")
    assert chat.state.flow is None and studio.calls_to(Operation.BOOK) == []


async def test_a_new_request_after_expiry_is_served(studio: FakeStudio) -> None:
    chat = Conversation(studio, deps=ActionsDeps(business_api=studio, flow_idle_s=600, profile=profile_for(studio)))
    await chat.say("quiero agendar el viernes")
    fresh = await chat.say("¿qué paquetes tienen?", after_s=3600)
    assert fresh.payload.reply.kind == "packages" and fresh.payload.followup is None


async def test_a_flow_does_not_expire_within_the_idle_time(studio: FakeStudio) -> None:
    chat = Conversation(studio, deps=ActionsDeps(business_api=studio, flow_idle_s=600, profile=profile_for(studio)))
    await chat.say("quiero agendar el viernes")
    summary = await chat.say("la primera", after_s=599)
    assert summary.payload.reply.kind == "confirm_booking"


async def test_the_state_is_the_fold_of_the_events_and_survives_json(chat: Conversation) -> None:
    for text in ("hola", "quiero agendar", "el viernes", "¿qué paquetes tienen?", "sí", "mejor el sábado"):
        await chat.say(text)
    rebuilt = fold(chat.events, CUSTOMER)
    assert rebuilt == chat.state
    assert DialogueState.model_validate(chat.state.model_dump(mode="json")) == chat.state


async def test_a_redelivered_message_republishes_the_same_event_and_calls_nothing(chat: Conversation,
                                                                                   studio: FakeStudio) -> None:
    await chat.say("quiero agendar el viernes")
    event = chat.next_event("a las 7")
    first = await chat.send(event)
    calls = len(studio.calls)
    state, outputs = await handle(chat.state, event, chat.deps)
    assert state is chat.state
    assert [o.topic for o in outputs] == [ACTION_COMPLETED] and outputs[0].event == first
    assert len(studio.calls) == calls
    older = chat.events[0]
    assert isinstance(older, type(event))
    assert await handle(chat.state, older, chat.deps) == (chat.state, [])


async def test_replaying_a_message_on_a_lost_state_does_not_book_twice(chat: Conversation,
                                                                        studio: FakeStudio) -> None:
    await chat.say("quiero agendar el viernes a las 7")
    before = chat.state
    event = chat.next_event("sí")
    _, first = await handle(before, event, chat.deps)
    _, again = await handle(before, event, chat.deps)  # the worker died before its state was saved
    assert first[0].event.event_id == again[0].event.event_id
    first_event, again_event = first[0].event, again[0].event
    assert isinstance(first_event, ActionCompleted) and isinstance(again_event, ActionCompleted)
    assert first_event.payload.reply.code == again_event.payload.reply.code
    keys = {c.idempotency_key for c in studio.calls_to(Operation.BOOK)}
    assert len(keys) == 1 and len(studio.confirmed_bookings(CUSTOMER)) == 1


async def test_handle_applies_both_events_to_the_state(chat: Conversation) -> None:
    event = chat.next_event("quiero agendar")
    state, [output] = await handle(DialogueState.empty(CUSTOMER), event, chat.deps)
    assert state.applied == (event.event_id, output.event.event_id)
    assert state == apply(apply(DialogueState.empty(CUSTOMER), event), output.event)  # type: ignore[arg-type]


async def test_a_class_picked_from_a_schedule_shown_is_summarised(chat: Conversation,
                                                                       studio: FakeStudio) -> None:
    await chat.say("¿qué horarios tienen mañana?")
    summary = await chat.say("la de las 9")
    assert summary.payload.reply.kind == "confirm_booking" and str(summary.payload.reply.date) == "2026-11-26"
    await chat.say("sí")
    assert [b["slot"]["time"] for b in studio.confirmed_bookings(CUSTOMER)] == ["09:00"]


async def test_a_schedule_question_while_cancelling_keeps_the_cancellation_pending(chat: Conversation,
                                                                                   studio: FakeStudio) -> None:
    studio.book_for(CUSTOMER, "2026-11-30", "09:00")
    await chat.say("quiero cancelar mi clase")
    answered = await chat.say("¿qué horarios tienen mañana?")
    assert answered.payload.reply.kind == "schedule" and "Horarios del jueves 26 de noviembre" in text_of(answered)
    assert text_of(answered).endswith("(BK-4821)?")
    await chat.say("sí")
    assert studio.confirmed_bookings(CUSTOMER) == []


async def test_after_a_no_to_the_summary_thanks_closes_the_booking(chat: Conversation, studio: FakeStudio) -> None:
    await chat.say("quiero reservar el viernes a las 8 de la noche")
    await chat.say("mmm no, mejor después veo")
    closing = await chat.say("ya, gracias")
    assert closing.payload.reply.kind == "thanks" and closing.payload.followup is None
    assert chat.state.flow is None and studio.calls_to(Operation.BOOK) == []


async def test_a_package_named_after_the_list_is_bought(chat: Conversation, studio: FakeStudio) -> None:
    await chat.say("¿qué paquetes tienen?")
    confirm = await chat.say("dale, pasame el de 5 entonces")
    assert confirm.payload.reply.kind == "confirm_purchase" and confirm.payload.reply.package.name == "Pack 5 clases"
    priced = await chat.say("¿y el de 10 cuánto cuesta?")
    assert "$2,000 MXN" in text_of(priced) and studio.purchases == []


async def test_a_photo_with_a_caption_is_acknowledged_as_a_photo(chat: Conversation) -> None:
    event = chat.next_event("así quedó mi tapete nuevo 😍")
    event = event.model_copy(update={"payload": event.payload.model_copy(update={
        "media": (Media(url="https://example.com/p.jpg", content_type="image/jpeg"),)})})
    answer = await chat.send(event)
    assert answer is not None and answer.payload.reply.kind == "media_received"
    assert "solo puedo leer mensajes de texto" in text_of(answer)


async def test_replies_follow_the_customers_register(chat: Conversation) -> None:
    asked = await chat.say("Buenos días, por favor me actualiza el correo a andres.pulido@outlook.com")
    assert asked.payload.form_of_address == "usted"
    assert text_of(asked) == "¿Confirma que cambio su correo a andres.pulido@outlook.com?"
