"""Seeded packages and the schedule: listing by date, the coming week, the two-week top-up."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import asyncpg

from business_api import seed
from tests.integration.business_api.harness import ZONE_NAME, Api, StartApi, settings_for

ZONE = ZoneInfo(ZONE_NAME)


def local_today() -> dt.date:
    return dt.datetime.now(ZONE).date()


def next_weekday(weekday: int) -> dt.date:
    day = local_today() + dt.timedelta(days=1)
    while day.weekday() != weekday:
        day += dt.timedelta(days=1)
    return day


async def test_the_four_demo_packages_are_seeded(api: Api) -> None:
    response = await api.http.get("/packages")

    assert response.status_code == 200
    packages = {p["name"]: p for p in response.json()["packages"]}
    assert len(packages) == 4
    assert {name: (p["sessions"], p["price"], p["validity_days"]) for name, p in packages.items()} == {
        "Clase suelta": (1, 250, 30),
        "Pack 5 clases": (5, 1100, 60),
        "Pack 10 clases": (10, 2000, 90),
        "Mensualidad ilimitada": (None, 1800, 30),
    }
    assert {p["currency"] for p in packages.values()} == {"MXN"}
    assert all(p["description"] and p["id"] for p in packages.values())


async def test_slots_of_a_weekday_are_listed_with_local_times(api: Api) -> None:
    wednesday = next_weekday(2)

    response = await api.http.get("/schedule-slots", params={"date": wednesday.isoformat()})

    assert response.status_code == 200
    body = response.json()
    assert body["date"] == wednesday.isoformat()
    assert [s["time"] for s in body["slots"]] == ["07:00", "09:00", "18:00", "19:00", "20:00"]
    for slot in body["slots"]:
        starts_at = dt.datetime.fromisoformat(slot["starts_at"])
        assert starts_at.utcoffset() == ZONE.utcoffset(starts_at.replace(tzinfo=None))
        assert starts_at.astimezone(ZONE).strftime("%H:%M") == slot["time"]
        assert slot["date"] == wednesday.isoformat()
        assert slot["available"] == slot["capacity"] - slot["booked"]
        assert slot["class_name"] in {"Pilates Reformer", "Mat Pilates"}


async def test_saturdays_have_mornings_only_and_sundays_nothing(api: Api) -> None:
    saturday, sunday = next_weekday(5), next_weekday(6)

    saturday_slots = (await api.http.get("/schedule-slots", params={"date": saturday.isoformat()})).json()["slots"]
    sunday_slots = (await api.http.get("/schedule-slots", params={"date": sunday.isoformat()})).json()["slots"]

    assert [s["time"] for s in saturday_slots] == ["07:00", "09:00"]
    assert sunday_slots == []


async def test_the_coming_week_lists_only_upcoming_slots_and_one_is_nearly_full(api: Api) -> None:
    response = await api.http.get("/schedule-slots")

    assert response.status_code == 200
    body = response.json()
    assert body["date"] is None
    assert body["from_date"] == local_today().isoformat()
    assert body["to_date"] == (local_today() + dt.timedelta(days=6)).isoformat()
    now = dt.datetime.now(dt.UTC)
    assert body["slots"], "the seed must leave upcoming classes"
    assert all(dt.datetime.fromisoformat(s["starts_at"]) > now for s in body["slots"])
    assert [s for s in body["slots"] if s["available"] == 1], "one class should have a single place left"


async def test_an_invalid_date_is_a_validation_error(api: Api) -> None:
    response = await api.http.get("/schedule-slots", params={"date": "2025-02-30"})

    assert response.status_code == 422
    assert response.json()["error"]["kind"] == "validation"
    assert response.json()["error"]["code"] == "invalid_date"


async def test_slots_exist_two_weeks_ahead_and_are_topped_up_at_every_start(
    fresh_database: str, start_api: StartApi, db: asyncpg.Connection
) -> None:
    first = await start_api(settings_for(fresh_database))
    today = local_today()
    horizon = [today + dt.timedelta(days=n) for n in range(seed.HORIZON_DAYS)]
    expected = len(seed.schedule(today, seed.HORIZON_DAYS))
    count_sql = "SELECT count(*) FROM slots WHERE starts_at >= $1 AND starts_at < $2"
    window = (
        dt.datetime.combine(today, dt.time(), tzinfo=ZONE),
        dt.datetime.combine(horizon[-1] + dt.timedelta(days=1), dt.time(), tzinfo=ZONE),
    )
    assert await db.fetchval(count_sql, *window) == expected
    # As if the app last ran days ago: the last days of the window have no slots yet.
    cut = dt.datetime.combine(horizon[-4], dt.time(), tzinfo=ZONE)
    await db.execute("DELETE FROM slots WHERE starts_at >= $1 AND booked = 0", cut)
    assert await db.fetchval(count_sql, *window) < expected
    await first.stop()

    await start_api(settings_for(fresh_database))

    assert await db.fetchval(count_sql, *window) == expected
