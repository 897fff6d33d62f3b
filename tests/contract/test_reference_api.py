"""The `BusinessApi` contract against `BusinessApiClient` talking HTTP to the reference API.

Each test gets a fresh PostgreSQL database (`fresh_database`), a real uvicorn serving the
reference API on 127.0.0.1 (the business API tests' harness, seeded with the demo studio) and
the adapter built from settings as the actions service builds it. State is arranged through the
API (payments through its payment webhook, signed as a provider signs it), or in SQL for what the
API cannot do (a class that already started, a package that expired).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from services.actions.adapters.business_api import BusinessApiClient
from services.actions.adapters.endpoints import Operation
from services.actions.settings import ActionsSettings
from tests.contract.business_api_contract import ZONE, BusinessApiContract
from tests.integration.business_api.harness import PROVIDER_SECRET, TOKEN, ApiServer, hmac_sha256, settings_for


class ReferenceApiUnderTest:
    def __init__(self, api: BusinessApiClient, db: asyncpg.Connection, url: str) -> None:
        self.api = api
        self.db = db
        self.url = url
        self._customers = itertools.count(1)
        self._given: set[int] = set()

    def today(self) -> dt.date:
        return dt.datetime.now(ZONE).date()

    def customer(self) -> str:
        # The seeded clients are +5215511111111 ... +5215566666666.
        return f"whatsapp:+52155{90000000 + next(self._customers)}"

    async def slot_with_room(self) -> dict[str, Any]:
        after_tomorrow = self.today() + dt.timedelta(days=2)
        for slot in await self.api.call(Operation.LIST_SLOTS, {"days": 14}):
            if dt.date.fromisoformat(slot["date"]) >= after_tomorrow and slot["booked"] == 0 \
                    and slot["id"] not in self._given:
                self._given.add(slot["id"])
                return dict(slot)
        raise AssertionError("no unbooked class in the coming two weeks: the seed did not create the schedule")

    async def fill(self, slot: Mapping[str, Any]) -> None:
        """Other customers book every place left."""
        listed = await self.api.call(Operation.LIST_SLOTS, {"date": slot["date"]})
        [now] = [s for s in listed if s["id"] == slot["id"]]
        for _ in range(now["available"]):
            customer = self.customer()
            bought = await self.api.call(Operation.PURCHASE, {"package_id": "mensualidad-ilimitada"},
                                         client_phone=customer)
            await self.settle(bought["id"], "paid")
            await self.api.call(Operation.BOOK, {"slot_id": slot["id"]}, client_phone=customer)

    async def started_slot(self) -> dict[str, Any]:
        """A class an hour ago, on the minute (so that it can be named by date and time)."""
        row = await self.db.fetchrow(
            "INSERT INTO slots (starts_at, class_name, capacity) "
            "VALUES (date_trunc('minute', now()) - interval '1 hour', 'Stretching', 6) RETURNING id, starts_at")
        assert row is not None
        local = row["starts_at"].astimezone(ZONE)
        return {"id": row["id"], "date": local.date().isoformat(), "time": local.strftime("%H:%M")}

    async def let_start(self, slot: Mapping[str, Any]) -> None:
        moved = await self.db.execute("UPDATE slots SET starts_at = now() - interval '1 hour' WHERE id = $1",
                                      slot["id"])
        assert moved == "UPDATE 1"

    async def let_approach(self, slot: Mapping[str, Any], hours: int) -> None:
        moved = await self.db.execute("UPDATE slots SET starts_at = now() + make_interval(hours => $2) WHERE id = $1",
                                      slot["id"], hours)
        assert moved == "UPDATE 1"

    async def settle(self, purchase_id: int, status: str) -> None:
        """What the payment provider does: POST /payments/webhook, signed, without the bearer token."""
        raw = json.dumps({"purchase_id": purchase_id, "status": status}).encode()
        async with httpx.AsyncClient(base_url=self.url, trust_env=False, timeout=10.0) as http:
            response = await http.post("/payments/webhook", content=raw, headers={
                "Content-Type": "application/json", "X-Payment-Signature": hmac_sha256(PROVIDER_SECRET, raw)})
        assert response.status_code == 200, response.text

    async def end_validity(self, purchase_id: int, at: dt.datetime) -> None:
        moved = await self.db.execute("UPDATE purchases SET valid_until = $2 WHERE id = $1 AND status = 'paid'",
                                      purchase_id, at)
        assert moved == "UPDATE 1"


class TestReferenceApi(BusinessApiContract):
    @pytest.fixture
    async def studio(self, fresh_database: str) -> AsyncIterator[ReferenceApiUnderTest]:
        server = await ApiServer(settings_for(fresh_database)).start()
        api = BusinessApiClient.from_settings(ActionsSettings(
            business_api_url=server.url, business_api_token=SecretStr(TOKEN), business_api_timeout_s=10.0,
            business_api_retries=0))
        db = await asyncpg.connect(fresh_database, server_settings={"search_path": "business"})
        try:
            yield ReferenceApiUnderTest(api, db, server.url)
        finally:
            await db.close()
            await api.close()
            await server.stop()
