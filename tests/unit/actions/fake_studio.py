"""An in-memory stand-in for the business API behind the `BusinessApi` port (unit tests only).

It answers the policy's operations with the reference API's shapes and error codes (a Pilates
studio: slots with capacity, bookings with codes, packages, purchases, profiles), honours
idempotency keys like the real one, and records every call. Failures are injected per operation.
The integration tests run the same flows against the real API over HTTP.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from services.actions.adapters.business_api import BusinessApiError, client_phone_of
from services.actions.adapters.endpoints import Operation

ZONE = ZoneInfo("America/Mexico_City")
PACKAGES: list[dict[str, Any]] = [
    {"id": "clase-suelta", "name": "Clase suelta", "sessions": 1, "price": 250.0, "currency": "MXN",
     "validity_days": 30, "description": "Una clase."},
    {"id": "pack-5", "name": "Pack 5 clases", "sessions": 5, "price": 1100.0, "currency": "MXN",
     "validity_days": 60, "description": "Cinco clases."},
    {"id": "pack-10", "name": "Pack 10 clases", "sessions": 10, "price": 2000.0, "currency": "MXN",
     "validity_days": 90, "description": "Diez clases."},
    {"id": "mensualidad-ilimitada", "name": "Mensualidad ilimitada", "sessions": None, "price": 1800.0,
     "currency": "MXN", "validity_days": 30, "description": "Ilimitadas."},
]
WEEKDAY_CLASSES = (("07:00", "Mat Pilates"), ("09:00", "Pilates Reformer"), ("18:00", "Pilates Reformer"),
                   ("19:00", "Pilates Reformer"), ("20:00", "Mat Pilates"))
SATURDAY_CLASSES = (("07:00", "Mat Pilates"), ("09:00", "Pilates Reformer"))


@dataclass
class Call:
    operation: Operation
    params: dict[str, Any]
    client_phone: str | None
    idempotency_key: str | None


@dataclass
class FakeStudio:
    """The studio as of `now` (the conversation's clock, set by the tests)."""

    now: dt.datetime
    capacity: int = 6
    slots: list[dict[str, Any]] = field(default_factory=list)
    bookings: list[dict[str, Any]] = field(default_factory=list)
    purchases: list[dict[str, Any]] = field(default_factory=list)
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    failures: dict[Operation, list[BusinessApiError]] = field(default_factory=dict)
    failing: dict[Operation, BusinessApiError] = field(default_factory=dict)
    _replies: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    _next_code: int = 4821

    def __post_init__(self) -> None:
        today = self.now.astimezone(ZONE).date()
        for offset in range(14):
            day = today + dt.timedelta(days=offset)
            classes = WEEKDAY_CLASSES if day.weekday() < 5 else SATURDAY_CLASSES if day.weekday() == 5 else ()
            for time, name in classes:
                self.slots.append({"id": len(self.slots) + 1, "date": day.isoformat(), "time": time,
                                   "class_name": name, "duration_minutes": 50, "capacity": self.capacity,
                                   "booked": 0})

    # --- test helpers ----------------------------------------------------------------------------

    def slot_at(self, date: dt.date | str, time: str) -> dict[str, Any]:
        return next(s for s in self.slots if s["date"] == str(date) and s["time"] == time)

    def fill(self, date: dt.date | str, time: str) -> None:
        self.slot_at(date, time)["booked"] = self.capacity

    def fail_once(self, operation: Operation, error: BusinessApiError) -> None:
        self.failures.setdefault(operation, []).append(error)

    def book_for(self, phone: str, date: dt.date | str, time: str) -> dict[str, Any]:
        return self._book(client_phone_of(phone), self.slot_at(date, time), None)

    def calls_to(self, operation: Operation) -> list[Call]:
        return [c for c in self.calls if c.operation is operation]

    def confirmed_bookings(self, phone: str) -> list[dict[str, Any]]:
        phone = client_phone_of(phone)
        return [b for b in self.bookings if b["phone"] == phone and b["status"] == "confirmed"]

    # --- the port --------------------------------------------------------------------------------

    async def ready(self) -> bool:
        return Operation.LIST_PACKAGES not in self.failing

    async def close(self) -> None:
        pass

    async def call(self, operation: Operation, params: Mapping[str, Any] | None = None, *,
                   client_phone: str | None = None, idempotency_key: str | None = None) -> Any:
        values = {k: v for k, v in (params or {}).items() if v is not None}
        self.calls.append(Call(operation, values, client_phone, idempotency_key))
        if operation in self.failing:
            raise self.failing[operation]
        if self.failures.get(operation):
            raise self.failures[operation].pop(0)
        phone = client_phone_of(client_phone) if client_phone else ""
        if idempotency_key is not None:
            replay_key = (str(operation), phone, idempotency_key)
            if replay_key in self._replies:
                return self._replies[replay_key]
        result = self._dispatch(operation, values, phone)
        if idempotency_key is not None:
            self._replies[(str(operation), phone, idempotency_key)] = result
        return result

    def _dispatch(self, operation: Operation, params: dict[str, Any], phone: str) -> Any:
        if operation is Operation.LIST_PACKAGES:
            return [dict(p) for p in PACKAGES]
        if operation is Operation.LIST_SLOTS:
            return self._list_slots(params)
        if operation is Operation.BOOK:
            slot = next((s for s in self.slots if s["id"] == int(params["slot_id"])), None) \
                if "slot_id" in params else next((s for s in self.slots if s["date"] == params.get("date")
                                                  and s["time"] == params.get("time")), None)
            if slot is None:
                raise BusinessApiError("not_found", "no such slot", status=404, code="no_such_slot")
            return self._book(phone, slot, params.get("package_id"))
        if operation in (Operation.LIST_BOOKINGS, Operation.BOOKING_STATUS):
            wanted = params.get("code")
            return [self._view(b) for b in sorted(self.bookings, key=lambda b: self._starts(b["slot"]))
                    if b["phone"] == phone and b["status"] == "confirmed" and self._starts(b["slot"]) > self.now
                    and (wanted is None or b["code"] == wanted)]
        if operation is Operation.CANCEL_BOOKING:
            return self._cancel(phone, str(params["code"]))
        if operation is Operation.PURCHASE:
            package = next((p for p in PACKAGES if p["id"] == params.get("package_id")
                            or p["name"].lower() == str(params.get("package_id")).lower()), None)
            if package is None:
                raise BusinessApiError("not_found", "no such package", status=404, code="no_such_package")
            purchase = {"id": len(self.purchases) + 1, "phone": phone, "package_id": package["id"],
                        "package_name": package["name"], "sessions": package["sessions"],
                        "amount": package["price"], "currency": "MXN", "status": "pending",
                        "payment_link": f"https://pay.example/{len(self.purchases) + 1}",
                        "created_at": self.now.isoformat(), "paid_at": None, "valid_until": None}
            self.purchases.append(purchase)
            return dict(purchase)
        if operation is Operation.PURCHASE_HISTORY:
            return [dict(p) for p in reversed(self.purchases) if p["phone"] == phone]
        if operation is Operation.GET_PROFILE:
            return dict(self._client(phone))
        if operation is Operation.UPDATE_PROFILE:
            client = self._client(phone)
            if "email" in params and "@" not in str(params["email"]):
                raise BusinessApiError("validation", "bad email", status=422, code="invalid_email")
            client.update({key: params[key] for key in ("name", "email") if key in params})
            return dict(client)
        raise AssertionError(f"unexpected operation {operation}")

    def _list_slots(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        today = self.now.astimezone(ZONE).date()
        first = dt.date.fromisoformat(params["date"]) if "date" in params else today
        last = first if "date" in params else first + dt.timedelta(days=int(params.get("days", 7)) - 1)
        return [self._slot_view(s) for s in self.slots
                if first.isoformat() <= s["date"] <= last.isoformat() and self._starts(s) > self.now]

    def _slot_view(self, slot: dict[str, Any]) -> dict[str, Any]:
        return {**slot, "starts_at": self._starts(slot).isoformat(), "available": slot["capacity"] - slot["booked"]}

    def _starts(self, slot: dict[str, Any]) -> dt.datetime:
        hour, minute = map(int, slot["time"].split(":"))
        return dt.datetime.combine(dt.date.fromisoformat(slot["date"]), dt.time(hour, minute), ZONE)

    def _book(self, phone: str, slot: dict[str, Any], package_id: Any) -> dict[str, Any]:
        if self._starts(slot) <= self.now:
            raise BusinessApiError("conflict", "slot started", status=409, code="slot_in_past")
        if any(b["slot"] is slot and b["phone"] == phone and b["status"] == "confirmed" for b in self.bookings):
            raise BusinessApiError("conflict", "already booked", status=409, code="already_booked")
        if slot["booked"] >= slot["capacity"]:
            raise BusinessApiError("conflict", "that class is full", status=409, code="slot_full")
        slot["booked"] += 1
        booking = {"id": len(self.bookings) + 1, "code": f"BK-{self._next_code}", "slot": slot, "phone": phone,
                   "status": "confirmed", "package_id": package_id}
        self._next_code += 1
        self.bookings.append(booking)
        return self._view(booking)

    def _cancel(self, phone: str, code: str) -> dict[str, Any]:
        booking = next((b for b in self.bookings if b["code"] == code.upper() and b["phone"] == phone), None)
        if booking is None:
            raise BusinessApiError("not_found", "no such booking", status=404, code="no_such_booking")
        if booking["status"] == "cancelled":
            raise BusinessApiError("conflict", "already cancelled", status=409, code="already_cancelled")
        if self._starts(booking["slot"]) <= self.now:
            raise BusinessApiError("conflict", "started", status=409, code="booking_in_past")
        booking["status"] = "cancelled"
        booking["slot"]["booked"] -= 1
        return self._view(booking)

    def _view(self, booking: dict[str, Any]) -> dict[str, Any]:
        slot = booking["slot"]
        return {"id": booking["id"], "code": booking["code"], "slot_id": slot["id"], "date": slot["date"],
                "time": slot["time"], "starts_at": self._starts(slot).isoformat(), "class_name": slot["class_name"],
                "status": booking["status"], "package_id": booking["package_id"]}

    def _client(self, phone: str) -> dict[str, Any]:
        return self.clients.setdefault(phone, {"phone": phone, "name": None, "email": None})
