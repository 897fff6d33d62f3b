"""Request bodies and the JSON views the API answers with (documented in ``docs/business-api.md``).

Views carry local times: ``starts_at`` with the business's UTC offset, ``date`` and ``time``
(``HH:MM``) as a customer would say them. Creation and payment times are UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

BookingStatus = Literal["confirmed", "cancelled"]
PurchaseStatus = Literal["pending", "paid", "cancelled"]


class View(BaseModel):
    model_config = ConfigDict(frozen=True)


class Request(BaseModel):
    """Unknown fields are ignored, so a caller may send more than an endpoint reads."""

    model_config = ConfigDict(frozen=True, extra="ignore")


# Requests


class BookingRequest(Request):
    slot_id: int | None = Field(None, description="The slot to book; or give date and time")
    date: dt.date | None = Field(None, description="Local date, YYYY-MM-DD (with time)")
    time: str | None = Field(None, description="Local time, HH:MM (with date)", examples=["19:00"])
    class_name: str | None = Field(None, description="Picks among classes starting at the same time")
    package_id: str | int | None = Field(None, description="The package the session is charged to (recorded)")


class PurchaseRequest(Request):
    package_id: str | int = Field(description="A package id from GET /packages (its exact name is accepted too)")


class ProfileUpdate(Request):
    name: str | None = Field(None, description="2 to 80 characters")
    email: str | None = None


# Views


class ClientView(View):
    phone: str
    name: str | None
    email: str | None
    created_at: dt.datetime


class PackageView(View):
    id: str
    name: str
    sessions: int | None = Field(description="Sessions included; null for unlimited")
    price: float
    currency: str
    validity_days: int
    description: str


class SlotView(View):
    id: int
    date: dt.date
    starts_at: dt.datetime
    time: str
    class_name: str
    duration_minutes: int
    capacity: int
    booked: int
    available: int


class BookingView(View):
    id: int
    code: str
    slot_id: int
    date: dt.date
    time: str
    starts_at: dt.datetime
    class_name: str
    status: BookingStatus
    package_id: str | None
    created_at: dt.datetime
    cancelled_at: dt.datetime | None


class AdminBookingView(BookingView):
    client_phone: str
    client_name: str | None


class PurchaseView(View):
    id: int
    package_id: str
    package_name: str
    sessions: int | None
    amount: float
    currency: str
    status: PurchaseStatus
    payment_link: str
    created_at: dt.datetime
    paid_at: dt.datetime | None
    valid_until: dt.datetime | None


# Response envelopes


class PackagesResponse(View):
    packages: list[PackageView]


class SlotsResponse(View):
    date: dt.date | None = Field(description="The date asked for; null when listing the coming days")
    from_date: dt.date
    to_date: dt.date
    slots: list[SlotView]


class BookingResponse(View):
    booking: BookingView


class BookingsResponse(View):
    bookings: list[BookingView]


class AdminBookingsResponse(View):
    bookings: list[AdminBookingView]


class PurchaseResponse(View):
    purchase: PurchaseView


class PurchasesResponse(View):
    purchases: list[PurchaseView]


class ClientResponse(View):
    client: ClientView


class ErrorDetail(View):
    kind: Literal["validation", "not_found", "conflict", "unauthorized", "unavailable", "internal"]
    message: str
    code: str


class ErrorResponse(View):
    error: ErrorDetail
