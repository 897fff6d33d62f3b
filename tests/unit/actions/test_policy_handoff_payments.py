"""A person when asked, the bot's silence while they have the conversation, and payments told unprompted."""

from __future__ import annotations

import datetime as dt

from contracts import ActionOutcome, ConversationHandedOff, PaymentUpdated
from services.actions.adapters.endpoints import Operation
from tests.unit.actions.conversation import CUSTOMER, Conversation, text_of
from tests.unit.actions.fake_studio import FakeStudio


async def test_asking_for_a_person_hands_the_conversation_off_and_the_bot_stays_silent(chat: Conversation) -> None:
    await chat.say("quiero agendar el viernes")
    handed = await chat.say("quiero hablar con alguien", intent="hablar_con_humano", confidence=0.95)
    assert handed.payload.reply.kind == "handed_off" and handed.payload.reply.reason == "asked"
    assert text_of(handed).startswith("¡Claro! Le pasé tu conversación a una persona del equipo de Estudio Sol")
    [notice] = [e for e in chat.outputs if isinstance(e, ConversationHandedOff)]
    assert notice.payload.customer == CUSTOMER and notice.payload.summary == "quiero hablar con alguien"
    assert chat.state.flow is None and chat.state.handed_off(chat.clock)

    assert await chat.send(chat.next_event("¿hola? ¿alguien?")) is None, "the bot is silent while handed off"
    assert chat.state.turns[-1].text == "¿hola? ¿alguien?", "the customer's messages are still recorded"
    await chat.staff("reply", "Hola, soy Carla del estudio. ¿En qué te ayudo?")
    assert await chat.send(chat.next_event("quiero cancelar mi clase")) is None

    await chat.staff("hand_back")
    answered = await chat.send(chat.next_event("¿qué paquetes tienen?"))
    assert answered is not None and answered.payload.reply.kind == "packages"


async def test_the_bot_speaks_again_when_the_handoff_expires(chat: Conversation) -> None:
    await chat.say("pásame con una persona", intent="hablar_con_humano", confidence=0.95)
    assert await chat.send(chat.next_event("hola", after_s=60)) is None
    later = await chat.send(chat.next_event("hola", after_s=chat.deps.handoff_s))
    assert later is not None and later.payload.reply.kind == "greeting"


async def test_not_understood_twice_in_a_row_hands_off(chat: Conversation) -> None:
    first = await chat.say("blorp", intent="consultar_historial", confidence=0.1)
    assert first.payload.reply.kind == "clarification"
    second = await chat.say("zzz", intent="consultar_historial", confidence=0.1)
    assert (second.payload.reply.kind, second.payload.reply.reason) == ("handed_off", "not_understood")
    assert chat.state.handed_off(chat.clock)


async def test_once_understood_the_count_starts_again(chat: Conversation) -> None:
    await chat.say("blorp", intent="consultar_historial", confidence=0.1)
    await chat.say("hola")
    again = await chat.say("zzz", intent="consultar_historial", confidence=0.1)
    assert again.payload.reply.kind == "clarification"


async def test_a_payment_is_told_unprompted(chat: Conversation) -> None:
    await chat.say("hola")
    told = await chat.payment("paid", "Pack 10 clases")
    assert told is not None and told.payload.outcome is ActionOutcome.SUCCEEDED
    assert text_of(told).startswith("¡Tu pago se acreditó! ✅ Tu Pack 10 clases ya está activo, vigente hasta el")
    assert told.payload.business == "whatsapp:+14155238886"
    failed = await chat.payment("failed", "Pack 5 clases", purchase_id="2")
    assert failed is not None and failed.payload.reply.kind == "payment_failed"
    redelivered = await chat.payment("paid", "Pack 10 clases", recorded_at=_notice_time(chat))
    assert redelivered is None, "a redelivered notice says nothing new"


async def test_a_payment_for_a_customer_never_seen_still_names_the_business(studio: FakeStudio) -> None:
    chat = Conversation(studio, customer="whatsapp:+5215500000777")
    told = await chat.payment("paid", "Clase suelta")
    assert told is not None and told.payload.business == chat.deps.business_number
    assert studio.calls_to(Operation.BOOK) == []


async def test_a_question_about_the_studio_is_answered_from_its_profile(chat: Conversation) -> None:
    answer = await chat.say("¿aceptan tarjeta?")
    assert answer.payload.reply.kind == "faq_answer" and answer.payload.reply.faq_id == "formas-de-pago"
    assert answer.payload.reply.answer == chat.deps.profile.answer("formas-de-pago")


async def test_a_question_the_profile_does_not_answer_offers_a_person(chat: Conversation) -> None:
    unknown = await chat.say("¿el instructor de los martes es certificado por la federación?",
                             intent="consultar_info", confidence=0.9)
    assert unknown.payload.reply.kind == "unknown_question"
    assert text_of(unknown).endswith("¿Quieres que le pase tu pregunta a una persona del equipo?")
    handed = await chat.say("sí porfa")
    assert (handed.payload.reply.kind, handed.payload.reply.reason) == ("handed_off", "unknown_question")


async def test_a_question_about_the_studio_mid_flow_keeps_the_flow(chat: Conversation) -> None:
    await chat.say("quiero agendar el viernes")
    answer = await chat.say("¿tienen estacionamiento?")
    assert answer.payload.reply.kind == "faq_answer" and chat.state.flow == "agendar_cita"
    assert "Sigamos con tu reserva." in text_of(answer)


def _notice_time(chat: Conversation) -> dt.datetime:
    """When the business recorded the first payment notice of the conversation."""
    return next(e.payload.occurred_at for e in chat.events if isinstance(e, PaymentUpdated))


async def test_a_message_sent_after_the_hand_back_but_read_before_it_is_answered_when_it_arrives(
        chat: Conversation) -> None:
    await chat.say("quiero hablar con alguien", intent="hablar_con_humano", confidence=0.95)
    after = chat.next_event("¿qué paquetes tienen?", after_s=30)
    assert await chat.send(after) is None, "read before the hand-back: silent for now"
    answered = await chat.staff("hand_back", after_s=-1)  # staff handed back a second before it was sent
    assert answered is not None and answered.payload.reply.kind == "packages"
    assert answered.causation_id == after.event_id


async def test_a_message_sent_before_the_hand_back_but_read_after_it_stays_silent(chat: Conversation) -> None:
    await chat.say("quiero hablar con alguien", intent="hablar_con_humano", confidence=0.95)
    before = chat.next_event("sigo esperando", after_s=30)
    assert await chat.staff("hand_back") is None
    assert await chat.send(before) is None, "sent while a person had the conversation"
    later = await chat.send(chat.next_event("hola", after_s=5))
    assert later is not None and later.payload.reply.kind == "greeting"


async def test_a_second_handoff_after_a_hand_back_silences_again(chat: Conversation) -> None:
    await chat.say("quiero hablar con alguien", intent="hablar_con_humano", confidence=0.95)
    await chat.staff("hand_back")
    await chat.say("otra vez, pásame con alguien", intent="hablar_con_humano", confidence=0.95)
    assert await chat.send(chat.next_event("¿hola?")) is None
