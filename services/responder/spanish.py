"""Dates, times and amounts in words, as a customer in Mexico reads them ("viernes 12 de diciembre a
las 19:00", "$2,000 MXN"). The one formatting module: replies carry raw values, only the
responder turns them into words (templates here, the LLM writer from the same labels)."""

from __future__ import annotations

import datetime as dt

WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
          "noviembre", "diciembre")


def day_label(day: dt.date) -> str:
    """`2026-12-11` → `viernes 11 de diciembre`."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} de {MONTHS[day.month - 1]}"


def time_label(time: str) -> str:
    """`19:00` → `las 19:00`, `01:30` → `la 1:30`."""
    hour, _, minute = time.partition(":")
    return f"la 1:{minute}" if int(hour) == 1 else f"las {time}"


def when_label(date: dt.date | None, time: str | None) -> str:
    """`viernes 11 de diciembre a las 19:00`, or whichever part is known."""
    if date is None:
        return f"a {time_label(time)}" if time else ""
    if not time:
        return day_label(date)
    return f"{day_label(date)} a {time_label(time)}"


def money_label(amount: float | None, currency: str = "") -> str:
    """`2000.0, MXN` → `$2,000 MXN`; `1800.5` → `$1,800.50`."""
    if amount is None:
        return ""
    text = f"{amount:,.0f}" if float(amount).is_integer() else f"{amount:,.2f}"
    return f"${text} {currency}".strip()


def count_label(count: int, singular: str, plural: str) -> str:
    """`1, "clase", "clases"` → `1 clase`."""
    return f"{count} {singular if count == 1 else plural}"
