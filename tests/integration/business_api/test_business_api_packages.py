"""Packages and credits: a booking takes a session of the package that expires first, races for the
last session end with one booking, a cancellation made in time gives the session back, and
`GET /client/packages` says what the client holds."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import asyncpg
import httpx

from tests.integration.business_api.harness import ANA, AUTH, Api, StartApi, settings_for

PACKAGE_FIELDS = {"purchase_id", "package_id", "name", "sessions_total", "sessions_left", "valid_until", "status",
                  "payment_link"}


def phone(n: int) -> str:
    return f"+52155{70000000 + n:08d}"


def utc(value: str) -> dt.datetime:
    assert value.endswith("Z"), value
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


async def free_slots(api: Api, count: int) -> list[dict[str, Any]]:
    """`count` empty classes from the day after tomorrow on: more than the cancellation window (12 h)
    away whatever the time of day the test runs (tomorrow's first class is not, in the evening)."""
    first_day = (dt.datetime.now(api.server.settings.zone) + dt.timedelta(days=2)).date()
    listed = (await api.http.get("/schedule-slots", params={"days": 14})).json()["slots"]
    found = [s for s in listed if dt.date.fromisoformat(s["date"]) >= first_day and s["booked"] == 0][:count]
    assert len(found) == count, "the seed should schedule enough classes"
    return found


async def booking_error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


async def test_without_a_usable_package_a_booking_is_refused_and_takes_nothing(
        api: Api, db: asyncpg.Connection) -> None:
    slot = await api.free_future_slot()
    pending = phone(1)
    await api.buy(pending, "pack-5")
    # Rows another test left on the slot (a booking it cancelled frees the place, the row stays).
    rows_before = await db.fetchval("SELECT count(*) FROM bookings WHERE slot_id = $1", slot["id"])

    newcomer = await api.book(phone(2), slot["id"])
    unpaid = await api.book(pending, slot["id"])

    for refused in (newcomer, unpaid):
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["kind"] == "conflict"
        assert refused.json()["error"]["code"] == "no_usable_package"
    assert await db.fetchval("SELECT booked FROM slots WHERE id = $1", slot["id"]) == 0
    assert await db.fetchval("SELECT count(*) FROM bookings WHERE slot_id = $1", slot["id"]) == rows_before


async def test_a_booking_takes_a_session_of_the_package_that_expires_first(api: Api) -> None:
    first, second, third = await free_slots(api, 3)
    client = phone(3)
    ten = await api.give_package(client, "pack-10")  # valid 90 days
    five = await api.give_package(client, "pack-5")  # valid 60 days: expires first

    by_default = (await api.book(client, first["id"])).json()["booking"]
    named = await api.as_client(client, "POST", "/booking", json={"slot_id": second["id"], "package_id": "pack-10"})
    by_name = await api.as_client(client, "POST", "/booking",
                                  json={"slot_id": third["id"], "package_id": "Pack 10 clases"})

    assert (by_default["purchase_id"], by_default["package_id"], by_default["package_name"]) == (
        five["id"], "pack-5", "Pack 5 clases")
    assert by_default["sessions_left"] == 4
    assert named.status_code == 201, named.text
    assert (named.json()["booking"]["purchase_id"], named.json()["booking"]["sessions_left"]) == (ten["id"], 9)
    assert (by_name.json()["booking"]["purchase_id"], by_name.json()["booking"]["sessions_left"]) == (ten["id"], 8)
    held = {p["purchase_id"]: p["sessions_left"] for p in await api.packages_of(client)}
    assert held == {five["id"]: 4, ten["id"]: 8}


async def test_a_package_named_must_be_one_the_client_can_use(api: Api) -> None:
    slot = await api.free_future_slot()
    client = phone(4)
    await api.give_package(client, "pack-5")

    other = await api.as_client(client, "POST", "/booking", json={"slot_id": slot["id"], "package_id": "pack-10"})
    unknown = await api.as_client(client, "POST", "/booking", json={"slot_id": slot["id"], "package_id": "pack-99"})

    assert await booking_error(other) == (409, "no_usable_package")
    assert await booking_error(unknown) == (404, "no_such_package")
    assert [p["sessions_left"] for p in await api.packages_of(client)] == [5]


async def test_an_expired_package_or_one_ending_before_the_class_is_not_usable(
        api: Api, db: asyncpg.Connection) -> None:
    slot = await api.free_future_slot()
    client = phone(5)
    purchase = await api.give_package(client, "pack-5")
    starts_at = dt.datetime.fromisoformat(slot["starts_at"])

    await db.execute("UPDATE purchases SET valid_until = $2 WHERE id = $1", purchase["id"],
                     starts_at - dt.timedelta(minutes=1))
    ends_before = await api.book(client, slot["id"])
    listed_valid = await api.packages_of(client)
    await db.execute("UPDATE purchases SET valid_until = now() - interval '1 day' WHERE id = $1", purchase["id"])
    expired = await api.book(client, slot["id"])
    listed_expired = await api.packages_of(client)
    await db.execute("UPDATE purchases SET valid_until = $2 WHERE id = $1", purchase["id"],
                     starts_at + dt.timedelta(minutes=1))
    just_valid = await api.book(client, slot["id"])

    assert await booking_error(ends_before) == (409, "no_usable_package")
    assert listed_valid[0]["status"] == "active", "still usable for an earlier class"
    assert await booking_error(expired) == (409, "no_usable_package")
    assert listed_expired[0]["status"] == "expired"
    assert just_valid.status_code == 201 and just_valid.json()["booking"]["sessions_left"] == 4


async def test_the_last_session_is_used_up_and_a_cancellation_in_time_gives_it_back(
        api: Api, db: asyncpg.Connection) -> None:
    first, second = await free_slots(api, 2)
    client = phone(6)
    single = await api.give_package(client, "clase-suelta")

    booked = (await api.book(client, first["id"])).json()["booking"]
    none_left = await api.book(client, second["id"])
    used_up = await api.packages_of(client)
    cancelled = await api.as_client(client, "POST", f"/client/bookings/{booked['code']}/cancel")
    after_cancel = await api.packages_of(client)
    rebooked = await api.book(client, second["id"])

    assert (booked["purchase_id"], booked["sessions_left"]) == (single["id"], 0)
    assert await booking_error(none_left) == (409, "no_usable_package")
    assert [(p["status"], p["sessions_left"]) for p in used_up] == [("used_up", 0)]
    assert cancelled.status_code == 200, cancelled.text
    view = cancelled.json()["booking"]
    assert (view["status"], view["session_returned"], view["refund_hours"]) == ("cancelled", True, 12)
    assert (view["package_name"], view["sessions_left"], view["purchase_id"]) == ("Clase suelta", 1, single["id"])
    assert [(p["status"], p["sessions_left"]) for p in after_cancel] == [("active", 1)]
    assert rebooked.status_code == 201 and rebooked.json()["booking"]["sessions_left"] == 0
    assert await db.fetchval("SELECT session_returned FROM bookings WHERE code = $1", booked["code"]) is True


async def test_a_late_cancellation_keeps_the_session_and_the_hours_are_configurable(
        api: Api, db: asyncpg.Connection, start_api: StartApi) -> None:
    late, in_time = await free_slots(api, 2)
    client = phone(7)
    await api.give_package(client, "pack-5")
    codes = [(await api.book(client, slot["id"])).json()["booking"]["code"] for slot in (late, in_time)]
    for slot in (late, in_time):  # both classes now start in two hours
        await db.execute("UPDATE slots SET starts_at = now() + interval '2 hours' WHERE id = $1", slot["id"])
    lenient = await start_api(settings_for(api.dsn, cancel_refund_hours=1, seed=False))

    kept = await api.as_client(client, "POST", f"/client/bookings/{codes[0]}/cancel")
    async with httpx.AsyncClient(base_url=lenient.url, headers=AUTH, trust_env=False) as http:
        returned = await http.post(f"/client/bookings/{codes[1]}/cancel", headers={"X-Client-Phone": client})

    assert kept.status_code == 200, kept.text
    kept_view = kept.json()["booking"]
    assert (kept_view["session_returned"], kept_view["refund_hours"], kept_view["sessions_left"]) == (False, 12, 3)
    returned_view = returned.json()["booking"]
    assert (returned_view["session_returned"], returned_view["refund_hours"], returned_view["sessions_left"]) == (
        True, 1, 4)
    assert [p["sessions_left"] for p in await api.packages_of(client)] == [4]


async def test_an_unlimited_package_counts_nothing(api: Api) -> None:
    first, second = await free_slots(api, 2)
    client = phone(8)
    monthly = await api.give_package(client, "mensualidad-ilimitada")

    bookings = [(await api.book(client, slot["id"])).json()["booking"] for slot in (first, second)]
    cancelled = (await api.as_client(client, "POST", f"/client/bookings/{bookings[0]['code']}/cancel")).json()

    assert [(b["purchase_id"], b["sessions_left"]) for b in bookings] == [(monthly["id"], None)] * 2
    assert (cancelled["booking"]["session_returned"], cancelled["booking"]["sessions_left"]) == (True, None)
    [held] = await api.packages_of(client)
    assert (held["status"], held["sessions_total"], held["sessions_left"]) == ("active", None, None)


async def test_with_the_requirement_off_a_client_without_a_package_books_without_one(
        fresh_database: str, start_api: StartApi) -> None:
    server = await start_api(settings_for(fresh_database, booking_requires_package=False))
    async with httpx.AsyncClient(base_url=server.url, headers=AUTH, trust_env=False, timeout=30.0) as http:
        api = Api(server, http, fresh_database)
        first, second = await free_slots(api, 2)
        without = await api.book(phone(9), first["id"])
        purchase = await api.give_package(phone(9), "pack-5")
        with_one = await api.book(phone(9), second["id"])
        code = without.json()["booking"]["code"]
        cancelled = await api.as_client(phone(9), "POST", f"/client/bookings/{code}/cancel")

    assert without.status_code == 201, without.text
    booking = without.json()["booking"]
    assert (booking["purchase_id"], booking["package_id"], booking["package_name"], booking["sessions_left"]) == (
        None, None, None, None)
    assert (with_one.json()["booking"]["purchase_id"], with_one.json()["booking"]["sessions_left"]) == (
        purchase["id"], 4)
    assert (cancelled.json()["booking"]["session_returned"], cancelled.json()["booking"]["sessions_left"]) == (
        False, None)


async def test_two_bookings_racing_for_the_last_session_end_with_one_booking(
        api: Api, db: asyncpg.Connection, postgres_url: str) -> None:
    """Both requests are held inside their transactions at the purchase's row lock at the same time
    (the test holds that lock first), then released together: exactly one takes the session."""
    first, second = await free_slots(api, 2)
    client = phone(10)
    single = await api.give_package(client, "clase-suelta")
    database = api.dsn.rsplit("/", 1)[1]

    async with db.transaction():
        await db.execute("SELECT 1 FROM purchases WHERE id = $1 FOR UPDATE", single["id"])
        racing = [asyncio.create_task(api.book(client, slot["id"])) for slot in (first, second)]
        waiting = await waiters_on_a_lock(postgres_url, database, count=2)
        assert waiting == 2, "both bookings should be waiting on the purchase's row lock"
        assert not any(task.done() for task in racing)
    responses = await asyncio.gather(*racing)

    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json()["error"]["code"] == "no_usable_package"
    winner = next(r for r in responses if r.status_code == 201).json()["booking"]
    assert (winner["purchase_id"], winner["sessions_left"]) == (single["id"], 0)
    assert await db.fetchval("SELECT sessions_left FROM purchases WHERE id = $1", single["id"]) == 0
    assert await db.fetchval(
        "SELECT count(*) FROM bookings WHERE purchase_id = $1 AND status = 'confirmed'", single["id"]) == 1
    booked = await db.fetchval("SELECT sum(booked) FROM slots WHERE id = ANY($1::bigint[])",
                               [first["id"], second["id"]])
    assert booked == 1, "the loser's place was given back with its transaction"


async def test_twelve_concurrent_bookings_spend_five_sessions_and_no_more(api: Api, db: asyncpg.Connection) -> None:
    slots = await free_slots(api, 12)
    client = phone(11)
    five = await api.give_package(client, "pack-5")

    responses = await asyncio.gather(*(api.book(client, slot["id"]) for slot in slots))

    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 5 and statuses.count(409) == 7, statuses
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"no_usable_package"}
    assert sorted(r.json()["booking"]["sessions_left"] for r in responses if r.status_code == 201) == [0, 1, 2, 3, 4]
    assert await db.fetchval("SELECT sessions_left FROM purchases WHERE id = $1", five["id"]) == 0
    assert await db.fetchval("SELECT count(*) FROM bookings WHERE purchase_id = $1", five["id"]) == 5


