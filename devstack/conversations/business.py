"""The business side of a conversation test, over the business API's HTTP interface (never SQL).

It arranges a conversation's `given` (this customer's bookings, a paid package, classes filled by
other customers), observes the effects of each turn (bookings, purchases, packages, profile) and
cleans up afterwards, so that reruns against the demo's database never fill a class.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from devstack.conversations.channel import Target
from devstack.conversations.format import WEEKDAYS, SlotRef
from devstack.conversations.payment import PaymentPageError, press


class ArrangeError(RuntimeError):
    """The business API refused to set up a conversation's `given`."""


def weekday_date(today: dt.date, day: str) -> dt.date:
    """The next `day` strictly after `today`: what "el jueves" means, said on any day of the week."""
    wanted = WEEKDAYS.index(day)
    return today + dt.timedelta(days=(wanted - today.weekday() - 1) % 7 + 1)


# Mobile number prefixes by region, so that each customer looks like the ones who write from there.
_PREFIXES = {"mx": "+52155", "co": "+5730", "ar": "+54911", "es": "+346", "cl": "+5699", "pe": "+519"}
_FILLER_PREFIX = "+52156"


def _run_id() -> int:
    """Five random digits, never all alike (the seeded clients are +5215511111111 and so on)."""
    while True:
        run = random.randrange(10000, 100000)
        if len(set(str(run))) > 1:
            return run


@dataclass
class Numbers:
    """WhatsApp numbers unique to one run: a random run id and a counter, behind a region's prefix."""

    run: int = field(default_factory=lambda: _run_id())
    _counter: Iterator[int] = field(default_factory=itertools.count)

    def _next(self, prefix: str) -> str:
        digits = f"{self.run:05d}{next(self._counter):03d}"
        return f"whatsapp:{prefix}{digits}"

    def customer(self, region: str) -> str:
        return self._next(_PREFIXES[region])

    def filler(self) -> str:
        return self._next(_FILLER_PREFIX)


@dataclass(frozen=True)
class Effects:
    """What the business API knows about one customer after a turn."""

    bookings: list[dict[str, Any]]
    purchases: list[dict[str, Any]]
    profile: dict[str, Any] | None = None
    packages: list[dict[str, Any]] | None = None  # GET /client/packages, when asked for


