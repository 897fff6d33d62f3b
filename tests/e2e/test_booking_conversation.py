"""A multi-turn booking through signed webhooks, also with the actions worker SIGKILLed mid-flow."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from devstack.conversations.business import BusinessApi
from devstack.conversations.channel import Target
from devstack.stack import DEMO_BUSINESS_NUMBER, Stack
from devstack.webhooks import inbound_params
from tests.e2e.test_foundation import post_webhook, replies_to, wait_for

WEEKDAYS = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"]
ZONE = ZoneInfo("America/Mexico_City")


async def evening_class(stack: Stack) -> dict[str, Any]:
    """A 19:00 class with room, one to six days ahead, so that «el <weekday>» names its date."""
    today = dt.datetime.now(ZONE).date()
    async with httpx.AsyncClient(base_url=stack.url("business_api"),
                                 headers={"Authorization": f"Bearer {stack.config.business_token}"}) as api:
        for ahead in range(1, 7):
            day = today + dt.timedelta(days=ahead)
            slots = (await api.get("/schedule-slots", params={"date": day.isoformat()})).json()["slots"]
            for slot in slots:
                if slot["time"] == "19:00" and slot["available"] >= 3:
                    return {**slot, "day": day}
    raise AssertionError("the seeded schedule has no evening class with room this week")


class Chat:
    def __init__(self, stack: Stack, customer: str) -> None:
        self.stack, self.customer = stack, customer

    async def say(self, text: str, *, timeout: float = 60.0) -> str:
        before = len(await replies_to(self.stack, self.customer))
        params = inbound_params(body=text, customer=self.customer, business=DEMO_BUSINESS_NUMBER,
                                account_sid=self.stack.config.account_sid)
        response = await post_webhook(self.stack, params)
        assert response.status_code == 200, response.text

        async def answered() -> list[dict[str, Any]] | None:
            replies = await replies_to(self.stack, self.customer)
            return replies if len(replies) > before else None

        replies = await wait_for(answered, timeout=timeout)
        assert len(replies) == before + 1, [r["body"] for r in replies[before:]]
        return str(replies[-1]["body"])


async def confirmed_bookings(stack: Stack, customer: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(stack.database_url)
    try:
        return list(await conn.fetch(
            "SELECT b.code, s.starts_at FROM business.bookings b JOIN business.clients c ON c.id = b.client_id "
            "JOIN business.slots s ON s.id = b.slot_id WHERE c.phone = $1 AND b.status = 'confirmed'",
            customer.removeprefix("whatsapp:")))
    finally:
        await conn.close()


async def book_evening_class(stack: Stack, customer: str, *, kill_actions_after_first_turn: bool) -> None:
    chat = Chat(stack, customer)
    async with httpx.AsyncClient(timeout=10.0) as http:  # a booking uses a session of a package held
        await BusinessApi(Target.from_stack(stack), http).buy_and_pay(customer, "Pack 5 clases")

    async def told_of_the_payment() -> bool:
        return any("Tu pago se acreditó" in r["body"] for r in await replies_to(stack, customer))

    assert await wait_for(told_of_the_payment)  # unprompted: the business's notice reached the customer
    target = await evening_class(stack)
    weekday = WEEKDAYS[target["day"].weekday()]

    asked = await chat.say("hola, quiero agendar una clase")
    assert "¿Qué día te gustaría venir" in asked

    if kill_actions_after_first_turn:
        stack.stop_service("actions", kill=True)
        stack.start_service("actions")
        stack.wait_ready(["actions"])

    offered = await chat.say(f"el {weekday}")
    assert f"Para el {weekday}" in offered and "19:00" in offered, offered

    summary = await chat.say("a las 7 de la noche")
    assert summary.startswith("Te reservo") and "19:00" in summary and summary.endswith("¿Confirmas?"), summary
    assert "Pack 5 clases (te quedarán 4)" in summary, summary
    assert await confirmed_bookings(stack, customer) == [], "nothing is booked before the yes"

    booked = await chat.say("sí")
    assert booked.startswith("¡Listo! ✅ Reservé"), booked
    assert f"{weekday} {target['day'].day} de" in booked and "19:00" in booked, booked

    [booking] = await confirmed_bookings(stack, customer)
    assert booking["code"] in booked
    local = booking["starts_at"].astimezone(ZONE)
    assert (local.date(), local.strftime("%H:%M")) == (target["day"], "19:00")


async def test_a_conversation_books_a_class(stack: Stack) -> None:
    await book_evening_class(stack, "whatsapp:+5215500000401", kill_actions_after_first_turn=False)


async def test_the_same_conversation_survives_a_sigkilled_actions_worker(stack: Stack) -> None:
    await book_evening_class(stack, "whatsapp:+5215500000402", kill_actions_after_first_turn=True)