async def test_the_client_packages_newest_first_with_their_status(api: Api, db: asyncpg.Connection) -> None:
    client = phone(12)
    expired = await api.give_package(client, "pack-10")
    await db.execute("UPDATE purchases SET valid_until = now() - interval '1 hour' WHERE id = $1", expired["id"])
    used_up = await api.give_package(client, "clase-suelta")
    await api.book(client, (await api.free_future_slot())["id"])
    active = await api.give_package(client, "pack-5")
    pending = await api.buy(client, "mensualidad-ilimitada")
    failed = await api.buy(client, "pack-5")
    assert (await api.payment_webhook({"purchase_id": failed["id"], "status": "failed"})).status_code == 200

    listed = await api.packages_of(client)
    stranger = await api.packages_of(phone(13))

    for package in listed:
        assert set(package) == PACKAGE_FIELDS, set(package) ^ PACKAGE_FIELDS
    assert [(p["purchase_id"], p["status"]) for p in listed] == [
        (pending["id"], "pending"), (active["id"], "active"), (used_up["id"], "used_up"), (expired["id"], "expired")]
    by_status = {p["status"]: p for p in listed}
    assert by_status["pending"]["payment_link"] == pending["payment_link"]
    assert (by_status["pending"]["sessions_total"], by_status["pending"]["valid_until"]) == (None, None)
    assert {p["payment_link"] for p in listed if p["status"] != "pending"} == {None}
    assert (by_status["active"]["package_id"], by_status["active"]["name"]) == ("pack-5", "Pack 5 clases")
    assert (by_status["active"]["sessions_total"], by_status["active"]["sessions_left"]) == (5, 5)
    assert utc(by_status["active"]["valid_until"]) == utc(active["valid_until"])
    assert (by_status["used_up"]["sessions_total"], by_status["used_up"]["sessions_left"]) == (1, 0)
    assert stranger == []


