"""`hora`: Spanish clock times resolved to HH:MM (24 h).

Explicit markers win: "pm"/"am", "de la tarde", "de la noche", "de la mañana", "del mediodía",
a 24 h hour (13-23, 0, or a leading zero as in "07:30"). A bare hour from 1 to 11 ("a las 7",
"a las 3") is read against the business opening hours [opens, closes): the morning reading
(h:mm) if the business is open then, otherwise the afternoon one (h+12:mm). So when only one
reading is open it wins, when both are open the reading as written wins ("a las 7" -> 07:00),
and when neither is, the afternoon wins. With the default 07:00-21:00 that gives 1-6 ->
13:00-18:00 and 7-11 -> 07:00-11:00.

Every time carries a role. `bare`: an hour from 1 to 12 said with no part of day, no am/pm, no
unit ("hs", "h", "horas"), not "mediodía"/"medianoche" and not in 24 h form ("a las 7", "tipo 8",
"a las 7:30", "a las siete y media", "a las 12"); its value is one reading and the other half of
the day is possible. `explicit`: anything else ("7pm", "19:00", "07:30", "a las 5 de la tarde").
"""

from __future__ import annotations

import re
from datetime import time

from .lexicon import NUMBER_WORDS, alternation, parse_number
from .text import Found

BARE = "bare"
EXPLICIT = "explicit"

_HOUR_WORDS = alternation(word for word, number in NUMBER_WORDS.items() if number <= 12 and word != "primero")
_MINUTE_WORDS = alternation(word for word, number in NUMBER_WORDS.items() if 1 <= number <= 59)
_PREPOSITIONS = r"a|y|para|desde|hasta|sobre|entre|tipo|como\s+a|alrededor\s+de|despues\s+de|antes\s+de|de"

_CLOCK = re.compile(
    r"(?:\b(?P<prep>" + _PREPOSITIONS + r")\s+)?(?:\b(?P<article>las?)\s+)?"
    r"\b(?P<hour>\d{1,2}|" + _HOUR_WORDS + r")"
    r"(?:(?::|h)(?P<minute>\d{2})|\.(?P<dot_minute>\d{2}))?"
    r"(?:\s+(?P<sign>y|menos)\s+(?P<fraction>media|cuarto|\d{1,2}|" + _MINUTE_WORDS + r")\b)?"
    r"(?:\s*(?P<unit>hs|hrs|hr|h|horas)\b\.?)?"
    r"(?:\s*(?P<meridiem>am|pm|a\.\s?m\.?|p\.\s?m\.?)(?!\w))?"
    r"(?:\s+(?:de|en|por)\s+la\s+(?P<period>manana|tarde|noche|madrugada)\b"
    r"|\s+del\s+(?P<noon>mediodia|medio\s+dia)\b)?",
)
_COUNTED = re.compile(r"\s*(?:clases|sesiones|personas|dias|semanas|meses|veces)\b")
_NAMED = re.compile(r"\b(?:a\s+)?(?:el\s+|al\s+)?(?P<name>medio\s?dia|medianoche)\b")


def find_times(folded: str, opens: time, closes: time) -> list[Found]:
    """Every clock time in `folded`, resolved with the opening-hours rule for bare hours."""
    found: list[Found] = []
    for match in _CLOCK.finditer(folded):
        if _COUNTED.match(folded, match.end()):
            continue  # "de las 10 clases" counts classes
        resolved = _resolve_clock(match, opens, closes)
        if resolved is not None:
            role = BARE if _is_bare(match) else EXPLICIT
            found.append(Found(match.start(), match.end(), resolved.strftime("%H:%M"), role=role))
    for match in _NAMED.finditer(folded):
        value = "12:00" if match.group("name").startswith("medio") else "00:00"
        found.append(Found(match.start(), match.end(), value, role=EXPLICIT))
    return found


def _is_bare(match: re.Match[str]) -> bool:
    """An hour 1-12 with nothing saying which half of the day: the other reading is possible."""
    hour_text = match.group("hour")
    hour = parse_number(hour_text)
    markers = ("meridiem", "period", "noon", "unit")
    return (
        hour is not None
        and 1 <= hour <= 12
        and not hour_text.startswith("0")
        and not any(match.group(marker) for marker in markers)
    )


def _is_time_expression(match: re.Match[str]) -> bool:
    """Whether the words around the number make it a clock time and not a count or a price."""
    prep, article, unit = match.group("prep"), match.group("article"), match.group("unit")
    has_marker = bool(match.group("meridiem") or match.group("period") or match.group("noon"))
    introduced = article is not None and prep is not None
    if article == "la" and parse_number(match.group("hour")) != 1:
        return False  # "la 5" is not Spanish for a time; "a la una" is
    if match.group("dot_minute") is not None:
        return introduced
    if match.group("minute") is not None or has_marker:
        return True
    if unit is not None:
        return unit != "horas" or introduced or prep == "tipo"
    if match.group("fraction") is not None and match.group("hour").isdigit():
        return introduced or match.group("fraction") in {"media", "cuarto"}
    return introduced or (prep == "tipo" and article is None)


def _resolve_clock(match: re.Match[str], opens: time, closes: time) -> time | None:
    if not _is_time_expression(match):
        return None
    hour_text = match.group("hour")
    hour = parse_number(hour_text)
    minute_text = match.group("minute") or match.group("dot_minute")
    minute = int(minute_text) if minute_text else 0
    if hour is None or hour > 23 or minute > 59:
        return None
    fraction = match.group("fraction")
    if fraction is not None:
        offset = {"media": 30, "cuarto": 15}.get(fraction) or parse_number(fraction) or 0
        if offset > 59:
            return None
        if match.group("sign") == "menos":
            hour, minute = (hour - 1) % 24, 60 - offset
            hour = 12 if hour == 0 and hour_text not in {"0", "00"} else hour
        else:
            minute = offset
    explicit_24h = hour >= 13 or hour == 0 or (len(hour_text) == 2 and hour_text.startswith("0"))
    meridiem = (match.group("meridiem") or "").replace(".", "").replace(" ", "")
    return _apply_day_part(hour, minute, meridiem, match, explicit_24h, opens, closes)


def _apply_day_part(
    hour: int,
    minute: int,
    meridiem: str,
    match: re.Match[str],
    explicit_24h: bool,
    opens: time,
    closes: time,
) -> time | None:
    period, noon = match.group("period"), match.group("noon")
    if meridiem and hour <= 12:
        return time(hour % 12 + (12 if meridiem == "pm" else 0), minute)
    if explicit_24h:
        return time(hour, minute)
    if period == "tarde" or (noon and hour <= 5):
        return time(hour % 12 + 12, minute)
    if period == "noche":
        return time(0 if hour == 12 else hour + 12 if hour >= 5 else hour, minute)
    if period == "madrugada":
        return time(hour % 12, minute)
    if period == "manana" or noon or hour == 12:
        return time(hour, minute)
    return bare_hour(hour, minute, opens, closes)


def bare_hour(hour: int, minute: int, opens: time, closes: time) -> time:
    """Resolve an hour from 1 to 11 said without am/pm against the opening hours."""
    morning = time(hour, minute)
    return morning if opens <= morning < closes else time(hour + 12, minute)
