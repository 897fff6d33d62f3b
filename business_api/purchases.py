"""Purchases of packages: created pending with a payment link, paid through that link."""

from __future__ import annotations

import secrets
from typing import Any

import asyncpg

from business_api.schemas import PurchaseView

_SELECT = """
    SELECT p.id, p.package_id, k.name AS package_name, k.sessions, p.amount, p.currency, p.status,
           p.payment_token, p.created_at, p.paid_at, p.valid_until, c.phone AS client_phone
      FROM purchases p
      JOIN packages k ON k.id = p.package_id
      JOIN clients c ON c.id = p.client_id
"""
MAX_LIST = 200


def purchase_view(row: Any, payment_base_url: str) -> PurchaseView:
    return PurchaseView(
        id=row["id"],
        package_id=row["package_id"],
        package_name=row["package_name"],
        sessions=row["sessions"],
        amount=float(row["amount"]),
        currency=row["currency"].strip(),
        status=row["status"],
        payment_link=f"{payment_base_url}/{row['payment_token']}",
        created_at=row["created_at"],
        paid_at=row["paid_at"],
        valid_until=row["valid_until"],
    )


async def create_purchase(conn: asyncpg.Connection, *, client_id: int, package: Any) -> Any:
    """A pending purchase of `package` at its current price; returns the row."""
    purchase_id = await conn.fetchval(
        """
        INSERT INTO purchases (client_id, package_id, amount, currency, payment_token)
        VALUES ($1, $2, $3, $4, $5)
        RETURNING id
        """,
        client_id,
        package["id"],
        package["price"],
        package["currency"],
        secrets.token_urlsafe(18),
    )
    return await conn.fetchrow(f"{_SELECT} WHERE p.id = $1", purchase_id)


async def history(conn: asyncpg.Connection, client_id: int, limit: int = 50) -> list[Any]:
    """The client's purchases, newest first."""
    return list(
        await conn.fetch(
            f"{_SELECT} WHERE p.client_id = $1 ORDER BY p.created_at DESC, p.id DESC LIMIT $2",
            client_id,
            min(limit, MAX_LIST),
        )
    )


async def find_by_token(conn: asyncpg.Connection, token: str) -> Any:
    return await conn.fetchrow(f"{_SELECT} WHERE p.payment_token = $1", token)


async def mark_paid(conn: asyncpg.Connection, token: str) -> Any:
    """Mark a pending purchase paid (its validity starts now); the row, or None if not pending."""
    paid = await conn.fetchval(
        """
        UPDATE purchases p
           SET status = 'paid', paid_at = now(), valid_until = now() + make_interval(days => k.validity_days)
          FROM packages k
         WHERE k.id = p.package_id AND p.payment_token = $1 AND p.status = 'pending'
        RETURNING p.id
        """,
        token,
    )
    return None if paid is None else await conn.fetchrow(f"{_SELECT} WHERE p.id = $1", paid)
