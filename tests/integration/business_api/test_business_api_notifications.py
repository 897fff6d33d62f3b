"""The outbox: each payment status change is POSTed to the orchestrator's webhook, signed, retried
with backoff until a 2xx, against a real HTTP server on 127.0.0.1 standing in for ingress."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI, Request, Response
from pydantic import SecretStr

from devstack.infra import free_port
from runtime.ops import http_server
from tests.integration.business_api.harness import AUTH, Api, StartApi, hmac_sha256, settings_for

SECRET = "notifications-test-secret"
BUYER = "+5215577770000"
PATH = "/webhooks/business/payments"
FAST_RETRIES: dict[str, Any] = {"notify_retry_base_s": 0.05, "notify_retry_max_s": 0.2, "notify_poll_s": 0.05}


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]


@dataclass
class Receiver:
    """What the orchestrator's webhook got, and the statuses it answers (then 202)."""

    answers: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post(PATH)
        async def webhook(request: Request) -> Response:
            self.received.append(Received(await request.body(), dict(request.headers)))
            return Response(status_code=self.answers.pop(0) if self.answers else 202)

        return app


@contextlib.asynccontextmanager
async def serving(receiver: Receiver, port: int) -> AsyncIterator[None]:
    server = http_server(receiver.app(), host="127.0.0.1", port=port)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn only exposes a flag
        await asyncio.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        await task


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def api_notifying(fresh_database: str, start_api: StartApi, url: str | None) -> AsyncIterator[Api]:
    server = await start_api(settings_for(fresh_database, orchestrator_webhook_url=url,
                                          webhook_secret=SecretStr(SECRET), **FAST_RETRIES))
    async with httpx.AsyncClient(base_url=server.url, headers=AUTH, trust_env=False, timeout=30.0) as http:
        yield Api(server, http, fresh_database)


async def delivered(db: asyncpg.Connection) -> list[asyncpg.Record]:
    return list(await db.fetch("SELECT * FROM payment_notifications ORDER BY id"))


async def test_a_payment_is_notified_once_signed_with_the_shared_secret(
        fresh_database: str, start_api: StartApi, db: asyncpg.Connection) -> None:
    receiver, port = Receiver(), free_port()
    async with serving(receiver, port), api_notifying(fresh_database, start_api,
                                                      f"http://127.0.0.1:{port}{PATH}") as api:
        purchase = await api.buy(f"whatsapp:{BUYER}", "pack-5")
        paid = (await api.payment_webhook({"purchase_id": purchase["id"], "status": "paid"})).json()["purchase"]
        await eventually(lambda: _delivered_all(db), "the notification to be delivered")
        replay = await api.payment_webhook({"purchase_id": purchase["id"], "status": "paid"})
        rows = await delivered(db)

    [got] = receiver.received
    assert got.headers["x-business-signature"] == hmac_sha256(SECRET, got.body)
    assert got.headers["content-type"] == "application/json"
    body = json.loads(got.body)
    assert body == {
        "purchase_id": purchase["id"], "status": "paid", "customer_phone": BUYER, "package_name": "Pack 5 clases",
        "amount": 1100.0, "currency": "MXN", "valid_until": paid["valid_until"], "occurred_at": paid["paid_at"],
    }
    assert dt.datetime.fromisoformat(body["occurred_at"].replace("Z", "+00:00")).utcoffset() == dt.timedelta(0)
    assert replay.json()["changed"] is False
    [row] = rows
    assert (row["attempts"], row["status"], row["last_error"]) == (1, "paid", None)
    assert row["delivered_at"] is not None and row["body"].encode() == got.body


async def test_a_500_is_retried_until_a_2xx(fresh_database: str, start_api: StartApi, db: asyncpg.Connection) -> None:
    receiver, port = Receiver(answers=[500, 503]), free_port()
    async with serving(receiver, port), api_notifying(fresh_database, start_api,
                                                      f"http://127.0.0.1:{port}{PATH}") as api:
        purchase = await api.buy(BUYER, "clase-suelta")
        await api.payment_webhook({"purchase_id": purchase["id"], "status": "failed"})
        await eventually(lambda: _delivered_all(db), "the notification to be delivered after two errors")

    assert len(receiver.received) == 3
    assert len({r.body for r in receiver.received}) == 1, "every attempt sends the same bytes"
    signature = hmac_sha256(SECRET, receiver.received[0].body)
    assert {r.headers["x-business-signature"] for r in receiver.received} == {signature}
    body = json.loads(receiver.received[0].body)
    assert (body["status"], body["valid_until"], body["package_name"]) == ("failed", None, "Clase suelta")
    [row] = await delivered(db)
    assert row["attempts"] == 3 and row["last_error"] is None


async def test_a_refused_connection_is_retried_until_the_orchestrator_listens(
        fresh_database: str, start_api: StartApi, db: asyncpg.Connection) -> None:
    receiver, port = Receiver(), free_port()  # nothing listens on the port yet
    async with api_notifying(fresh_database, start_api, f"http://127.0.0.1:{port}{PATH}") as api:
        purchase = await api.buy(BUYER, "pack-10")
        await api.payment_webhook({"purchase_id": purchase["id"], "status": "paid"})

        async def failed_twice() -> bool:
            row = await db.fetchrow("SELECT attempts, last_error FROM payment_notifications")
            return row is not None and row["attempts"] >= 2 and "Connect" in (row["last_error"] or "")

        await eventually(failed_twice, "two refused attempts")
        assert receiver.received == []
        async with serving(receiver, port):
            await eventually(lambda: _delivered_all(db), "the delivery once the orchestrator listens")

    [got] = receiver.received
    assert json.loads(got.body)["purchase_id"] == purchase["id"]
    [row] = await delivered(db)
    # At least one refused attempt came before the delivery: the outbox counts an attempt when it
    # starts it, so the second one may be the one that found the orchestrator listening.
    assert row["attempts"] >= 2 and row["delivered_at"] is not None


async def test_a_purchases_notifications_arrive_in_order(
        fresh_database: str, start_api: StartApi, db: asyncpg.Connection) -> None:
    receiver, port = Receiver(answers=[500]), free_port()
    async with serving(receiver, port), api_notifying(fresh_database, start_api,
                                                      f"http://127.0.0.1:{port}{PATH}") as api:
        purchase = await api.buy(BUYER, "pack-5")
        await api.payment_webhook({"purchase_id": purchase["id"], "status": "failed"})
        await api.payment_webhook({"purchase_id": purchase["id"], "status": "paid"})
        await eventually(lambda: _delivered_all(db, count=2), "both notifications")

    statuses = [json.loads(r.body)["status"] for r in receiver.received]
    assert statuses == ["failed", "failed", "paid"], "the paid one waited for the failed one's retry"


async def test_without_a_url_nothing_is_queued(fresh_database: str, start_api: StartApi,
                                               db: asyncpg.Connection) -> None:
    async with api_notifying(fresh_database, start_api, None) as api:
        purchase = await api.buy(BUYER, "pack-5")
        paid = await api.payment_webhook({"purchase_id": purchase["id"], "status": "paid"})

    assert paid.json()["changed"] is True
    assert await delivered(db) == []


async def _delivered_all(db: asyncpg.Connection, count: int = 1) -> bool:
    rows = await delivered(db)
    return len(rows) == count and all(row["delivered_at"] is not None for row in rows)
