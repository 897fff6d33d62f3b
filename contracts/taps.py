"""Tap ids: what a quick-reply button or a list item sends back when the customer taps it.

The responder gives every choice it offers an id (`services/responder/interactive.py`); WhatsApp
returns it as `ButtonPayload` in `message.received`, and nlu reads it into an exact
`intent.detected` (`services/nlu/taps.py`) instead of guessing from the button's title. The
one pair `encode_tap`/`decode_tap` lives here because both services use it and services never
import each other.

The scheme, `<kind>:<value>`:

| id                       | means                                  | nlu publishes                              |
|--------------------------|----------------------------------------|--------------------------------------------|
| `act:afirmar`            | yes to the question on the table        | intent and act `afirmar`                   |
| `act:negar`              | no                                     | intent and act `negar`                     |
| `intent:<name>`          | a request: `intent:agendar_cita`       | that intent                                |
| `time:19:00`             | a class time (HH:MM, 24 h)             | `agendar_cita`, `hora` 19:00 (explicit)    |
| `date:2026-12-03`        | a day                                  | `agendar_cita`, `fecha` 2026-12-03         |
| `slot:2026-12-03T19:00`  | a class: its day and time              | `agendar_cita`, `fecha` and `hora`         |
| `package:<id>`           | a package of the catalogue, by its id  | `pagar_servicio`, `paquete` = the id       |
| `booking:<code>`         | one of the customer's bookings         | `cancelar_cita`, `referencia` = the code   |

Ids stay short: at most `TAP_ID_MAX` characters (Twilio's limit for a quick-reply or list item
id is 200), values at most `VALUE_MAX`. A `Tap` is valid by construction (its `__post_init__`
refuses anything else), so `decode_tap` answers None for an unknown kind or a malformed value,
never a half-read tap.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal, cast, get_args

TapKind = Literal["act", "intent", "time", "date", "slot", "package", "booking"]
TAP_KINDS: tuple[str, ...] = get_args(TapKind)
ACTS = ("afirmar", "negar")
VALUE_MAX = 64
TAP_ID_MAX = 200
"""Twilio Content API: a `twilio/quick-reply` action id or a `twilio/list-picker` item id is at most 200
characters."""

_TIME = r"(?:[01]\d|2[0-3]):[0-5]\d"
_DATE = r"\d{4}-\d{2}-\d{2}"
_PATTERNS: dict[str, re.Pattern[str]] = {
    "act": re.compile("|".join(ACTS)),
    "intent": re.compile(r"[a-z][a-z_]*"),
    "time": re.compile(_TIME),
    "date": re.compile(_DATE),
    "slot": re.compile(_DATE + "T" + _TIME),
    "package": re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]*"),
    "booking": re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]*"),
}


@dataclass(frozen=True, slots=True)
class Tap:
    """One tappable choice: its kind and value (`Tap("time", "19:00")`). Raises `ValueError` when invalid."""

    kind: TapKind
    value: str

    def __post_init__(self) -> None:
        pattern = _PATTERNS.get(self.kind)
        if pattern is None:
            raise ValueError(f"unknown tap kind {self.kind!r}")
        if len(self.value) > VALUE_MAX or not pattern.fullmatch(self.value):
            raise ValueError(f"not a {self.kind} tap value: {self.value!r}")
        if self.date is None and self.kind in ("date", "slot"):
            raise ValueError(f"not a calendar date: {self.value!r}")

    @property
    def date(self) -> dt.date | None:
        """The day of a `date` or `slot` tap."""
        if self.kind not in ("date", "slot"):
            return None
        try:
            return dt.date.fromisoformat(self.value[:10])
        except ValueError:
            return None

    @property
    def time(self) -> str | None:
        """The HH:MM of a `time` or `slot` tap."""
        if self.kind == "time":
            return self.value
        return self.value[11:] if self.kind == "slot" else None


def encode_tap(tap: Tap) -> str:
    """`Tap("slot", "2026-12-03T19:00")` → `slot:2026-12-03T19:00`."""
    return f"{tap.kind}:{tap.value}"


def decode_tap(payload: str | None) -> Tap | None:
    """The tap a `ButtonPayload` names, or None when it is not one of ours (unknown kind, bad value)."""
    if not payload:
        return None
    kind, colon, value = payload.strip().partition(":")
    if not colon or kind not in TAP_KINDS:
        return None
    try:
        return Tap(cast(TapKind, kind), value)
    except ValueError:
        return None
