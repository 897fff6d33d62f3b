"""Opting out ("baja", "no me escriban más"): confirmed once, nothing unprompted after it, writing again is consent."""

from __future__ import annotations

import pytest

from contracts import ActionCompleted, ConversationOptedIn, ConversationOptedOut, IntentDetected
from services.actions.state import fold
from tests.unit.actions.conversation import CUSTOMER, START, Conversation, text_of
from tests.unit.actions.fake_studio import FakeStudio

FRIDAY = "2026-11-27"
CONFIRMATION = "Listo, no te vamos a escribir más. Si algún día quieres volver, nos escribes y seguimos desde aquí."


def opted_out(chat: Conversation) -> list[ConversationOptedOut]:
    return [e for e in chat.outputs if isinstance(e, ConversationOptedOut)]


def opted_in(chat: Conversation) -> list[ConversationOptedIn]:
    return [e for e in chat.outputs if isinstance(e, ConversationOptedIn)]


async def test_asking_for_no_more_messages_drops_the_flow_and_is_confirmed_once(chat: Conversation) -> None:
    await chat.say("quiero agendar el viernes")
    assert chat.state.flow == "agendar_cita"
    message = chat.next_event("no me escriban más")
    confirmed = await chat.send(message)
    assert confirmed is not None and confirmed.payload.reply.kind == "opted_out"
    assert confirmed.payload.intent == "darse_de_baja" and text_of(confirmed) == CONFIRMATION
    assert confirmed.payload.received_at == message.payload.received_at, "a reply to a message: the 24 h window"
    [notice] = opted_out(chat)
    assert (notice.payload.customer, notice.payload.source, notice.payload.text) == (
        CUSTOMER, "customer", "no me escriban más")
    assert notice.causation_id == message.event_id and notice.correlation_id == message.correlation_id
    assert chat.state.opted_out and chat.state.opted_out_at == message.payload.received_at
    assert chat.state.flow is None and chat.state.slots == {}

    assert await chat.send(chat.next_event("baja")) is None, "asked again: nothing more is said"
    assert len(opted_out(chat)) == 1 and chat.state.opted_out


@pytest.mark.parametrize("text", ["STOP", "baja", "ya no quiero recibir mensajes", "dame de baja", "desuscribirme"])
async def test_every_way_of_asking_opts_out(chat: Conversation, text: str) -> None:
    await chat.say("hola")
    confirmed = await chat.say(text)
    assert confirmed.payload.reply.kind == "opted_out", text
    assert len(opted_out(chat)) == 1 and chat.state.opted_out


async def test_writing_again_opts_in_and_the_message_is_answered_as_usual(chat: Conversation) -> None:
    await chat.say("STOP")
    message = chat.next_event("¿qué paquetes tienen?", after_s=3600)
    answered = await chat.send(message)
    assert answered is not None and answered.payload.reply.kind == "packages"
    assert answered.payload.received_at == message.payload.received_at
    [notice] = opted_in(chat)
    assert (notice.payload.customer, notice.payload.text) == (CUSTOMER, "¿qué paquetes tienen?")
    assert notice.causation_id == message.event_id
    assert chat.outputs.index(notice) < chat.outputs.index(answered), "opted in before the reply goes out"
    assert not chat.state.opted_out

    await chat.say("gracias")
    assert len(opted_in(chat)) == 1, "only the first message after the opt-out opts in"


async def test_a_payment_is_not_told_while_opted_out_and_is_once_they_write_again(chat: Conversation) -> None:
    await chat.say("no me manden más mensajes")
    assert await chat.payment("paid", "Pack 10 clases") is None, "nothing unprompted to an opted-out customer"
    assert chat.state.opted_out
    assert chat.state.has_applied(chat.events[-1].event_id), "the notice is recorded: a redelivery is a no-op"

    await chat.say("hola")
    told = await chat.payment("paid", "Pack 5 clases", purchase_id="2")
    assert told is not None and told.payload.reply.kind == "payment_confirmed"
    assert told.payload.received_at is None, "unprompted: no customer message opened the window"


async def test_a_booking_waiting_for_the_payment_is_not_offered_to_an_opted_out_customer() -> None:
    studio = FakeStudio(now=START, booking_requires_package=True)
    chat = Conversation(studio)
    assert (await chat.say("quiero reservar el viernes a las 9")).payload.reply.kind == "no_credits"
    await chat.say("el de 5")
    assert (await chat.say("sí")).payload.reply.kind == "payment_link"
    assert chat.state.after_payment is not None, "the booking waits for the package being bought"
    await chat.say("baja")
    purchase = studio.purchases[-1]
    studio.settle(purchase["id"], "paid")
    assert await chat.payment("paid", "Pack 5 clases", purchase_id=str(purchase["id"])) is None
    assert chat.state.after_payment is None, "the package is paid: nobody offers that booking any more"


async def test_opting_out_is_honoured_while_a_person_has_the_conversation(chat: Conversation) -> None:
    await chat.say("quiero hablar con alguien", intent="hablar_con_humano", confidence=0.95)
    assert await chat.send(chat.next_event("¿hola?")) is None
    confirmed = await chat.say("ya no quiero recibir mensajes")
    assert confirmed.payload.reply.kind == "opted_out" and len(opted_out(chat)) == 1
    assert not chat.state.handed_off(chat.clock) and chat.state.silenced is None
    assert await chat.staff("hand_back") is None, "the message sent during the handoff is not answered now"
    answered = await chat.say("hola")
    assert answered.payload.reply.kind == "greeting" and len(opted_in(chat)) == 1


async def test_an_unsure_reading_asks_instead_of_opting_out(chat: Conversation) -> None:
    unsure = await chat.say("bajale", intent="darse_de_baja", confidence=0.2)
    assert unsure.payload.reply.kind == "clarification"
    assert not chat.state.opted_out and opted_out(chat) == []


async def test_baja_in_its_other_senses_is_not_an_opt_out(chat: Conversation, studio: FakeStudio) -> None:
    price = await chat.say("la clase baja de precio?")
    assert price.payload.reply.kind == "packages"
    studio.book_for(CUSTOMER, FRIDAY, "19:00")
    cancel = await chat.say("dame de baja de la clase del viernes")
    assert cancel.payload.reply.kind == "confirm_cancel"
    assert not chat.state.opted_out and opted_out(chat) == []


async def test_every_reply_to_a_message_carries_when_it_arrived(chat: Conversation) -> None:
    for text in ("hola", "quiero agendar el viernes", "a las 7 de la tarde", "no"):
        message = chat.next_event(text)
        reply = await chat.send(message)
        assert reply is not None and reply.payload.received_at == message.payload.received_at, text


async def test_replaying_the_stream_rebuilds_the_opt_out(chat: Conversation) -> None:
    await chat.say("hola")
    await chat.say("STOP")
    stream = [e for e in chat.events if isinstance(e, IntentDetected | ActionCompleted)]
    assert fold(stream, CUSTOMER).opted_out_at == chat.state.opted_out_at is not None
    await chat.say("hola de nuevo")
    stream = [e for e in chat.events if isinstance(e, IntentDetected | ActionCompleted)]
    assert fold(stream, CUSTOMER).opted_out_at is None and chat.state.opted_out_at is None
