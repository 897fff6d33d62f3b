"""Request bodies and the JSON views the API answers with (documented in ``docs/business-api.md``).

Views carry local times: ``starts_at`` with the business's UTC offset, ``date`` and ``time``
(``HH:MM``) as a customer would say them. Creation and payment times are UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

BookingStatus = Literal["confirmed", "cancelled"]
PurchaseStatus = Literal["pending", "paid", "failed", "cancelled"]
PackageStatus = Literal["active", "expired", "used_up", "pending"]
PaymentOutcome = Literal["paid", "failed"]


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
    package_id: str | int | None = Field(
        None,
        description="Charge the session to this package (id or exact name) when the client holds a usable "
        "one; by default the usable package that expires first",
    )


class PurchaseRequest(Request):
    package_id: str | int = Field(description="A package id from GET /packages (its exact name is accepted too)")


class PaymentWebhook(Request):
    """What a payment provider (or its thin adapter) posts to ``POST /payments/webhook``."""

    purchase_id: int | None = Field(None, description="The purchase; or give token")
    token: str | None = Field(None, max_length=200, description="The payment link's token; or give purchase_id")
    status: PaymentOutcome
    payment_id: str | None = Field(None, max_length=200, description="The provider's id of the payment")
    provider: str | None = Field(None, max_length=50, description="Who took the payment (demo, mercadopago, ...)")
    occurred_at: dt.datetime | None = Field(None, description="When the provider recorded it")


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
    package_name: str | None
    purchase_id: int | None = Field(description="The purchase whose session the booking took; null: none")
    created_at: dt.datetime
    cancelled_at: dt.datetime | None


class BookedView(BookingView):
    """The booking just made (``POST /booking``)."""

    sessions_left: int | None = Field(
        description="Sessions left in the package after this booking; null when unlimited or no package was used"
    )


class CancelledView(BookingView):
    """The booking just cancelled (``POST /client/bookings/{code}/cancel``)."""

    session_returned: bool = Field(
        description="The session went back to its package: the booking used one and was cancelled at least "
        "refund_hours before the class"
    )
    refund_hours: int = Field(description="How many hours before the class a cancellation gives the session back")
    sessions_left: int | None = Field(
        description="Sessions left in the package after cancelling; null when unlimited or no package was used"
    )


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


class ClientPackageView(View):
    """A package the client bought: active, expired, used up, or pending payment."""

    purchase_id: int
    package_id: str
    name: str
    sessions_total: int | None = Field(description="Sessions the package gives; null for unlimited")
    sessions_left: int | None = Field(description="Sessions not used yet (all of them while pending); null unlimited")
    valid_until: dt.datetime | None = Field(description="End of validity (UTC); null while pending")
    status: PackageStatus = Field(
        description="active: usable now; expired: validity over; used_up: no sessions left; pending: not paid yet"
    )
    payment_link: str | None = Field(description="Where to pay; only while pending")


class PaymentNotification(View):
    """The body of the signed webhook to the orchestrator, one per payment status change."""

    purchase_id: int
    status: PaymentOutcome
    customer_phone: str = Field(description="The client's WhatsApp number, E.164")
    package_name: str
    amount: float
    currency: str
    valid_until: dt.datetime | None = Field(description="End of the package's validity; null for a failed payment")
    occurred_at: dt.datetime = Field(description="When the purchase changed status (UTC)")


# Response envelopes


class PackagesResponse(View):
    packages: list[PackageView]


class SlotsResponse(View):
    date: dt.date | None = Field(description="The date asked for; null when listing the coming days")
    from_date: dt.date
    to_date: dt.date
    slots: list[SlotView]


class BookingResponse(View):
    booking: BookedView


class CancelResponse(View):
    booking: CancelledView


class BookingsResponse(View):
    bookings: list[BookingView]


class AdminBookingsResponse(View):
    bookings: list[AdminBookingView]


class PurchaseResponse(View):
    purchase: PurchaseView


class PurchasesResponse(View):
    purchases: list[PurchaseView]


class ClientPackagesResponse(View):
    packages: list[ClientPackageView]


class PaymentWebhookResponse(View):
    purchase: PurchaseView
    changed: bool = Field(description="false: the purchase already had this outcome (a replay) or is paid")


class ClientResponse(View):
    client: ClientView


class ErrorDetail(View):
    kind: Literal["validation", "not_found", "conflict", "unauthorized", "unavailable", "internal"]
    message: str
    code: str


class ErrorResponse(View):
    error: ErrorDetail
