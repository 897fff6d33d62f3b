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
from contracts.replies import (
    BookingInfo,
    BookingNotFound,
    Cancelled,
    CancelTooLate,
    ChooseBooking,
    ConfirmCancel,
    Kept,
    NoBookings,
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
)

FLOW = "cancelar_cita"
ACTION = "cancel_booking"


def booking_offer(booking: Mapping[str, Any]) -> Offer:
    return Offer(kind="booking", ref=str(booking.get("code", "")), label=str(booking.get("code", "")),
                 data={"date": str(booking.get("date", "")), "time": str(booking.get("time", "")),
                       "class_name": str(booking.get("class_name", ""))})


def booking_info(booking: Mapping[str, Any]) -> BookingInfo:
    """A booking from the API (or one kept in a pending confirmation) as replies show it."""
    time = booking.get("time")
    return BookingInfo(code=str(booking["code"]) if booking.get("code") else None,
                       date=parse_date(booking.get("date")), time=str(time) if time else None,
                       class_name=str(booking.get("class_name") or ""))


class CancellationFlow:
    name = FLOW
    verbs: tuple[str, ...] = ("cancela", "cancelala", "cancelalo", "cancelar", "cancelarla", "cancelo",
                                  "hazlo", "cancelamela")

    def extract(self, ctx: Context, slots: Mapping[str, JsonValue], offered: Sequence[Offer],
                awaiting: str | None) -> dict[str, JsonValue]:
        entities = ctx.entities
        if "referencia" in entities:
            return {"code": entities["referencia"]}
        bookings = [o for o in offered if o.kind == "booking"]
        if bookings:
            picked = understanding.choose(bookings, ctx.text, kind="booking", hora=entities.get("hora"),
                                          bare=ctx.hora_bare, fecha=entities.get("fecha"))
            if picked is not None:
                return {"code": picked.ref}
        found: dict[str, JsonValue] = {name: entities[name] for name in ("fecha", "hora") if name in entities}
        if "hora" in found:
            found["hora_bare"] = ctx.hora_bare
        return found

    def merge(self, slots: Mapping[str, JsonValue], found: Mapping[str, JsonValue], *,
              editing: bool = False) -> dict[str, JsonValue]:
        """A new reference, day or time replaces the previous way of pointing at a booking."""
        return dict(found) if found else dict(slots)

    async def step(self, ctx: Context, slots: dict[str, JsonValue], *, not_understood: bool = False,
                   edited: bool = False) -> Decision:
        try:
            bookings: list[dict[str, Any]] = await ctx.call(Operation.LIST_BOOKINGS)
        except BusinessApiError as error:
            return api_failure("list_bookings", error,
                               dialogue=DialogueUpdate(flow=FLOW, slots=slots, awaiting="booking"))
        if not bookings:
            return Decision("list_bookings", ActionOutcome.ANSWERED, NoBookings(), DialogueUpdate())
        criteria = {key: slots[key] for key in ("code", "fecha", "hora") if slots.get(key) is not None}
        candidates = [b for b in bookings if _matches(b, criteria, bare=bool(slots.get("hora_bare")))]
        if len(candidates) == 1 and (criteria or len(bookings) == 1):
            return _confirm(candidates[0], not_understood=not_understood)
        reason = "no_match" if criteria and not candidates else None
        shown = candidates if candidates else bookings
        reply = ChooseBooking(
            bookings=tuple(booking_info(b) for b in shown), reason="no_match" if reason else None,
            code=str(criteria["code"]) if criteria.get("code") else None,
            date=parse_date(criteria.get("fecha")) if reason else None,
            time=str(criteria["hora"]) if reason and criteria.get("hora") else None,
            not_understood=not_understood)
        return asking("choose_booking", reply, DialogueUpdate(flow=FLOW, slots={}, awaiting="booking",
                                                             offered=tuple(booking_offer(b) for b in shown)))

    async def confirmed(self, ctx: Context, pending: PendingConfirmation) -> Decision:
        params = pending.params
        booking = booking_info(params)
        try:
            result = await ctx.call(Operation.CANCEL_BOOKING, {"code": params.get("code")}, idempotent_action="cancel")
        except BusinessApiError as error:
            if error.code == "already_cancelled":
                return failed(ACTION, error, done(ACTION, Cancelled(booking=booking, already=True)))
            if error.code == "booking_in_past":
                return failed(ACTION, error, done(ACTION, CancelTooLate(booking=booking)))
            if error.code == "no_such_booking":
                return failed(ACTION, error, done(ACTION, BookingNotFound(booking=booking)))
            return api_failure(ACTION, error, dialogue=DialogueUpdate(
                flow=FLOW, slots={"code": params.get("code")}, awaiting="confirmation", pending=pending))
        answer = result if isinstance(result, dict) else {}
        left, hours = answer.get("sessions_left"), answer.get("refund_hours")
        returned = answer.get("session_returned") if isinstance(answer.get("session_returned"), bool) else None
        return done(ACTION, Cancelled(booking=booking, session_returned=returned,
                                      refund_hours=int(hours) if isinstance(hours, int) else None,
                                      package=str(answer["package_name"]) if answer.get("package_name") else None,
                                      sessions_left=int(left) if isinstance(left, int) else None))

    def reconfirm(self, ctx: Context, pending: PendingConfirmation) -> Decision:
        """Ask the same question again (an answer that was neither yes nor no)."""
        return _confirm_pending(pending, not_understood=True)

    def declined(self, ctx: Context, pending: PendingConfirmation) -> Decision:
        return Decision("keep_booking", ActionOutcome.CANCELLED, Kept(booking=booking_info(pending.params)),
                        DialogueUpdate())


def _matches(booking: Mapping[str, Any], criteria: Mapping[str, JsonValue], *, bare: bool) -> bool:
    code = criteria.get("code")
    if code is not None and str(booking.get("code", "")).upper() != str(code).upper():
        return False
    if criteria.get("fecha") is not None and booking.get("date") != criteria["fecha"]:
        return False
    hora = criteria.get("hora")
    if hora is not None:
        time = str(booking.get("time", "")).zfill(5)
        return time in understanding.time_candidates(str(hora), bare=bare)
    return True


def _confirm(booking: Mapping[str, Any], *, not_understood: bool = False) -> Decision:
    params: dict[str, JsonValue] = {key: str(booking[key]) for key in ("code", "date", "time", "class_name")
                                    if booking.get(key) is not None}
    return _confirm_pending(PendingConfirmation(action=ACTION, params=params), not_understood=not_understood)


def _confirm_pending(pending: PendingConfirmation, *, not_understood: bool = False) -> Decision:
    reply = ConfirmCancel(booking=booking_info(pending.params), not_understood=not_understood)
    return confirming("confirm_cancel", reply, DialogueUpdate(flow=FLOW, slots={"code": pending.params.get("code")},
                                                              awaiting="confirmation", pending=pending))

