"""Payments that complete: the provider's signed webhook, its idempotency, and the demo checkout
page whose buttons call that webhook as a provider would."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re

import asyncpg
import httpx

from tests.integration.business_api.harness import AUTH, Api, StartApi, hmac_sha256, settings_for

BUYER = "+5215588880000"


def token_of(purchase: dict[str, object]) -> str:
    return str(purchase["payment_link"]).rsplit("/", 1)[1]


def utc(value: str) -> dt.datetime:
    assert value.endswith("Z"), value
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


async def post_raw(api: Api, raw: bytes, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json", "Authorization": ""}
    if signature is not None:
        headers["X-Payment-Signature"] = signature
    return await api.http.post("/payments/webhook", content=raw, headers=headers)


async def test_the_webhook_needs_the_providers_signature_over_the_exact_body(
        api: Api, db: asyncpg.Connection) -> None:
    purchase = await api.buy(BUYER, "pack-5")
    raw = json.dumps({"purchase_id": purchase["id"], "status": "paid"}).encode()
    tampered = raw.replace(b'"paid"', b'"paid" ')

    missing = await post_raw(api, raw, None)
    garbage = await post_raw(api, raw, "not-a-signature")
    other_secret = await post_raw(api, raw, hmac_sha256("another-secret", raw))
    body_changed = await post_raw(api, tampered, hmac_sha256(api.server.settings.payment_provider_secret
                                                             .get_secret_value(), raw))
    bare_hex = await post_raw(api, raw, hmac_sha256("demo-payment-provider-secret", raw).removeprefix("sha256="))

    assert (missing.status_code, missing.json()["error"]["code"]) == (401, "missing_signature")
    for refused in (garbage, other_secret, body_changed, bare_hex):
        assert (refused.status_code, refused.json()["error"]["code"]) == (401, "invalid_signature"), refused.text
        assert refused.json()["error"]["kind"] == "unauthorized"
    assert await db.fetchval("SELECT status FROM purchases WHERE id = $1", purchase["id"]) == "pending"


async def test_paid_activates_the_package_once_and_a_replay_changes_nothing(api: Api, db: asyncpg.Connection) -> None:
    purchase = await api.buy(BUYER, "pack-10")

    paid = await api.payment_webhook({"purchase_id": purchase["id"], "status": "paid", "payment_id": "pay-1",
                                      "provider": "mercadopago", "some_field": "ignored"})
    replay = await api.payment_webhook({"purchase_id": purchase["id"], "status": "paid", "payment_id": "pay-1"})
    by_token = await api.payment_webhook({"token": token_of(purchase), "status": "paid"})
    late_failure = await api.payment_webhook({"purchase_id": purchase["id"], "status": "failed"})

    assert paid.status_code == 200, paid.text
    assert paid.json()["changed"] is True
    view = paid.json()["purchase"]
    assert view["status"] == "paid"
    assert utc(view["valid_until"]) - utc(view["paid_at"]) == dt.timedelta(days=90)
    for again in (replay, by_token, late_failure):
        assert again.status_code == 200, again.text
        assert again.json() == {"purchase": view, "changed": False}
    row = await db.fetchrow("SELECT status, payment_reference, sessions_left FROM purchases WHERE id = $1",
                            purchase["id"])
    assert dict(row) == {"status": "paid", "payment_reference": "pay-1", "sessions_left": 10}
    [package] = await api.packages_of(BUYER)
    assert (package["status"], package["sessions_left"]) == ("active", 10)


async def test_a_failed_payment_can_be_paid_later(api: Api) -> None:
    purchase = await api.buy(BUYER, "pack-5")

    failed = await api.payment_webhook({"purchase_id": purchase["id"], "status": "failed"})
    failed_again = await api.payment_webhook({"purchase_id": purchase["id"], "status": "failed"})
    listed_failed = await api.packages_of(BUYER)
    history = (await api.as_client(BUYER, "GET", "/client/purchase-history")).json()["purchases"]
    paid = await api.payment_webhook({"purchase_id": purchase["id"], "status": "paid"})

    assert (failed.json()["changed"], failed.json()["purchase"]["status"]) == (True, "failed")
    assert (failed_again.json()["changed"], failed_again.json()["purchase"]["status"]) == (False, "failed")
    assert listed_failed == [], "a failed purchase is no package"
    assert history[0]["status"] == "failed" and history[0]["paid_at"] is None
    assert (paid.json()["changed"], paid.json()["purchase"]["status"]) == (True, "paid")


async def test_concurrent_duplicates_of_a_webhook_change_the_purchase_once(api: Api, db: asyncpg.Connection) -> None:
    purchase = await api.buy(BUYER, "pack-5")

    responses = await asyncio.gather(
        *(api.payment_webhook({"purchase_id": purchase["id"], "status": "paid"}) for _ in range(6)))

    assert {r.status_code for r in responses} == {200}
    assert sorted(r.json()["changed"] for r in responses) == [False] * 5 + [True]
    assert len({r.json()["purchase"]["paid_at"] for r in responses}) == 1


async def test_a_malformed_webhook_is_refused_with_its_reason(api: Api) -> None:
    purchase = await api.buy(BUYER, "pack-5")
    secret = api.server.settings.payment_provider_secret.get_secret_value()

    not_json = await post_raw(api, b"{nope", hmac_sha256(secret, b"{nope"))
    no_status = await api.payment_webhook({"purchase_id": purchase["id"]})
    bad_status = await api.payment_webhook({"purchase_id": purchase["id"], "status": "refunded"})
    nothing_named = await api.payment_webhook({"status": "paid"})
    unknown = await api.payment_webhook({"purchase_id": 987654, "status": "paid"})
    other_token = await api.payment_webhook({"purchase_id": purchase["id"], "token": "not-its-token", "status": "paid"})

    assert (not_json.status_code, not_json.json()["error"]["code"]) == (400, "malformed_json")
    assert (no_status.status_code, no_status.json()["error"]["code"]) == (422, "missing_status")
    assert (bad_status.status_code, bad_status.json()["error"]["code"]) == (422, "invalid_status")
    assert (nothing_named.status_code, nothing_named.json()["error"]["code"]) == (422, "missing_purchase_id")
    for missing in (unknown, other_token):
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "no_such_purchase")


async def test_the_demo_page_pays_or_fails_through_the_webhook(api: Api, db: asyncpg.Connection) -> None:
    purchase = await api.buy(BUYER, "pack-5")
    path = f"/pay/{token_of(purchase)}"
    public = {"Authorization": ""}
    form = {"Content-Type": "application/x-www-form-urlencoded", **public}

    page = await api.http.get(path, headers=public)
    rejected = await api.http.post(path, content="outcome=failed", headers=form)
    after_rejection = await db.fetchrow("SELECT status, payment_reference FROM purchases WHERE id = $1",
                                        purchase["id"])
    paid = await api.http.post(path, content="outcome=paid", headers=form)
    paid_row = await db.fetchrow("SELECT status, payment_reference FROM purchases WHERE id = $1", purchase["id"])
    again = await api.http.post(path, content="outcome=failed", headers=form)

    assert page.status_code == 200
    assert "Pagar $1,100.00 MXN" in page.text and "Simular un pago rechazado" in page.text
    assert re.search(r'<form method="post">', page.text)
    assert rejected.status_code == 200 and "rechazado" in rejected.text and "Pagar" in rejected.text
    assert after_rejection["status"] == "failed"
    assert after_rejection["payment_reference"].startswith("demo-"), "the page went through the signed webhook"
    assert paid.status_code == 200 and "Pago recibido" in paid.text
    assert paid_row["status"] == "paid" and paid_row["payment_reference"] != after_rejection["payment_reference"]
    assert again.status_code == 200 and "ya fue realizado" in again.text
    assert await db.fetchval("SELECT status FROM purchases WHERE id = $1", purchase["id"]) == "paid"


async def test_with_the_demo_checkout_off_the_page_cannot_pay(fresh_database: str, start_api: StartApi,
                                                              db: asyncpg.Connection) -> None:
    server = await start_api(settings_for(fresh_database, demo_checkout=False))
    async with httpx.AsyncClient(base_url=server.url, trust_env=False) as http:
        purchase = (await http.post("/client/purchase", json={"package_id": "pack-5"},
                                    headers={"X-Client-Phone": BUYER, **AUTH})).json()["purchase"]
        page = await http.get(f"/pay/{token_of(purchase)}")
        posted = await http.post(f"/pay/{token_of(purchase)}", content="outcome=paid",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})

    assert "desactivados" in page.text and "Pagar" not in page.text
    assert "desactivados" in posted.text
    assert await db.fetchval("SELECT status FROM purchases WHERE id = $1", purchase["id"]) == "pending"

