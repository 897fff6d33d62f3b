"""Booking, capacity under concurrency, cancelling, listing, and idempotent replays.

Bookings need a usable package (the default): each client who books is given one first, bought
and paid through the API. Packages and sessions themselves: test_business_api_packages.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import asyncpg

from tests.integration.business_api.harness import ANA, Api

CODE = re.compile(r"^BK-\d{4,}$")


def phone(n: int) -> str:
    return f"+52155{n:08d}"


async def confirmed_in_db(db: asyncpg.Connection, slot_id: int) -> tuple[int, int]:
    """(slots.booked, number of confirmed bookings) of a slot."""
    booked = await db.fetchval("SELECT booked FROM slots WHERE id = $1", slot_id)
    confirmed = await db.fetchval("SELECT count(*) FROM bookings WHERE slot_id = $1 AND status = 'confirmed'", slot_id)
    return booked, confirmed


async def test_booking_a_slot_returns_a_confirmed_booking_with_a_code(api: Api, db: asyncpg.Connection) -> None:
    slot = await api.free_future_slot()
    purchase = await api.give_package(phone(1), "pack-5")

    response = await api.as_client(phone(1), "POST", "/booking", json={"slot_id": slot["id"], "package_id": "pack-5"})

    assert response.status_code == 201, response.text
    booking = response.json()["booking"]
    assert CODE.match(booking["code"])
    assert booking["status"] == "confirmed"
    assert (booking["slot_id"], booking["date"], booking["time"]) == (slot["id"], slot["date"], slot["time"])
    assert booking["starts_at"] == slot["starts_at"]
    assert booking["class_name"] == slot["class_name"]
    assert (booking["package_id"], booking["package_name"], booking["purchase_id"]) == (
        "pack-5", "Pack 5 clases", purchase["id"])
    assert booking["sessions_left"] == 4
    assert await confirmed_in_db(db, slot["id"]) == (1, 1)


async def test_booking_by_date_and_time_and_an_unknown_phone_becomes_a_client(api: Api, db: asyncpg.Connection) -> None:
    slot = await api.free_future_slot()
    newcomer = phone(2)
    assert await db.fetchval("SELECT count(*) FROM clients WHERE phone = $1", newcomer) == 0

    without_package = await api.as_client(
        f"whatsapp:{newcomer}", "POST", "/booking", json={"date": slot["date"], "time": slot["time"]}
    )
    assert await db.fetchval("SELECT count(*) FROM clients WHERE phone = $1", newcomer) == 1
    await api.give_package(newcomer)
    response = await api.as_client(
        f"whatsapp:{newcomer}", "POST", "/booking", json={"date": slot["date"], "time": slot["time"]}
    )

    assert (without_package.status_code, without_package.json()["error"]["code"]) == (409, "no_usable_package")
    assert response.status_code == 201, response.text
    assert response.json()["booking"]["slot_id"] == slot["id"]


async def test_booking_errors_name_their_cause(api: Api, db: asyncpg.Connection) -> None:
    slot = await api.free_future_slot()
    await api.give_package(phone(3))
    assert (await api.book(phone(3), slot["id"])).status_code == 201
    past_slot = await db.fetchval(
        "INSERT INTO slots (starts_at, class_name, capacity) VALUES (now() - interval '1 day', 'Mat Pilates', 6) "
        "RETURNING id"
    )

    again = await api.book(phone(3), slot["id"])
    missing = await api.book(phone(3), 987654321)
    no_class_then = await api.as_client(phone(3), "POST", "/booking", json={"date": slot["date"], "time": "13:37"})
    in_past = await api.book(phone(3), past_slot)
    no_time = await api.as_client(phone(3), "POST", "/booking", json={"date": slot["date"]})
    bad_time = await api.as_client(phone(3), "POST", "/booking", json={"date": slot["date"], "time": "7pm"})
    bad_package = await api.as_client(phone(4), "POST", "/booking", json={"slot_id": slot["id"], "package_id": "x"})

    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_booked")
    assert again.json()["error"]["kind"] == "conflict"
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "no_such_slot")
    assert missing.json()["error"]["kind"] == "not_found"
    assert (no_class_then.status_code, no_class_then.json()["error"]["code"]) == (404, "no_such_slot")
    assert (in_past.status_code, in_past.json()["error"]["code"]) == (409, "slot_in_past")
    assert (no_time.status_code, no_time.json()["error"]["code"]) == (422, "missing_time")
    assert (bad_time.status_code, bad_time.json()["error"]["code"]) == (422, "invalid_time")
    assert (bad_package.status_code, bad_package.json()["error"]["code"]) == (404, "no_such_package")
    assert await confirmed_in_db(db, slot["id"]) == (1, 1)
    assert await confirmed_in_db(db, past_slot) == (0, 0)


async def test_two_clients_racing_for_the_last_place_get_one_booking(api: Api, db: asyncpg.Connection) -> None:
    slot = await api.free_future_slot()
    for n in [*range(slot["capacity"] - 1), 100, 101]:
        await api.give_package(phone(100 + n))
    for n in range(slot["capacity"] - 1):
        assert (await api.book(phone(100 + n), slot["id"])).status_code == 201

    first, second = await asyncio.gather(api.book(phone(200), slot["id"]), api.book(phone(201), slot["id"]))

    assert sorted([first.status_code, second.status_code]) == [201, 409]
    loser = first if first.status_code == 409 else second
    assert loser.json()["error"] == {"kind": "conflict", "message": "that class is full", "code": "slot_full"}
    assert await confirmed_in_db(db, slot["id"]) == (slot["capacity"], slot["capacity"])


async def test_twenty_concurrent_bookings_fill_six_places_and_no_more(api: Api, db: asyncpg.Connection) -> None:
    slot = await api.free_future_slot()
    assert slot["capacity"] == 6
    for n in range(20):
        await api.give_package(phone(300 + n))

    responses = await asyncio.gather(*(api.book(phone(300 + n), slot["id"]) for n in range(20)))

    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 6, statuses
    assert statuses.count(409) == 14, statuses
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"slot_full"}
    assert len({r.json()["booking"]["code"] for r in responses if r.status_code == 201}) == 6
    assert await confirmed_in_db(db, slot["id"]) == (6, 6)
    listed = (await api.http.get("/schedule-slots", params={"date": slot["date"]})).json()["slots"]
    assert next(s for s in listed if s["id"] == slot["id"])["available"] == 0


async def test_cancelling_releases_the_place(api: Api, db: asyncpg.Connection) -> None:
    slot = await api.free_future_slot()
    for n in [*range(slot["capacity"]), 99]:
        await api.give_package(phone(400 + n))
    for n in range(slot["capacity"]):
        assert (await api.book(phone(400 + n), slot["id"])).status_code == 201
    assert (await api.book(phone(499), slot["id"])).json()["error"]["code"] == "slot_full"
    mine = (await api.as_client(phone(400), "GET", "/client/bookings")).json()["bookings"][0]

    someone_elses = await api.as_client(phone(401), "POST", f"/client/bookings/{mine['code']}/cancel")
    cancelled = await api.as_client(phone(400), "POST", f"/client/bookings/{mine['code'].lower()}/cancel")
    twice = await api.as_client(phone(400), "POST", f"/client/bookings/{mine['id']}/cancel")
    late_comer = await api.book(phone(499), slot["id"])

    assert (someone_elses.status_code, someone_elses.json()["error"]["code"]) == (404, "no_such_booking")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["booking"]["status"] == "cancelled"
    assert cancelled.json()["booking"]["code"] == mine["code"]
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "already_cancelled")
    assert late_comer.status_code == 201
    assert await confirmed_in_db(db, slot["id"]) == (slot["capacity"], slot["capacity"])


async def test_client_and_admin_listings(api: Api) -> None:
    slot = await api.free_future_slot()
    await api.give_package(phone(500))
    code = (await api.book(phone(500), slot["id"])).json()["booking"]["code"]

    ana_all = (await api.as_client(ANA, "GET", "/client/bookings")).json()["bookings"]
    ana_cancelled = (await api.as_client(ANA, "GET", "/client/bookings", params={"status": "cancelled"})).json()
    ana_upcoming = (await api.as_client(ANA, "GET", "/client/bookings", params={"upcoming": "true"})).json()
    by_phone = await api.http.get("/admin/bookings", params={"phone": phone(500)})
    by_unencoded_plus = await api.http.get(f"/admin/bookings?phone={phone(500)}")
    by_code = await api.http.get("/admin/bookings", params={"code": code})
    nobody = await api.http.get("/admin/bookings", params={"phone": phone(599)})
    nothing_asked = await api.http.get("/admin/bookings")

    assert {b["status"] for b in ana_all} == {"confirmed", "cancelled"}, "the seed gives Ana both kinds"
    assert [b["status"] for b in ana_cancelled["bookings"]] == ["cancelled"]
    now = dt.datetime.now(dt.UTC)
    assert ana_upcoming["bookings"] and all(
        dt.datetime.fromisoformat(b["starts_at"]) > now for b in ana_upcoming["bookings"]
    )
    for response in (by_phone, by_unencoded_plus, by_code):
        assert response.status_code == 200, response.text
        [booking] = response.json()["bookings"]
        assert (booking["code"], booking["client_phone"], booking["status"]) == (code, phone(500), "confirmed")
    assert nobody.json() == {"bookings": []}
    assert (nothing_asked.status_code, nothing_asked.json()["error"]["code"]) == (422, "missing_phone")


async def test_replaying_a_booking_with_its_idempotency_key_books_once(api: Api, db: asyncpg.Connection) -> None:
    slot = await api.free_future_slot()
    await api.give_package(phone(600), "pack-5")
    first = await api.book(phone(600), slot["id"], **{"Idempotency-Key": "evt-1:book"})

    replay = await api.book(phone(600), slot["id"], **{"Idempotency-Key": "evt-1:book"})
    slots = (await api.http.get("/schedule-slots")).json()["slots"]
    other = next(s for s in slots if s["id"] != slot["id"] and s["available"] > 0)
    reused = await api.book(phone(600), other["id"], **{"Idempotency-Key": "evt-1:book"})

    assert first.status_code == 201
    assert replay.status_code == 201
    assert replay.content == first.content
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert (reused.status_code, reused.json()["error"]["code"]) == (422, "idempotency_key_reused")
    assert await confirmed_in_db(db, slot["id"]) == (1, 1)
    assert await confirmed_in_db(db, other["id"]) == (0, 0)
    [package] = await api.packages_of(phone(600))
    assert package["sessions_left"] == 4 == first.json()["booking"]["sessions_left"], "one session taken, once"


async def test_concurrent_duplicates_of_one_request_book_once(api: Api, db: asyncpg.Connection) -> None:
    slot = await api.free_future_slot()
    await api.give_package(phone(700), "pack-5")

    responses = await asyncio.gather(
        *(api.book(phone(700), slot["id"], **{"Idempotency-Key": "evt-2:book"}) for _ in range(5))
    )

    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert await confirmed_in_db(db, slot["id"]) == (1, 1)
    assert [p["sessions_left"] for p in await api.packages_of(phone(700))] == [4]


async def test_replaying_a_cancel_answers_the_same_and_releases_once(api: Api, db: asyncpg.Connection) -> None:
    slot = await api.free_future_slot()
    for n in range(2):
        await api.give_package(phone(800 + n), "pack-5")
    codes = [(await api.book(phone(800 + n), slot["id"])).json()["booking"]["code"] for n in range(2)]

    first = await api.as_client(
        phone(800), "POST", f"/client/bookings/{codes[0]}/cancel", headers={"Idempotency-Key": "evt-3:cancel"}
    )
    replay = await api.as_client(
        phone(800), "POST", f"/client/bookings/{codes[0]}/cancel", headers={"Idempotency-Key": "evt-3:cancel"}
    )

    assert first.status_code == replay.status_code == 200
    assert replay.content == first.content
    assert first.json()["booking"]["session_returned"] is True
    assert await confirmed_in_db(db, slot["id"]) == (1, 1)
    assert [p["sessions_left"] for p in await api.packages_of(phone(800))] == [5], "the session came back once"
