"""One-turn answers that read the business API: packages, booking status, purchase history, schedule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from contracts import ActionOutcome
from contracts.dialogue import DialogueUpdate
from contracts.replies import (
    BookingStatus,
    CreditInfo,
    Credits,
    DaySchedule,
    Packages,
    PaymentClaimNoted,
    PurchaseHistory,
    PurchaseInfo,
    Schedule,
)
from services.actions import understanding
from services.actions.adapters.business_api import BusinessApiError
from services.actions.adapters.endpoints import Operation
from services.actions.flows.base import Context, Decision, api_failure, parse_date, parsed
from services.actions.flows.booking import slot_info, slot_offer
from services.actions.flows.cancellation import booking_info, booking_offer
from services.actions.flows.purchase import package_info, package_offer

SCHEDULE_DAYS = 7


async def packages(ctx: Context) -> Decision:
    try:
        items: list[dict[str, Any]] = await ctx.call(Operation.LIST_PACKAGES)
        reply = Packages(packages=tuple(package_info(p) for p in items), asked=ctx.entities.get("paquete"))
    except BusinessApiError as error:
        return api_failure("list_packages", error, dialogue=DialogueUpdate())
    return Decision("list_packages", ActionOutcome.SUCCEEDED, reply,
                    DialogueUpdate(offered=tuple(package_offer(p) for p in items)))


async def booking_status(ctx: Context) -> Decision:
    code = ctx.entities.get("referencia")
    try:
        bookings: list[dict[str, Any]] = await ctx.call(Operation.BOOKING_STATUS, {"code": code})
    except BusinessApiError as error:
        return api_failure("booking_status", error, dialogue=DialogueUpdate())
    return Decision("booking_status", ActionOutcome.SUCCEEDED,
                    BookingStatus(bookings=tuple(booking_info(b) for b in bookings), code=code),
                    DialogueUpdate(offered=tuple(booking_offer(b) for b in bookings)))


async def purchase_history(ctx: Context) -> Decision:
    try:
        purchases: list[dict[str, Any]] = await ctx.call(Operation.PURCHASE_HISTORY)
    except BusinessApiError as error:
        return api_failure("purchase_history", error, dialogue=DialogueUpdate())
    return Decision("purchase_history", ActionOutcome.SUCCEEDED,
                    PurchaseHistory(purchases=tuple(_purchase_info(ctx, p) for p in purchases)), DialogueUpdate())


async def schedule(ctx: Context) -> Decision:
    fecha = parse_date(ctx.entities.get("fecha"))
    params: dict[str, Any] = {"date": fecha.isoformat()} if fecha else {"days": SCHEDULE_DAYS}
    try:
        slots: list[dict[str, Any]] = await ctx.call(Operation.LIST_SLOTS, params)
    except BusinessApiError as error:
        return api_failure("list_slots", error, dialogue=DialogueUpdate())
    days: dict[str, list[dict[str, Any]]] = {}
    for slot in slots:
        days.setdefault(str(slot.get("date")), []).append(slot)
    reply = Schedule(date=fecha, days=tuple(
        DaySchedule(date=dt.date.fromisoformat(date), slots=tuple(slot_info(s) for s in day))
        for date, day in sorted(days.items())))
    offered = tuple(slot_offer(s) for s in slots if int(s.get("available") or 0) > 0) if fecha else ()
    return Decision("list_slots", ActionOutcome.SUCCEEDED, reply, DialogueUpdate(offered=offered))


async def credits(ctx: Context) -> Decision:
    """"¿Cuántas clases me quedan?", "¿cuándo vence?", "ya pagué": the customer's packages as the business API
    has them. A receipt or a transfer claimed for a purchase still pending is noted for staff to check."""
    try:
        packages: list[dict[str, Any]] = await ctx.call(Operation.LIST_CLIENT_PACKAGES)
    except BusinessApiError as error:
        return api_failure("list_client_packages", error, dialogue=DialogueUpdate())
    pending = [p for p in packages if p.get("status") == "pending"]
    if pending and (ctx.event.payload.media or understanding.claims_payment(ctx.text)):
        return payment_claim(ctx, str(pending[0].get("purchase_id")))
    shown = tuple(parsed(CreditInfo, {**p, "valid_until": parse_date(p.get("valid_until"))},
                         operation=Operation.LIST_CLIENT_PACKAGES) for p in packages[:5])
    return Decision("list_client_packages", ActionOutcome.SUCCEEDED, Credits(packages=shown), DialogueUpdate())


def payment_claim(ctx: Context, purchase_id: str) -> Decision:
    """Nothing is marked paid on the customer's word: the claim goes to staff (payment.claimed)."""
    reply = PaymentClaimNoted(response_time=ctx.deps.profile.handoff.response_time)
    return Decision("payment_claim", ActionOutcome.ANSWERED, reply, DialogueUpdate(), claim=purchase_id)


async def pending_purchase(ctx: Context) -> str | None:
    """The purchase waiting for its payment, if the customer has one (None when the API cannot say)."""
    try:
        packages: list[dict[str, Any]] = await ctx.call(Operation.LIST_CLIENT_PACKAGES)
    except BusinessApiError:
        return None
    pending = [p for p in packages if p.get("status") == "pending"]
    return str(pending[0].get("purchase_id")) if pending else None


def _purchase_info(ctx: Context, purchase: Mapping[str, Any]) -> PurchaseInfo:
    amount = purchase.get("amount")
    status = str(purchase.get("status") or "")
    return PurchaseInfo(
        package=str(purchase.get("package_name") or purchase.get("package_id") or ""),
        amount=float(amount) if amount is not None else None, currency=str(purchase.get("currency") or ""),
        status=status, bought_on=_local_day(ctx, purchase.get("created_at")),
        paid_on=_local_day(ctx, purchase.get("paid_at")), valid_until=_local_day(ctx, purchase.get("valid_until")),
        payment_link=purchase.get("payment_link") if status == "pending" else None,
    )


def _local_day(ctx: Context, value: Any) -> dt.date | None:
    """A UTC timestamp from the API as the business's local day."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(ctx.deps.zone).date()
