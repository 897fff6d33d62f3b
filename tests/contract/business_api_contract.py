"""The contract of the `BusinessApi` port: what every implementation answers, run against each one.

`BusinessApiContract` holds the tests. Each implementation subclasses it in its own test module
and provides one fixture, `studio`: the implementation behind the port plus the few ways of
arranging its state that the tests need (`Studio`), each done that implementation's own way.
The same tests then assert the same shapes, error kinds, statuses and codes for all of them
(the pattern of eventsourcing's tests/persistence.py, where one recorder test case is subclassed
per database).

- test_fake_studio.py: `FakeStudio`, the in-memory stand-in the dialogue-policy unit tests use;
- test_reference_api.py: `BusinessApiClient` over HTTP to the reference API (business_api/) on a
  fresh PostgreSQL database.

The reference API is the reference: where an implementation disagrees with it, the
implementation is wrong. The operations are called with the parameters the dialogue policy
passes (services/actions/flows/), the customer as a WhatsApp address (`whatsapp:+52...`).

Both run as the reference API runs by default: a booking needs a usable package (a paid one,
valid when the class starts, with sessions left), so a customer who books is first given one
(`member`: bought through the port, paid the implementation's way).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Awaitable, Mapping
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import pytest

from services.actions.adapters.business_api import BusinessApi, BusinessApiError
from services.actions.adapters.endpoints import Operation

ZONE = ZoneInfo("America/Mexico_City")  # the demo studio's time zone
CODE = re.compile(r"^BK-\d{4,10}$")
HHMM = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")

SLOT_FIELDS = {"id", "date", "starts_at", "time", "class_name", "duration_minutes", "capacity", "booked",
               "available"}
BOOKING_FIELDS = {"id", "code", "slot_id", "date", "time", "starts_at", "class_name", "status", "package_id",
                  "package_name", "purchase_id", "created_at", "cancelled_at"}
BOOKED_FIELDS = BOOKING_FIELDS | {"sessions_left"}
CANCELLED_FIELDS = BOOKING_FIELDS | {"session_returned", "refund_hours", "sessions_left"}
STATUS_FIELDS = BOOKING_FIELDS | {"client_phone", "client_name"}
CLIENT_PACKAGE_FIELDS = {"purchase_id", "package_id", "name", "sessions_total", "sessions_left", "valid_until",
                         "status", "payment_link"}
REFUND_HOURS = 12  # the reference API's default BUSINESS_API_CANCEL_REFUND_HOURS
PACKAGE_FIELDS = {"id", "name", "sessions", "price", "currency", "validity_days", "description"}
PURCHASE_FIELDS = {"id", "package_id", "package_name", "sessions", "amount", "currency", "status", "payment_link",
                   "created_at", "paid_at", "valid_until"}
CLIENT_FIELDS = {"phone", "name", "email", "created_at"}

CATALOGUE = [  # the demo studio's packages: (id, name, sessions, price)
    ("clase-suelta", "Clase suelta", 1, 250.0),
    ("pack-5", "Pack 5 clases", 5, 1100.0),
    ("pack-10", "Pack 10 clases", 10, 2000.0),
    ("mensualidad-ilimitada", "Mensualidad ilimitada", None, 1800.0),
]


class Studio(Protocol):
    """An implementation of the port under test and the ways to arrange its state."""

    @property
    def api(self) -> BusinessApi:
        """The implementation under test."""
        ...

    def today(self) -> dt.date:
        """The studio's local date now."""
        ...

    def customer(self) -> str:
        """The WhatsApp address (`whatsapp:+52...`) of a customer the studio has never seen."""
        ...

    async def slot_with_room(self) -> dict[str, Any]:
        """A class from the day after tomorrow on (so it cannot start during the test and stays beyond
        the cancellation window whatever the hour) that nobody booked, as `list_slots` shows it.
        Each call gives another one while unbooked ones are left."""
        ...

    async def fill(self, slot: Mapping[str, Any]) -> None:
        """Take every place left in the class `slot`."""
        ...

    async def started_slot(self) -> dict[str, Any]:
        """A class with places that started an hour ago: {"id", "date", "time"}."""
        ...

    async def let_start(self, slot: Mapping[str, Any]) -> None:
        """Time passes: the class `slot` (with its bookings) started an hour ago."""
        ...

    async def let_approach(self, slot: Mapping[str, Any], hours: int) -> None:
        """Time passes: the class `slot` (with its bookings) starts in `hours` hours."""
        ...

    async def settle(self, purchase_id: int, status: str) -> None:
        """The payment provider says the purchase was `paid` or `failed` (the payment webhook)."""
        ...

    async def end_validity(self, purchase_id: int, at: dt.datetime) -> None:
        """The paid purchase's package is valid until `at` (in the past: it expired)."""
        ...


# --- helpers ---------------------------------------------------------------------------------------


async def refused(call: Awaitable[Any]) -> tuple[str, str | None, int | None]:
    """(kind, code, status) of the BusinessApiError the call raises; the error names its operation."""
    with pytest.raises(BusinessApiError) as caught:
        await call
    assert caught.value.operation in {str(operation) for operation in Operation}, caught.value.operation
    return caught.value.kind, caught.value.code, caught.value.status


