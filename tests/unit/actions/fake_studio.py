"""An in-memory stand-in for the business API behind the `BusinessApi` port (unit tests only).

It answers the policy's operations the way `BusinessApiClient` talking to the reference API
(business_api/) answers them: the same shapes, error kinds, statuses and codes, the same
validation, the same idempotency rules (a replayed key gets the stored result; the same key for
a different request is refused; failures are not stored). tests/contract/ runs one suite
against both and keeps them in step; where they disagree, the reference API is right.

It models a Pilates studio as of `now` (the conversation's clock, set by the tests): slots with
capacity, bookings with codes, packages, purchases (pending, then paid or failed: `settle` is the
payment webhook), the packages they become with sessions left and an expiry, profiles. A booking
takes a session of the customer's usable package that expires first and a cancellation made
`cancel_refund_hours` ahead gives it back, as the reference API does. Unlike the reference API,
a booking without a usable package is accepted by default (`booking_requires_package=False`, the
API's `BUSINESS_API_BOOKING_REQUIRES_PACKAGE=false`); the contract suite runs it with True. It
records every call, and failures can be injected per operation (`fail_once`, `failing`).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

from services.actions.adapters.business_api import BusinessApiError, client_phone_of
from services.actions.adapters.endpoints import Operation

ZONE = ZoneInfo("America/Mexico_City")
PACKAGES: list[dict[str, Any]] = [
    {"id": "clase-suelta", "name": "Clase suelta", "sessions": 1, "price": 250.0, "currency": "MXN",
     "validity_days": 30, "description": "Una clase de Pilates Reformer o Mat, válida por 30 días."},
    {"id": "pack-5", "name": "Pack 5 clases", "sessions": 5, "price": 1100.0, "currency": "MXN",
     "validity_days": 60, "description": "Cinco clases para usar en 60 días; ahorras 150 pesos."},
    {"id": "pack-10", "name": "Pack 10 clases", "sessions": 10, "price": 2000.0, "currency": "MXN",
     "validity_days": 90, "description": "Diez clases para usar en 90 días; el mejor precio por clase."},
    {"id": "mensualidad-ilimitada", "name": "Mensualidad ilimitada", "sessions": None, "price": 1800.0,
     "currency": "MXN", "validity_days": 30, "description": "Clases ilimitadas durante 30 días."},
]
WEEKDAY_CLASSES = (("07:00", "Mat Pilates"), ("09:00", "Pilates Reformer"), ("18:00", "Pilates Reformer"),
                   ("19:00", "Pilates Reformer"), ("20:00", "Mat Pilates"))
SATURDAY_CLASSES = (("07:00", "Mat Pilates"), ("09:00", "Pilates Reformer"))

# What endpoints.yaml and the reference API do around the operations:
CUSTOMER_OPERATIONS = frozenset({Operation.BOOK, Operation.LIST_BOOKINGS, Operation.CANCEL_BOOKING,
                                 Operation.PURCHASE, Operation.PURCHASE_HISTORY, Operation.LIST_CLIENT_PACKAGES,
                                 Operation.GET_PROFILE, Operation.UPDATE_PROFILE})
"""Sent with the client phone header: the adapter refuses them without a customer."""
KEYED_OPERATIONS = frozenset({Operation.BOOK, Operation.CANCEL_BOOKING, Operation.PURCHASE})
"""Sent with the Idempotency-Key header; the API stores and replays their responses."""
HISTORY_LIMIT = 10  # purchase_history asks for `limit: 10`
PACKAGES_LIMIT = 50  # GET /client/packages' default
PURCHASE_VIEW = ("id", "package_id", "package_name", "sessions", "amount", "currency", "status", "payment_link",
                 "created_at", "paid_at", "valid_until")
"""The fields of a purchase as the API shows it; a stored purchase also keeps its sessions left."""
MAX_DAYS = 31
Kind = Literal["validation", "not_found", "conflict"]  # the kinds of error the studio itself answers
STATUS: dict[Kind, int] = {"validation": 422, "not_found": 404, "conflict": 409}

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::00)?$")
_BOOKING_REF = re.compile(r"^(?:BK-?)?(\d{1,10})$")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}"
                    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class _Refused(Exception):
    """An error the API answers with its status (or, `before_sending`, one the adapter raises
    without calling it); `call` turns it into the adapter's BusinessApiError."""

    def __init__(self, kind: Kind, code: str, message: str, *, before_sending: bool = False) -> None:
        super().__init__(message)
        self.kind, self.code, self.message = kind, code, message
        self.status = None if before_sending else STATUS[kind]

    def as_error(self, operation: Operation) -> BusinessApiError:
        return BusinessApiError(self.kind, self.message, status=self.status, code=self.code, operation=str(operation))


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
    booking_requires_package: bool = False
    """A booking needs a usable package (409 `no_usable_package`), as the reference API by default."""
    cancel_refund_hours: int = 12
    """A cancellation at least this many hours before the class gives the session back."""
    slots: list[dict[str, Any]] = field(default_factory=list)
    bookings: list[dict[str, Any]] = field(default_factory=list)
    purchases: list[dict[str, Any]] = field(default_factory=list)
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    failures: dict[Operation, list[BusinessApiError]] = field(default_factory=dict)
    failing: dict[Operation, BusinessApiError] = field(default_factory=dict)
    _replies: dict[tuple[str, str, str], tuple[dict[str, Any], Any]] = field(default_factory=dict)
    _next_code: int = 4821

    def __post_init__(self) -> None:
        today = self.now.astimezone(ZONE).date()
        for offset in range(14):
            day = today + dt.timedelta(days=offset)
            classes = WEEKDAY_CLASSES if day.weekday() < 5 else SATURDAY_CLASSES if day.weekday() == 5 else ()
            for time, name in classes:
                self.add_slot(day, time, name)

    # --- test helpers ----------------------------------------------------------------------------

    def add_slot(self, date: dt.date | str, time: str, class_name: str = "Mat Pilates") -> dict[str, Any]:
        slot = {"id": len(self.slots) + 1, "date": str(date), "time": time, "class_name": class_name,
                "duration_minutes": 50, "capacity": self.capacity, "booked": 0}
        self.slots.append(slot)
        return slot

    def slot_at(self, date: dt.date | str, time: str) -> dict[str, Any]:
        return next(s for s in self.slots if s["date"] == str(date) and s["time"] == time)

    def fill(self, date: dt.date | str, time: str) -> None:
        self.slot_at(date, time)["booked"] = self.capacity

    def fail_once(self, operation: Operation, error: BusinessApiError) -> None:
        self.failures.setdefault(operation, []).append(error)

    def book_for(self, phone: str, date: dt.date | str, time: str) -> dict[str, Any]:
        """A booking the customer already holds: with a session of their package when they hold a usable
        one, else without (whatever `booking_requires_package` says)."""
        try:
            return self._book(client_phone_of(phone), self.slot_at(date, time), None, required=False)
        except _Refused as refused:
            raise refused.as_error(Operation.BOOK) from None

    def paid_package_for(self, phone: str, package_id: str, *, valid_days: int = 30) -> dict[str, Any]:
        """A package the customer bought and paid, valid `valid_days` from now, with all its sessions."""
        self._purchase(client_phone_of(phone), {"package_id": package_id})
        purchase = self.purchases[-1]
        purchase.update(status="paid", paid_at=self._utc_now(),
                        valid_until=_utc(self.now + dt.timedelta(days=valid_days)))
        return purchase

    def settle(self, purchase_id: int, status: Literal["paid", "failed"]) -> dict[str, Any]:
        """The payment webhook: a pending (or failed) purchase becomes paid, valid from now for its
        package's validity; a pending one becomes failed; anything else is a replay and changes nothing.
        Returns the purchase as the API shows it."""
        purchase = next(p for p in self.purchases if p["id"] == purchase_id)
        if status == "paid" and purchase["status"] in ("pending", "failed"):
            days = self._package(purchase["package_id"], code_if_absent="no_such_package")["validity_days"]
            purchase.update(status="paid", paid_at=self._utc_now(),
                            valid_until=_utc(self.now + dt.timedelta(days=days)), sessions_left=purchase["sessions"])
        elif status == "failed" and purchase["status"] == "pending":
            purchase["status"] = "failed"
        return self._purchase_view(purchase)

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
        try:
            if operation in CUSTOMER_OPERATIONS and not phone:
                raise _Refused("validation", "missing_client_phone", "this operation needs the customer's phone",
                               before_sending=True)
            if operation is Operation.CANCEL_BOOKING and "code" not in values:
                raise _Refused("validation", "missing_parameter", "missing path parameter 'code'",
                               before_sending=True)
            if operation not in KEYED_OPERATIONS or idempotency_key is None:
                return self._dispatch(operation, values, phone)
            replay_key = (str(operation), phone, idempotency_key)
            if replay_key in self._replies:
                request, result = self._replies[replay_key]
                if request != values:
                    raise _Refused("validation", "idempotency_key_reused",
                                   "this Idempotency-Key was already used for a different request")
                return copy.deepcopy(result)
            result = self._dispatch(operation, values, phone)  # a refused request is not stored
            self._replies[replay_key] = (values, copy.deepcopy(result))
            return result
        except _Refused as refused:
            raise refused.as_error(operation) from None

    def _dispatch(self, operation: Operation, params: dict[str, Any], phone: str) -> Any:
        if operation is Operation.LIST_PACKAGES:
            return [dict(p) for p in PACKAGES]
        if operation is Operation.LIST_SLOTS:
            return self._list_slots(params)
        if operation is Operation.BOOK:
            return self._book_request(phone, params)
        if operation is Operation.LIST_BOOKINGS:
            return [self._view(b) for b in self._upcoming(lambda b: b["phone"] == phone)]
        if operation is Operation.BOOKING_STATUS:
            return self._status(phone, params.get("code"))
        if operation is Operation.CANCEL_BOOKING:
            return self._cancel(phone, str(params["code"]))
        if operation is Operation.PURCHASE:
            return self._purchase(phone, params)
        if operation is Operation.PURCHASE_HISTORY:
            mine = [p for p in reversed(self.purchases) if p["phone"] == phone]
            return [self._purchase_view(p) for p in mine[:HISTORY_LIMIT]]
        if operation is Operation.LIST_CLIENT_PACKAGES:
            held = [p for p in reversed(self.purchases) if p["phone"] == phone and p["status"] in ("pending", "paid")]
            return [self._package_view(p) for p in held[:PACKAGES_LIMIT]]
        if operation is Operation.GET_PROFILE:
            return self._client_view(self._client(phone))
        if operation is Operation.UPDATE_PROFILE:
            return self._update_profile(phone, params)
        raise AssertionError(f"unexpected operation {operation}")

    # --- catalogue -------------------------------------------------------------------------------

    def _list_slots(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        days = params.get("days", 7)
        if isinstance(days, bool) or not str(days).isdigit() or not 1 <= int(days) <= MAX_DAYS:
            raise _Refused("validation", "invalid_days", f"days: must be 1 to {MAX_DAYS}")
        if "date" in params:
            first = last = _date(params["date"])
        else:
            first = self.now.astimezone(ZONE).date()
            last = first + dt.timedelta(days=int(days) - 1)
        only_available = params.get("only_available") in (True, "true")
        listed = [s for s in self.slots if first.isoformat() <= s["date"] <= last.isoformat()
                  and self._starts(s) > self.now and not (only_available and s["booked"] >= s["capacity"])]
        return [self._slot_view(s) for s in sorted(listed, key=lambda s: (self._starts(s), s["class_name"]))]

    def _slot_view(self, slot: dict[str, Any]) -> dict[str, Any]:
        return {**slot, "starts_at": self._starts(slot).isoformat(), "available": slot["capacity"] - slot["booked"]}

    def _starts(self, slot: dict[str, Any]) -> dt.datetime:
        hour, minute = map(int, slot["time"].split(":"))
        return dt.datetime.combine(dt.date.fromisoformat(slot["date"]), dt.time(hour, minute), ZONE)

    def _package(self, ref: Any, *, code_if_absent: str) -> dict[str, Any]:
        """By id, or by exact name ignoring case, as the reference API finds a package."""
        wanted = str(ref).strip()
        package = next((p for p in PACKAGES if p["id"] == wanted), None) or next(
            (p for p in PACKAGES if str(p["name"]).lower() == wanted.lower()), None)
        if package is None:
            raise _Refused("not_found", code_if_absent, f"there is no package {wanted!r}")
        return package

    # --- bookings --------------------------------------------------------------------------------

    def _book_request(self, phone: str, params: dict[str, Any]) -> dict[str, Any]:
        day = _date(params["date"]) if "date" in params else None
        if "slot_id" in params:
            try:
                slot_id = int(params["slot_id"])
            except (TypeError, ValueError):
                raise _Refused("validation", "invalid_slot_id", "slot_id: not an integer") from None
            slot = next((s for s in self.slots if s["id"] == slot_id), None)
            if slot is None:
                raise _Refused("not_found", "no_such_slot", f"there is no slot {slot_id}")
        else:
            if day is None or "time" not in params:
                missing = "time" if day else "date" if "time" in params else "slot"
                raise _Refused("validation", f"missing_{missing}", "give slot_id, or date and time")
            match = _HHMM.match(str(params["time"]).strip())
            if match is None:
                raise _Refused("validation", "invalid_time", f"{params['time']!r} is not a time of day as HH:MM")
            time = f"{int(match.group(1)):02d}:{match.group(2)}"
            at_time = [s for s in self.slots if s["date"] == day.isoformat() and s["time"] == time]
            if not at_time:
                raise _Refused("not_found", "no_such_slot", f"there is no class on {day} at {time}")
            slot = sorted(at_time, key=lambda s: (s["booked"] >= s["capacity"], s["id"]))[0]
        package_id = None
        if "package_id" in params:
            package_id = self._package(params["package_id"], code_if_absent="no_such_package")["id"]
        return self._book(phone, slot, package_id)

    def _book(self, phone: str, slot: dict[str, Any], package_id: Any, *, required: bool | None = None
              ) -> dict[str, Any]:
        if any(b["slot"] is slot and b["phone"] == phone and b["status"] == "confirmed" for b in self.bookings):
            raise _Refused("conflict", "already_booked", "this client already has a place in that class")
        if self._starts(slot) <= self.now:
            raise _Refused("conflict", "slot_in_past", "that class has already started")
        if slot["booked"] >= slot["capacity"]:
            raise _Refused("conflict", "slot_full", "that class is full")
        purchase = self._usable_package(phone, self._starts(slot), package_id)
        if purchase is None and (self.booking_requires_package if required is None else required):
            which = f"no usable {package_id!r} package" if package_id else "no paid package with sessions left"
            raise _Refused("conflict", "no_usable_package", f"this client has {which} valid for that class")
        self._client(phone)
        slot["booked"] += 1
        if purchase is not None and purchase["sessions_left"] is not None:
            purchase["sessions_left"] -= 1
        booking = {"id": len(self.bookings) + 1, "code": f"BK-{self._next_code}", "slot": slot, "phone": phone,
                   "status": "confirmed", "package_id": purchase["package_id"] if purchase else package_id,
                   "purchase": purchase, "created_at": self._utc_now(), "cancelled_at": None}
        self._next_code += 1
        self.bookings.append(booking)
        return {**self._view(booking), "sessions_left": purchase["sessions_left"] if purchase else None}

    def _usable_package(self, phone: str, starts: dt.datetime, package_id: Any) -> dict[str, Any] | None:
        """The customer's paid package valid when the class starts, with sessions left or unlimited (of
        `package_id` when given), the one that expires first."""
        usable = [p for p in self.purchases
                  if p["phone"] == phone and p["status"] == "paid" and _instant(p["valid_until"]) > starts
                  and (p["sessions_left"] is None or p["sessions_left"] > 0)
                  and (package_id is None or p["package_id"] == package_id)]
        return min(usable, key=lambda p: (_instant(p["valid_until"]), p["id"]), default=None)

    def _upcoming(self, wanted: Any) -> list[dict[str, Any]]:
        """Confirmed bookings of classes not started yet, soonest first."""
        return sorted((b for b in self.bookings if b["status"] == "confirmed" and self._starts(b["slot"]) > self.now
                       and wanted(b)), key=lambda b: (self._starts(b["slot"]), -b["id"]))

    def _status(self, phone: str, code: Any) -> list[dict[str, Any]]:
        """`GET /admin/bookings?phone=&code=&upcoming=true&status=confirmed`."""
        if not phone and code is None:
            raise _Refused("validation", "missing_phone", "give phone (the client's number) or code (a booking code)")
        wanted_code = _normalize_code(str(code)) if code is not None else None
        if code is not None and wanted_code is None:
            return []
        found = self._upcoming(lambda b: (not phone or b["phone"] == phone)
                               and (wanted_code is None or b["code"] == wanted_code))
        return [{**self._view(b), "client_phone": b["phone"],
                 "client_name": self.clients.get(b["phone"], {}).get("name")} for b in found]

    def _cancel(self, phone: str, ref: str) -> dict[str, Any]:
        match = _BOOKING_REF.match(ref.strip().upper())
        mine = [b for b in self.bookings if b["phone"] == phone]
        booking = None
        if match is not None:
            code, booking_id = f"BK-{match.group(1)}", int(match.group(1))
            booking = next((b for b in mine if b["code"] == code), None) or next(
                (b for b in mine if b["id"] == booking_id), None)
        if booking is None:
            raise _Refused("not_found", "no_such_booking", f"this client has no booking {ref!r}")
        if booking["status"] == "cancelled":
            raise _Refused("conflict", "already_cancelled", "that booking is already cancelled")
        if self._starts(booking["slot"]) <= self.now:
            raise _Refused("conflict", "booking_in_past", "that class has already started")
        purchase = booking.get("purchase")
        returned = purchase is not None and (
            self._starts(booking["slot"]) >= self.now + dt.timedelta(hours=self.cancel_refund_hours))
        booking["status"] = "cancelled"
        booking["cancelled_at"] = self._utc_now()
        booking["session_returned"] = returned
        booking["slot"]["booked"] -= 1
        if returned and purchase is not None and purchase["sessions_left"] is not None \
                and purchase["sessions_left"] < purchase["sessions"]:
            purchase["sessions_left"] += 1
        return {**self._view(booking), "session_returned": returned, "refund_hours": self.cancel_refund_hours,
                "sessions_left": purchase["sessions_left"] if purchase else None}

    def _view(self, booking: dict[str, Any]) -> dict[str, Any]:
        slot = booking["slot"]
        return {"id": booking["id"], "code": booking["code"], "slot_id": slot["id"], "date": slot["date"],
                "time": slot["time"], "starts_at": self._starts(slot).isoformat(), "class_name": slot["class_name"],
                "status": booking["status"], "package_id": booking["package_id"],
                "package_name": self._package_name(booking["package_id"]),
                "purchase_id": booking["purchase"]["id"] if booking.get("purchase") else None,
                "created_at": booking.get("created_at") or self._utc_now(), "cancelled_at": booking.get("cancelled_at")}

    @staticmethod
    def _package_name(package_id: Any) -> str | None:
        return next((str(p["name"]) for p in PACKAGES if p["id"] == package_id), None)

    # --- purchases -------------------------------------------------------------------------------

    def _purchase(self, phone: str, params: dict[str, Any]) -> dict[str, Any]:
        if "package_id" not in params:
            raise _Refused("validation", "missing_package_id", "package_id: Field required")
        package = self._package(params["package_id"], code_if_absent="no_such_package")
        self._client(phone)
        number = len(self.purchases) + 1
        purchase = {"id": number, "phone": phone, "package_id": package["id"], "package_name": package["name"],
                    "sessions": package["sessions"], "amount": package["price"], "currency": package["currency"],
                    "status": "pending", "payment_link": f"https://pay.example/{number}",
                    "created_at": self._utc_now(), "paid_at": None, "valid_until": None,
                    "sessions_left": package["sessions"]}
        self.purchases.append(purchase)
        return self._purchase_view(purchase)

    @staticmethod
    def _purchase_view(purchase: dict[str, Any]) -> dict[str, Any]:
        return {key: purchase[key] for key in PURCHASE_VIEW}

    def _package_view(self, purchase: dict[str, Any]) -> dict[str, Any]:
        """A purchase as `GET /client/packages` shows it."""
        if purchase["status"] == "pending":
            status = "pending"
        elif purchase["sessions_left"] == 0:
            status = "used_up"
        elif _instant(purchase["valid_until"]) <= self.now:
            status = "expired"
        else:
            status = "active"
        return {"purchase_id": purchase["id"], "package_id": purchase["package_id"], "name": purchase["package_name"],
                "sessions_total": purchase["sessions"], "sessions_left": purchase["sessions_left"],
                "valid_until": purchase["valid_until"], "status": status,
                "payment_link": purchase["payment_link"] if status == "pending" else None}

    # --- clients ---------------------------------------------------------------------------------

    def _client(self, phone: str) -> dict[str, Any]:
        return self.clients.setdefault(phone, {"phone": phone, "name": None, "email": None,
                                               "created_at": self._utc_now()})

    def _client_view(self, client: dict[str, Any]) -> dict[str, Any]:
        return {"phone": client["phone"], "name": client.get("name"), "email": client.get("email"),
                "created_at": client.get("created_at") or self._utc_now()}

    def _update_profile(self, phone: str, params: dict[str, Any]) -> dict[str, Any]:
        if "name" not in params and "email" not in params:
            raise _Refused("validation", "nothing_to_update", "give name and/or email")
        changes = {}
        if "name" in params:
            changes["name"] = _valid_name(str(params["name"]))
        if "email" in params:
            changes["email"] = _valid_email(str(params["email"]))
        client = self._client(phone)
        client.update(changes)
        return self._client_view(client)

    def _utc_now(self) -> str:
        """A timestamp as the API writes creation and payment times: UTC, `Z`."""
        return self.now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _utc(moment: dt.datetime) -> str:
    """A moment as the API writes validity ends: UTC, `Z`."""
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _instant(written: str) -> dt.datetime:
    return dt.datetime.fromisoformat(written.replace("Z", "+00:00"))


def _date(raw: Any) -> dt.date:
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError:
        raise _Refused("validation", "invalid_date", f"date: {raw!r} is not a date YYYY-MM-DD") from None


def _normalize_code(raw: str) -> str | None:
    """`bk-4821`/`BK4821`/`4821` → `BK-4821`; None when it cannot be a code."""
    match = _BOOKING_REF.match(raw.strip().upper())
    return f"BK-{match.group(1)}" if match and len(match.group(1)) >= 4 else None


def _valid_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not 2 <= len(name) <= 80 or _CONTROL.search(name) or not any(char.isalpha() for char in name):
        raise _Refused("validation", "invalid_name", "the name must have 2 to 80 characters, with letters")
    return name


def _valid_email(raw: str) -> str:
    email = raw.strip()
    if len(email) > 254 or not _EMAIL.match(email):
        raise _Refused("validation", "invalid_email", f"{email!r} is not a valid email address")
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"
