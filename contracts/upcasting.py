"""Upcasters: pure functions that lift a raw event (the decoded JSON dict) one schema version up.

`Topic.decode` runs them in order, from the record's `schema_version` to the version the code
knows, before validating: a consumer always sees the current model, whatever produced the record.
Golden records of each old version live in `tests/fixtures/events/` and are decoded in the
contract tests.

Changing an event incompatibly: bump its model's `SCHEMA_VERSION`, add the upcaster from the
previous version here, add a golden record of the old version, `make schemas`.

Versions:
- `action.completed` v2 replaced `reply_template: str` + `reply_data: dict` with a typed `reply`
  (`contracts/replies.py`) and `followup`; v1's "resume" flag became a `resume_flow` followup.
  Values v1 only carried as words (labels such as "viernes 27 de noviembre", "$2,000 MXN") are
  dropped or parsed back; unknown v1 templates become a clarification, which is what the v1
  responder answered for them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Raw = dict[str, Any]
Upcaster = Callable[[Raw], Raw]

_BOOKING_KINDS = frozenset({"confirm_cancel", "cancelled", "cancel_too_late", "booking_not_found", "kept"})
_SLOT_LIST_KINDS = frozenset({"offer_slots", "slot_full"})
_SAME_SHAPE_KINDS = frozenset({
    "greeting", "help", "goodbye", "acknowledged", "clarification", "media_received", "location_received",
    "resume_flow", "flow_expired", "abandoned", "packages", "booking_status", "ask_date", "date_in_past",
    "no_slots", "booked", "already_booked", "choose_booking", "no_bookings", "choose_package", "payment_link",
    "purchase_declined", "ask_profile_field", "ask_email", "ask_name", "invalid_email", "invalid_name",
    "profile_updated",
})


def _money(label: Any) -> float | None:
    """"$2,000 MXN" → 2000.0 (v1 sent prices as words)."""
    match = re.search(r"\d[\d,]*(?:\.\d+)?", str(label or ""))
    return float(match.group(0).replace(",", "")) if match else None


def _slots_on(date: Any, slots: Any) -> list[Raw]:
    return [{**slot, "date": slot.get("date", date)} for slot in slots or [] if isinstance(slot, Mapping)]


def _v1_reply(template: str, data: Mapping[str, Any]) -> Raw:
    if template == "api_error":
        return {"kind": "api_error", "error": data.get("kind"), "code": data.get("code"),
                "operation": data.get("operation")}
    if template in _BOOKING_KINDS:
        return {"kind": template, "already": bool(data.get("already")),
                "booking": {"code": data.get("code"), "class_name": data.get("class_name") or ""},
                "not_understood": bool(data.get("not_understood"))}
    if template in _SLOT_LIST_KINDS:
        return {**data, "kind": template, "slots": _slots_on(data.get("date"), data.get("slots"))}
    if template == "schedule":
        days = [{"date": day.get("date"), "slots": _slots_on(day.get("date"), day.get("slots"))}
                for day in data.get("days") or [] if isinstance(day, Mapping)]
        return {"kind": "schedule", "date": data.get("date"), "days": days}
    if template == "confirm_purchase":
        return {"kind": "confirm_purchase", "not_understood": bool(data.get("not_understood")), "package": {
            "id": "", "name": data.get("package") or "", "price": _money(data.get("price")) or 0.0,
            "currency": str(data.get("price") or "").split()[-1] if data.get("price") else "",
            "sessions": data.get("sessions"), "validity_days": data.get("validity_days")}}
    if template == "purchase_history":
        purchases = [{key: value for key, value in purchase.items()
                      if key in ("package", "amount", "currency", "status", "payment_link")}
                     for purchase in data.get("purchases") or [] if isinstance(purchase, Mapping)]
        return {"kind": "purchase_history", "purchases": purchases}
    if template in _SAME_SHAPE_KINDS:
        return {**data, "kind": template}
    return {"kind": "clarification", "reason": "not_supported", "options": list(data.get("options") or [])}


def action_completed_v1_to_v2(raw: Raw) -> Raw:
    payload = dict(raw.get("payload") or {})
    template = str(payload.pop("reply_template", "") or "")
    data = payload.pop("reply_data", None) or {}
    payload["reply"] = _v1_reply(template, data)
    if data.get("resume"):
        payload["followup"] = {"kind": "resume_flow", "flow": data["resume"]}
    return {**raw, "schema_version": 2, "payload": payload}


UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("action.completed", 1): action_completed_v1_to_v2,
}
"""(event type, version) → the upcaster from that version to the next."""


def upcast(event_type: str, raw: Raw, *, to_version: int) -> Raw:
    """`raw` lifted to `to_version`; raises LookupError when a step has no upcaster."""
    version = int(raw.get("schema_version", 1))
    while version < to_version:
        step = UPCASTERS.get((event_type, version))
        if step is None:
            raise LookupError(f"{event_type}: no upcaster from schema_version {version}")
        raw = step(raw)
        version = int(raw["schema_version"])
    return raw