async def test_the_seed_is_consistent_with_its_bookings(api: Api, db: asyncpg.Connection) -> None:
    ana = await api.packages_of(ANA)
    mismatched = await db.fetch(
        """
        SELECT p.id FROM purchases p
         WHERE p.status = 'paid' AND p.sessions_total IS NOT NULL
           AND p.sessions_total - p.sessions_left <> (
               SELECT count(*) FROM bookings b WHERE b.purchase_id = p.id AND b.status = 'confirmed')
        """)
    cancelled = await db.fetchrow(
        "SELECT b.session_returned, b.purchase_id FROM bookings b JOIN clients c ON c.id = b.client_id "
        "WHERE c.phone = $1 AND b.status = 'cancelled'", ANA)

    assert mismatched == []
    assert [(p["name"], p["status"], p["sessions_left"]) for p in ana] == [
        ("Pack 10 clases", "active", 9), ("Clase suelta", "expired", 1)]
    assert cancelled is not None and cancelled["session_returned"] is True and cancelled["purchase_id"] is not None


async def waiters_on_a_lock(postgres_url: str, database: str, *, count: int, timeout_s: float = 10.0) -> int:
    """Poll until `count` of the API's backends wait on a lock in `database`; return how many do."""
    conn = await asyncpg.connect(postgres_url)
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            waiting = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'business-api' "
                "AND wait_event_type = 'Lock'", database)
            if waiting >= count or asyncio.get_running_loop().time() > deadline:
                return int(waiting)
            await asyncio.sleep(0.02)
    finally:
        await conn.close()
