"""Run the reference business API for a test: a real uvicorn on 127.0.0.1 and an HTTP client for it.

The server runs in a thread with its own event loop, as the demo runs it; tests talk to it over
HTTP and look at the database directly only for what HTTP cannot show.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from business_api.app import create_app
from business_api.settings import DEMO_PAYMENT_PROVIDER_SECRET, BusinessApiSettings

TOKEN = "integration-business-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ANA = "+5215511111111"
ZONE_NAME = "America/Mexico_City"
PROVIDER_SECRET = DEMO_PAYMENT_PROVIDER_SECRET


def hmac_sha256(secret: str, body: bytes) -> str:
    """``sha256=<hex>``, computed here rather than with the API's own signing code."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def settings_for(dsn: str, **overrides: Any) -> BusinessApiSettings:
    values: dict[str, Any] = {"database_url": dsn, "token": SecretStr(TOKEN), "port": 0, **overrides}
    return BusinessApiSettings(**values)


class ApiServer:
    """uvicorn serving `create_app(settings)` in a thread, on a socket bound here (no port race)."""

    def __init__(self, settings: BusinessApiSettings) -> None:
        self.settings = settings
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        config = uvicorn.Config(create_app(settings), log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    async def start(self, timeout_s: float = 30.0) -> ApiServer:
        self.thread.start()
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive():
                pytest.fail("the business API did not start (its lifespan failed; see the captured log)")
            if asyncio.get_running_loop().time() > deadline:
                pytest.fail(f"the business API did not start within {timeout_s} s")
            await asyncio.sleep(0.02)
        return self

    async def stop(self) -> None:
        self.server.should_exit = True
        await asyncio.to_thread(self.thread.join, 15)
        self.socket.close()
        assert not self.thread.is_alive(), "the business API did not stop"


@dataclass
class Api:
    """A running API, an HTTP client for it and the database behind it."""

    server: ApiServer
    http: httpx.AsyncClient
    dsn: str

    async def as_client(self, phone: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-Client-Phone": phone, **kwargs.pop("headers", {})}
        return await self.http.request(method, path, headers=headers, **kwargs)

    async def book(self, phone: str, slot_id: int, **headers: str) -> httpx.Response:
        return await self.as_client(phone, "POST", "/booking", json={"slot_id": slot_id}, headers=headers)

    async def payment_webhook(self, body: dict[str, Any], *, secret: str = PROVIDER_SECRET) -> httpx.Response:
        """What a payment provider sends: the JSON body signed with the provider secret, no bearer token."""
        raw = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "X-Payment-Signature": hmac_sha256(secret, raw),
                   "Authorization": ""}
        return await self.http.post("/payments/webhook", content=raw, headers=headers)

    async def buy(self, phone: str, package_id: str) -> dict[str, Any]:
        """A pending purchase of `package_id` for the client."""
        response = await self.as_client(phone, "POST", "/client/purchase", json={"package_id": package_id})
        assert response.status_code == 201, response.text
        return dict(response.json()["purchase"])

    async def give_package(self, phone: str, package_id: str = "mensualidad-ilimitada") -> dict[str, Any]:
        """The client buys `package_id` and the provider's webhook says it was paid: an active package."""
        purchase = await self.buy(phone, package_id)
        paid = await self.payment_webhook({"purchase_id": purchase["id"], "status": "paid"})
        assert paid.status_code == 200, paid.text
        return dict(paid.json()["purchase"])

    async def packages_of(self, phone: str) -> list[dict[str, Any]]:
        response = await self.as_client(phone, "GET", "/client/packages")
        assert response.status_code == 200, response.text
        return list(response.json()["packages"])

    async def free_future_slot(self) -> dict[str, Any]:
        """An empty slot from the day after tomorrow on: it cannot start during the test, and it is more
        than the cancellation window (12 h) away at any time of day (tomorrow's first class is not, in
        the evening)."""
        response = await self.http.get("/schedule-slots", params={"days": 7})
        assert response.status_code == 200, response.text
        first_day = (dt.datetime.now(dt.UTC).astimezone(self.server.settings.zone) + dt.timedelta(days=2)).date()
        for slot in response.json()["slots"]:
            if dt.date.fromisoformat(slot["date"]) >= first_day and slot["booked"] == 0:
                return dict(slot)
        raise AssertionError("no empty slot in the coming week: the seed did not create the schedule")


StartApi = Callable[[BusinessApiSettings], Awaitable[ApiServer]]
