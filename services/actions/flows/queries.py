"""One-turn answers that read the business API: packages, booking status, purchase history, schedule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from contracts import ActionOutcome
from contracts.dialogue import DialogueUpdate
from services.actions.adapters.business_api import BusinessApiError
from services.actions.adapters.endpoints import Operation
from services.actions.flows.base import Context, Decision, api_failure
from services.actions.flows.booking import slot_offer, slot_view
from services.actions.flows.cancellation import booking_offer, booking_view
from services.actions.flows.purchase import package_offer
from services.actions.spanish import day_label, money_label

SCHEDULE_DAYS = 7


async def packages(ctx: Context) -> Decision:
    try:
        items: list[dict[str, Any]] = await ctx.call(Operation.LIST_PACKAGES)
    except BusinessApiError as error:
        return api_failure("list_packages", error, dialogue=DialogueUpdate())
    return Decision("list_packages", ActionOutcome.SUCCEEDED, "packages", {"packages": items},
                    DialogueUpdate(offered=tuple(package_offer(p) for p in items)))


async def booking_status(ctx: Context) -> Decision:
    code = ctx.entities.get("referencia")
    try:
        bookings: list[dict[str, Any]] = await ctx.call(Operation.BOOKING_STATUS, {"code": code})
    except BusinessApiError as error:
        return api_failure("booking_status", error, dialogue=DialogueUpdate())
    return Decision("booking_status", ActionOutcome.SUCCEEDED, "booking_status",
                    {"bookings": [booking_view(b) for b in bookings], **({"code": code} if code else {})},
                    DialogueUpdate(offered=tuple(booking_offer(b) for b in bookings)))


async def purchase_history(ctx: Context) -> Decision:
    try:
        purchases: list[dict[str, Any]] = await ctx.call(Operation.PURCHASE_HISTORY)
    except BusinessApiError as error:
        return api_failure("purchase_history", error, dialogue=DialogueUpdate())
    return Decision("purchase_history", ActionOutcome.SUCCEEDED, "purchase_history",
                    {"purchases": [_purchase_view(ctx, p) for p in purchases]}, DialogueUpdate())


async def schedule(ctx: Context) -> Decision:
    fecha = ctx.entities.get("fecha")
    params: dict[str, Any] = {"date": fecha} if fecha else {"days": SCHEDULE_DAYS}
    try:
        slots: list[dict[str, Any]] = await ctx.call(Operation.LIST_SLOTS, params)
    except BusinessApiError as error:
        return api_failure("list_slots", error, dialogue=DialogueUpdate())
    days: dict[str, list[dict[str, Any]]] = {}
    for slot in slots:
        days.setdefault(str(slot.get("date")), []).append(slot)
    data: dict[str, Any] = {
        "days": [{"date": date, "day": day_label(date), "slots": [slot_view(s) for s in day]}
                 for date, day in sorted(days.items())],
    }
    if fecha:
        data.update(date=fecha, day=day_label(fecha))
    offered = tuple(slot_offer(s) for s in slots if int(s.get("available") or 0) > 0) if fecha else ()
    return Decision("list_slots", ActionOutcome.SUCCEEDED, "schedule", data, DialogueUpdate(offered=offered))


def _purchase_view(ctx: Context, purchase: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "package": purchase.get("package_name") or purchase.get("package_id"),
        "amount": purchase.get("amount"), "currency": purchase.get("currency"),
        "price": money_label(purchase.get("amount"), purchase.get("currency", "")),
        "status": purchase.get("status"),
        "bought_on": _local_day(ctx, purchase.get("created_at")),
        "paid_on": _local_day(ctx, purchase.get("paid_at")),
        "valid_until": _local_day(ctx, purchase.get("valid_until")),
        "payment_link": purchase.get("payment_link") if purchase.get("status") == "pending" else None,
    }


def _local_day(ctx: Context, value: Any) -> str | None:
    """A UTC timestamp from the API as the business's local day, in words."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return day_label(moment.astimezone(ctx.deps.zone).date().isoformat())
