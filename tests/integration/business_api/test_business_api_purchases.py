"""Buying packages: pending purchases with a payment link, idempotent replays, history, paying."""

from __future__ import annotations

import datetime as dt

import asyncpg

from tests.integration.business_api.harness import ANA, Api

BUYER = "+5215599990000"


async def test_a_purchase_is_pending_with_a_payment_link(api: Api, db: asyncpg.Connection) -> None:
    response = await api.as_client(BUYER, "POST", "/client/purchase", json={"package_id": "pack-5"})

    assert response.status_code == 201, response.text
    purchase = response.json()["purchase"]
    assert purchase["package_id"] == "pack-5"
    assert purchase["package_name"] == "Pack 5 clases"
    assert (purchase["amount"], purchase["currency"], purchase["status"]) == (1100, "MXN", "pending")
    base = api.server.settings.payment_base_url
    assert purchase["payment_link"].startswith(f"{base}/") and len(purchase["payment_link"]) > len(base) + 16
    assert dt.datetime.fromisoformat(purchase["created_at"]).tzinfo is not None
    assert (
        await db.fetchval(
            "SELECT count(*) FROM purchases p JOIN clients c ON c.id = p.client_id WHERE c.phone = $1", BUYER
        )
        == 1
    )


async def test_a_package_can_be_named_instead_of_its_id_and_an_unknown_one_is_404(api: Api) -> None:
    by_name = await api.as_client(BUYER, "POST", "/client/purchase", json={"package_id": "mensualidad ILIMITADA"})
    unknown = await api.as_client(BUYER, "POST", "/client/purchase", json={"package_id": "pack-99"})
    missing = await api.as_client(BUYER, "POST", "/client/purchase", json={})

    assert by_name.status_code == 201
    assert by_name.json()["purchase"]["package_id"] == "mensualidad-ilimitada"
    assert unknown.status_code == 404
    assert unknown.json()["error"] == {
        "kind": "not_found",
        "message": "there is no package 'pack-99'; GET /packages lists them",
        "code": "no_such_package",
    }
    assert (missing.status_code, missing.json()["error"]["code"]) == (422, "missing_package_id")


async def test_replaying_a_purchase_with_its_idempotency_key_creates_one(api: Api, db: asyncpg.Connection) -> None:
    key = {"Idempotency-Key": "evt-9:purchase"}
    first = await api.as_client(BUYER, "POST", "/client/purchase", json={"package_id": "pack-10"}, headers=key)

    replay = await api.as_client(BUYER, "POST", "/client/purchase", json={"package_id": "pack-10"}, headers=key)
    other_client_same_key = await api.as_client(
        "+5215599990001", "POST", "/client/purchase", json={"package_id": "pack-10"}, headers=key
    )

    assert first.status_code == replay.status_code == 201
    assert replay.content == first.content
    assert other_client_same_key.status_code == 201
    assert other_client_same_key.json()["purchase"]["id"] != first.json()["purchase"]["id"]
    count = "SELECT count(*) FROM purchases p JOIN clients c ON c.id = p.client_id WHERE c.phone = $1"
    assert await db.fetchval(count, BUYER) == 1


async def test_history_is_newest_first_and_the_seeded_client_has_paid_purchases(api: Api) -> None:
    seeded = (await api.as_client(ANA, "GET", "/client/purchase-history")).json()["purchases"]
    new = (await api.as_client(ANA, "POST", "/client/purchase", json={"package_id": "clase-suelta"})).json()

    after = (await api.as_client(ANA, "GET", "/client/purchase-history")).json()["purchases"]
    stranger = await api.as_client("+5215599990002", "GET", "/client/purchase-history")

    assert len(seeded) >= 2 and {p["status"] for p in seeded} == {"paid"}
    assert all(p["paid_at"] and p["valid_until"] for p in seeded)
    assert [p["id"] for p in after] == [new["purchase"]["id"], *(p["id"] for p in seeded)]
    created = [dt.datetime.fromisoformat(p["created_at"]) for p in after]
    assert created == sorted(created, reverse=True)
    assert stranger.status_code == 200 and stranger.json() == {"purchases": []}


async def test_the_payment_link_opens_a_page_that_marks_the_purchase_paid(api: Api) -> None:
    purchase = (await api.as_client(BUYER, "POST", "/client/purchase", json={"package_id": "pack-5"})).json()
    path = "/pay/" + purchase["purchase"]["payment_link"].rsplit("/", 1)[1]

    page = await api.http.get(path, headers={"Authorization": ""})
    paid = await api.http.post(path, headers={"Authorization": ""})
    history = (await api.as_client(BUYER, "GET", "/client/purchase-history")).json()["purchases"]
    bogus = await api.http.get("/pay/not-a-token")

    assert page.status_code == 200 and "Pagar" in page.text and "1,100.00 MXN" in page.text
    assert paid.status_code == 200 and "Pago recibido" in paid.text
    assert history[0]["status"] == "paid" and history[0]["paid_at"] is not None
    assert bogus.status_code == 404
