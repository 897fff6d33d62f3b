"""Demo data: "Estudio Sol Pilates", a Pilates studio in Mexico City charging in MXN.

`seed` runs at every start (when ``BUSINESS_API_SEED`` is true), under the start-up lock:

- on an empty database it inserts the four packages, a few clients and a purchase history (paid
  purchases are packages whose sessions the seeded bookings take, as any booking does);
- every time, it tops the schedule up so that slots exist from today to 13 days ahead
  (Mon-Fri 07:00, 09:00, 18:00, 19:00, 20:00; Sat 07:00 and 09:00; capacity 6), so a demo
  started any day has upcoming classes;
- every time, it makes sure one class in the coming week is nearly full (one place left), booked
  by seeded clients (with a session of their package when they hold one), so the demo can show
  "full" after one more booking.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import asyncpg

from business_api import bookings, catalog, clients

logger = logging.getLogger("business_api.seed")

STUDIO_NAME = "Estudio Sol Pilates"
CURRENCY = "MXN"
CAPACITY = 6
HORIZON_DAYS = 14
SUNDAY, SATURDAY = 6, 5


@dataclass(frozen=True)
class SeedPackage:
    id: str
    name: str
    sessions: int | None
    price: int
    validity_days: int
    description: str


PACKAGES = (
    SeedPackage("clase-suelta", "Clase suelta", 1, 250, 30, "Una clase de Pilates Reformer o Mat, válida por 30 días."),
    SeedPackage("pack-5", "Pack 5 clases", 5, 1100, 60, "Cinco clases para usar en 60 días; ahorras 150 pesos."),
    SeedPackage(
        "pack-10", "Pack 10 clases", 10, 2000, 90, "Diez clases para usar en 90 días; el mejor precio por clase."
    ),
    SeedPackage("mensualidad-ilimitada", "Mensualidad ilimitada", None, 1800, 30, "Clases ilimitadas durante 30 días."),
)

# (phone, name, email); the first CAPACITY - 1 fill the nearly-full class.
CLIENTS = (
    ("+5215511111111", "Ana López", "ana.lopez@example.com"),
    ("+5215522222222", "Carlos Ramírez", "carlos.ramirez@example.com"),
    ("+5215533333333", "María Fernández", "maria.fernandez@example.com"),
    ("+5215544444444", "Jorge Hernández", None),
    ("+5215555555555", "Lucía Martínez", "lucia.martinez@example.com"),
    ("+5215566666666", "Sofía Torres", None),
)

WEEKDAY_CLASSES = (
    (dt.time(7, 0), "Mat Pilates"),
    (dt.time(9, 0), "Pilates Reformer"),
    (dt.time(18, 0), "Pilates Reformer"),
    (dt.time(19, 0), "Pilates Reformer"),
    (dt.time(20, 0), "Mat Pilates"),
)
SATURDAY_CLASSES = WEEKDAY_CLASSES[:2]
NEARLY_FULL_AT = dt.time(19, 0)

# (client phone, package id, days ago, paid)
PURCHASE_HISTORY = (
    ("+5215511111111", "clase-suelta", 75, True),
    ("+5215511111111", "pack-10", 40, True),
    ("+5215522222222", "mensualidad-ilimitada", 12, True),
)


def schedule(first: dt.date, days: int) -> list[tuple[dt.date, dt.time, str]]:
    """The studio's classes on `days` days from `first` (local dates and times)."""
    planned = []
    for offset in range(days):
        day = first + dt.timedelta(days=offset)
        if day.weekday() == SUNDAY:
            continue
        for at, class_name in SATURDAY_CLASSES if day.weekday() == SATURDAY else WEEKDAY_CLASSES:
            planned.append((day, at, class_name))
    return planned


async def seed(conn: asyncpg.Connection, zone: ZoneInfo, *, refund_hours: int = 12) -> None:
    """Seed an empty database and top the schedule up. Call it under the start-up lock."""
    day = catalog.today(zone)
    async with conn.transaction():
        empty = not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM packages)")
        if empty:
            await _insert_catalog_and_clients(conn)
        added = await top_up_slots(conn, zone, day)
        if empty:
            await _insert_history(conn, zone, day, refund_hours=refund_hours)
        filled = await ensure_nearly_full_class(conn, zone, day)
    logger.info(
        "demo data: %s, %d slots added, nearly-full class %s",
        "seeded" if empty else "present",
        added,
        "booked" if filled else "already there",
    )


