"""One-turn answers: greetings, packages, booking status, purchase history, schedule, clarifications."""

from __future__ import annotations

from contracts import ActionOutcome, Media, NluOutcome
from services.actions.adapters.business_api import BusinessApiError
from services.actions.adapters.endpoints import Operation
from tests.unit.actions.conversation import CUSTOMER, Conversation, text_of
from tests.unit.actions.fake_studio import PACKAGES, FakeStudio


async def test_greeting_help_and_goodbye(chat: Conversation) -> None:
    hello = await chat.say("hola")
    assert (hello.payload.action, hello.payload.outcome, hello.payload.reply.kind) == (
        "saludo", ActionOutcome.ANSWERED, "greeting")
    assert text_of(hello).startswith("¡Hola")
    assert (await chat.say("ayuda")).payload.reply.kind == "help"
    assert (await chat.say("gracias, bye")).payload.reply.kind == "goodbye"


async def test_packages_list_the_four_names(chat: Conversation, studio: FakeStudio) -> None:
    listed = await chat.say("¿qué paquetes tienen?")
    assert (listed.payload.action, listed.payload.reply.kind) == ("list_packages", "packages")
    for package in PACKAGES:
        assert str(package["name"]) in text_of(listed)


async def test_booking_status_lists_the_upcoming_bookings(chat: Conversation, studio: FakeStudio) -> None:
    studio.book_for(CUSTOMER, "2026-11-27", "19:00")
    status = await chat.say("¿cuál es el estado de mi reserva?")
    assert status.payload.reply.kind == "booking_status"
    assert studio.calls_to(Operation.BOOKING_STATUS)[0].client_phone == CUSTOMER
    assert text_of(status) == ("Tu próxima clase está confirmada:\n• viernes 27 de noviembre a las 19:00 "
                               "(Pilates Reformer, BK-4821)\n\n¿Te ayudo con algo más?")
    assert [o.ref for o in chat.state.offered] == ["BK-4821"]


async def test_booking_status_without_bookings(chat: Conversation) -> None:
    status = await chat.say("¿tengo alguna reserva?")
    assert status.payload.reply.kind == "booking_status"
    assert "No tienes clases reservadas" in text_of(status)


async def test_purchase_history(chat: Conversation, studio: FakeStudio) -> None:
    empty = await chat.say("¿qué he comprado?")
    assert empty.payload.reply.kind == "purchase_history"
    assert text_of(empty).startswith("Aún no tienes compras registradas")
    await chat.say("quiero pagar el pack de 5")
    await chat.say("sí")
    history = await chat.say("muéstrame mi historial de compras")
    assert "• Pack 5 clases — $1,100 MXN (pendiente de pago)" in text_of(history)


async def test_schedule_of_one_day_then_booking_one_of_its_classes(chat: Conversation, studio: FakeStudio) -> None:
    studio.fill("2026-11-27", "19:00")
    day = await chat.say("¿qué horarios tienen el viernes?")
    assert day.payload.reply.kind == "schedule"
    assert studio.calls_to(Operation.LIST_SLOTS)[0].params == {"date": "2026-11-27"}
    assert "• 19:00 · Pilates Reformer (lleno)" in text_of(day)
    summary = await chat.say("la de las 7")  # whatever NLU calls it, the schedule just listed says which class
    assert summary.payload.reply.kind == "confirm_booking" and summary.payload.reply.time == "07:00"
    await chat.say("sí")
    assert [b["slot"]["time"] for b in studio.confirmed_bookings(CUSTOMER)] == ["07:00"]


async def test_a_schedule_questions_day_carries_to_the_booking(chat: Conversation, studio: FakeStudio) -> None:
    await chat.say("¿qué clases hay el jueves?")
    summary = await chat.say("anótame a las 6 entonces")
    assert summary.payload.reply.kind == "confirm_booking"
    assert (str(summary.payload.reply.date), summary.payload.reply.time) == ("2026-11-26", "18:00")


async def test_a_price_questions_package_carries_to_the_purchase(chat: Conversation, studio: FakeStudio) -> None:
    priced = await chat.say("¿y el mensual cuánto sale?")
    assert priced.payload.reply.kind == "packages" and priced.payload.reply.asked == "Mensualidad ilimitada"
    confirm = await chat.say("me lo llevo")
    assert confirm.payload.reply.kind == "confirm_purchase"
    assert confirm.payload.reply.package.name == "Mensualidad ilimitada"


async def test_carried_values_expire_with_the_idle_time(chat: Conversation, studio: FakeStudio) -> None:
    await chat.say("¿qué clases hay el jueves?")
    asked = await chat.say("quiero agendar a las 6", after_s=3600)
    assert asked.payload.reply.kind == "ask_date"


async def test_schedule_of_the_coming_days(chat: Conversation, studio: FakeStudio) -> None:
    week = await chat.say("¿qué horarios tienen?")
    assert studio.calls_to(Operation.LIST_SLOTS)[0].params == {"days": 7}
    assert "• Jueves 26 de noviembre: 07:00, 09:00, 18:00, 19:00, 20:00" in text_of(week)
    assert "Domingo" not in text_of(week)


async def test_a_query_that_fails_says_the_system_is_unreachable(chat: Conversation, studio: FakeStudio) -> None:
    studio.failing[Operation.PURCHASE_HISTORY] = BusinessApiError("unavailable", "circuit open", code="circuit_open")
    failed = await chat.say("¿qué he comprado?")
    assert (failed.payload.outcome, failed.payload.reply.kind) == (ActionOutcome.FAILED, "api_error")
    assert failed.payload.error is not None and failed.payload.error.code == "circuit_open"
    assert "No pude comunicarme con el sistema de reservas" in text_of(failed)


async def test_low_confidence_and_out_of_scope_ask_with_the_options(chat: Conversation) -> None:
    out = await chat.say("¿cuál es la capital de Francia?")
    assert (out.payload.outcome, out.payload.reply.kind) == (ActionOutcome.CLARIFICATION, "clarification")
    assert out.payload.reply.reason == "out_of_scope"
    low = await chat.say("quiero agendar", confidence=0.2)
    assert low.payload.reply.reason == "low_confidence" and chat.state.flow is None
    assert "agendar una clase" in text_of(low)


async def test_media_location_empty_and_throttled(chat: Conversation) -> None:
    media = await chat.say("", outcome=NluOutcome.MEDIA_ONLY)
    assert media.payload.reply.kind == "media_received"
    assert (await chat.say("", outcome=NluOutcome.LOCATION)).payload.reply.kind == "location_received"
    assert (await chat.say("", outcome=NluOutcome.EMPTY)).payload.reply.kind == "clarification"
    before = len(chat.state.turns)
    assert await chat.send(chat.next_event("hola", outcome=NluOutcome.THROTTLED)) is None
    assert len(chat.state.turns) == before + 1 and chat.state.turns[-1].role == "user"


async def test_media_in_the_middle_of_a_flow_keeps_it(chat: Conversation) -> None:
    await chat.say("quiero agendar")
    event = chat.next_event("", outcome=NluOutcome.MEDIA_ONLY)
    event = event.model_copy(update={"payload": event.payload.model_copy(
        update={"media": (Media(url="https://x/1", content_type="audio/ogg"),)})})
    media = await chat.send(event)
    assert media is not None and "tu nota de voz" in text_of(media)
    assert (chat.state.flow, chat.state.awaiting) == ("agendar_cita", "fecha")
