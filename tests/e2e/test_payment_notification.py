"""A payment from the outside: a purchase made through the business API, paid on its demo payment
page, ends as a `payment.updated` event on the stack's broker (business API outbox → signed
webhook → ingress → Kafka)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import httpx

from contracts import PAYMENT_UPDATED, PaymentUpdated, payment_event_id
from devstack.stack import Stack
from tests.topic_reader import read_all

CUSTOMER = "+5215500000901"


async def payment_events(stack: Stack, purchase_id: int, *, timeout_s: float = 30.0) -> list[PaymentUpdated]:
    """The `payment.updated` events of the purchase, once there is one (bounded polling)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        found = [e for e in await read_all(stack.bootstrap, PAYMENT_UPDATED)
                 if e.payload.purchase_id == str(purchase_id)]
        if found or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.2)


async def test_paying_on_the_demo_page_ends_as_payment_updated(stack: Stack) -> None:
    business = stack.url("business_api")
    auth = {"Authorization": f"Bearer {stack.config.business_token}", "X-Client-Phone": CUSTOMER}
    async with httpx.AsyncClient(timeout=10.0, trust_env=False) as http:
        bought = await http.post(business + "/client/purchase", json={"package_id": "pack-5"}, headers=auth)
        assert bought.status_code == 201, bought.text
        purchase = bought.json()["purchase"]
        link = purchase["payment_link"]
        assert link.startswith(business + "/pay/"), link

        page = await http.get(link)
        assert page.status_code == 200 and "Simular un pago rechazado" in page.text
        action = re.search(r'<form method="post"', page.text)
        assert action is not None, "the page posts its form back to itself"
        paid = await http.post(link, content="outcome=paid",
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert paid.status_code == 200 and "Pago recibido" in paid.text, paid.text

        history = (await http.get(business + "/client/purchase-history", headers=auth)).json()["purchases"]

    [event] = await payment_events(stack, purchase["id"])
    [paid_purchase] = [p for p in history if p["id"] == purchase["id"]]
    assert event.event_id == payment_event_id(str(purchase["id"]), "paid", event.payload.occurred_at)
    assert (event.conversation_id, event.payload.customer) == (f"whatsapp:{CUSTOMER}", f"whatsapp:{CUSTOMER}")
    payload = event.payload
    assert (payload.status, payload.package, payload.amount, payload.currency) == (
        "paid", "Pack 5 clases", 1100.0, "MXN")
    assert payload.valid_until == utc(paid_purchase["valid_until"])
    assert payload.occurred_at == event.occurred_at == utc(paid_purchase["paid_at"])


def utc(written: str) -> dt.datetime:
    return dt.datetime.fromisoformat(written.replace("Z", "+00:00"))