async def _insert_catalog_and_clients(conn: asyncpg.Connection) -> None:
    await conn.executemany(
        """
        INSERT INTO packages (id, name, sessions, price, currency, validity_days, description, sort_order)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        """,
        [
            (p.id, p.name, p.sessions, p.price, CURRENCY, p.validity_days, p.description, order)
            for order, p in enumerate(PACKAGES)
        ],
    )
    await conn.executemany(
        "INSERT INTO clients (phone, name, email) VALUES ($1, $2, $3) ON CONFLICT (phone) DO NOTHING", CLIENTS
    )


async def top_up_slots(conn: asyncpg.Connection, zone: ZoneInfo, day: dt.date) -> int:
    """Create the missing slots from `day` to `day` + 13; return how many were added."""
    planned = schedule(day, HORIZON_DAYS)
    added = await conn.fetchval(
        """
        WITH added AS (
            INSERT INTO slots (starts_at, class_name, capacity)
            SELECT starts_at, class_name, $3 FROM unnest($1::timestamptz[], $2::text[]) AS t (starts_at, class_name)
            ON CONFLICT (starts_at, class_name) DO NOTHING
            RETURNING 1
        )
        SELECT count(*) FROM added
        """,
        [catalog.local_start(d, at, zone) for d, at, _ in planned],
        [class_name for _, _, class_name in planned],
        CAPACITY,
    )
    return int(added)


async def _client_ids(conn: asyncpg.Connection, phones: list[str]) -> list[int]:
    rows = await conn.fetch("SELECT id, phone FROM clients WHERE phone = ANY($1::text[])", phones)
    by_phone = {row["phone"]: row["id"] for row in rows}
    return [by_phone[phone] for phone in phones if phone in by_phone]


async def _insert_history(conn: asyncpg.Connection, zone: ZoneInfo, day: dt.date, *, refund_hours: int) -> None:
    for phone, package_id, days_ago, paid in PURCHASE_HISTORY:
        await conn.execute(
            """
            INSERT INTO purchases (client_id, package_id, amount, currency, status, payment_token,
                                   created_at, paid_at, valid_until, sessions_total, sessions_left)
            SELECT c.id, k.id, k.price, k.currency, CASE WHEN $3 THEN 'paid' ELSE 'pending' END,
                   md5(random()::text || clock_timestamp()::text),
                   now() - make_interval(days => $4),
                   CASE WHEN $3 THEN now() - make_interval(days => $4) END,
                   CASE WHEN $3 THEN now() - make_interval(days => $4) + make_interval(days => k.validity_days) END,
                   k.sessions, k.sessions
              FROM clients c, packages k
             WHERE c.phone = $1 AND k.id = $2
            """,
            phone,
            package_id,
            paid,
            days_ago,
        )
    # Ana also has a class she booked with her Pack 10 and then cancelled in time (the session went
    # back), two days from now.
    ana = await clients.ensure_client(conn, CLIENTS[0][0])
    slot = await conn.fetchrow(
        f"SELECT {catalog.SLOT_COLUMNS} FROM slots WHERE starts_at = ANY($1::timestamptz[]) ORDER BY starts_at LIMIT 1",
        [catalog.local_start(d, at, zone) for d, at, _ in schedule(day + dt.timedelta(days=2), 7)],
    )
    if slot is not None:
        booking = await bookings.create_booking(
            conn, zone, client_id=ana["id"], slot=slot, package_id="pack-10", require_package=False
        )
        await bookings.cancel_booking(conn, zone, client_id=ana["id"], ref=booking.code, refund_hours=refund_hours)


async def ensure_nearly_full_class(conn: asyncpg.Connection, zone: ZoneInfo, day: dt.date) -> bool:
    """Unless a class in the coming week has at most one place left, book the seeded clients into
    the next evening class so that it has one. Returns whether it booked."""
    if await conn.fetchval(
        """
        SELECT EXISTS (
            SELECT 1 FROM slots
             WHERE starts_at > now() AND starts_at < now() + interval '7 days' AND capacity - booked <= 1
        )
        """
    ):
        return False
    fillers = await _client_ids(conn, [phone for phone, _, _ in CLIENTS[: CAPACITY - 1]])
    candidates = [
        catalog.local_start(d, at, zone) for d, at, _ in schedule(day + dt.timedelta(days=1), 6) if at == NEARLY_FULL_AT
    ]
    slot = await conn.fetchrow(
        f"""
        SELECT {catalog.SLOT_COLUMNS} FROM slots
         WHERE starts_at = ANY($1::timestamptz[]) AND booked = 0 AND capacity = $2
         ORDER BY starts_at
         LIMIT 1
        """,
        candidates,
        len(fillers) + 1,
    )
    if slot is None:
        return False
    for client_id in fillers:  # each with a session of their package when they hold one (Ana, Carlos)
        await bookings.create_booking(
            conn, zone, client_id=client_id, slot=slot, package_id=None, require_package=False
        )
    return True
