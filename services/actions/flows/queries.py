"""One-turn answers that read the business API: packages, booking status, purchase history, schedule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from contracts import ActionOutcome
from contracts.dialogue import DialogueUpdate
from contracts.replies import BookingStatus, DaySchedule, Packages, PurchaseHistory, PurchaseInfo, Schedule
from services.actions.adapters.business_api import BusinessApiError
from services.actions.adapters.endpoints import Operation
from services.actions.flows.base import Context, Decision, api_failure, parse_date
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
