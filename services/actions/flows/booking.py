"""agendar_cita: day → free times of that day → time → a summary to confirm → `POST /booking`.

Slots: `fecha` (ISO date), `hora` (HH:MM) with `hora_bare` (said without a part of day, so it may
mean the other half of the day), `slot_id` (when picked from the times offered), `paquete`
(optional: the package named; else the customer's active package, if any, is shown).

Safety first (DESIGN.md section 10): the bot never books a time the customer did not say. An
explicit time ("a las 8 de la mañana", "20:00") is only itself; a bare hour may be read as the
other half of the day (`understanding.time_candidates`). When the day has no class at the time
asked, the bot says so and offers the nearest times; it books nothing without a "sí" to a summary
naming the class, the day, the time and the package session it uses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import JsonValue

from contracts import ActionOutcome
from contracts.dialogue import DialogueUpdate, Offer, PendingConfirmation
from contracts.replies import (
    AlreadyBooked,
    AskChange,
    AskDate,
    Booked,
    ConfirmBooking,
    CreditInfo,
    DateInPast,
    NoCredits,
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
    confirming,
    done,
    failed,
    parse_date,
    parsed,
    without,
)
from services.actions.flows.purchase import FLOW as PURCHASE_FLOW
from services.actions.flows.purchase import package_info, package_offer

FLOW = "agendar_cita"
ACTION = "book"
NEAREST = 3
"""How many of the nearest times are offered when the day has no class at the time asked."""


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


def _minutes(time: str) -> int:
    hour, _, minute = time.partition(":")
    return int(hour) * 60 + int(minute or 0)


class BookingFlow:
    name = FLOW
    verbs: tuple[str, ...] = ()

    def extract(self, ctx: Context, slots: Mapping[str, JsonValue], offered: Sequence[Offer],
                awaiting: str | None) -> dict[str, JsonValue]:
        found: dict[str, JsonValue] = {}
        entities = ctx.entities
        if "fecha" in entities:
            found["fecha"] = entities["fecha"]
        elif not slots.get("fecha") and awaiting is None and (recalled := ctx.recalled("fecha")):
            found["fecha"] = recalled  # "¿qué clases hay el jueves?" → "anótame a las 6"
        if "paquete" in entities:
            found["paquete"] = entities["paquete"]
        hora, bare = entities.get("hora"), ctx.hora_bare
        if hora is None and awaiting in ("hora", "change") and (hour := understanding.bare_hour(ctx.text)) is not None:
            hora, bare = f"{hour:02d}:00", True
        if hora is None and slots.get("hora") and (moved := understanding.with_part_of_day(str(slots["hora"]),
                                                                                           ctx.text)):
            hora, bare = moved, False  # "de la mañana" after "a las 7": 07:00, said explicitly
        day = found.get("fecha", slots.get("fecha"))
        slot_offers = [o for o in offered if o.kind == "slot" and (day is None or o.data.get("date") == day)]
        if slot_offers:
            picked = understanding.choose(slot_offers, ctx.text, kind="slot", hora=hora, bare=bare)
            if picked is None and hora is None and ctx.answer == "yes" and len(slot_offers) == 1:
                picked = slot_offers[0]  # "sí" to the one time offered
            if picked is not None:
                found.update(fecha=str(picked.data.get("date")), hora=str(picked.data.get("time")), hora_bare=False,
                             slot_id=picked.ref)
                return found
        if hora is not None:
            found.update(hora=hora, hora_bare=bare)
        elif (part := understanding.part_of_day(ctx.text)) is not None:
            found["momento"] = part  # "el jueves en la tarde": the afternoon's times
        return found

    def merge(self, slots: Mapping[str, JsonValue], found: Mapping[str, JsonValue], *,
              editing: bool = False) -> dict[str, JsonValue]:
        """A new day drops the time chosen for the old one, unless the message gives a time too or a
        summary is being edited ("mejor el jueves": the same time, another day)."""
        merged = dict(slots)
        said = found.get("hora")
        if editing and said and found.get("hora_bare") and slots.get("hora") in understanding.time_candidates(
                str(said), bare=True):
            found = without(found, "hora", "hora_bare")  # "sí, a las 7" to a summary at 19:00: no change
        new_day = "fecha" in found and slots.get("fecha") not in (None, found["fecha"])
        if new_day and "hora" not in found:
            merged = without(merged, "slot_id") if editing else without(merged, "hora", "hora_bare", "slot_id")
        if "hora" in found and "slot_id" not in found:
            merged = without(merged, "slot_id")
        return {**merged, **found}

    async def step(self, ctx: Context, slots: dict[str, JsonValue], *, not_understood: bool = False,
                   edited: bool = False) -> Decision:
        fecha = parse_date(slots.get("fecha"))
        hora = str(slots["hora"]) if slots.get("hora") else None
        if fecha is None:
            return asking("ask_date", AskDate(not_understood=not_understood, time=hora),
                          _dialogue(without(slots, "fecha", "slot_id"), "fecha"))
        if fecha < ctx.today:
            return asking("ask_date", DateInPast(date=fecha), _dialogue(without(slots, "fecha", "slot_id"), "fecha"))
        try:
            day_slots: list[dict[str, Any]] = await ctx.call(Operation.LIST_SLOTS, {"date": fecha.isoformat()})
        except BusinessApiError as error:
            return api_failure("list_slots", error, dialogue=_dialogue(slots, "hora" if hora is None else "fecha"))
        free = [slot for slot in day_slots if _int(slot.get("available")) > 0]
        if hora is None:
            if not free:
                return _no_slots(slots, fecha, ctx)
            in_part = [s for s in free if understanding.in_part_of_day(str(s.get("time")), slots.get("momento"))]
            return _offer(without(slots, "momento"), fecha, in_part or free, not_understood=not_understood)
        wanted = _find(day_slots, hora, bool(slots.get("hora_bare")), slots.get("slot_id"))
        if wanted is None:
            if not free:
                return _no_slots(slots, fecha, ctx)
            return _offer(slots, fecha, _nearest(free, hora), reason="no_class_at", requested_time=hora, nearest=True)
        if _int(wanted.get("available")) <= 0:
            return _full(slots, fecha, str(wanted.get("time")), free)
        return await _summary(ctx, slots, wanted, edited=edited, not_understood=not_understood)

    async def confirmed(self, ctx: Context, pending: PendingConfirmation) -> Decision:
        params = pending.params
        fecha = parse_date(params.get("date")) or ctx.today
        request: dict[str, Any] = {key: params[key] for key in ("slot_id", "date", "time", "package_id")
                                   if params.get(key) is not None}
        slots = _slots_of(params)
        try:
            booking: dict[str, Any] = await ctx.call(Operation.BOOK, request, idempotent_action="book")
        except BusinessApiError as error:
            time = str(params.get("time"))
            if error.code == "slot_full":
                return await self._after_full(ctx, slots, fecha, time, error)
            if error.code == "already_booked":
                return failed(ACTION, error, done(ACTION, AlreadyBooked(date=fecha, time=time)))
            if error.code in ("slot_in_past", "no_such_slot"):
                return failed(ACTION, error, await self._others(ctx, slots, fecha, time))
            if error.code == "no_usable_package":  # used up or expired since the summary
                return failed(ACTION, error, await no_credits(ctx, {k: v for k, v in params.items() if k in (
                    "slot_id", "date", "time", "class_name")}))
            return api_failure(ACTION, error, dialogue=_dialogue(slots, "confirmation", pending=pending))
        package = booking.get("package_name") or params.get("package")
        left = booking.get("sessions_left")
        return done(ACTION, Booked(code=str(booking.get("code") or "") or None,
                                   date=parse_date(booking.get("date")) or fecha,
                                   time=str(booking.get("time") or params.get("time")),
                                   class_name=str(booking.get("class_name") or params.get("class_name") or ""),
                                   package=str(package) if package else None,
                                   sessions_left=int(left) if isinstance(left, int) else None))

    async def _after_full(self, ctx: Context, slots: dict[str, JsonValue], fecha: dt.date, hora: str,
                          error: BusinessApiError) -> Decision:
        """Someone took the last place between the summary and the "sí": offer the other times."""
        try:
            day_slots: list[dict[str, Any]] = await ctx.call(Operation.LIST_SLOTS, {"date": fecha.isoformat()})
        except BusinessApiError:
            day_slots = []
        free = [s for s in day_slots if _int(s.get("available")) > 0 and s.get("time") != hora]
        return failed(ACTION, error, _full(slots, fecha, hora, free))

    async def _others(self, ctx: Context, slots: dict[str, JsonValue], fecha: dt.date, hora: str) -> Decision:
        """The class can no longer be booked (it started, or it is gone): the day's other times."""
        try:
            day_slots: list[dict[str, Any]] = await ctx.call(Operation.LIST_SLOTS, {"date": fecha.isoformat()})
        except BusinessApiError:
            day_slots = []
        others = [s for s in day_slots if s.get("time") != hora and _int(s.get("available")) > 0]
        if not others:
            return _no_slots(slots, fecha)
        return _offer(slots, fecha, others, reason="started", requested_time=hora)

    def reconfirm(self, ctx: Context, pending: PendingConfirmation) -> Decision:
        return _confirm(_slots_of(pending.params), pending, not_understood=True)

    def declined(self, ctx: Context, pending: PendingConfirmation) -> Decision:
        """A "no" to the summary keeps what was said and asks what to change (not starting over)."""
        params = pending.params
        reply = AskChange(date=parse_date(params.get("date")),
                          time=str(params["time"]) if params.get("time") else None)
        return Decision("ask_change", ActionOutcome.NEEDS_INPUT, reply, _dialogue(_slots_of(params), "change"))