class BusinessApi:
    def __init__(self, target: Target, http: httpx.AsyncClient) -> None:
        self.base = target.business_api_url.rstrip("/")
        self.http = http
        self.headers = {"Authorization": f"Bearer {target.business_token}"}
        self._packages: list[dict[str, Any]] | None = None

    async def _call(self, method: str, path: str, *, phone: str | None = None, **kwargs: Any) -> Any:
        headers = dict(self.headers)
        if phone is not None:
            headers["X-Client-Phone"] = phone.removeprefix("whatsapp:")
        response = await self.http.request(method, self.base + path, headers=headers, **kwargs)
        if response.status_code >= 400:
            raise ArrangeError(f"{method} {path} answered {response.status_code}: {response.text[:300]}")
        return response.json() if response.content else None

    # --- the calendar ------------------------------------------------------------------------------

    async def today(self) -> dt.date:
        """The business's today (its time zone), as its schedule starts."""
        body = await self._call("GET", "/schedule-slots", params={"days": 1})
        return dt.date.fromisoformat(body["from_date"])

    async def slot(self, day: dt.date, time: str) -> dict[str, Any]:
        body = await self._call("GET", "/schedule-slots", params={"date": day.isoformat()})
        for slot in body["slots"]:
            if slot["time"] == time:
                return dict(slot)
        times = ", ".join(s["time"] for s in body["slots"]) or "none"
        raise ArrangeError(f"there is no class at {time} on {day.isoformat()} (classes: {times})")

    # --- arranging `given` -------------------------------------------------------------------------

    async def book(self, phone: str, day: dt.date, time: str) -> dict[str, Any]:
        body = await self._call("POST", "/booking", phone=phone, json={"date": day.isoformat(), "time": time})
        return dict(body["booking"])

    async def catalog(self) -> list[dict[str, Any]]:
        """The packages the business sells (`GET /packages`), read once."""
        if self._packages is None:
            self._packages = list((await self._call("GET", "/packages"))["packages"])
        return self._packages

    async def package_id(self, name: str) -> str:
        packages = await self.catalog()
        for package in packages:
            if package["name"].casefold() == name.casefold():
                return str(package["id"])
        known = ", ".join(p["name"] for p in packages)
        raise ArrangeError(f"there is no package {name!r} (packages: {known})")

    async def smallest_package(self) -> str:
        """The name of the package with the fewest sessions (the single class): what a filler buys."""
        counted = [p for p in await self.catalog() if p.get("sessions")]
        if not counted:
            raise ArrangeError("the business sells no package with a number of sessions")
        return str(min(counted, key=lambda p: p["sessions"])["name"])

    async def buy_and_pay(self, phone: str, package: str) -> dict[str, Any]:
        """Buy `package` and pay its link, as the customer would: the payment page's pay button."""
        purchase = (await self._call("POST", "/client/purchase", phone=phone,
                                     json={"package_id": await self.package_id(package)}))["purchase"]
        try:
            await press(self.http, purchase["payment_link"], "paid")
        except PaymentPageError as error:
            raise ArrangeError(f"paying purchase {purchase['id']} ({package}): {error}") from None
        return dict(purchase)

    async def fill(self, day: dt.date, time: str, fillers: Iterator[str]) -> list[tuple[str, str]]:
        """Book other customers into a class until it is full; returns (phone, code) of each booking.
        A filler the business refuses for want of a package buys the smallest one first."""
        booked: list[tuple[str, str]] = []
        while (await self.slot(day, time))["available"] > 0:
            phone = next(fillers)
            try:
                try:
                    booking = await self.book(phone, day, time)
                except ArrangeError as error:
                    if "no_usable_package" not in str(error):
                        raise
                    await self.buy_and_pay(phone, await self.smallest_package())
                    booking = await self.book(phone, day, time)
                booked.append((phone, booking["code"]))
            except ArrangeError as error:
                if "slot_full" not in str(error):
                    raise
        return booked

    # --- observing ---------------------------------------------------------------------------------

    async def effects(self, phone: str, *, profile: bool = False, packages: bool = False) -> Effects:
        bookings = (await self._call("GET", "/client/bookings", phone=phone, params={"limit": 200}))["bookings"]
        purchases = (await self._call("GET", "/client/purchase-history", phone=phone,
                                      params={"limit": 50}))["purchases"]
        me = (await self._call("GET", "/client/me", phone=phone))["client"] if profile else None
        held = (await self._call("GET", "/client/packages", phone=phone,
                                 params={"limit": 50}))["packages"] if packages else None
        return Effects(list(bookings), list(purchases), me, None if held is None else list(held))

    # --- cleaning up -------------------------------------------------------------------------------

    async def cancel_upcoming(self, phone: str) -> None:
        """Cancel the customer's confirmed upcoming bookings, giving the places back."""
        body = await self._call("GET", "/client/bookings", phone=phone,
                                params={"upcoming": "true", "status": "confirmed", "limit": 200})
        for booking in body["bookings"]:
            await self._call("POST", f"/client/bookings/{booking['code']}/cancel", phone=phone)


@dataclass
class Arranged:
    """What `given` set up: known before the first turn, so effects count from it."""

    booking_codes: set[str] = field(default_factory=set)
    purchase_ids: set[int] = field(default_factory=set)
    fillers: set[str] = field(default_factory=set)


async def arrange(api: BusinessApi, today: dt.date, customer: str, given_bookings: list[SlotRef],
                  package: str | None, full: list[SlotRef], numbers: Numbers) -> Arranged:
    arranged = Arranged()

    def fillers() -> Iterator[str]:
        while True:
            phone = numbers.filler()
            arranged.fillers.add(phone)
            yield phone

    supply = fillers()
    for slot in full:
        await api.fill(weekday_date(today, slot.day), slot.time, supply)
    if package is not None:
        arranged.purchase_ids.add(int((await api.buy_and_pay(customer, package))["id"]))
    for slot in given_bookings:
        try:
            booking = await api.book(customer, weekday_date(today, slot.day), slot.time)
        except ArrangeError as error:
            if "no_usable_package" in str(error) and package is None:
                raise ArrangeError(f"{error} (the business books only with a package: give given.package "
                                   "with given.bookings)") from None
            raise
        arranged.booking_codes.add(booking["code"])
    return arranged
