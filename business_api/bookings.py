"""Bookings: take a place in a slot and a session of a package, list a client's bookings, cancel one.

Capacity is enforced by PostgreSQL: a booking takes its place with a conditional
``UPDATE slots SET booked = booked + 1 WHERE booked < capacity`` in the same transaction as the
insert. Concurrent requests for the last place queue on the slot's row lock and the losers see
the updated count, so one wins and the rest get ``slot_full``; the ``booked <= capacity`` check
constraint backs it up.

Sessions likewise: in the same transaction the booking locks the client's usable packages
(``SELECT ... FOR UPDATE``, in expiry order, so concurrent bookings of one client take the locks
in the same order) and decrements the one expiring first. A concurrent booking waiting on that
lock re-reads the row once the first commits, and a package whose last session was just taken
no longer qualifies: two bookings racing for the last session end with one booking and one
``no_usable_package``. ``CHECK (sessions_left >= 0)`` backs it up.
"""

from __future__ import annotations

import re
import secrets
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from business_api.errors import Conflict, NotFound
from business_api.schemas import AdminBookingView, BookedView, BookingStatus, BookingView, CancelledView

_SELECT = """
    SELECT b.id, b.code, b.slot_id, b.package_id, k.name AS package_name, b.purchase_id, b.status,
           b.created_at, b.cancelled_at, b.session_returned, p.sessions_left,
           s.starts_at, s.class_name, c.phone AS client_phone, c.name AS client_name
      FROM bookings b
      JOIN slots s ON s.id = b.slot_id
      JOIN clients c ON c.id = b.client_id
      LEFT JOIN packages k ON k.id = b.package_id
      LEFT JOIN purchases p ON p.id = b.purchase_id
"""
_REF = re.compile(r"^(?:BK-?)?(\d{1,10})$")
MAX_LIST = 200


def _fields(row: Any, zone: ZoneInfo) -> dict[str, Any]:
    local = row["starts_at"].astimezone(zone)
    return {
        "id": row["id"],
        "code": row["code"],
        "slot_id": row["slot_id"],
        "date": local.date(),
        "time": local.strftime("%H:%M"),
        "starts_at": local,
        "class_name": row["class_name"],
        "status": row["status"],
        "package_id": row["package_id"],
        "package_name": row["package_name"],
        "purchase_id": row["purchase_id"],
        "created_at": row["created_at"],
        "cancelled_at": row["cancelled_at"],
    }


def booking_view(row: Any, zone: ZoneInfo) -> BookingView:
    return BookingView(**_fields(row, zone))


def admin_booking_view(row: Any, zone: ZoneInfo) -> AdminBookingView:
    return AdminBookingView(**_fields(row, zone), client_phone=row["client_phone"], client_name=row["client_name"])


def new_code(attempt: int) -> str:
    """``BK-4821``; longer after repeated collisions so that the space never runs out."""
    digits = 4 if attempt < 8 else 6 if attempt < 16 else 8
    return f"BK-{secrets.randbelow(9 * 10 ** (digits - 1)) + 10 ** (digits - 1)}"


async def _fetch(conn: asyncpg.Connection, booking_id: int) -> Any:
    return await conn.fetchrow(f"{_SELECT} WHERE b.id = $1", booking_id)


async def create_booking(
    conn: asyncpg.Connection,
    zone: ZoneInfo,
    *,
    client_id: int,
    slot: Any,
    package_id: str | None,
    require_package: bool,
) -> BookedView:
    """Book `slot` for the client with a session of a usable package (of `package_id` when given).

    Without a usable package: 409 ``no_usable_package`` when `require_package`, else booked
    without one (recording `package_id` as given). Call it inside a transaction.
    """
    slot_id = slot["id"]
    if await conn.fetchval(
        "SELECT 1 FROM bookings WHERE client_id = $1 AND slot_id = $2 AND status = 'confirmed'", client_id, slot_id
    ):
        raise Conflict("already_booked", "this client already has a place in that class")
    starts_at = await conn.fetchval(
        """
        UPDATE slots SET booked = booked + 1
         WHERE id = $1 AND booked < capacity AND starts_at > now()
        RETURNING starts_at
        """,
        slot_id,
    )
    if starts_at is None:
        if await conn.fetchval("SELECT starts_at <= now() FROM slots WHERE id = $1", slot_id):
            raise Conflict("slot_in_past", "that class has already started")
        raise Conflict("slot_full", "that class is full")
    session = await _take_session(conn, client_id=client_id, starts_at=starts_at, package_id=package_id)
    if session is None and require_package:
        which = f"no usable {package_id!r} package" if package_id else "no paid package with sessions left"
        raise Conflict("no_usable_package", f"this client has {which} valid for that class")
    purchase_id, charged_package, sessions_left = session or (None, package_id, None)
    for attempt in range(24):
        try:
            booking_id = await conn.fetchval(
                """
                INSERT INTO bookings (code, client_id, slot_id, package_id, purchase_id) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (code) DO NOTHING
                RETURNING id
                """,
                new_code(attempt),
                client_id,
                slot_id,
                charged_package,
                purchase_id,
            )
        except asyncpg.UniqueViolationError as error:  # the same client booking the same slot concurrently
            raise Conflict("already_booked", "this client already has a place in that class") from error
        if booking_id is not None:
            row = await _fetch(conn, booking_id)
            return BookedView(**_fields(row, zone), sessions_left=sessions_left)
    raise RuntimeError("could not draw an unused booking code")