def booking_waiting_for_payment(params: Mapping[str, JsonValue]) -> Decision:
    """The booking a customer asked for before buying the package it needed, summarised again once paid."""
    pending = PendingConfirmation(action=ACTION, params=dict(params))
    return _confirm(_slots_of(params), pending)


def _dialogue(slots: Mapping[str, JsonValue], awaiting: str, offered: Sequence[Offer] = (), *,
              pending: PendingConfirmation | None = None) -> DialogueUpdate:
    return DialogueUpdate(flow=FLOW, slots=dict(slots), awaiting=awaiting, offered=tuple(offered), pending=pending)


def _slots_of(params: Mapping[str, JsonValue]) -> dict[str, JsonValue]:
    """The flow's slots back from a pending booking."""
    slots: dict[str, JsonValue] = {"fecha": params.get("date"), "hora": params.get("time"), "hora_bare": False,
                                   "slot_id": params.get("slot_id")}
    if params.get("package") and params.get("named_package"):
        slots["paquete"] = params["package"]
    return {key: value for key, value in slots.items() if value is not None}


def _find(day_slots: Sequence[Mapping[str, Any]], hora: str, bare: bool,
          slot_id: JsonValue) -> Mapping[str, Any] | None:
    """The day's class the customer means: the one picked, else the one at the time said (a bare hour
    may be the other half of the day; an explicit one is only itself). Free ones first."""
    if slot_id is not None:
        by_id = [s for s in day_slots if str(s.get("id")) == str(slot_id)]
        if by_id:
            return by_id[0]
    time = understanding.at_time([str(s.get("time", "")) for s in day_slots],
                                 understanding.time_candidates(hora, bare=bare))
    at_time = [s for s in day_slots if str(s.get("time", "")).zfill(5) == time]
    free = [s for s in at_time if _int(s.get("available")) > 0]
    candidates = free or at_time
    return candidates[0] if candidates else None


