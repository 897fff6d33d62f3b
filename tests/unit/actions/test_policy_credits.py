"""Packages and credits: a booking uses a session, none left means buying first, a paid purchase brings the
booking back, cancelling returns the session when the policy allows, "¿cuántas me quedan?", receipts.

The studio requires a package to book, as the reference API does by default.
"""

from __future__ import annotations

import datetime as dt

import pytest

from contracts import PaymentClaimed
from services.actions.adapters.endpoints import Operation
from tests.unit.actions.conversation import CUSTOMER, START, Conversation, text_of
from tests.unit.actions.fake_studio import FakeStudio

FRIDAY = "2026-11-27"


@pytest.fixture
def studio() -> FakeStudio:
    return FakeStudio(now=START, booking_requires_package=True)


def booked_times(studio: FakeStudio) -> list[tuple[str, str]]:
    return [(b["slot"]["date"], b["slot"]["time"]) for b in studio.confirmed_bookings(CUSTOMER)]


async def test_a_booking_uses_a_session_of_the_package_held(chat: Conversation, studio: FakeStudio) -> None:
    studio.paid_package_for(CUSTOMER, "pack-5")
    summary = await chat.say("quiero reservar el viernes a las 9")
    assert "con una sesión de tu Pack 5 clases (te quedarán 4)" in text_of(summary)
    booked = await chat.say("sí")
    assert "Te quedan 4 sesiones de tu Pack 5 clases." in text_of(booked)
    assert booked_times(studio) == [(FRIDAY, "09:00")]


async def test_without_a_package_the_bot_offers_them_then_books_once_paid(chat: Conversation,
                                                                          studio: FakeStudio) -> None:
    offer = await chat.say("quiero reservar el viernes a las 9")
    assert offer.payload.reply.kind == "no_credits"
    assert text_of(offer).startswith(
        "Para reservar el viernes 27 de noviembre a las 09:00 necesitas un paquete activo.")
    assert "Pack 5 clases" in text_of(offer) and studio.calls_to(Operation.BOOK) == []
    confirm = await chat.say("el de 5")
    assert confirm.payload.reply.kind == "confirm_purchase"
    link = await chat.say("sí")
    assert link.payload.reply.kind == "payment_link" and chat.state.after_payment is not None

    purchase = studio.purchases[-1]
    studio.settle(purchase["id"], "paid")
    told = await chat.payment("paid", "Pack 5 clases", purchase_id=str(purchase["id"]))
    assert told is not None and told.payload.reply.kind == "payment_confirmed"
    assert told.payload.followup is not None and told.payload.followup.kind == "confirm_booking"
    assert "Te reservo Pilates Reformer el viernes 27 de noviembre a las 09:00" in text_of(told)
    booked = await chat.say("sí")
    assert booked.payload.reply.kind == "booked" and booked_times(studio) == [(FRIDAY, "09:00")]
    assert studio.confirmed_bookings(CUSTOMER)[0]["package_id"] == "pack-5"


async def test_an_expired_package_is_told_plainly(chat: Conversation, studio: FakeStudio) -> None:
    studio.paid_package_for(CUSTOMER, "pack-5", valid_days=-3)
    offer = await chat.say("quiero reservar el viernes a las 9")
    assert offer.payload.reply.kind == "no_credits"
    assert "Tu Pack 5 clases venció el domingo 22 de noviembre." in text_of(offer)


async def test_cancelling_in_time_returns_the_session_late_it_does_not(chat: Conversation,
                                                                      studio: FakeStudio) -> None:
    studio.paid_package_for(CUSTOMER, "pack-10")
    await chat.say("quiero reservar el viernes a las 9")
    await chat.say("sí")
    await chat.say("quiero cancelar mi clase")
    cancelled = await chat.say("sí")
    assert "Te devolví la sesión a tu Pack 10 clases (te quedan 10)." in text_of(cancelled)

    await chat.say("quiero reservar mañana a las 7 de la mañana")
    await chat.say("sí")
    studio.now = chat.clock = START + dt.timedelta(hours=13)  # 03:00 on the day of the 07:00 class
    await chat.say("quiero cancelar mi clase", after_s=0)
    late = await chat.say("sí", after_s=1)
    assert "faltaban menos de 12 horas" in text_of(late)


async def test_how_many_classes_are_left(chat: Conversation, studio: FakeStudio) -> None:
    studio.paid_package_for(CUSTOMER, "pack-10")
    left = await chat.say("¿cuántas clases me quedan?")
    assert left.payload.reply.kind == "credits"
    assert "Pack 10 clases: te quedan 10 clases, vigente hasta el" in text_of(left)


async def test_a_receipt_for_a_pending_purchase_goes_to_staff_nothing_is_marked_paid(chat: Conversation,
                                                                                  studio: FakeStudio) -> None:
    await chat.say("quiero comprar el pack de 5")
    await chat.say("sí")
    noted = await chat.say("te mando el comprobante de la transferencia")
    assert noted.payload.reply.kind == "payment_claim_noted"
    [claim] = [e for e in chat.outputs if isinstance(e, PaymentClaimed)]
    assert claim.payload.purchase_id == str(studio.purchases[-1]["id"])
    assert studio.purchases[-1]["status"] == "pending"
    waiting = await chat.say("ya pagué")
    assert text_of(waiting).startswith("Todavía no veo el pago de tu Pack 5 clases")
