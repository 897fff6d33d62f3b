"""cancelar_cita: upcoming bookings → the one meant (code, day, time, "la primera", the only one) →
"¿Confirmas que cancelo…?" → yes: `POST /client/bookings/{code}/cancel`; no: the booking stays.

Slots: `code`, or `fecha`/`hora` to pick among the customer's upcoming bookings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import JsonValue

from contracts import ActionOutcome
from contracts.dialogue import DialogueUpdate, Offer, PendingConfirmation
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
)
from services.actions.spanish import when_label

FLOW = "cancelar_cita"
ACTION = "cancel_booking"


def booking_offer(booking: Mapping[str, Any]) -> Offer:
    return Offer(kind="booking", ref=str(booking.get("code", "")),
                 label=when_label(booking.get("date"), booking.get("time")),
                 data={"date": str(booking.get("date", "")), "time": str(booking.get("time", "")),
                       "class_name": str(booking.get("class_name", ""))})


def booking_view(booking: Mapping[str, Any]) -> dict[str, Any]:
    return {"code": booking.get("code"), "when": when_label(booking.get("date"), booking.get("time")),
            "date": booking.get("date"), "time": booking.get("time"), "class_name": booking.get("class_name")}


class CancellationFlow:
    name = FLOW
    extra_yes: tuple[str, ...] = ("cancela", "cancelala", "cancelalo", "cancelar", "cancelarla", "cancelo",
                                  "hazlo", "cancelamela")

    def extract(self, ctx: Context, slots: Mapping[str, JsonValue], offered: Sequence[Offer],
                awaiting: str | None) -> dict[str, JsonValue]:
        entities = ctx.entities
        if "referencia" in entities:
            return {"code": entities["referencia"]}
        bookings = [o for o in offered if o.kind == "booking"]
        if bookings:
            picked = understanding.choose(bookings, ctx.text, kind="booking", hora=entities.get("hora"),
                                          fecha=entities.get("fecha"))
            if picked is not None:
                return {"code": picked.ref}
        return {name: entities[name] for name in ("fecha", "hora") if name in entities}

    def merge(self, slots: Mapping[str, JsonValue], found: Mapping[str, JsonValue]) -> dict[str, JsonValue]:
        """A new reference, day or time replaces the previous way of pointing at a booking."""
        return dict(found) if found else dict(slots)

    async def step(self, ctx: Context, slots: dict[str, JsonValue], *, not_understood: bool = False) -> Decision:
        try:
            bookings: list[dict[str, Any]] = await ctx.call(Operation.LIST_BOOKINGS)
        except BusinessApiError as error:
            return api_failure("list_bookings", error,
                               dialogue=DialogueUpdate(flow=FLOW, slots=slots, awaiting="booking"))
        if not bookings:
            return Decision("list_bookings", ActionOutcome.ANSWERED, "no_bookings", {}, DialogueUpdate())
        criteria = {key: slots[key] for key in ("code", "fecha", "hora") if slots.get(key) is not None}
        candidates = [b for b in bookings if _matches(b, criteria)]
        if len(candidates) == 1 and (criteria or len(bookings) == 1):
            return _confirm(candidates[0], not_understood=not_understood)
        reason = "no_match" if criteria and not candidates else None
        shown = candidates if candidates else bookings
        return asking("choose_booking", "choose_booking",
                      DialogueUpdate(flow=FLOW, slots={}, awaiting="booking",
                                     offered=tuple(booking_offer(b) for b in shown)),
                      bookings=[booking_view(b) for b in shown], reason=reason,
                      code=criteria.get("code"), when=when_label(criteria.get("fecha"), criteria.get("hora"))
                      if reason and not criteria.get("code") else None,
                      not_understood=not_understood)

    async def confirmed(self, ctx: Context, pending: PendingConfirmation) -> Decision:
        params = pending.params
        shown = {"when": params.get("when"), "code": params.get("code"), "class_name": params.get("class_name")}
        try:
            await ctx.call(Operation.CANCEL_BOOKING, {"code": params.get("code")}, idempotent_action="cancel")
        except BusinessApiError as error:
            if error.code == "already_cancelled":
                return failed(ACTION, error, done(ACTION, "cancelled", already=True, **shown))
            if error.code == "booking_in_past":
                return failed(ACTION, error, done(ACTION, "cancel_too_late", **shown))
            if error.code == "no_such_booking":
                return failed(ACTION, error, done(ACTION, "booking_not_found", **shown))
            return api_failure(ACTION, error, dialogue=DialogueUpdate(
                flow=FLOW, slots={"code": params.get("code")}, awaiting="confirmation", pending=pending))
        return done(ACTION, "cancelled", **shown)

    def reconfirm(self, ctx: Context, pending: PendingConfirmation) -> Decision:
        """Ask the same question again (an answer that was neither yes nor no)."""
        view = pending.params
        return confirming("confirm_cancel", "confirm_cancel",
                          DialogueUpdate(flow=FLOW, slots={"code": view.get("code")}, awaiting="confirmation",
                                         pending=pending),
                          when=view.get("when"), code=view.get("code"), class_name=view.get("class_name"),
                          not_understood=True)

    def declined(self, ctx: Context, pending: PendingConfirmation) -> Decision:
        return Decision("keep_booking", ActionOutcome.CANCELLED, "kept",
                        {"when": pending.params.get("when"), "code": pending.params.get("code")}, DialogueUpdate())


def _matches(booking: Mapping[str, Any], criteria: Mapping[str, JsonValue]) -> bool:
    code = criteria.get("code")
    if code is not None and str(booking.get("code", "")).upper() != str(code).upper():
        return False
    if criteria.get("fecha") is not None and booking.get("date") != criteria["fecha"]:
        return False
    hora = criteria.get("hora")
    if hora is not None:
        time = str(booking.get("time", ""))
        hour, _, minute = str(hora).partition(":")
        other = f"{(int(hour) + 12) % 24:02d}:{minute}"
        if time != hora and (int(hour) >= 12 or time != other):
            return False
    return True


def _confirm(booking: Mapping[str, Any], *, not_understood: bool = False) -> Decision:
    view = booking_view(booking)
    pending = PendingConfirmation(action=ACTION, params=view, summary=f"cancelar tu clase del {view['when']}")
    return confirming("confirm_cancel", "confirm_cancel",
                      DialogueUpdate(flow=FLOW, slots={"code": view["code"]}, awaiting="confirmation",
                                     pending=pending),
                      when=view["when"], code=view["code"], class_name=view["class_name"],
                      not_understood=not_understood)