def _nearest(free: Sequence[Mapping[str, Any]], hora: str) -> list[Mapping[str, Any]]:
    """The `NEAREST` free classes closest to the time asked, in the day's order."""
    closest = sorted(free, key=lambda s: (abs(_minutes(str(s.get("time"))) - _minutes(hora)), str(s.get("time"))))
    return sorted(closest[:NEAREST], key=lambda s: str(s.get("time")))


async def _summary(ctx: Context, slots: dict[str, JsonValue], slot: Mapping[str, Any], *, edited: bool,
                   not_understood: bool) -> Decision:
    """Everything is known: the booking in one sentence, waiting for a yes; or, when a booking needs a
    package and the customer holds none usable that day, the packages to buy first."""
    fecha = parse_date(slot.get("date")) or ctx.today
    params: dict[str, JsonValue] = {"slot_id": str(slot.get("id")), "date": fecha.isoformat(),
                                    "time": str(slot.get("time")), "class_name": str(slot.get("class_name") or "")}
    packages = await _client_packages(ctx)
    named = slots.get("paquete")
    held = usable_package(packages, fecha, named=str(named) if named else None)
    if held is None and packages is not None and ctx.deps.profile.policies.packages_required:
        return await no_credits(ctx, params, packages)
    if held is not None:
        left = held.get("sessions_left")
        params.update(package_id=str(held.get("package_id")), package=str(held.get("name")),
                      named_package=bool(named), sessions_left=int(left) - 1 if isinstance(left, int) else None,
                      unlimited=left is None)
    if slots.get("pregunta"):
        params.update(asked=True, available=_int(slot.get("available")))
    merged = {**without(slots, "pregunta"), "fecha": params["date"], "hora": params["time"], "hora_bare": False,
              "slot_id": params["slot_id"]}
    pending = PendingConfirmation(action=ACTION, params=params)
    return _confirm(merged, pending, edited=edited, not_understood=not_understood)


async def _client_packages(ctx: Context) -> list[dict[str, Any]] | None:
    """The customer's packages (GET /client/packages); None when they cannot be read (the summary then
    names no package and the business API decides on the yes)."""
    try:
        packages: list[dict[str, Any]] = await ctx.call(Operation.LIST_CLIENT_PACKAGES)
    except BusinessApiError:
        return None
    return packages


