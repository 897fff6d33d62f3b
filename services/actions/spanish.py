"""Dates, times and amounts as a Mexican customer reads them ("viernes 12 de diciembre a las 19:00").

actions puts these labels in `reply_data` next to the raw values, so that every reply writer
(templates or an LLM) says the same day the same way, and the pending confirmation's summary is
the very sentence the customer was asked.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
          "noviembre", "diciembre")


def parse_date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def day_label(value: Any) -> str:
    """`2026-12-11` → `viernes 11 de diciembre`; the text as given when it is not a date."""
    day = parse_date(value)
    if day is None:
        return str(value or "")
    return f"{WEEKDAYS[day.weekday()]} {day.day} de {MONTHS[day.month - 1]}"


def time_label(value: Any) -> str:
    """`19:00` → `las 19:00`, `1:30` → `la 1:30`."""
    text = str(value or "")
    return f"la {text}" if text.split(":")[0] in {"1", "01"} else f"las {text}"


def when_label(date: Any, time: Any) -> str:
    """`viernes 11 de diciembre a las 19:00`."""
    if not time:
        return day_label(date)
    if not date:
        return f"a {time_label(time)}"
    return f"{day_label(date)} a {time_label(time)}"


def money_label(amount: Any, currency: Any = "") -> str:
    """`2000.0, MXN` → `$2,000 MXN`."""
    try:
        value = float(amount)
    except (TypeError, ValueError):
        return str(amount or "")
    text = f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
    return f"${text} {currency}".strip()
