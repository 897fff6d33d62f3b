"""Clients identified by their WhatsApp number: creation on first contact, profile reads and updates."""

from __future__ import annotations

import asyncpg

from tests.integration.business_api.harness import ANA, Api

NEWCOMER = "+5215577770000"


async def test_an_unknown_number_becomes_a_client_once(api: Api, db: asyncpg.Connection) -> None:
    before = await db.fetchval("SELECT count(*) FROM clients")

    first = await api.as_client(NEWCOMER, "GET", "/client/me")
    same_with_prefix = await api.as_client(f"whatsapp:{NEWCOMER}", "GET", "/client/bookings")
    same_with_spaces = await api.as_client("+52 1 55 7777 0000", "GET", "/client/purchase-history")

    assert first.status_code == 200, first.text
    assert first.json()["client"]["phone"] == NEWCOMER
    assert first.json()["client"]["name"] is None
    assert same_with_prefix.json() == {"bookings": []}
    assert same_with_spaces.status_code == 200
    assert await db.fetchval("SELECT count(*) FROM clients") == before + 1


async def test_the_seeded_client_has_a_profile(api: Api) -> None:
    response = await api.as_client(ANA, "GET", "/client/me")

    assert response.status_code == 200
    assert response.json()["client"]["name"] == "Ana López"
    assert response.json()["client"]["email"] == "ana.lopez@example.com"


async def test_a_missing_or_malformed_phone_is_a_validation_error(api: Api, db: asyncpg.Connection) -> None:
    before = await db.fetchval("SELECT count(*) FROM clients")

    missing = await api.http.get("/client/me")
    malformed = await api.as_client("55 1234", "GET", "/client/me")
    no_plus = await api.as_client("5215512345678", "POST", "/booking", json={"slot_id": 1})

    assert (missing.status_code, missing.json()["error"]["code"]) == (422, "missing_client_phone")
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (422, "invalid_client_phone")
    assert (no_plus.status_code, no_plus.json()["error"]["code"]) == (422, "invalid_client_phone")
    assert missing.json()["error"]["kind"] == "validation"
    assert await db.fetchval("SELECT count(*) FROM clients") == before


async def test_updating_the_profile_validates_and_persists(api: Api) -> None:
    updated = await api.as_client(
        NEWCOMER, "PATCH", "/client/me", json={"name": "  Pedro   Gómez ", "email": "P@Mail.COM"}
    )
    bad_email = await api.as_client(NEWCOMER, "PATCH", "/client/me", json={"email": "pedro@@mail"})
    short_name = await api.as_client(NEWCOMER, "PATCH", "/client/me", json={"name": "P"})
    long_name = await api.as_client(NEWCOMER, "PATCH", "/client/me", json={"name": "P" * 81})
    nothing = await api.as_client(NEWCOMER, "PATCH", "/client/me", json={})
    only_email = await api.as_client(NEWCOMER, "PATCH", "/client/me", json={"email": "pedro.gomez@example.mx"})

    assert updated.status_code == 200, updated.text
    assert (updated.json()["client"]["name"], updated.json()["client"]["email"]) == ("Pedro Gómez", "P@mail.com")
    assert (bad_email.status_code, bad_email.json()["error"]["code"]) == (422, "invalid_email")
    assert bad_email.json()["error"]["kind"] == "validation"
    assert (short_name.status_code, short_name.json()["error"]["code"]) == (422, "invalid_name")
    assert (long_name.status_code, long_name.json()["error"]["code"]) == (422, "invalid_name")
    assert (nothing.status_code, nothing.json()["error"]["code"]) == (422, "nothing_to_update")
    assert only_email.json()["client"]["name"] == "Pedro Gómez", "a field left out keeps its value"
    assert only_email.json()["client"]["email"] == "pedro.gomez@example.mx"
    stored = (await api.as_client(NEWCOMER, "GET", "/client/me")).json()["client"]
    assert (stored["name"], stored["email"]) == ("Pedro Gómez", "pedro.gomez@example.mx")
