"""The payment webhook's effect: a purchase becomes paid (its package active) or failed, once.

``POST /payments/webhook`` is what a payment provider calls (the demo payment page calls it the
same way). The purchase's row is locked, so concurrent or replayed webhooks apply one change:

- ``paid`` on a pending or failed purchase: paid now, valid for the package's validity, with all
  its sessions; on a paid one: nothing (a replay).
- ``failed`` on a pending purchase: failed (the customer may pay again through the same link);
  on a failed or paid one: nothing (a replay, or a late failure of an attempt that no longer matters).

A change writes the notification to the orchestrator into the outbox in the same transaction
(when notifications are on), so it is sent if and only if the change committed.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from business_api import outbox, purchases
from business_api.errors import NotFound
from business_api.schemas import PaymentOutcome


async def settle(
    conn: asyncpg.Connection,
    *,
    purchase_id: int | None,
    token: str | None,
    outcome: PaymentOutcome,
    reference: str | None,
    notify: bool,
) -> tuple[Any, bool]:
    """Apply a payment outcome; return the purchase row and whether it changed. Call it in a transaction."""
    locked = await conn.fetchrow(
        """
        SELECT id, status FROM purchases
         WHERE ($1::bigint IS NULL OR id = $1) AND ($2::text IS NULL OR payment_token = $2)
           FOR UPDATE
        """,
        purchase_id,
        token,
    )
    if locked is None:
        raise NotFound("no_such_purchase", "there is no such purchase (check purchase_id or token)")
    if outcome == "paid" and locked["status"] in ("pending", "failed"):
        await conn.execute(
            """
            UPDATE purchases p
               SET status = 'paid', paid_at = now(), valid_until = now() + make_interval(days => k.validity_days),
                   sessions_left = p.sessions_total, payment_reference = COALESCE($2, p.payment_reference)
              FROM packages k
             WHERE k.id = p.package_id AND p.id = $1
            """,
            locked["id"],
            reference,
        )
    elif outcome == "failed" and locked["status"] == "pending":
        await conn.execute(
            """
            UPDATE purchases
               SET status = 'failed', failed_at = now(), payment_reference = COALESCE($2, payment_reference)
             WHERE id = $1
            """,
            locked["id"],
            reference,
        )
    else:
        return await purchases.find(conn, locked["id"]), False
    row = await purchases.find(conn, locked["id"])
    if notify:
        await outbox.enqueue(conn, row)
    return row, True
