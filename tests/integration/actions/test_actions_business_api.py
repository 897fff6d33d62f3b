"""The dialogue policy over real HTTP against the reference business API and its PostgreSQL.

Messages are built with the intent and entities NLU would give (the NLU has its own tests), so
these tests are about what reaches the business API and the database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
import time
from typing import Any

import asyncpg
import httpx
import pytest

from contracts import ActionCompleted, ActionOutcome
from runtime.resilience import CircuitBreaker, CircuitState
from services.actions.adapters.business_api import BusinessApiClient, BusinessApiError
from services.actions.adapters.endpoints import Operation
from services.actions.handler import ActionsDeps, handle
from tests.integration.actions.conftest import ZONE, ApiServerOn, FindSlot, actions_settings, paid_package
from tests.integration.business_api.harness import ANA, PROVIDER_SECRET, ApiServer, hmac_sha256, settings_for
from tests.unit.actions.conversation import Conversation, text_of

NEWCOMER = "whatsapp:+5215599990001"
ANA_ADDRESS = f"whatsapp:{ANA}"


def chat_with(api: BusinessApiClient, customer: str = NEWCOMER) -> Conversation:
    return Conversation(api, deps=ActionsDeps(business_api=api), customer=customer, start=dt.datetime.now(ZONE))


async def say(chat: Conversation, text: str, intent: str, *entities: tuple[str, str]) -> ActionCompleted:
    return await chat.say(text, after_s=1, intent=intent, confidence=0.95, entities=list(entities))


def state(breaker: CircuitBreaker) -> CircuitState:
    return breaker.state


def weekday(date: str) -> str:
    return ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")[
        dt.date.fromisoformat(date).weekday()]


async def bookings_of(db: asyncpg.Connection, address: str) -> list[asyncpg.Record]:
    return list(await db.fetch(
        "SELECT b.code, b.status, b.slot_id, b.package_id FROM bookings b JOIN clients c ON c.id = b.client_id "
        "WHERE c.phone = $1 ORDER BY b.id", address.removeprefix("whatsapp:")))


async def test_booking_a_class_ends_with_a_row_in_the_database(adapter: BusinessApiClient, db: asyncpg.Connection,
                                                              find_slot: FindSlot, http: httpx.AsyncClient) -> None:
    purchase = await paid_package(http, NEWCOMER, "pack-10")
    slot = await find_slot()
    chat = chat_with(adapter)
    asked = await say(chat, "quiero agendar", "agendar_cita")
    assert asked.payload.reply.kind == "ask_date"
    offered = await say(chat, f"el {weekday(slot['date'])}", "agendar_cita", ("fecha", slot["date"]))
    assert offered.payload.reply.kind == "offer_slots"
    assert slot["time"] in [o.label for o in chat.state.offered]
    summary = await say(chat, f"a las {slot['time']}", "agendar_cita", ("hora", slot["time"]))
    assert summary.payload.reply.kind == "confirm_booking" and await bookings_of(db, NEWCOMER) == []
    booked = await say(chat, "sí", "afirmar")

    assert (booked.payload.outcome, booked.payload.reply.kind) == (ActionOutcome.SUCCEEDED, "booked")
    [row] = await bookings_of(db, NEWCOMER)
    assert (row["code"], row["status"], row["slot_id"]) == (booked.payload.reply.code, "confirmed",
                                                            slot["id"])
    assert (row["package_id"], booked.payload.reply.sessions_left) == ("pack-10", 9)
    assert purchase["package_id"] == "pack-10"
    assert row["code"] in text_of(booked)


async def test_several_values_at_once_book_with_the_package(adapter: BusinessApiClient, db: asyncpg.Connection,
                                                            find_slot: FindSlot) -> None:
    slot = await find_slot()
    chat = chat_with(adapter, ANA_ADDRESS)  # the seed gives Ana a paid Pack 10 clases, still valid
    summary = await say(chat, "mañana a las 6 el pack de 10", "agendar_cita", ("fecha", slot["date"]),
                        ("hora", slot["time"]), ("paquete", "Pack 10 clases"))
    assert summary.payload.reply.kind == "confirm_booking" and "Pack 10 clases" in text_of(summary)
    booked = await say(chat, "sí", "afirmar")
    assert booked.payload.reply.kind == "booked"
    rows = [r for r in await bookings_of(db, ANA_ADDRESS) if r["slot_id"] == slot["id"] and r["status"] == "confirmed"]
    assert [r["package_id"] for r in rows] == ["pack-10"]


async def test_a_package_named_but_not_held_is_not_used(adapter: BusinessApiClient, db: asyncpg.Connection,
                                                        find_slot: FindSlot, http: httpx.AsyncClient) -> None:
    await paid_package(http, NEWCOMER, "pack-5")
    slot = await find_slot()
    chat = chat_with(adapter)
    summary = await say(chat, "mañana a las 6 el pack de 10", "agendar_cita", ("fecha", slot["date"]),
                        ("hora", slot["time"]), ("paquete", "Pack 10 clases"))
    assert "Pack 10 clases" not in text_of(summary) and "Pack 5 clases" in text_of(summary)
    await say(chat, "sí", "afirmar")
    [row] = await bookings_of(db, NEWCOMER)
    assert row["package_id"] == "pack-5"


async def test_without_a_package_it_is_bought_paid_and_the_class_booked(adapter: BusinessApiClient,
                                                                        db: asyncpg.Connection, find_slot: FindSlot,
                                                                        http: httpx.AsyncClient) -> None:
    slot = await find_slot()
    chat = chat_with(adapter)
    offer = await say(chat, "quiero esa clase", "agendar_cita", ("fecha", slot["date"]), ("hora", slot["time"]))
    assert offer.payload.reply.kind == "no_credits" and await bookings_of(db, NEWCOMER) == []
    await say(chat, "la suelta", "pagar_servicio", ("paquete", "Clase suelta"))
    link = await say(chat, "sí", "afirmar")
    assert link.payload.reply.kind == "payment_link"
    token = str(link.payload.reply.payment_link).rsplit("/", 1)[-1]
    raw = json.dumps({"token": token, "status": "paid"}).encode()
    paid = await http.post("/payments/webhook", content=raw, headers={
        "Content-Type": "application/json", "X-Payment-Signature": hmac_sha256(PROVIDER_SECRET, raw)})
    assert paid.status_code == 200, paid.text
    told = await chat.payment("paid", "Clase suelta", purchase_id=str(link.payload.reply.purchase_id))
    assert told is not None and told.payload.followup is not None and told.payload.followup.kind == "confirm_booking"
    booked = await say(chat, "sí", "afirmar")
    assert booked.payload.reply.kind == "booked"
    [row] = await bookings_of(db, NEWCOMER)
    assert (row["slot_id"], row["package_id"]) == (slot["id"], "clase-suelta")


async def test_a_full_class_offers_the_other_times(adapter: BusinessApiClient, http: httpx.AsyncClient,
                                                   db: asyncpg.Connection, find_slot: FindSlot) -> None:
    slot = await find_slot(lambda s: s["available"] == 1, days_ahead=1)  # the seed's class with one place left
    await paid_package(http, "+5215577770000")
    taken = await http.post("/booking", json={"slot_id": slot["id"]}, headers={"X-Client-Phone": "+5215577770000"})
    assert taken.status_code == 201, taken.text

    chat = chat_with(adapter)
    full = await say(chat, "quiero esa clase", "agendar_cita", ("fecha", slot["date"]), ("hora", slot["time"]))
    assert full.payload.reply.kind == "slot_full"
    assert slot["time"] not in [o.label for o in chat.state.offered]
    assert text_of(full).startswith("Ese horario ya se llenó")
    assert await bookings_of(db, NEWCOMER) == []

    with pytest.raises(BusinessApiError) as caught:  # the API's own answer when booking it anyway
        await adapter.call(Operation.BOOK, {"slot_id": slot["id"]}, client_phone=NEWCOMER, idempotency_key="x-1")
    assert (caught.value.kind, caught.value.code, caught.value.status) == ("conflict", "slot_full", 409)


async def test_cancelling_after_confirmation(adapter: BusinessApiClient, db: asyncpg.Connection) -> None:
    before = [r for r in await bookings_of(db, ANA_ADDRESS) if r["status"] == "confirmed"]
    assert len(before) >= 1, "the seed gives Ana an upcoming booking"
    chat = chat_with(adapter, ANA_ADDRESS)
    asked = await say(chat, "quiero cancelar mi clase", "cancelar_cita")
    if asked.payload.reply.kind == "choose_booking":
        asked = await say(chat, "la primera", "fuera_de_alcance")
    assert asked.payload.reply.kind == "confirm_cancel"
    code = asked.payload.reply.booking.code
    kept = await say(chat, "no", "negar")
    assert kept.payload.reply.kind == "kept"
    assert {r["code"]: r["status"] for r in await bookings_of(db, ANA_ADDRESS)}[code] == "confirmed"

    await say(chat, "cancela mi clase", "cancelar_cita", ("referencia", str(code)))
    done = await say(chat, "sí", "afirmar")
    assert (done.payload.outcome, done.payload.reply.kind) == (ActionOutcome.SUCCEEDED, "cancelled")
    assert {r["code"]: r["status"] for r in await bookings_of(db, ANA_ADDRESS)}[code] == "cancelled"


async def test_paying_a_package_gives_a_payment_link(adapter: BusinessApiClient, api_url: str,
                                                     db: asyncpg.Connection) -> None:
    chat = chat_with(adapter)
    asked = await say(chat, "quiero pagar el pack de 10", "pagar_servicio", ("paquete", "Pack 10 clases"))
    assert asked.payload.reply.kind == "confirm_purchase"
    assert "$2,000 MXN" in text_of(asked)
    paid = await say(chat, "sí", "afirmar")
    assert (paid.payload.outcome, paid.payload.reply.kind) == (ActionOutcome.SUCCEEDED, "payment_link")
    link = paid.payload.reply.payment_link
    assert isinstance(link, str) and link in text_of(paid)
    row = await db.fetchrow("SELECT p.package_id, p.status, p.payment_token FROM purchases p "
                            "JOIN clients c ON c.id = p.client_id WHERE c.phone = $1", "+5215599990001")
    assert row is not None and (row["package_id"], row["status"]) == ("pack-10", "pending")
    assert link.endswith(row["payment_token"])


async def test_history_status_and_schedule(adapter: BusinessApiClient, find_slot: FindSlot) -> None:
    chat = chat_with(adapter, ANA_ADDRESS)
    history = await say(chat, "qué he comprado", "consultar_historial")
    names = [p.package for p in history.payload.reply.purchases]
    assert names == ["Pack 10 clases", "Clase suelta"]
    assert "pagado el" in text_of(history) and "vigente hasta el" in text_of(history)

    status = await say(chat, "¿cómo va mi reserva?", "consulta_estado")
    assert status.payload.reply.kind == "booking_status" and status.payload.reply.bookings

    slot = await find_slot()
    day = await say(chat, "horarios", "consultar_horarios", ("fecha", slot["date"]))
    assert day.payload.reply.kind == "schedule" and slot["time"] in text_of(day)
    week = await say(chat, "horarios", "consultar_horarios")
    assert len(week.payload.reply.days) >= 5


async def test_updating_the_profile(adapter: BusinessApiClient, db: asyncpg.Connection) -> None:
    chat = chat_with(adapter)
    await say(chat, "quiero cambiar mi correo", "actualizar_perfil")
    invalid = await say(chat, "ana@example", "fuera_de_alcance")
    assert invalid.payload.reply.kind == "invalid_email"
    confirm = await say(chat, "ana.nueva@Example.COM", "actualizar_perfil", ("email", "ana.nueva@Example.COM"))
    assert confirm.payload.reply.kind == "confirm_profile"
    updated = await say(chat, "sí", "afirmar")
    assert updated.payload.reply.kind == "profile_updated"
    assert updated.payload.reply.value == "ana.nueva@example.com"  # as the API stored it
    stored = await db.fetchval("SELECT email FROM clients WHERE phone = $1", "+5215599990001")
    assert stored == "ana.nueva@example.com"


async def test_the_error_taxonomy_keeps_the_apis_codes(adapter: BusinessApiClient, api_url: str) -> None:
    cases: list[tuple[Operation, dict[str, Any], str, str]] = [
        (Operation.CANCEL_BOOKING, {"code": "BK-0000"}, "not_found", "no_such_booking"),
        (Operation.UPDATE_PROFILE, {"email": "no-at-sign"}, "validation", "invalid_email"),
        (Operation.PURCHASE, {"package_id": "pack-999"}, "not_found", "no_such_package"),
    ]
    for operation, params, kind, code in cases:
        with pytest.raises(BusinessApiError) as caught:
            await adapter.call(operation, params, client_phone=NEWCOMER, idempotency_key="k-" + code)
        assert (caught.value.kind, caught.value.code) == (kind, code)
    intruder = BusinessApiClient.from_settings(actions_settings(api_url, business_api_token="wrong"))
    with pytest.raises(BusinessApiError) as caught:
        await intruder.call(Operation.LIST_PACKAGES)
    assert (caught.value.kind, caught.value.code, caught.value.status) == ("unauthorized", "invalid_token", 401)
    await intruder.close()
    assert state(adapter.breaker) is CircuitState.CLOSED


async def test_replaying_the_same_message_does_not_book_twice(adapter: BusinessApiClient, db: asyncpg.Connection,
                                                               find_slot: FindSlot, http: httpx.AsyncClient) -> None:
    await paid_package(http, NEWCOMER)
    slot = await find_slot()
    chat = chat_with(adapter)
    await say(chat, "quiero agendar", "agendar_cita", ("fecha", slot["date"]), ("hora", slot["time"]))
    before = chat.state
    event = chat.next_event("sí", after_s=1, intent="afirmar", confidence=0.99, entities=[])
    after, first = await handle(before, event, chat.deps)
    _, again = await handle(before, event, chat.deps)  # redelivered to a worker that lost the state
    assert first[0].event.event_id == again[0].event.event_id
    assert first[0].event.payload == again[0].event.payload  # type: ignore[attr-defined]
    [row] = await bookings_of(db, NEWCOMER)
    first_event = first[0].event
    assert isinstance(first_event, ActionCompleted) and row["code"] == first_event.payload.reply.code
    redelivered, outputs = await handle(after, event, chat.deps)  # redelivered to a worker that kept it
    assert redelivered is after and outputs[0].event == first_event
    assert len(await bookings_of(db, NEWCOMER)) == 1


async def test_business_api_down_retries_then_opens_the_circuit_then_recovers(
        fresh_database: str, servers: list[ApiServer]) -> None:
    bound = socket.socket()
    bound.bind(("127.0.0.1", 0))  # nothing listens yet: connections are refused
    url = f"http://127.0.0.1:{bound.getsockname()[1]}"
    adapter = BusinessApiClient.from_settings(actions_settings(url, circuit_failure_threshold=2,
                                                               circuit_reset_s=1.0))
    chat = chat_with(adapter, ANA_ADDRESS)
    try:
        for _ in range(2):
            failed = await say(chat, "qué he comprado", "consultar_historial")
            assert (failed.payload.outcome, failed.payload.reply.kind) == (ActionOutcome.FAILED, "api_error")
            assert failed.payload.error is not None and failed.payload.error.kind == "unavailable"
            assert failed.payload.error.code == "unreachable"
            assert text_of(failed).startswith("No pude comunicarme con el sistema de reservas")
        assert state(adapter.breaker) is CircuitState.OPEN

        started = time.perf_counter()
        fast = await say(chat, "qué he comprado", "consultar_historial")
        assert time.perf_counter() - started < 0.5
        assert fast.payload.error is not None and fast.payload.error.code == "circuit_open"

        server = ApiServerOn(settings_for(fresh_database), bound)
        servers.append(server)
        await server.start()
        deadline = time.monotonic() + 10
        while state(adapter.breaker) is not CircuitState.HALF_OPEN:
            assert time.monotonic() < deadline, "the circuit never became half-open"
            await asyncio.sleep(0.05)
        recovered = await say(chat, "qué he comprado", "consultar_historial")
        assert (recovered.payload.outcome, recovered.payload.reply.kind) == (ActionOutcome.SUCCEEDED,
                                                                                 "purchase_history")
        assert state(adapter.breaker) is CircuitState.CLOSED
    finally:
        await adapter.close()


async def test_a_stopped_api_fails_gracefully_mid_flow(fresh_database: str, servers: list[ApiServer],
                                                       find_slot: FindSlot, adapter: BusinessApiClient,
                                                       http: httpx.AsyncClient) -> None:
    await paid_package(http, NEWCOMER)
    slot = await find_slot()
    chat = chat_with(adapter)
    await say(chat, "quiero agendar", "agendar_cita", ("fecha", slot["date"]), ("hora", slot["time"]))
    await servers[0].stop()
    failed = await say(chat, "sí", "afirmar")
    assert failed.payload.outcome is ActionOutcome.FAILED and failed.payload.error is not None
    assert failed.payload.error.kind == "unavailable"
    assert chat.state.flow == "agendar_cita", "the customer can try again once the API is back"