def usable_package(packages: Sequence[Mapping[str, Any]] | None, day: dt.date, *,
                   named: str | None = None) -> Mapping[str, Any] | None:
    """The package a booking on `day` uses, as the business API picks it: active, valid that day, with
    sessions left (or unlimited), the one expiring first; the one the customer named, when it is usable (a
    package named but not held is never claimed: another usable one is used, and the summary says which)."""
    usable = [p for p in packages or () if p.get("status") == "active"
              and (parse_date(p.get("valid_until")) or day) >= day
              and (p.get("sessions_left") is None or _int(p.get("sessions_left")) > 0)]
    usable.sort(key=lambda p: str(p.get("valid_until") or "9999"))
    chosen = [p for p in usable if named and named.lower() in (str(p.get("name", "")).lower(),
                                                                str(p.get("package_id", "")).lower())]
    preferred = chosen or usable
    return preferred[0] if preferred else None


async def no_credits(ctx: Context, booking: Mapping[str, JsonValue],
                     packages: Sequence[Mapping[str, Any]] | None = None) -> Decision:
    """No package to book with: said plainly (an expired or used-up one named), the packages offered, and
    the booking kept to offer again once the payment is through (`after_payment`)."""
    if packages is None:
        packages = await _client_packages(ctx) or []
    try:
        catalogue: list[dict[str, Any]] = await ctx.call(Operation.LIST_PACKAGES)
    except BusinessApiError as error:
        return api_failure("list_packages", error, dialogue=DialogueUpdate())
    spent = tuple(_credit_info(p) for p in packages if p.get("status") in ("expired", "used_up"))[:1]
    time = str(booking["time"]) if booking.get("time") else None
    reply = NoCredits(date=parse_date(booking.get("date")), time=time, expired=spent,
                      packages=tuple(package_info(p) for p in catalogue))
    offers = tuple(package_offer(p) for p in catalogue)
    dialogue = DialogueUpdate(flow=PURCHASE_FLOW, awaiting="paquete", offered=offers, after_payment=dict(booking))
    return Decision("no_credits", ActionOutcome.NEEDS_INPUT, reply, dialogue)


def _credit_info(package: Mapping[str, Any]) -> CreditInfo:
    return parsed(CreditInfo, {**package, "valid_until": parse_date(package.get("valid_until"))},
                  operation=Operation.LIST_CLIENT_PACKAGES)


def _confirm(slots: Mapping[str, JsonValue], pending: PendingConfirmation, *, edited: bool = False,
             not_understood: bool = False) -> Decision:
    params = pending.params
    package = params.get("package")
    available, left = params.get("available"), params.get("sessions_left")
    reply = ConfirmBooking(date=str(params.get("date")), time=str(params.get("time")),
                           class_name=str(params.get("class_name") or ""), package=str(package) if package else None,
                           changed=edited, not_understood=not_understood, asked=bool(params.get("asked")),
                           available=int(available) if isinstance(available, int) else None,
                           sessions_left=int(left) if isinstance(left, int) else None,
                           unlimited=bool(params.get("unlimited")))
    return confirming("confirm_booking", reply, _dialogue(slots, "confirmation", pending=pending))


def _offer(slots: Mapping[str, JsonValue], fecha: dt.date, free: Sequence[Mapping[str, Any]], *,
           reason: Literal["no_class_at", "started"] | None = None, requested_time: str | None = None,
           nearest: bool = False, not_understood: bool = False) -> Decision:
    reply = OfferSlots(date=fecha, slots=tuple(slot_info(s) for s in free), reason=reason,
                       requested_time=requested_time, nearest=nearest, not_understood=not_understood)
    kept = without(slots, "hora", "hora_bare", "slot_id", "pregunta")
    return asking("offer_slots", reply, _dialogue(kept, "hora", [slot_offer(s) for s in free]))


def _no_slots(slots: Mapping[str, JsonValue], fecha: dt.date, ctx: Context | None = None) -> Decision:
    """No class with room that day; on a day the studio is closed (its profile's hours) the reply says so
    and when it opens."""
    profile = ctx.deps.profile if ctx is not None else None
    closed = profile is not None and not profile.hours_on(fecha)
    opens = profile.next_opening(dt.datetime.combine(fecha, dt.time(0, 0), tzinfo=profile.zone)) \
        if profile is not None and closed else None
    return asking("no_slots", NoSlots(date=fecha, closed=closed, opens_at=opens),
                  _dialogue(without(slots, "fecha", "slot_id"), "fecha"))


def _full(slots: Mapping[str, JsonValue], fecha: dt.date, hora: str, free: Sequence[Mapping[str, Any]]) -> Decision:
    others = [s for s in free if s.get("time") != hora]
    awaiting = "hora" if others else "fecha"
    kept = without(slots, "hora", "hora_bare", "slot_id") if others else without(slots, "fecha", "hora",
                                                                                  "hora_bare", "slot_id")
    reply = SlotFull(date=fecha, requested_time=hora, slots=tuple(slot_info(s) for s in others))
    return asking("slot_full", reply, _dialogue(kept, awaiting, [slot_offer(s) for s in others]))
