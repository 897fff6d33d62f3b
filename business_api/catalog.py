"""What the business offers: packages of sessions and schedule slots, plus local-time helpers.

Slots are stored with a UTC ``starts_at``; days and ``HH:MM`` times are the business's local
ones, converted with the configured time zone.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from business_api.errors import InvalidRequest, NotFound
from business_api.schemas import PackageView, SlotView

SLOT_COLUMNS = "id, starts_at, duration_minutes, class_name, capacity, booked"
_PACKAGE_COLUMNS = "id, name, sessions, price, currency, validity_days, description"
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::00)?$")


def today(zone: ZoneInfo) -> dt.date:
    return dt.datetime.now(zone).date()


def day_bounds(first: dt.date, last: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants from local midnight of `first` to local midnight after `last`."""
    start = dt.datetime.combine(first, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def parse_time(raw: str) -> dt.time:
    match = _HHMM.match(raw.strip())
    if not match:
        raise InvalidRequest("invalid_time", f"{raw!r} is not a time of day as HH:MM (24 h), e.g. 19:00")
    return dt.time(int(match.group(1)), int(match.group(2)))


def local_start(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, at, tzinfo=zone).astimezone(dt.UTC)


def slot_view(row: Any, zone: ZoneInfo) -> SlotView:
    local = row["starts_at"].astimezone(zone)
    return SlotView(
        id=row["id"],
        date=local.date(),
        starts_at=local,
        time=local.strftime("%H:%M"),
        class_name=row["class_name"],
        duration_minutes=row["duration_minutes"],
        capacity=row["capacity"],
        booked=row["booked"],
        available=row["capacity"] - row["booked"],
    )


def package_view(row: Any) -> PackageView:
    return PackageView(
        id=row["id"],
        name=row["name"],
        sessions=row["sessions"],
        price=float(row["price"]),
        currency=row["currency"],
        validity_days=row["validity_days"],
        description=row["description"],
    )


async def list_packages(conn: asyncpg.Connection) -> list[PackageView]:
    rows = await conn.fetch(f"SELECT {_PACKAGE_COLUMNS} FROM packages WHERE active ORDER BY sort_order, id")
    return [package_view(row) for row in rows]


async def find_package(conn: asyncpg.Connection, ref: str | int) -> Any:
    """An active package by id, or by its exact name ignoring case; 404 ``no_such_package`` otherwise."""
    wanted = str(ref).strip()
    row = await conn.fetchrow(
        f"""
        SELECT {_PACKAGE_COLUMNS} FROM packages
         WHERE active AND (id = $1 OR lower(name) = lower($1))
         ORDER BY id = $1 DESC
         LIMIT 1
        """,
        wanted,
    )
    if row is None:
        raise NotFound("no_such_package", f"there is no package {wanted!r}; GET /packages lists them")
    return row


async def list_slots(
    conn: asyncpg.Connection,
    zone: ZoneInfo,
    first: dt.date,
    last: dt.date,
    *,
    include_started: bool = False,
    only_available: bool = False,
) -> list[SlotView]:
    start, end = day_bounds(first, last, zone)
    rows = await conn.fetch(
        f"""
        SELECT {SLOT_COLUMNS} FROM slots
         WHERE starts_at >= $1 AND starts_at < $2
           AND ($3 OR starts_at > now())
           AND (NOT $4 OR booked < capacity)
         ORDER BY starts_at, class_name
        """,
        start,
        end,
        include_started,
        only_available,
    )
    return [slot_view(row, zone) for row in rows]


async def find_slot(conn: asyncpg.Connection, slot_id: int) -> Any:
    row = await conn.fetchrow(f"SELECT {SLOT_COLUMNS} FROM slots WHERE id = $1", slot_id)
    if row is None:
        raise NotFound("no_such_slot", f"there is no slot {slot_id}")
    return row


async def find_slot_at(
    conn: asyncpg.Connection, zone: ZoneInfo, day: dt.date, at: dt.time, class_name: str | None
) -> Any:
    """The slot starting at that local date and time (the one with places first, if several)."""
    row = await conn.fetchrow(
        f"""
        SELECT {SLOT_COLUMNS} FROM slots
         WHERE starts_at = $1 AND ($2::text IS NULL OR lower(class_name) = lower($2))
         ORDER BY booked < capacity DESC, id
         LIMIT 1
        """,
        local_start(day, at, zone),
        class_name,
    )
    if row is None:
        what = f" of {class_name}" if class_name else ""
        raise NotFound("no_such_slot", f"there is no class{what} on {day.isoformat()} at {at.strftime('%H:%M')}")
    return row
