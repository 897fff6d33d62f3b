"""The `BusinessApi` contract against `FakeStudio`, the dialogue-policy unit tests' stand-in.

The fake's state is arranged by editing its lists (payments through `FakeStudio.settle`, its
payment webhook); its clock is the wall clock when the test starts, so "tomorrow" and "an hour
ago" mean what they mean for the reference API. It runs as the reference API does by default:
a booking needs a usable package.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping
from typing import Any

import pytest

from services.actions.adapters.endpoints import Operation
from tests.contract.business_api_contract import BusinessApiContract
from tests.unit.actions.fake_studio import ZONE, FakeStudio


class FakeStudioUnderTest:
    def __init__(self, fake: FakeStudio) -> None:
        self.api = fake
        self.fake = fake
        self._customers = itertools.count(1)
        self._given: set[int] = set()

    def today(self) -> dt.date:
        return self.fake.now.astimezone(ZONE).date()

    def customer(self) -> str:
        return f"whatsapp:+52155{90000000 + next(self._customers)}"

    async def slot_with_room(self) -> dict[str, Any]:
        after_tomorrow = (self.today() + dt.timedelta(days=2)).isoformat()
        slot = next(s for s in self.fake.slots
                    if s["date"] >= after_tomorrow and s["booked"] == 0 and s["id"] not in self._given)
        self._given.add(slot["id"])
        listed = await self.fake.call(Operation.LIST_SLOTS, {"date": slot["date"]})
        return next(dict(s) for s in listed if s["id"] == slot["id"])

    async def fill(self, slot: Mapping[str, Any]) -> None:
        stored = self._slot(slot)
        stored["booked"] = stored["capacity"]

    async def started_slot(self) -> dict[str, Any]:
        date, time = self._an_hour_ago()
        slot = self.fake.add_slot(date, time, "Stretching")
        return {"id": slot["id"], "date": date, "time": time}

    async def let_start(self, slot: Mapping[str, Any]) -> None:
        self._slot(slot)["date"], self._slot(slot)["time"] = self._an_hour_ago()

    async def let_approach(self, slot: Mapping[str, Any], hours: int) -> None:
        then = self.fake.now.astimezone(ZONE) + dt.timedelta(hours=hours)
        self._slot(slot)["date"], self._slot(slot)["time"] = then.date().isoformat(), then.strftime("%H:%M")

    async def settle(self, purchase_id: int, status: str) -> None:
        assert status in ("paid", "failed")
        self.fake.settle(purchase_id, "paid" if status == "paid" else "failed")

    async def end_validity(self, purchase_id: int, at: dt.datetime) -> None:
        written = at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")  # as the API writes it
        next(p for p in self.fake.purchases if p["id"] == purchase_id)["valid_until"] = written

    def _slot(self, slot: Mapping[str, Any]) -> dict[str, Any]:
        return next(s for s in self.fake.slots if s["id"] == slot["id"])

    def _an_hour_ago(self) -> tuple[str, str]:
        then = self.fake.now.astimezone(ZONE) - dt.timedelta(hours=1)
        return then.date().isoformat(), then.strftime("%H:%M")


class TestFakeStudio(BusinessApiContract):
    @pytest.fixture
    def studio(self) -> FakeStudioUnderTest:
        return FakeStudioUnderTest(FakeStudio(now=dt.datetime.now(ZONE), booking_requires_package=True))
