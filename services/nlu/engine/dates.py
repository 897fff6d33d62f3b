"""`fecha`: Spanish date expressions resolved to ISO dates against the message's own day.

All rules read folded text (see `text.fold`) and receive `today`, the message's timestamp in
the business time zone, never the wall clock: replaying an old message gives the same dates.

Ambiguity rules (also in docs/nlu.md):
- a bare or "próximo"/"que viene" weekday is the next one strictly after today ("el jueves"
  said on a Thursday is a week later); "este jueves" is today when today is Thursday;
- "el jueves de la semana que viene" is the Thursday of the next Monday-based week;
- "el sábado pasado" / "el pasado sábado" is the most recent one strictly before today;
- a day and month without year ("15/04", "12 de marzo") is the next such date on or after
  today; a bare day ("el 22", "el día 22") is in the current month, or the next month that
  has that day once it has passed;
- with `past=True` (the engine sets it for `consultar_historial`: "¿qué compré el 20/11?")
  the bare weekday, day-and-month and bare day look backwards instead;
- "mañana" after "la"/"las"/"esta"/"una" is the morning, not tomorrow.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from .lexicon import MONTHS, NUMBER_WORDS, WEEKDAYS, alternation, parse_number
from .text import Found

_RELATIVE_DAYS: dict[str, int] = {
    "pasado manana": 2,
    "pasado mnn": 2,
    "antes de ayer": -2,
    "anteayer": -2,
    "antier": -2,
    "hoy": 0,
    "ayer": -1,
    "manana": 1,
    "maniana": 1,
    "mnn": 1,
    "mnana": 1,
}
_MORNING_MARKERS = frozenset({"la", "las", "esta", "una", "cada", "toda"})
_DAY_WORDS = alternation(word for word, number in NUMBER_WORDS.items() if 1 <= number <= 31)

_RELATIVE = re.compile(
    r"\b(" + alternation(key.replace(" ", r"\s+") for key in _RELATIVE_DAYS) + r")\b",
)
_WEEKDAY = re.compile(
    r"(?:\b(?P<pre>el\s+proximo|el\s+pasado|este\s+proximo|proximo|pasado|este|el)\s+)?"
    r"\b(?P<day>" + alternation(WEEKDAYS) + r")\b"
    r"(?P<post>\s+(?:que\s+viene|proximo|pasado"
    r"|de\s+la\s+(?:semana\s+que\s+viene|proxima\s+semana|otra\s+semana)))?",
)
_NUMERIC = re.compile(
    r"(?<![\d/:.\-])(?P<day>\d{1,2})(?P<sep>[/\-.])(?P<month>\d{1,2})"
    r"(?:(?P=sep)(?P<year>\d{4}|\d{2}))?(?![\d/:\-]|\.\d)",
)
_DAY_MONTH = re.compile(
    r"\b(?:el\s+)?(?:dia\s+)?(?P<day>\d{1,2}|" + _DAY_WORDS + r")(?:ro|ero|°|º)?\s+(?:de\s+)?"
    r"(?P<month>" + alternation(MONTHS) + r")\b(?:\s+(?:de|del)\s+(?P<year>\d{4}))?",
)
_DAY_ONLY = re.compile(
    r"\b(?:(?:el|del)\s+dia\s+|el\s+|del\s+|dia\s+)(?P<day>\d{1,2}|primero)(?:ro|°|º)?\b"
    r"(?!\s*(?:[:./\-]\d|hs?\b|hrs?\b|horas|am\b|pm\b|[ap]\.m|clases?\b|sesiones|de\s+la\b|del\b"
    r"|y\s+media|y\s+cuarto|menos|%|\$|pesos|mil\b|soles|euros|dolares|lucas|usd|por\s+ciento))",
)
_IN_DAYS = re.compile(
    r"\b(?:en|dentro\s+de)\s+(?P<count>\d{1,2}|" + _DAY_WORDS + r")\s+(?P<unit>dias?|semanas?)\b",
)


@dataclass(frozen=True, slots=True)
class _Anchor:
    today: date
    past: bool  # resolve open references ("el lunes", "el 20/11") backwards


def _relative(match: re.Match[str], folded: str, anchor: _Anchor) -> date | None:
    key = " ".join(match.group(1).split())
    if key in {"manana", "maniana", "mnana"} and _previous_word(folded, match.start()) in _MORNING_MARKERS:
        return None
    return anchor.today + timedelta(days=_RELATIVE_DAYS[key])


def _weekday(match: re.Match[str], folded: str, anchor: _Anchor) -> date | None:
    if _previous_word(folded, match.start()) in {"los", "todos"}:
        return None  # "los jueves" is a recurring day, not a date
    today, target = anchor.today, WEEKDAYS[match.group("day")]
    pre = " ".join((match.group("pre") or "").split())
    modifiers = f"{pre} {match.group('post') or ''}"
    previous = today - timedelta(days=(today.weekday() - target - 1) % 7 + 1)
    following = today + timedelta(days=(target - today.weekday() - 1) % 7 + 1)
    if "pasado" in modifiers:
        return previous
    if "semana" in modifiers:
        next_monday = today + timedelta(days=7 - today.weekday())
        return next_monday + timedelta(days=target)
    if "proximo" in modifiers or "viene" in modifiers:
        return following
    if pre == "este" and today.weekday() == target:
        return today
    return previous if anchor.past else following


def _numeric(match: re.Match[str], folded: str, anchor: _Anchor) -> date | None:
    year_text = match.group("year")
    if match.group("sep") == "." and year_text is None:
        return None  # "17.30" is a time or a price, not a date
    day, month = int(match.group("day")), int(match.group("month"))
    if year_text is None:
        return _nearest_day_and_month(day, month, anchor)
    year = int(year_text) + (2000 if len(year_text) == 2 else 0)
    return _safe_date(year, month, day)


def _day_month(match: re.Match[str], folded: str, anchor: _Anchor) -> date | None:
    day = parse_number(match.group("day"))
    month = MONTHS[match.group("month")]
    if day is None:
        return None
    if match.group("year"):
        return _safe_date(int(match.group("year")), month, day)
    return _nearest_day_and_month(day, month, anchor)


def _day_only(match: re.Match[str], folded: str, anchor: _Anchor) -> date | None:
    day = parse_number(match.group("day"))
    if day is None or not 1 <= day <= 31:
        return None
    step = -1 if anchor.past else 1
    year, month = anchor.today.year, anchor.today.month
    for _ in range(12):
        candidate = _safe_date(year, month, day)
        if candidate is not None and (candidate <= anchor.today if anchor.past else candidate >= anchor.today):
            return candidate
        month += step
        year, month = (year + 1, 1) if month == 13 else (year - 1, 12) if month == 0 else (year, month)
    return None


def _in_days(match: re.Match[str], folded: str, anchor: _Anchor) -> date | None:
    count = parse_number(match.group("count"))
    if count is None:
        return None
    unit = 7 if match.group("unit").startswith("semana") else 1
    return anchor.today + timedelta(days=count * unit)


_Resolver = Callable[[re.Match[str], str, _Anchor], date | None]
_RULES: tuple[tuple[re.Pattern[str], _Resolver], ...] = (
    (_RELATIVE, _relative),
    (_WEEKDAY, _weekday),
    (_NUMERIC, _numeric),
    (_DAY_MONTH, _day_month),
    (_DAY_ONLY, _day_only),
    (_IN_DAYS, _in_days),
)


def find_dates(folded: str, today: date, *, past: bool = False) -> list[Found]:
    """Every date expression in `folded`, possibly overlapping (the caller keeps the longest).

    `past` turns open references backwards: a bare weekday, a day and month without year and a
    bare day resolve to the latest such date before (weekday) or on/before today.
    """
    anchor = _Anchor(today, past)
    return [
        Found(match.start(), match.end(), resolved.isoformat())
        for pattern, resolve in _RULES
        for match in pattern.finditer(folded)
        if (resolved := resolve(match, folded, anchor)) is not None
    ]


def _previous_word(folded: str, position: int) -> str:
    words = folded[:position].split()
    return words[-1] if words else ""


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _nearest_day_and_month(day: int, month: int, anchor: _Anchor) -> date | None:
    """The next such date on or after today (or, looking back, the last one on or before it)."""
    years = (
        range(anchor.today.year, anchor.today.year - 5, -1)
        if anchor.past
        else range(anchor.today.year, anchor.today.year + 5)
    )
    for year in years:  # 29 February waits for a leap year
        candidate = _safe_date(year, month, day)
        if candidate is not None and (candidate <= anchor.today if anchor.past else candidate >= anchor.today):
            return candidate
    return None
