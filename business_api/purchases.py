"""Purchases of packages: created pending with a payment link, then paid or failed by the payment
webhook (`payments.py`); a paid purchase is the client's package, with sessions left until it expires."""

from __future__ import annotations

import secrets
from typing import Any

import asyncpg

from business_api.schemas import ClientPackageView, PurchaseView

_SELECT = """
    SELECT p.id, p.client_id, p.package_id, k.name AS package_name, p.sessions_total AS sessions, p.sessions_left,
           p.amount, p.currency, p.status, p.payment_token, p.created_at, p.paid_at, p.valid_until, p.failed_at,
           c.phone AS client_phone
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


def client_package_view(row: Any, payment_base_url: str) -> ClientPackageView:
    return ClientPackageView(
        purchase_id=row["id"],
        package_id=row["package_id"],
        name=row["package_name"],
        sessions_total=row["sessions"],
        sessions_left=row["sessions_left"],
        valid_until=row["valid_until"],
        status=row["package_status"],
        payment_link=f"{payment_base_url}/{row['payment_token']}" if row["status"] == "pending" else None,
    )


async def create_purchase(conn: asyncpg.Connection, *, client_id: int, package: Any) -> Any:
    """A pending purchase of `package` at its current price and sessions; returns the row."""
    purchase_id = await conn.fetchval(
        """
        INSERT INTO purchases (client_id, package_id, amount, currency, payment_token, sessions_total, sessions_left)
        VALUES ($1, $2, $3, $4, $5, $6, $6)
        RETURNING id
        """,
        client_id,
        package["id"],
        package["price"],
        package["currency"],
        secrets.token_urlsafe(18),
        package["sessions"],
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


async def client_packages(conn: asyncpg.Connection, client_id: int, limit: int = 50) -> list[Any]:
    """The client's packages (paid purchases) and pending purchases, newest first, each with its
    `package_status`: ``pending``; ``used_up`` (no sessions left); ``expired``; else ``active``."""
    return list(
        await conn.fetch(
            f"""
            SELECT q.*,
                   CASE WHEN q.status = 'pending' THEN 'pending'
                        WHEN q.sessions_left = 0 THEN 'used_up'
                        WHEN q.valid_until <= now() THEN 'expired'
                        ELSE 'active' END AS package_status
              FROM ({_SELECT} WHERE p.client_id = $1 AND p.status IN ('pending', 'paid')) q
             ORDER BY q.created_at DESC, q.id DESC
             LIMIT $2
            """,
            client_id,
            min(limit, MAX_LIST),
        )
    )


async def find(conn: asyncpg.Connection, purchase_id: int) -> Any:
    return await conn.fetchrow(f"{_SELECT} WHERE p.id = $1", purchase_id)


async def find_by_token(conn: asyncpg.Connection, token: str) -> Any:
    return await conn.fetchrow(f"{_SELECT} WHERE p.payment_token = $1", token)
