"""The transactional outbox of payment notifications to the orchestrator, and its delivery.

`enqueue` writes the notification in the transaction that changed the purchase, so it exists if
and only if the change committed. `Outbox.run` (a task of the app's lifespan, started when
``BUSINESS_API_ORCHESTRATOR_WEBHOOK_URL`` is set) delivers each row by POSTing its body, signed
with HMAC-SHA256 in ``X-Business-Signature``, and marks it delivered on a 2xx. Any other answer,
a refused connection or a timeout schedules the next attempt with exponential backoff (capped),
forever: delivery is at-least-once and the orchestrator de-duplicates by purchase and status.

Rows are claimed with ``FOR UPDATE SKIP LOCKED`` and a lease (``next_attempt_at`` moved past
the attempt's timeout), so several processes share the work without a long transaction, and a
process that dies mid-attempt only delays its rows until the lease ends. A purchase's
notifications go out in order: a row waits while an older one of the same purchase is undelivered.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

import asyncpg
import httpx

from business_api.schemas import PaymentNotification
from business_api.settings import BusinessApiSettings
from business_api.signing import sign

logger = logging.getLogger("business_api.outbox")

SIGNATURE_HEADER = "X-Business-Signature"
DELIVERY_HEADER = "X-Business-Delivery"
BATCH = 20
LEASE_MARGIN_S = 30.0


def notification(row: Any) -> PaymentNotification:
    """The body for a purchase row that just became paid or failed."""
    paid = row["status"] == "paid"
    return PaymentNotification(
        purchase_id=row["id"],
        status="paid" if paid else "failed",
        customer_phone=row["client_phone"],
        package_name=row["package_name"],
        amount=float(row["amount"]),
        currency=row["currency"].strip(),
        valid_until=row["valid_until"] if paid else None,
        occurred_at=row["paid_at"] if paid else row["failed_at"],
    )


async def enqueue(conn: asyncpg.Connection, row: Any) -> int:
    """Queue the notification of `row`'s new status; call it in the transaction that changed it."""
    body = notification(row)
    queued: int = await conn.fetchval(
        "INSERT INTO payment_notifications (purchase_id, status, body) VALUES ($1, $2, $3) RETURNING id",
        body.purchase_id,
        body.status,
        body.model_dump_json(),
    )
    return queued


def backoff_s(attempts: int, *, base_s: float, max_s: float) -> float:
    """The delay after the `attempts`-th failed attempt: base, 2 x base, 4 x base, ... up to max, +-20 %."""
    delay = min(max_s, base_s * 2 ** min(max(attempts - 1, 0), 30))
    return float(delay * random.uniform(0.8, 1.2))  # jitter, not cryptography


class Outbox:
    """Delivers the outbox to `url` until every row got a 2xx."""

    def __init__(self, pool: asyncpg.Pool, http: httpx.AsyncClient, settings: BusinessApiSettings, url: str) -> None:
        self.pool, self.http, self.settings, self.url = pool, http, settings, url
        self._secret = settings.webhook_secret.get_secret_value()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look at the outbox now (a change just committed) rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        logger.info("payment notifications go to %s", self.url)
        while True:
            self._wake.clear()
            claimed = 0
            try:
                claimed = await self.deliver_due()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as error:
                logger.warning("payment notifications: the database is not answering: %s", error)
            except Exception:  # a bug: the rows stay due, so keep the loop alive and say so loudly
                logger.exception("payment notifications: unexpected error; retrying at the next poll")
            if claimed >= BATCH:
                continue  # more may be due
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.notify_poll_s)
            except TimeoutError:
                pass

    async def deliver_due(self) -> int:
        """Claim the due notifications, attempt each once; return how many were claimed."""
        lease = self.settings.notify_timeout_s + LEASE_MARGIN_S
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                """
                UPDATE payment_notifications
                   SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => $1)
                 WHERE id IN (
                       SELECT n.id FROM payment_notifications n
                        WHERE n.delivered_at IS NULL AND n.next_attempt_at <= now()
                          AND NOT EXISTS (SELECT 1 FROM payment_notifications e
                                           WHERE e.purchase_id = n.purchase_id AND e.id < n.id
                                             AND e.delivered_at IS NULL)
                        ORDER BY n.id
                        LIMIT $2
                          FOR UPDATE SKIP LOCKED)
                RETURNING id, body, attempts
                """,
                lease,
                BATCH,
            )
        for row in sorted(rows, key=lambda r: r["id"]):
            await self._attempt(row["id"], row["body"], row["attempts"])
        return len(rows)

    async def _attempt(self, notification_id: int, body: str, attempts: int) -> None:
        raw = body.encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, raw),
            DELIVERY_HEADER: str(notification_id),
        }
        error: str | None = None
        try:
            response = await self.http.post(
                self.url, content=raw, headers=headers, timeout=self.settings.notify_timeout_s
            )
            if not response.is_success:
                error = f"HTTP {response.status_code}: {response.text[:200]}"
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}"[:300]
        async with self.pool.acquire() as conn:
            if error is None:
                await conn.execute(
                    "UPDATE payment_notifications SET delivered_at = now(), last_error = NULL WHERE id = $1",
                    notification_id,
                )
                logger.info("payment notification %d delivered (attempt %d)", notification_id, attempts)
                return
            delay = backoff_s(
                attempts, base_s=self.settings.notify_retry_base_s, max_s=self.settings.notify_retry_max_s
            )
            await conn.execute(
                """
                UPDATE payment_notifications SET next_attempt_at = now() + make_interval(secs => $2), last_error = $3
                 WHERE id = $1
                """,
                notification_id,
                delay,
                error,
            )
        logger.warning(
            "payment notification %d: attempt %d failed (%s); next in %.1f s", notification_id, attempts, error, delay
        )