def key() -> str:
    return f"contract-{uuid.uuid4()}"


def e164(address: str) -> str:
    return address.removeprefix("whatsapp:")


def starts(item: Mapping[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(item["starts_at"])


def local_start(date: str, time: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(date), dt.time.fromisoformat(time), ZONE)


def assert_utc_timestamp(value: Any) -> dt.datetime:
    """Creation and payment times: ISO 8601 in UTC, written with `Z`."""
    assert isinstance(value, str) and value.endswith("Z"), value
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert moment.utcoffset() == dt.timedelta(0)
    return moment


def assert_local_time(item: Mapping[str, Any]) -> None:
    """`date`, `time` (HH:MM) and `starts_at` (with the local offset) say the same instant."""
    assert isinstance(item["date"], str) and dt.date.fromisoformat(item["date"])
    assert isinstance(item["time"], str) and HHMM.match(item["time"]), item["time"]
    starts_at = dt.datetime.fromisoformat(item["starts_at"])
    expected = local_start(item["date"], item["time"])
    assert starts_at == expected and starts_at.utcoffset() == expected.utcoffset(), item["starts_at"]


def assert_slot(slot: Mapping[str, Any]) -> None:
    assert set(slot) == SLOT_FIELDS, set(slot) ^ SLOT_FIELDS
    assert_local_time(slot)
    assert isinstance(slot["id"], int) and isinstance(slot["class_name"], str) and slot["class_name"]
    assert all(isinstance(slot[name], int) for name in ("duration_minutes", "capacity", "booked", "available"))
    assert 0 <= slot["booked"] <= slot["capacity"] and slot["available"] == slot["capacity"] - slot["booked"]


def assert_booking(booking: Mapping[str, Any], *, status: str = "confirmed",
                   fields: set[str] = BOOKING_FIELDS) -> None:
    assert set(booking) == fields, set(booking) ^ fields
    assert isinstance(booking["id"], int) and isinstance(booking["slot_id"], int)
    assert CODE.match(booking["code"]), booking["code"]
    assert_local_time(booking)
    assert booking["status"] == status
    assert booking["package_id"] is None or isinstance(booking["package_id"], str)
    assert_utc_timestamp(booking["created_at"])
    if status == "cancelled":
        assert_utc_timestamp(booking["cancelled_at"])
    else:
        assert booking["cancelled_at"] is None


def assert_same_class(booking: Mapping[str, Any], slot: Mapping[str, Any]) -> None:
    assert (booking["slot_id"], booking["date"], booking["time"], booking["starts_at"], booking["class_name"]) == (
        slot["id"], slot["date"], slot["time"], slot["starts_at"], slot["class_name"])


def assert_purchase(purchase: Mapping[str, Any]) -> None:
    assert set(purchase) == PURCHASE_FIELDS, set(purchase) ^ PURCHASE_FIELDS
    assert isinstance(purchase["id"], int)
    assert purchase["status"] == "pending" and purchase["paid_at"] is None and purchase["valid_until"] is None
    assert isinstance(purchase["amount"], float) and purchase["currency"] == "MXN"
    assert isinstance(purchase["payment_link"], str) and re.match(r"^https?://\S+/\S+$", purchase["payment_link"])
    assert_utc_timestamp(purchase["created_at"])


def assert_client(client: Mapping[str, Any], address: str) -> None:
    assert set(client) == CLIENT_FIELDS, set(client) ^ CLIENT_FIELDS
    assert client["phone"] == e164(address) and E164.match(client["phone"])
    assert_utc_timestamp(client["created_at"])


# --- the contract ------------------------------------------------------------------------------------


class BusinessApiContract:
    """The tests every implementation of `BusinessApi` passes; subclass it and provide `studio`."""

    @pytest.fixture
    def studio(self) -> Studio:
        raise NotImplementedError("each implementation's test module provides the `studio` fixture")

    async def slot_now(self, studio: Studio, slot: Mapping[str, Any]) -> dict[str, Any] | None:
        """The class as `list_slots` shows it now (None when it is not listed)."""
        listed = await studio.api.call(Operation.LIST_SLOTS, {"date": slot["date"]})
        return next((dict(s) for s in listed if s["id"] == slot["id"]), None)

    async def book(self, studio: Studio, customer: str, slot: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
        """Book the way the policy does: slot id, date and time, with an idempotency key."""
        params = {"slot_id": slot["id"], "date": slot["date"], "time": slot["time"], **extra}
        booking: dict[str, Any] = await studio.api.call(Operation.BOOK, params, client_phone=customer,
                                                        idempotency_key=key())
        return booking

    async def give_package(self, studio: Studio, customer: str, package_id: str) -> dict[str, Any]:
        """The customer buys `package_id` and pays: the purchase as the history shows it then."""
        bought = await studio.api.call(Operation.PURCHASE, {"package_id": package_id}, client_phone=customer,
                                       idempotency_key=key())
        await studio.settle(bought["id"], "paid")
        [paid] = [p for p in await studio.api.call(Operation.PURCHASE_HISTORY, client_phone=customer)
                  if p["id"] == bought["id"]]
        assert paid["status"] == "paid" and paid["valid_until"] is not None
        return dict(paid)

    async def member(self, studio: Studio, package_id: str = "mensualidad-ilimitada") -> str:
        """A new customer holding a paid package (by default unlimited, so sessions never run out)."""
        customer = studio.customer()
        await self.give_package(studio, customer, package_id)
        return customer

    async def packages_of(self, studio: Studio, customer: str) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = await studio.api.call(Operation.LIST_CLIENT_PACKAGES, client_phone=customer)
        for package in listed:
            assert set(package) == CLIENT_PACKAGE_FIELDS, set(package) ^ CLIENT_PACKAGE_FIELDS
        return listed

    # --- catalogue -----------------------------------------------------------------------------------

    async def test_lists_the_packages_of_the_studio(self, studio: Studio) -> None:
        packages = await studio.api.call(Operation.LIST_PACKAGES)

        for package in packages:
            assert set(package) == PACKAGE_FIELDS, set(package) ^ PACKAGE_FIELDS
            assert isinstance(package["price"], float) and package["currency"] == "MXN"
            assert isinstance(package["validity_days"], int) and isinstance(package["description"], str)
        assert [(p["id"], p["name"], p["sessions"], p["price"]) for p in packages] == CATALOGUE

    async def test_lists_the_classes_of_one_day_not_started_in_time_order(self, studio: Studio) -> None:
        slot = await studio.slot_with_room()

        listed = await studio.api.call(Operation.LIST_SLOTS, {"date": slot["date"]})

        for item in listed:
            assert_slot(item)
        assert {item["date"] for item in listed} == {slot["date"]}
        assert slot in listed
        assert listed == sorted(listed, key=starts)
        assert slot["available"] == slot["capacity"] and slot["booked"] == 0

    async def test_lists_the_classes_of_the_coming_days(self, studio: Studio) -> None:
        slot = await studio.slot_with_room()
        today = studio.today()

        week = await studio.api.call(Operation.LIST_SLOTS, {"days": 7})
        one_day = await studio.api.call(Operation.LIST_SLOTS, {"days": 1})

        for item in week:
            assert_slot(item)
            assert today <= dt.date.fromisoformat(item["date"]) <= today + dt.timedelta(days=6)
            assert dt.datetime.fromisoformat(item["starts_at"]) > dt.datetime.now(ZONE) - dt.timedelta(minutes=5)
        assert slot in week
        assert len({item["date"] for item in week}) >= 5  # Monday to Saturday; Sunday has no classes
        assert week == sorted(week, key=starts)
        assert {item["date"] for item in one_day} <= {today.isoformat()}

    async def test_a_class_that_started_is_not_listed(self, studio: Studio) -> None:
        started = await studio.started_slot()

        listed = await studio.api.call(Operation.LIST_SLOTS, {"date": started["date"]})

        assert started["id"] not in [item["id"] for item in listed]

    async def test_a_full_class_is_listed_without_places_unless_only_available_ones_are_asked_for(
            self, studio: Studio) -> None:
        slot = await studio.slot_with_room()
        await studio.fill(slot)

        everything = await studio.api.call(Operation.LIST_SLOTS, {"date": slot["date"]})
        available = await studio.api.call(Operation.LIST_SLOTS, {"date": slot["date"], "only_available": True})

        [full] = [item for item in everything if item["id"] == slot["id"]]
        assert (full["available"], full["booked"]) == (0, full["capacity"])
        assert slot["id"] not in [item["id"] for item in available]
        assert available == [item for item in everything if item["available"] > 0]

    @pytest.mark.parametrize(("params", "code"), [({"date": "2026-02-30"}, "invalid_date"),
                                                  ({"date": "el viernes"}, "invalid_date"),
                                                  ({"days": 0}, "invalid_days"), ({"days": 32}, "invalid_days")])
    async def test_listing_refuses_a_bad_date_or_number_of_days(self, studio: Studio, params: dict[str, Any],
                                                                code: str) -> None:
        assert await refused(studio.api.call(Operation.LIST_SLOTS, params)) == ("validation", code, 422)

    # --- booking -------------------------------------------------------------------------------------

    async def test_booking_a_class_confirms_it_with_a_code_and_takes_a_place(self, studio: Studio) -> None:
        customer, slot = await self.member(studio), await studio.slot_with_room()
        [held] = await self.packages_of(studio, customer)

        booking = await self.book(studio, customer, slot)

        assert_booking(booking, fields=BOOKED_FIELDS)
        assert_same_class(booking, slot)
        assert (booking["package_id"], booking["package_name"]) == ("mensualidad-ilimitada", "Mensualidad ilimitada")
        assert (booking["purchase_id"], booking["sessions_left"]) == (held["purchase_id"], None)
        after = await self.slot_now(studio, slot)
        assert after is not None and (after["booked"], after["available"]) == (1, slot["available"] - 1)

    async def test_booking_by_date_and_time_with_a_package_named(self, studio: Studio) -> None:
        customer, slot = await self.member(studio), await studio.slot_with_room()  # unlimited: expires first
        ten = await self.give_package(studio, customer, "pack-10")

        booking = await studio.api.call(Operation.BOOK, {"date": slot["date"], "time": slot["time"],
                                                         "package_id": "Pack 10 clases"},
                                        client_phone=customer, idempotency_key=key())

        assert_booking(booking, fields=BOOKED_FIELDS)
        assert_same_class(booking, slot)
        assert (booking["package_id"], booking["package_name"]) == ("pack-10", "Pack 10 clases")
        assert (booking["purchase_id"], booking["sessions_left"]) == (ten["id"], 9)

    async def test_a_full_class_cannot_be_booked(self, studio: Studio) -> None:
        slot = await studio.slot_with_room()
        await studio.fill(slot)

        assert await refused(self.book(studio, await self.member(studio), slot)) == ("conflict", "slot_full", 409)

    async def test_the_same_class_cannot_be_booked_twice(self, studio: Studio) -> None:
        customer, slot = await self.member(studio), await studio.slot_with_room()
        await self.book(studio, customer, slot)

        assert await refused(self.book(studio, customer, slot)) == ("conflict", "already_booked", 409)
        after = await self.slot_now(studio, slot)
        assert after is not None and after["booked"] == 1

    async def test_a_class_that_started_cannot_be_booked(self, studio: Studio) -> None:
        started = await studio.started_slot()
        customer = studio.customer()  # with no package either: the class is checked first

        assert await refused(studio.api.call(Operation.BOOK, {"slot_id": started["id"]}, client_phone=customer,
                                             idempotency_key=key())) == ("conflict", "slot_in_past", 409)
        assert await refused(studio.api.call(Operation.BOOK, {"date": started["date"], "time": started["time"]},
                                             client_phone=customer)) == ("conflict", "slot_in_past", 409)

    async def test_a_class_booked_before_it_started_is_already_booked(self, studio: Studio) -> None:
        customer, slot = await self.member(studio), await studio.slot_with_room()
        await self.book(studio, customer, slot)
        await studio.let_start(slot)

        assert await refused(studio.api.call(Operation.BOOK, {"slot_id": slot["id"]}, client_phone=customer)) == (
            "conflict", "already_booked", 409)

    async def test_an_unknown_class_or_package_is_not_found(self, studio: Studio) -> None:
        customer, slot = studio.customer(), await studio.slot_with_room()

        assert await refused(studio.api.call(Operation.BOOK, {"slot_id": 987654321}, client_phone=customer)) == (
            "not_found", "no_such_slot", 404)
        assert await refused(studio.api.call(Operation.BOOK, {"date": slot["date"], "time": "13:37"},
                                             client_phone=customer)) == ("not_found", "no_such_slot", 404)
        assert await refused(self.book(studio, customer, slot, package_id="pack-999")) == (
            "not_found", "no_such_package", 404)
        after = await self.slot_now(studio, slot)
        assert after is not None and after["booked"] == 0

    @pytest.mark.parametrize(("params", "code"), [({}, "missing_slot"), ({"date": "2026-12-01"}, "missing_time"),
                                                  ({"time": "19:00"}, "missing_date"),
                                                  ({"date": "2026-12-01", "time": "7pm"}, "invalid_time"),
                                                  ({"date": "mañana", "time": "19:00"}, "invalid_date")])
    async def test_an_incomplete_booking_is_invalid(self, studio: Studio, params: dict[str, Any], code: str) -> None:
        assert await refused(studio.api.call(Operation.BOOK, params, client_phone=studio.customer())) == (
            "validation", code, 422)

    # --- idempotency ---------------------------------------------------------------------------------

    async def test_a_replayed_booking_returns_the_same_booking_and_books_once(self, studio: Studio) -> None:
        customer, slot, same = await self.member(studio, "pack-5"), await studio.slot_with_room(), key()
        params = {"slot_id": slot["id"], "date": slot["date"], "time": slot["time"]}

        first = await studio.api.call(Operation.BOOK, params, client_phone=customer, idempotency_key=same)
        again = await studio.api.call(Operation.BOOK, params, client_phone=customer, idempotency_key=same)

        assert again == first and first["sessions_left"] == 4
        assert [b["code"] for b in await studio.api.call(Operation.LIST_BOOKINGS, client_phone=customer)] == [
            first["code"]]
        after = await self.slot_now(studio, slot)
        assert after is not None and after["booked"] == 1
        assert [p["sessions_left"] for p in await self.packages_of(studio, customer)] == [4], "one session, once"

    async def test_a_key_used_for_another_request_is_refused(self, studio: Studio) -> None:
        customer, same = await self.member(studio), key()
        first, second = await studio.slot_with_room(), await studio.slot_with_room()
        await studio.api.call(Operation.BOOK, {"slot_id": first["id"]}, client_phone=customer, idempotency_key=same)

        assert await refused(studio.api.call(Operation.BOOK, {"slot_id": second["id"]}, client_phone=customer,
                                             idempotency_key=same)) == ("validation", "idempotency_key_reused", 422)
        after = await self.slot_now(studio, second)
        assert after is not None and after["booked"] == 0

    async def test_keys_belong_to_one_customer(self, studio: Studio) -> None:
        slot, same = await studio.slot_with_room(), key()
        ana, bruno = await self.member(studio), await self.member(studio)

        hers = await studio.api.call(Operation.BOOK, {"slot_id": slot["id"]}, client_phone=ana, idempotency_key=same)
        his = await studio.api.call(Operation.BOOK, {"slot_id": slot["id"]}, client_phone=bruno, idempotency_key=same)

        assert hers["code"] != his["code"]
        after = await self.slot_now(studio, slot)
        assert after is not None and after["booked"] == 2

    async def test_a_refused_request_is_not_stored_under_its_key(self, studio: Studio) -> None:
        customer, same = await self.member(studio), key()
        full, free = await studio.slot_with_room(), await studio.slot_with_room()
        await studio.fill(full)
        assert await refused(studio.api.call(Operation.BOOK, {"slot_id": full["id"]}, client_phone=customer,
                                             idempotency_key=same)) == ("conflict", "slot_full", 409)

        booking = await studio.api.call(Operation.BOOK, {"slot_id": free["id"]}, client_phone=customer,
                                        idempotency_key=same)

        assert booking["slot_id"] == free["id"]

    async def test_a_replayed_cancellation_returns_the_same_booking(self, studio: Studio) -> None:
        customer, slot, same = await self.member(studio, "pack-5"), await studio.slot_with_room(), key()
        booking = await self.book(studio, customer, slot)

        first = await studio.api.call(Operation.CANCEL_BOOKING, {"code": booking["code"]}, client_phone=customer,
                                      idempotency_key=same)
        again = await studio.api.call(Operation.CANCEL_BOOKING, {"code": booking["code"]}, client_phone=customer,
                                      idempotency_key=same)

        assert again == first and first["status"] == "cancelled"
        assert (first["session_returned"], first["sessions_left"]) == (True, 5)
        after = await self.slot_now(studio, slot)
        assert after is not None and after["booked"] == 0
        assert [p["sessions_left"] for p in await self.packages_of(studio, customer)] == [5], "returned once"

    async def test_a_replayed_purchase_returns_the_same_purchase_and_buys_once(self, studio: Studio) -> None:
        customer, same = studio.customer(), key()

        first = await studio.api.call(Operation.PURCHASE, {"package_id": "pack-5"}, client_phone=customer,
                                      idempotency_key=same)
        again = await studio.api.call(Operation.PURCHASE, {"package_id": "pack-5"}, client_phone=customer,
                                      idempotency_key=same)

        assert again == first
        assert await studio.api.call(Operation.PURCHASE_HISTORY, client_phone=customer) == [first]

    # --- the customer's bookings ---------------------------------------------------------------------

    async def test_lists_the_customers_upcoming_confirmed_bookings_soonest_first(self, studio: Studio) -> None:
        customer, other = await self.member(studio), await self.member(studio)
        sooner, later, cancelled, started = [await studio.slot_with_room() for _ in range(4)]
        for slot in sorted((sooner, later, cancelled, started), key=starts, reverse=True):
            await self.book(studio, customer, slot)
        await self.book(studio, other, sooner)
        [to_cancel] = [b for b in await studio.api.call(Operation.LIST_BOOKINGS, client_phone=customer)
                       if b["slot_id"] == cancelled["id"]]
        await studio.api.call(Operation.CANCEL_BOOKING, {"code": to_cancel["code"]}, client_phone=customer)
        await studio.let_start(started)

        listed = await studio.api.call(Operation.LIST_BOOKINGS, client_phone=customer)

        for booking in listed:
            assert_booking(booking)
        expected = sorted((sooner, later), key=starts)
        assert [b["slot_id"] for b in listed] == [s["id"] for s in expected]
        assert await studio.api.call(Operation.LIST_BOOKINGS, client_phone=e164(customer)) == listed
        assert await studio.api.call(Operation.LIST_BOOKINGS, client_phone=studio.customer()) == []

    async def test_the_status_of_a_booking_by_its_code(self, studio: Studio) -> None:
        customer, other, slot = await self.member(studio), await self.member(studio), await studio.slot_with_room()
        booking = await self.book(studio, customer, slot)
        others = await self.book(studio, other, await studio.slot_with_room())
        await studio.api.call(Operation.UPDATE_PROFILE, {"name": "Ana Contrato"}, client_phone=customer)

        found = await studio.api.call(Operation.BOOKING_STATUS, {"code": booking["code"]}, client_phone=customer)

        [status] = found
        assert_booking(status, fields=STATUS_FIELDS)
        assert {k: v for k, v in status.items() if k in BOOKING_FIELDS} == {
            k: v for k, v in booking.items() if k in BOOKING_FIELDS}
        assert (status["client_phone"], status["client_name"]) == (e164(customer), "Ana Contrato")
        digits = booking["code"].removeprefix("BK-")
        for written in (booking["code"].lower(), f"BK{digits}", digits):
            assert await studio.api.call(Operation.BOOKING_STATUS, {"code": written}, client_phone=customer) == found
        assert await studio.api.call(Operation.BOOKING_STATUS, client_phone=customer) == found
        for nothing in (others["code"], "BK-0000", "hola"):
            assert await studio.api.call(Operation.BOOKING_STATUS, {"code": nothing}, client_phone=customer) == []

    async def test_the_status_needs_a_customer_or_a_code(self, studio: Studio) -> None:
        assert await refused(studio.api.call(Operation.BOOKING_STATUS)) == ("validation", "missing_phone", 422)

    # --- cancelling ----------------------------------------------------------------------------------

    async def test_cancelling_a_booking_gives_its_place_back(self, studio: Studio) -> None:
        customer, slot = await self.member(studio), await studio.slot_with_room()
        booking = await self.book(studio, customer, slot)

        cancelled = await studio.api.call(Operation.CANCEL_BOOKING, {"code": booking["code"]}, client_phone=customer,
                                          idempotency_key=key())

        assert_booking(cancelled, status="cancelled", fields=CANCELLED_FIELDS)
        unchanged = BOOKING_FIELDS - {"status", "cancelled_at"}
        assert {k: cancelled[k] for k in unchanged} == {k: booking[k] for k in unchanged}
        assert await self.slot_now(studio, slot) == slot
        assert await studio.api.call(Operation.LIST_BOOKINGS, client_phone=customer) == []

    async def test_the_code_may_be_written_loosely_when_cancelling(self, studio: Studio) -> None:
        customer = await self.member(studio)
        booking = await self.book(studio, customer, await studio.slot_with_room())

        cancelled = await studio.api.call(Operation.CANCEL_BOOKING, {"code": booking["code"].lower().replace("-", "")},
                                          client_phone=customer)

        assert cancelled["code"] == booking["code"] and cancelled["status"] == "cancelled"

    async def test_a_cancelled_booking_cannot_be_cancelled_again(self, studio: Studio) -> None:
        customer = await self.member(studio)
        booking = await self.book(studio, customer, await studio.slot_with_room())
        await studio.api.call(Operation.CANCEL_BOOKING, {"code": booking["code"]}, client_phone=customer,
                              idempotency_key=key())

        assert await refused(studio.api.call(Operation.CANCEL_BOOKING, {"code": booking["code"]},
                                             client_phone=customer, idempotency_key=key())) == (
            "conflict", "already_cancelled", 409)

    async def test_a_class_that_started_cannot_be_cancelled(self, studio: Studio) -> None:
        customer, slot = await self.member(studio), await studio.slot_with_room()
        booking = await self.book(studio, customer, slot)
        await studio.let_start(slot)

        assert await refused(studio.api.call(Operation.CANCEL_BOOKING, {"code": booking["code"]},
                                             client_phone=customer, idempotency_key=key())) == (
            "conflict", "booking_in_past", 409)

    async def test_an_unknown_or_someone_elses_booking_is_not_found(self, studio: Studio) -> None:
        customer, other = studio.customer(), await self.member(studio)
        others = await self.book(studio, other, await studio.slot_with_room())

        for code in (others["code"], "BK-0000", "hola"):
            assert await refused(studio.api.call(Operation.CANCEL_BOOKING, {"code": code}, client_phone=customer,
                                                 idempotency_key=key())) == ("not_found", "no_such_booking", 404)
        assert [b["code"] for b in await studio.api.call(Operation.LIST_BOOKINGS, client_phone=other)] == [
            others["code"]]

    # --- packages and sessions ----------------------------------------------------------------------

    async def test_without_a_usable_package_a_booking_is_refused_and_takes_nothing(self, studio: Studio) -> None:
        newcomer, unpaid, failed = studio.customer(), studio.customer(), studio.customer()
        slot = await studio.slot_with_room()
        await studio.api.call(Operation.PURCHASE, {"package_id": "pack-5"}, client_phone=unpaid)
        bought = await studio.api.call(Operation.PURCHASE, {"package_id": "pack-5"}, client_phone=failed)
        await studio.settle(bought["id"], "failed")

        for customer in (newcomer, unpaid, failed):
            assert await refused(self.book(studio, customer, slot)) == ("conflict", "no_usable_package", 409)
            assert await studio.api.call(Operation.LIST_BOOKINGS, client_phone=customer) == []
        assert await self.slot_now(studio, slot) == slot

    async def test_a_booking_takes_a_session_of_the_package_that_expires_first(self, studio: Studio) -> None:
        customer, slot = studio.customer(), await studio.slot_with_room()
        ten = await self.give_package(studio, customer, "pack-10")  # 90 days
        five = await self.give_package(studio, customer, "pack-5")  # 60 days: expires first

        booking = await self.book(studio, customer, slot)

        assert (booking["purchase_id"], booking["package_id"], booking["package_name"], booking["sessions_left"]) == (
            five["id"], "pack-5", "Pack 5 clases", 4)
        assert {p["purchase_id"]: p["sessions_left"] for p in await self.packages_of(studio, customer)} == {
            five["id"]: 4, ten["id"]: 10}
        [listed] = await studio.api.call(Operation.LIST_BOOKINGS, client_phone=customer)
        assert_booking(listed)
        assert (listed["purchase_id"], listed["package_name"]) == (five["id"], "Pack 5 clases")

    async def test_a_package_named_must_be_one_the_customer_can_use(self, studio: Studio) -> None:
        customer, slot = await self.member(studio, "pack-5"), await studio.slot_with_room()

        assert await refused(self.book(studio, customer, slot, package_id="pack-10")) == (
            "conflict", "no_usable_package", 409)
        assert [p["sessions_left"] for p in await self.packages_of(studio, customer)] == [5]

    async def test_an_expired_package_or_one_ending_before_the_class_is_not_usable(self, studio: Studio) -> None:
        customer, slot = studio.customer(), await studio.slot_with_room()
        purchase = await self.give_package(studio, customer, "pack-5")

        await studio.end_validity(purchase["id"], starts(slot) - dt.timedelta(minutes=1))
        assert await refused(self.book(studio, customer, slot)) == ("conflict", "no_usable_package", 409)
        assert [p["status"] for p in await self.packages_of(studio, customer)] == ["active"]
        await studio.end_validity(purchase["id"], dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        assert await refused(self.book(studio, customer, slot)) == ("conflict", "no_usable_package", 409)
        assert [p["status"] for p in await self.packages_of(studio, customer)] == ["expired"]
        assert await self.slot_now(studio, slot) == slot

    async def test_the_last_session_is_used_up(self, studio: Studio) -> None:
        customer, first, second = studio.customer(), await studio.slot_with_room(), await studio.slot_with_room()
        single = await self.give_package(studio, customer, "clase-suelta")

        booking = await self.book(studio, customer, first)

        assert (booking["purchase_id"], booking["sessions_left"]) == (single["id"], 0)
        assert await refused(self.book(studio, customer, second)) == ("conflict", "no_usable_package", 409)
        [used_up] = await self.packages_of(studio, customer)
        assert (used_up["status"], used_up["sessions_total"], used_up["sessions_left"]) == ("used_up", 1, 0)

    async def test_cancelling_in_time_gives_the_session_back(self, studio: Studio) -> None:
        customer, slot = studio.customer(), await studio.slot_with_room()
        single = await self.give_package(studio, customer, "clase-suelta")
        booking = await self.book(studio, customer, slot)

        cancelled = await studio.api.call(Operation.CANCEL_BOOKING, {"code": booking["code"]}, client_phone=customer,
                                          idempotency_key=key())

        assert_booking(cancelled, status="cancelled", fields=CANCELLED_FIELDS)
        assert (cancelled["session_returned"], cancelled["refund_hours"], cancelled["sessions_left"]) == (
            True, REFUND_HOURS, 1)
        assert (cancelled["purchase_id"], cancelled["package_name"]) == (single["id"], "Clase suelta")
        [held] = await self.packages_of(studio, customer)
        assert (held["status"], held["sessions_left"]) == ("active", 1)

    async def test_a_late_cancellation_keeps_the_session(self, studio: Studio) -> None:
        customer, slot = await self.member(studio, "pack-5"), await studio.slot_with_room()
        booking = await self.book(studio, customer, slot)
        await studio.let_approach(slot, hours=2)

        cancelled = await studio.api.call(Operation.CANCEL_BOOKING, {"code": booking["code"]}, client_phone=customer,
                                          idempotency_key=key())

        assert (cancelled["status"], cancelled["session_returned"], cancelled["refund_hours"]) == (
            "cancelled", False, REFUND_HOURS)
        assert cancelled["sessions_left"] == 4
        assert [p["sessions_left"] for p in await self.packages_of(studio, customer)] == [4]

    async def test_the_customers_packages_newest_first_with_their_status(self, studio: Studio) -> None:
        customer = studio.customer()
        assert await self.packages_of(studio, customer) == []
        expired = await self.give_package(studio, customer, "pack-10")
        await studio.end_validity(expired["id"], dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        used_up = await self.give_package(studio, customer, "clase-suelta")
        await self.book(studio, customer, await studio.slot_with_room())
        active = await self.give_package(studio, customer, "pack-5")
        failed = await studio.api.call(Operation.PURCHASE, {"package_id": "pack-5"}, client_phone=customer)
        await studio.settle(failed["id"], "failed")
        pending = await studio.api.call(Operation.PURCHASE, {"package_id": "mensualidad-ilimitada"},
                                        client_phone=customer)

        listed = await self.packages_of(studio, customer)

        assert [(p["purchase_id"], p["status"]) for p in listed] == [
            (pending["id"], "pending"), (active["id"], "active"), (used_up["id"], "used_up"),
            (expired["id"], "expired")]
        by_status = {p["status"]: p for p in listed}
        assert by_status["pending"] == {
            "purchase_id": pending["id"], "package_id": "mensualidad-ilimitada", "name": "Mensualidad ilimitada",
            "sessions_total": None, "sessions_left": None, "valid_until": None, "status": "pending",
            "payment_link": pending["payment_link"]}
        assert by_status["active"] == {
            "purchase_id": active["id"], "package_id": "pack-5", "name": "Pack 5 clases", "sessions_total": 5,
            "sessions_left": 5, "valid_until": active["valid_until"], "status": "active", "payment_link": None}
        assert_utc_timestamp(by_status["expired"]["valid_until"])
        assert (by_status["used_up"]["sessions_total"], by_status["used_up"]["sessions_left"]) == (1, 0)
        assert (by_status["expired"]["sessions_total"], by_status["expired"]["sessions_left"]) == (10, 10)
        history = await studio.api.call(Operation.PURCHASE_HISTORY, client_phone=customer)
        assert [p["status"] for p in history if p["id"] == failed["id"]] == ["failed"]

    async def test_cancelling_needs_a_code(self, studio: Studio) -> None:
        assert await refused(studio.api.call(Operation.CANCEL_BOOKING, {}, client_phone=studio.customer())) == (
            "validation", "missing_parameter", None)

    # --- purchases -----------------------------------------------------------------------------------

    async def test_a_purchase_is_pending_with_a_payment_link(self, studio: Studio) -> None:
        customer = studio.customer()

        by_id = await studio.api.call(Operation.PURCHASE, {"package_id": "pack-5"}, client_phone=customer,
                                      idempotency_key=key())
        by_name = await studio.api.call(Operation.PURCHASE, {"package_id": "MENSUALIDAD ILIMITADA"},
                                        client_phone=customer, idempotency_key=key())

        assert_purchase(by_id)
        assert_purchase(by_name)
        assert (by_id["package_id"], by_id["package_name"], by_id["sessions"], by_id["amount"]) == (
            "pack-5", "Pack 5 clases", 5, 1100.0)
        assert (by_name["package_id"], by_name["sessions"], by_name["amount"]) == (
            "mensualidad-ilimitada", None, 1800.0)
        assert by_id["payment_link"] != by_name["payment_link"] and by_id["id"] != by_name["id"]

    async def test_an_unknown_or_missing_package_cannot_be_bought(self, studio: Studio) -> None:
        customer = studio.customer()

        assert await refused(studio.api.call(Operation.PURCHASE, {"package_id": "pack-999"}, client_phone=customer,
                                             idempotency_key=key())) == ("not_found", "no_such_package", 404)
        assert await refused(studio.api.call(Operation.PURCHASE, {}, client_phone=customer)) == (
            "validation", "missing_package_id", 422)
        assert await studio.api.call(Operation.PURCHASE_HISTORY, client_phone=customer) == []

    async def test_the_purchase_history_is_the_customers_ten_newest(self, studio: Studio) -> None:
        customer, other = studio.customer(), studio.customer()
        assert await studio.api.call(Operation.PURCHASE_HISTORY, client_phone=customer) == []
        eleven = (["clase-suelta", "pack-5", "pack-10", "mensualidad-ilimitada"] * 3)[:11]
        bought = [await studio.api.call(Operation.PURCHASE, {"package_id": package_id}, client_phone=customer,
                                        idempotency_key=key()) for package_id in eleven]
        await studio.api.call(Operation.PURCHASE, {"package_id": "pack-5"}, client_phone=other)

        history = await studio.api.call(Operation.PURCHASE_HISTORY, client_phone=customer)

        for purchase in history:
            assert_purchase(purchase)
        assert history == list(reversed(bought))[:10]

    # --- profile -------------------------------------------------------------------------------------

    async def test_a_new_customer_has_an_empty_profile(self, studio: Studio) -> None:
        customer = studio.customer()

        client = await studio.api.call(Operation.GET_PROFILE, client_phone=customer)

        assert_client(client, customer)
        assert (client["name"], client["email"]) == (None, None)

    async def test_updating_the_profile_stores_the_values_tidied(self, studio: Studio) -> None:
        customer = studio.customer()

        named = await studio.api.call(Operation.UPDATE_PROFILE, {"name": "  Ana   López "}, client_phone=customer)
        mailed = await studio.api.call(Operation.UPDATE_PROFILE, {"email": " Ana.Nueva@Example.COM "},
                                       client_phone=customer)

        assert_client(named, customer)
        assert (named["name"], named["email"]) == ("Ana López", None)
        assert (mailed["name"], mailed["email"]) == ("Ana López", "Ana.Nueva@example.com")
        assert await studio.api.call(Operation.GET_PROFILE, client_phone=customer) == mailed

    @pytest.mark.parametrize(("params", "code"), [({"email": "ana@example"}, "invalid_email"),
                                                  ({"email": "no-at-sign.com"}, "invalid_email"),
                                                  ({"name": "A"}, "invalid_name"),
                                                  ({"name": "12345"}, "invalid_name"),
                                                  ({"name": "x" * 81}, "invalid_name"),
                                                  ({}, "nothing_to_update")])
    async def test_an_invalid_profile_update_changes_nothing(self, studio: Studio, params: dict[str, Any],
                                                             code: str) -> None:
        customer = studio.customer()
        before = await studio.api.call(Operation.UPDATE_PROFILE, {"name": "Ana López", "email": "ana@example.com"},
                                       client_phone=customer)

        assert await refused(studio.api.call(Operation.UPDATE_PROFILE, params, client_phone=customer)) == (
            "validation", code, 422)
        assert await studio.api.call(Operation.GET_PROFILE, client_phone=customer) == before

    # --- the customer ------------------------------------------------------------------------------------

    @pytest.mark.parametrize(("operation", "params"), [
        (Operation.BOOK, {"slot_id": 1}), (Operation.LIST_BOOKINGS, {}),
        (Operation.CANCEL_BOOKING, {"code": "BK-1234"}), (Operation.PURCHASE, {"package_id": "pack-5"}),
        (Operation.PURCHASE_HISTORY, {}), (Operation.LIST_CLIENT_PACKAGES, {}), (Operation.GET_PROFILE, {}),
        (Operation.UPDATE_PROFILE, {"name": "Ana"}),
    ])
    async def test_the_customers_operations_need_the_customer(self, studio: Studio, operation: Operation,
                                                              params: dict[str, Any]) -> None:
        assert await refused(studio.api.call(operation, params, idempotency_key=key())) == (
            "validation", "missing_client_phone", None)
