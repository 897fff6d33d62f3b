"""agendar_cita: day → free times of that day → time → `POST /booking` → the booking code.

Slots: `fecha` (ISO date), `hora` (HH:MM), `slot_id` (when picked from the times offered),
`paquete` (optional, recorded on the booking). No confirmation: booking is neither destructive
nor paying, and the customer can cancel it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import JsonValue

from contracts import ActionOutcome
from contracts.dialogue import DialogueUpdate, Offer, PendingConfirmation
from contracts.replies import (
    Abandoned,
    AlreadyBooked,
    AskDate,
    Booked,
    DateInPast,
    NoSlots,
    OfferSlots,
    SlotFull,
    SlotInfo,
)
from services.actions import understanding
from services.actions.adapters.business_api import BusinessApiError
from services.actions.adapters.endpoints import Operation
from services.actions.flows.base import (
    Context,
    Decision,
    api_failure,
    asking,
    done,
    failed,
    parse_date,
    parsed,
    without,
)

FLOW = "agendar_cita"


def slot_offer(slot: Mapping[str, Any]) -> Offer:
    return Offer(kind="slot", ref=str(slot.get("id", "")), label=str(slot.get("time", "")), data={
        "date": str(slot.get("date", "")), "time": str(slot.get("time", "")),
        "class_name": str(slot.get("class_name", "")), "available": _int(slot.get("available")),
    })


def slot_info(slot: Mapping[str, Any]) -> SlotInfo:
    return parsed(SlotInfo, {"date": slot.get("date"), "time": slot.get("time"),
                             "class_name": str(slot.get("class_name") or ""), "available": _int(slot.get("available"))},
                  operation=Operation.LIST_SLOTS)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


class BookingFlow:
    name = FLOW
    extra_yes: tuple[str, ...] = ()

    def extract(self, ctx: Context, slots: Mapping[str, JsonValue], offered: Sequence[Offer],
                awaiting: str | None) -> dict[str, JsonValue]:
        found: dict[str, JsonValue] = {}
        entities = ctx.entities
        if "fecha" in entities:
            found["fecha"] = entities["fecha"]
        if "paquete" in entities:
            found["paquete"] = entities["paquete"]
        same_day = "fecha" not in found or found["fecha"] == slots.get("fecha")
        slot_offers = [o for o in offered if o.kind == "slot"]
        if same_day and slot_offers:
            picked = understanding.choose(slot_offers, ctx.text, kind="slot", hora=entities.get("hora"))
            if picked is not None:
                found.update(hora=str(picked.data.get("time")), slot_id=picked.ref)
                if "fecha" not in found and slots.get("fecha") is None:
                    found["fecha"] = str(picked.data.get("date"))
                return found
        if "hora" in entities:
            found["hora"] = entities["hora"]
        elif awaiting == "hora" and (hour := understanding.bare_hour(ctx.text)) is not None:
            found["hora"] = f"{hour:02d}:00"
        return found

    def merge(self, slots: Mapping[str, JsonValue], found: Mapping[str, JsonValue]) -> dict[str, JsonValue]:
        """A new day drops the time chosen for the old one, unless the message gives a time too."""
        merged = dict(slots)
        if "fecha" in found and slots.get("fecha") not in (None, found["fecha"]) and "hora" not in found:
            merged = without(merged, "hora", "slot_id")
        if "hora" in found and "slot_id" not in found:
            merged = without(merged, "slot_id")
        return {**merged, **found}

    async def step(self, ctx: Context, slots: dict[str, JsonValue], *, not_understood: bool = False) -> Decision:
        fecha = parse_date(slots.get("fecha"))
        if fecha is None:
            hora = slots.get("hora")
            return asking("ask_date", AskDate(not_understood=not_understood, time=str(hora) if hora else None),
                          _dialogue(without(slots, "fecha", "slot_id"), "fecha"))
        if fecha < ctx.today:
            return asking("ask_date", DateInPast(date=fecha), _dialogue(without(slots, "fecha", "slot_id"), "fecha"))
        try:
            day_slots: list[dict[str, Any]] = await ctx.call(Operation.LIST_SLOTS, {"date": fecha.isoformat()})
        except BusinessApiError as error:
            return api_failure("list_slots", error, dialogue=_dialogue(slots, "hora" if "hora" not in slots
                                                                         else "fecha"))
        free = [slot for slot in day_slots if _int(slot.get("available")) > 0]
        hora = slots.get("hora")
        if hora is not None:
            wanted = _find(day_slots, str(hora), slots.get("slot_id"))
            if wanted is not None and _int(wanted.get("available")) > 0:
                return await self._book(ctx, slots, wanted, day_slots)
            if wanted is not None:
                return _full(slots, fecha, str(hora), free)
        if not free:
            return _no_slots(slots, fecha)
        reason: Literal["no_class_at"] | None = "no_class_at" if hora is not None else None
        return _offer(without(slots, "hora", "slot_id"), fecha, free, reason=reason,
                      requested_time=str(hora) if hora else None, not_understood=not_understood)

    async def _book(self, ctx: Context, slots: dict[str, JsonValue], slot: Mapping[str, Any],
                    day_slots: list[dict[str, Any]]) -> Decision:
        params: dict[str, Any] = {"slot_id": slot.get("id"), "date": slot.get("date"), "time": slot.get("time")}
        package = slots.get("paquete")
        if package:
            params["package_id"] = await _package_id(ctx, str(package))
        fecha = parse_date(slot.get("date")) or ctx.today
        try:
            booking: dict[str, Any] = await ctx.call(Operation.BOOK, params, idempotent_action="book")
        except BusinessApiError as error:
            if error.code == "slot_full":
                return await self._after_full(ctx, slots, fecha, str(slot.get("time")), error)
            if error.code == "already_booked":
                return failed("book", error, done("book", AlreadyBooked(date=fecha, time=str(slot.get("time")))))
            if error.code in ("slot_in_past", "no_such_slot"):
                others = [s for s in day_slots if s.get("id") != slot.get("id") and _int(s.get("available")) > 0]
                if others:
                    return failed("book", error, _offer(without(slots, "hora", "slot_id"), fecha, others,
                                                        reason="started", requested_time=str(slot.get("time"))))
                return failed("book", error, _no_slots(slots, fecha))
            return api_failure("book", error, dialogue=_dialogue(slots, "hora"))
        return done("book", Booked(code=str(booking.get("code") or "") or None,
                                   date=parse_date(booking.get("date")) or fecha,
                                   time=str(booking.get("time") or slot.get("time")),
                                   class_name=str(booking.get("class_name") or ""),
                                   package=str(package) if package else None))

    async def _after_full(self, ctx: Context, slots: dict[str, JsonValue], fecha: dt.date, hora: str,
                          error: BusinessApiError) -> Decision:
        """Someone took the last place between the listing and the booking: offer the other times."""
        try:
            day_slots: list[dict[str, Any]] = await ctx.call(Operation.LIST_SLOTS, {"date": fecha.isoformat()})
        except BusinessApiError:
            day_slots = []
        free = [s for s in day_slots if _int(s.get("available")) > 0 and s.get("time") != hora]
        return failed("book", error, _full(slots, fecha, hora, free))

    async def confirmed(self, ctx: Context, pending: PendingConfirmation) -> Decision:
        return await self.step(ctx, dict(pending.params))

    def reconfirm(self, ctx: Context, pending: PendingConfirmation) -> Decision:
        return asking("ask_date", AskDate(not_understood=True), _dialogue({}, "fecha"))

    def declined(self, ctx: Context, pending: PendingConfirmation) -> Decision:
        return Decision("abandon", ActionOutcome.CANCELLED, Abandoned(flow=FLOW), DialogueUpdate())


def _dialogue(slots: Mapping[str, JsonValue], awaiting: str, offered: Sequence[Offer] = ()) -> DialogueUpdate:
    return DialogueUpdate(flow=FLOW, slots=dict(slots), awaiting=awaiting, offered=tuple(offered))


def _find(day_slots: Sequence[Mapping[str, Any]], hora: str, slot_id: JsonValue) -> Mapping[str, Any] | None:
    if slot_id is not None:
        by_id = [s for s in day_slots if str(s.get("id")) == str(slot_id)]
        if by_id:
            return by_id[0]
    at_time = [s for s in day_slots if str(s.get("time", "")).zfill(5) == hora.zfill(5)]
    if not at_time and int(hora.split(":")[0]) < 12:  # "a las 7" when only 19:00 exists
        other = f"{int(hora.split(':')[0]) + 12:02d}:{hora.split(':')[1] if ':' in hora else '00'}"
        at_time = [s for s in day_slots if str(s.get("time", "")).zfill(5) == other]
    free = [s for s in at_time if _int(s.get("available")) > 0]
    candidates = free or at_time
    return candidates[0] if candidates else None


def _offer(slots: Mapping[str, JsonValue], fecha: dt.date, free: Sequence[Mapping[str, Any]], *,
           reason: Literal["no_class_at", "started"] | None = None, requested_time: str | None = None,
           not_understood: bool = False) -> Decision:
    reply = OfferSlots(date=fecha, slots=tuple(slot_info(s) for s in free), reason=reason,
                       requested_time=requested_time, not_understood=not_understood)
    return asking("offer_slots", reply, _dialogue(slots, "hora", [slot_offer(s) for s in free]))


def _no_slots(slots: Mapping[str, JsonValue], fecha: dt.date) -> Decision:
    return asking("no_slots", NoSlots(date=fecha), _dialogue(without(slots, "fecha", "hora", "slot_id"), "fecha"))


def _full(slots: Mapping[str, JsonValue], fecha: dt.date, hora: str, free: Sequence[Mapping[str, Any]]) -> Decision:
    awaiting = "hora" if free else "fecha"
    kept = without(slots, "hora", "slot_id") if free else without(slots, "fecha", "hora", "slot_id")
    reply = SlotFull(date=fecha, requested_time=hora, slots=tuple(slot_info(s) for s in free))
    return asking("slot_full", reply, _dialogue(kept, awaiting, [slot_offer(s) for s in free]))


async def _package_id(ctx: Context, name: str) -> str:
    """The id of the package the customer named; the name itself if the catalogue cannot say."""
    try:
        packages: list[dict[str, Any]] = await ctx.call(Operation.LIST_PACKAGES)
    except BusinessApiError:
        return name
    for package in packages:
        if str(package.get("name", "")).lower() == name.lower() or str(package.get("id")) == name:
            return str(package.get("id"))
    return name

