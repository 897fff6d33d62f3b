"""The actions policy and its HTTP adapter against the running reference business API.

Each test gets a fresh PostgreSQL database (`fresh_database`), a real uvicorn serving the API on
127.0.0.1 (the business API tests' harness) and the adapter built from settings, as main.py does.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from business_api.settings import BusinessApiSettings
from services.actions.adapters.business_api import BusinessApiClient
from services.actions.settings import ActionsSettings
from tests.integration.business_api.harness import AUTH, PROVIDER_SECRET, TOKEN, ApiServer, hmac_sha256, settings_for


class ApiServerOn(ApiServer):
    """The harness's server on a socket bound beforehand: the adapter can be pointed at the port
    while nothing listens there yet (connections are refused), and the API started on it later."""

    def __init__(self, settings: BusinessApiSettings, bound: socket.socket) -> None:
        super().__init__(settings)
        self.socket.close()
        self.socket = bound
        self.url = f"http://127.0.0.1:{bound.getsockname()[1]}"
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [bound]}, daemon=True)


def actions_settings(url: str, **overrides: Any) -> ActionsSettings:
    values: dict[str, Any] = {"business_api_url": url, "business_api_token": SecretStr(TOKEN),
                              "business_api_timeout_s": 5.0, "business_api_retries": 2,
                              "business_api_backoff_s": 0.01, "business_api_backoff_max_s": 0.05, **overrides}
    return ActionsSettings(**values)


@pytest.fixture
async def servers(fresh_database: str) -> AsyncIterator[list[ApiServer]]:
    """Servers a test started; stopped before its database is dropped."""
    started: list[ApiServer] = []
    yield started
    for server in started:
        if server.thread.is_alive():
            await server.stop()


@pytest.fixture
async def api_url(fresh_database: str, servers: list[ApiServer]) -> str:
    server = await ApiServer(settings_for(fresh_database)).start()
    servers.append(server)
    return server.url


@pytest.fixture
async def adapter(api_url: str) -> AsyncIterator[BusinessApiClient]:
    client = BusinessApiClient.from_settings(actions_settings(api_url))
    yield client
    await client.close()


@pytest.fixture
async def http(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client for the API, to arrange what the test needs (another customer's booking)."""
    async with httpx.AsyncClient(base_url=api_url, headers=AUTH, trust_env=False, timeout=30.0) as client:
        yield client


@pytest.fixture
async def db(fresh_database: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(fresh_database, server_settings={"search_path": "business"})
    yield conn
    await conn.close()


ZONE = ZoneInfo("America/Mexico_City")
FindSlot = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def find_slot(http: httpx.AsyncClient) -> FindSlot:
    """A class `days_ahead` days from today on matching `predicate`: by default from the day after
    tomorrow, so that it cannot start during the test and stays beyond the cancellation window
    whatever the hour."""

    async def _find(predicate: Callable[[dict[str, Any]], bool] = lambda slot: slot["booked"] == 0,
                    days_ahead: int = 2) -> dict[str, Any]:
        response = await http.get("/schedule-slots", params={"days": 14})
        assert response.status_code == 200, response.text
        first_day = (dt.datetime.now(ZONE) + dt.timedelta(days=days_ahead)).date()
        for slot in response.json()["slots"]:
            if dt.date.fromisoformat(slot["date"]) >= first_day and predicate(slot):
                return dict(slot)
        raise AssertionError("no such class in the coming two weeks: the seed did not create the schedule")

    return _find


async def paid_package(http: httpx.AsyncClient, phone: str, package_id: str = "pack-10") -> dict[str, Any]:
    """A package bought and paid through the API (the payment provider's signed webhook), for `phone`."""
    bought = await http.post("/client/purchase", json={"package_id": package_id},
                             headers={"X-Client-Phone": phone.removeprefix("whatsapp:")})
    assert bought.status_code == 201, bought.text
    purchase: dict[str, Any] = bought.json()["purchase"]
    raw = json.dumps({"purchase_id": purchase["id"], "status": "paid"}).encode()
    paid = await http.post("/payments/webhook", content=raw, headers={
        "Content-Type": "application/json", "X-Payment-Signature": hmac_sha256(PROVIDER_SECRET, raw)})
    assert paid.status_code == 200, paid.text
    return purchase