async def _take_session(
    conn: asyncpg.Connection, *, client_id: int, starts_at: Any, package_id: str | None
) -> tuple[int, str, int | None] | None:
    """Take one session of the client's usable package that expires first (of `package_id` when
    given): paid, valid when the class starts, with sessions left or unlimited. Returns
    (purchase id, package id, sessions left after it; None when unlimited), or None.

    Every usable package of the client is locked in expiry order, so that concurrent bookings of
    the client take the locks in the same order; a package whose last session a concurrent booking
    took is re-read after its commit and drops out.
    """
    usable = await conn.fetch(
        """
        SELECT id, package_id, sessions_left FROM purchases
         WHERE client_id = $1 AND status = 'paid' AND valid_until > $2
           AND (sessions_left IS NULL OR sessions_left > 0)
           AND ($3::text IS NULL OR package_id = $3)
         ORDER BY valid_until, id
           FOR UPDATE
        """,
        client_id,
        starts_at,
        package_id,
    )
    if not usable:
        return None
    chosen = usable[0]
    if chosen["sessions_left"] is None:
        return chosen["id"], chosen["package_id"], None
    left = await conn.fetchval(
        "UPDATE purchases SET sessions_left = sessions_left - 1 WHERE id = $1 RETURNING sessions_left", chosen["id"]
    )
    return chosen["id"], chosen["package_id"], left


async def list_bookings(
    conn: asyncpg.Connection,
    *,
    client_id: int | None = None,
    phone: str | None = None,
    code: str | None = None,
    status: BookingStatus | None = None,
    upcoming: bool = False,
    limit: int = 50,
) -> list[Any]:
    """Rows of a client's bookings (by id or phone) and/or one booking code, soonest class first
    when `upcoming`, most recent class first otherwise.

    Only the filters given go into the WHERE clause, so each query shape gets a plan that uses
    its index (clients.phone, bookings.code or bookings_by_client).
    """
    if client_id is None and phone is None and code is None:
        raise ValueError("list_bookings needs a client or a booking code")
    filters = {"b.client_id": client_id, "c.phone": phone, "b.code": code, "b.status": status}
    conditions: list[str] = []
    args: list[Any] = []
    for column, value in filters.items():
        if value is not None:
            args.append(value)
            conditions.append(f"{column} = ${len(args)}")
    if upcoming:
        conditions.append("s.starts_at > now()")
    args.append(min(limit, MAX_LIST))
    order = "s.starts_at ASC" if upcoming else "s.starts_at DESC"
    where = " AND ".join(conditions)
    return list(await conn.fetch(f"{_SELECT} WHERE {where} ORDER BY {order}, b.id DESC LIMIT ${len(args)}", *args))


def normalize_code(raw: str) -> str | None:
    """``bk-4821``/``BK4821``/``4821`` -> ``BK-4821``; None when it cannot be a code."""
    match = _REF.match(raw.strip().upper())
    return f"BK-{match.group(1)}" if match and len(match.group(1)) >= 4 else None


async def cancel_booking(
    conn: asyncpg.Connection, zone: ZoneInfo, *, client_id: int, ref: str, refund_hours: int
) -> CancelledView:
    """Cancel the client's booking `ref` (its code or id) and give its place back; its session goes
    back to its package when the class starts at least `refund_hours` from now. Call it in a transaction."""
    match = _REF.match(ref.strip().upper())
    if match is None:
        raise NotFound("no_such_booking", f"this client has no booking {ref!r}")
    code, booking_id = f"BK-{match.group(1)}", int(match.group(1))
    row = await conn.fetchrow(
        """
        SELECT b.id, b.status, b.slot_id, b.purchase_id, s.starts_at <= now() AS started,
               s.starts_at >= now() + make_interval(hours => $4) AS in_time
          FROM bookings b JOIN slots s ON s.id = b.slot_id
         WHERE b.client_id = $1 AND (b.code = $2 OR b.id = $3)
         ORDER BY b.code = $2 DESC
         LIMIT 1
           FOR UPDATE OF b
        """,
        client_id,
        code,
        booking_id,
        refund_hours,
    )
    if row is None:
        raise NotFound("no_such_booking", f"this client has no booking {ref!r}")
    if row["status"] == "cancelled":
        raise Conflict("already_cancelled", "that booking is already cancelled")
    if row["started"]:
        raise Conflict("booking_in_past", "that class has already started; it can no longer be cancelled")
    returned = row["purchase_id"] is not None and bool(row["in_time"])
    await conn.execute(
        "UPDATE bookings SET status = 'cancelled', cancelled_at = now(), session_returned = $2 WHERE id = $1",
        row["id"],
        returned,
    )
    await conn.execute("UPDATE slots SET booked = booked - 1 WHERE id = $1", row["slot_id"])
    if returned:
        await conn.execute(
            "UPDATE purchases SET sessions_left = sessions_left + 1 WHERE id = $1 AND sessions_left < sessions_total",
            row["purchase_id"],
        )
    cancelled = await _fetch(conn, row["id"])
    return CancelledView(
        **_fields(cancelled, zone),
        session_returned=returned,
        refund_hours=refund_hours,
        sessions_left=cancelled["sessions_left"],
    )
