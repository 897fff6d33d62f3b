"""Checks on an LLM-written reply before it is sent: pure functions, no I/O.

The LLM rewrites the template's draft with the reply's typed data as its only source of facts.
`check` rejects its text (the template is sent instead) when it:

- states a price, time, date, weekday, month, booking code, link, e-mail or number that is
  neither in the data nor in the draft (Spanish spellings are read: 19:00 / 7 pm / 7 de la tarde /
  las siete de la tarde / 19 h; 3 de diciembre / 3/12; $1.200 / 1200 / 1.200,00 / $1,200 MXN);
- claims a success (reservado, confirmado, cancelado, pagado, actualizado) the draft does not
  make: a question or a failure must not read as done;
- drops the payment link or the booking code the draft shows;
- uses Markdown headings, tables, `**` or code, or echoes the prompt;
- is much longer than the draft, or empty;
- is in the wrong register when it is unmistakable (tuteo to a customer who says usted, voseo to
  one who says tú, and so on).

    facts = facts_of(data, draft)          # once per reply
    rejection = check(text, facts, register)  # None: send the LLM's text

Reasons are a closed, low-cardinality set (`REASONS`): they label a Prometheus counter and go
into `reply.sent.fallback` as `guardrail:<reason>`.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from contracts.replies import Register

Reason = Literal[
    "empty", "markdown", "prompt_echo", "too_long",
    "invented_link", "invented_price", "invented_time", "invented_date", "invented_weekday",
    "invented_code", "invented_number", "false_success", "dropped_link", "dropped_code", "wrong_register",
]
REASONS: tuple[str, ...] = get_args(Reason)

MAX_CHARS = 1500
"""No reply longer than this (WhatsApp takes 1600 characters per message)."""
LENGTH_RATIO = 1.6
LENGTH_SLACK = 120
"""A reply may be `LENGTH_RATIO` × the draft's length + `LENGTH_SLACK` characters long."""


@dataclass(frozen=True)
class Rejection:
    reason: Reason
    detail: str


# --- Spanish words ---------------------------------------------------------------------------------

_MONTHS = {
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8,
    "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
}
_MONTH_ABBREVIATIONS = {
    "ene": 1, "feb": 2, "mar": 3, "abr": 4, "may": 5, "jun": 6, "jul": 7, "ago": 8, "sep": 9, "sept": 9,
    "set": 9, "oct": 10, "nov": 11, "dic": 12,
}
_WEEKDAYS = {
    "lunes": 0, "martes": 1, "miércoles": 2, "miercoles": 2, "jueves": 3, "viernes": 4, "sábado": 5,
    "sabado": 5, "sábados": 5, "sabados": 5, "domingo": 6, "domingos": 6,
}
_NUMBER_WORDS = {
    "una": 1, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7, "ocho": 8,
    "nueve": 9, "diez": 10, "once": 11, "doce": 12, "quince": 15, "veinte": 20, "treinta": 30,
}
_COUNT_WORDS = {word: n for word, n in _NUMBER_WORDS.items() if n > 1}  # "una clase" is an article
_CURRENCIES = r"(?:mxn|ars|clp|cop|pen|uyu|eur|usd|€|pesos|euros|d[oó]lares)"
_UNITS = (r"(?:sesi[oó]n(?:es)?|clases?|lugar(?:es)?|cupos?|d[ií]as?|horas?|hs?|semanas?|mes(?:es)?|paquetes?"
          r"|personas?|veces|minutos?|min)")

# --- patterns (applied to the lower-cased text, each match blanked out before the next) ----------

_KEYCAP = re.compile(r"\d\ufe0f?\u20e3")
_ENUMERATOR = re.compile(r"(?m)^[ \t]*\d{1,2}[.)][ \t]+")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>«»\"']+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_NUMBER = r"\d{1,3}(?:[.,]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_PRICES = (
    re.compile(rf"(?:us\$|\$|€|{_CURRENCIES})\s?({_NUMBER})(?:\s?{_CURRENCIES})?"),
    re.compile(rf"({_NUMBER})\s?{_CURRENCIES}(?![a-záéíóúñ])"),
)
_AMPM = r"(a\.?\s?m\.?|p\.?\s?m\.?)(?![a-záéíóúñ])"
_PART_OF_DAY = r"(?:hs?\s+|horas\s+)?(?:de\s+la\s+(mañana|tarde|noche|madrugada)|del\s+(mediod[ií]a))"
_HOUR_WORDS = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
_MINUTES = r"(?:\s+y\s+(media|cuarto))?"
_TIMES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ampm", re.compile(rf"\b(\d{{1,2}})(?:[:.](\d{{2}}))?\s*{_AMPM}")),
    ("part", re.compile(rf"\b(\d{{1,2}})(?::(\d{{2}}))?{_MINUTES}\s+{_PART_OF_DAY}")),
    ("part_words", re.compile(rf"\b(?:las?\s+)({_HOUR_WORDS}){_MINUTES}\s+{_PART_OF_DAY}")),
    ("clock", re.compile(r"\b(\d{1,2}):(\d{2})(?:\s*(?:hs?|hrs?|horas)\b)?")),
    ("dotted", re.compile(r"\b(\d{1,2})\.(\d{2})\s*(?:hs?|hrs?|horas)\b")),
    ("after_las", re.compile(r"\blas?\s+(\d{1,2})\s*(?:hs?|hrs?|horas)\b")),
    ("evening_h", re.compile(r"\b(1[3-9]|2[0-3])\s*(?:hs?|hrs?)\b")),
    ("las", re.compile(rf"\blas?\s+(\d{{1,2}}){_MINUTES}(?![\d:/]|[.,]\d)(?!\s*{_UNITS}\b)")),
    # "las dos" alone may be "las dos opciones": a worded hour counts after "a las", "desde las", ...
    ("las_words", re.compile(rf"\b(?:a|desde|hasta|antes\s+de|después\s+de)\s+las?\s+({_HOUR_WORDS}){_MINUTES}"
                             rf"(?!\s*{_UNITS}\b)\b")),
)
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_MONTH_ANY = "|".join(sorted([*_MONTHS, *_MONTH_ABBREVIATIONS], key=len, reverse=True))
_DATES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("iso", re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:[t ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?)?\b")),
    ("day_of_month", re.compile(rf"\b(\d{{1,2}})\s+de\s+({_MONTH_ANY})\.?(?:\s+(?:de|del)\s+(\d{{4}}))?\b")),
    ("month_day", re.compile(rf"\b({_MONTH_NAMES})\s+(\d{{1,2}})\b(?!:)")),
    ("slashed", re.compile(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b")),
)
_WEEKDAY = re.compile(r"\b(" + "|".join(sorted(_WEEKDAYS, key=len, reverse=True)) + r")\b")
_MONTH = re.compile(rf"\b({_MONTH_NAMES})\b")
_CODES = (  # BK-4821, RSV7F3K (read lower-cased: "bk-4821" is the same code)
    re.compile(r"\b[a-z]{1,6}-\d{2,}[a-z0-9]*\b"),
    re.compile(r"\b(?=[a-z0-9]*[a-z])(?=[a-z0-9]*\d)[a-z0-9]{4,}\b"),
)
_COUNT = re.compile(rf"\b(\d+|{'|'.join(_COUNT_WORDS)})\s+(?:de\s+)?{_UNITS}\b")
_BARE_NUMBER = re.compile(_NUMBER)
_DIGIT = re.compile(r"\d")
_WORDED_TIMES = frozenset({"part_words", "las_words"})
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_HHMM = re.compile(r"^\d{2}:\d{2}$")

# --- success claims, markdown, register ------------------------------------------------------------

ClaimGroup = Literal["booked", "confirmed", "cancelled", "paid", "updated", "purchased"]
_CLAIMS: dict[ClaimGroup, re.Pattern[str]] = {
    "booked": re.compile(r"\b(?:reserv(?:é|ado|ada|ados|adas)|agend(?:é|ado|ada|ados|adas)|apart(?:é|ado|ada)"
                         r"|anot(?:é|ado|ada))\b"),
    "confirmed": re.compile(r"\bconfirm(?:é|ado|ada|ados|adas)\b"),
    "cancelled": re.compile(r"\bcancel(?:é|ado|ada|ados|adas)\b"),
    "paid": re.compile(r"\b(?:pagad[oa]s?|pagué|acreditad[oa]s?|se\s+acreditó|acredité|cobrad[oa]s?|cobré)\b"),
    "updated": re.compile(r"\b(?:actualicé|actualizad[oa]s?|guardé|guardad[oa]s?)\b"),
    "purchased": re.compile(r"\b(?:compré|registré\s+la\s+compra|compra\s+registrada)\b"),
}
# Kinds whose data is itself a success (the draft may word it otherwise).
_KIND_CLAIMS: dict[str, frozenset[ClaimGroup]] = {
    "booked": frozenset({"booked", "confirmed"}),
    "already_booked": frozenset({"booked", "confirmed"}),
    "kept": frozenset({"booked", "confirmed"}),
    "booking_status": frozenset({"booked", "confirmed"}),
    "cancelled": frozenset({"cancelled", "confirmed"}),
    "payment_confirmed": frozenset({"paid", "confirmed"}),
    "payment_link": frozenset({"purchased"}),
    "profile_updated": frozenset({"updated", "confirmed"}),
}
_NEGATION = re.compile(r"\b(?:no|ni|sin|nunca|tampoco|nada)\b(?:\s+[\wáéíóúñ]+){0,3}\s*$")
_QUESTION = re.compile(r"¿[^¿?]*\?")
_QUOTED = re.compile(r"«[^«»]*»|\"[^\"]*\"|“[^”]*”")

_MARKDOWN = (
    ("heading", re.compile(r"(?m)^[ \t]{0,3}#{1,6}[ \t]")),
    ("double asterisk", re.compile(r"\*\*")),
    ("double underscore", re.compile(r"__\S")),
    ("table", re.compile(r"(?m)^[ \t]*\|.*\|[ \t]*$|^[ \t]*\|?[ \t]*:?-{3,}:?[ \t]*\|")),
    ("code", re.compile(r"```|`[^`\n]+`")),
    ("link", re.compile(r"\[[^\]\n]+\]\([^)\n]+\)")),
)
_PROMPT_ECHO = re.compile(r"<<<|>>>|\bBORRADOR\b|\bDATOS\b")

RegisterMarker = Literal["tu", "vos", "usted", "informal"]
_MARKERS: dict[RegisterMarker, re.Pattern[str]] = {
    "tu": re.compile(r"\b(?:tú|eres|quieres|puedes|tienes|prefieres|necesitas|confirmas|escribes|sabes|deseas"
                     r"|vienes|dime|escríbeme|avísame|cuéntame|fíjate)\b"),
    "vos": re.compile(r"\b(?:vos|sos|querés|podés|tenés|preferís|necesitás|confirmás|escribís|contás|sabés|venís"
                      r"|decime|escribime|avisame|contame|elegí|perdoná|disculpá|respondé|fijate|mirá)\b"),
    "usted": re.compile(r"\b(?:usted|dígame|escríbame|avíseme|cuénteme|disculpe|perdone|elija|fíjese|desea"
                        r"|ayudarle|avisarle|escribirle|atenderle|contarle|enviarle|reservarle"
                        r"|le\s+(?:ayudo|reservo|gustaría|interesa))\b"),
    "informal": re.compile(r"\b(?:te|tu|tus|ti|contigo|estás|ayudarte|avisarte|escribirte|contarte|enviarte"
                           r"|mandarte|reservarte|anotarte|confirmarte|atenderte|recordarte|pasarte|decirte)\b"),
}
_WRONG: dict[Register, tuple[RegisterMarker, ...]] = {
    "tu": ("vos", "usted"),
    "vos": ("tu", "usted"),
    "usted": ("tu", "vos", "informal"),
}


# --- what a text mentions --------------------------------------------------------------------------


@dataclass
class Mentions:
    """The facts a text states, normalised: times as candidate sets of minutes after midnight (a bare
    "a las 7" is 07:00 or 19:00), dates as (month, day), amounts in cents."""

    links: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    amounts: set[int] = field(default_factory=set)
    times: list[frozenset[int]] = field(default_factory=list)
    dates: set[tuple[int, int]] = field(default_factory=set)
    years: set[int] = field(default_factory=set)
    weekdays: set[int] = field(default_factory=set)
    months: set[int] = field(default_factory=set)
    codes: set[str] = field(default_factory=set)
    counts: set[int] = field(default_factory=set)
    numbers: set[int] = field(default_factory=set)
    """Other numbers, in cents ("1.200" → 120000)."""
    invalid: list[str] = field(default_factory=list)
    """Date- or time-shaped text that is no valid date or time (32/13, 25:00)."""


def mentions(text: str) -> Mentions:
    """Every fact-like thing `text` states, each read once (a time is not also a number)."""
    found = Mentions()
    digits = _DIGIT.search(text) is not None  # most patterns need a digit: a text without one skips them
    rest = _ENUMERATOR.sub(" ", _KEYCAP.sub(" ", text)) if digits else text

    def take(pattern: re.Pattern[str], source: str) -> tuple[str, list[re.Match[str]]]:
        matches = list(pattern.finditer(source))
        if not matches:  # most patterns find nothing: no second pass
            return source, matches
        return pattern.sub(lambda m: " " * len(m.group(0)), source), matches

    rest, urls = take(_URL, rest)
    found.links.update(_normal_link(m.group(0)) for m in urls)
    if "@" in rest:
        rest, emails = take(_EMAIL, rest)
        found.emails.update(m.group(0).lower().rstrip(".") for m in emails)
    rest = rest.lower()
    for pattern in _PRICES if digits else ():
        rest, prices = take(pattern, rest)
        found.amounts.update(cents for m in prices if (cents := _cents(m.group(1))) is not None)
    for kind, pattern in _TIMES:
        if not digits and kind not in _WORDED_TIMES:
            continue
        rest, times = take(pattern, rest)
        for match in times:
            candidates = _time(kind, match)
            if candidates:
                found.times.append(candidates)
            else:
                found.invalid.append(match.group(0).strip())
    for kind, pattern in _DATES if digits else ():
        rest, dates = take(pattern, rest)
        for match in dates:
            date = _date(kind, match)
            if date is None:
                found.invalid.append(match.group(0).strip())
                continue
            found.dates.add(date)
            found.months.add(date[0])
            found.years.update(_year(match.group(0)))
    found.weekdays.update(_WEEKDAYS[m.group(1)] for m in _WEEKDAY.finditer(rest))
    found.months.update(_MONTHS[m.group(1)] for m in _MONTH.finditer(rest))
    for pattern in _CODES if digits else ():
        rest, codes = take(pattern, rest)
        found.codes.update(m.group(0).upper() for m in codes)
    rest, counts = take(_COUNT, rest)
    found.counts.update(_count(m.group(1)) for m in counts)
    if digits:
        found.numbers.update(cents for m in _BARE_NUMBER.finditer(rest) if (cents := _cents(m.group(0))) is not None)
    return found


@functools.lru_cache(maxsize=4096)
def _recurring_mentions(text: str) -> Mentions:
    """`mentions` of a text that comes back reply after reply (the business's name, a class or package
    name, a reply kind), read once. Its readers only read it."""
    return mentions(text)


def _year(date_text: str) -> set[int]:
    """The year a date expression names ("3/12/2026", "3 de diciembre de 2026"), if any."""
    return {int(y) for y in re.findall(r"(?<![\d:])(\d{4})(?![\d:])", date_text)}


def _normal_link(url: str) -> str:
    return url.rstrip(".,;:!?)»\"'").removesuffix("/").lower()


def _cents(token: str) -> int | None:
    """A Spanish-written amount in cents: 1.200 / 1,200 / 1200 / 1.200,00 / 1,800.50 / 1,5."""
    token = token.strip(".,")
    if not token:
        return None
    if "," in token and "." in token:
        point = max(token.rfind(","), token.rfind("."))
        whole, fraction = re.sub(r"[.,]", "", token[:point]), token[point + 1:]
    elif "," in token or "." in token:
        parts = re.split(r"[.,]", token)
        if len(parts) > 2 or len(parts[-1]) == 3:
            whole, fraction = "".join(parts), ""
        else:
            whole, fraction = parts
    else:
        whole, fraction = token, ""
    if not whole.isdigit() or (fraction and not fraction.isdigit()) or len(fraction) > 2:
        return None
    return int(whole) * 100 + int((fraction + "00")[:2])


def _count(token: str) -> int:
    return int(token) if token.isdigit() else _COUNT_WORDS[token]


def _hour(token: str) -> int:
    return int(token) if token.isdigit() else _NUMBER_WORDS[token]


def _minutes_word(word: str | None) -> int:
    return {"media": 30, "cuarto": 15}.get(word or "", 0)


def _time(kind: str, match: re.Match[str]) -> frozenset[int]:
    """The minutes after midnight a time expression may mean; empty when it is no valid time."""
    groups = match.groups()
    if kind == "ampm":
        hour, minute, marker = int(groups[0]), int(groups[1] or 0), groups[2].replace(".", "").replace(" ", "")
        if not 1 <= hour <= 12 or minute > 59:
            return frozenset()
        return frozenset({(hour % 12 + (12 if marker == "pm" else 0)) * 60 + minute})
    if kind in ("part", "part_words"):
        if kind == "part":
            hour, minute = int(groups[0]), int(groups[1] or 0) + _minutes_word(groups[2])
        else:
            hour, minute = _hour(groups[0]), _minutes_word(groups[1])
        part = groups[-2] or groups[-1]
        if hour > 23 or minute > 59:
            return frozenset()
        if part in ("tarde", "noche") and hour < 12:
            hour += 12
        elif part == "noche" and hour == 12:
            hour = 0
        elif part == "mañana" and hour == 12:
            hour = 0
        return frozenset({hour * 60 + minute})
    if kind in ("clock", "dotted"):
        hour, minute = int(groups[0]), int(groups[1])
        if hour > 23 or minute > 59:
            return frozenset()
        return _either_half(hour, minute) if kind == "clock" else frozenset({hour * 60 + minute})
    if kind in ("after_las", "evening_h"):
        hour = int(groups[0])
        return frozenset({hour * 60}) if hour <= 23 else frozenset()
    hour = _hour(groups[0])
    minute = _minutes_word(groups[1])
    return _either_half(hour, minute) if hour <= 23 else frozenset()


def _either_half(hour: int, minute: int) -> frozenset[int]:
    """"7:00" or "las 7" is 07:00 or 19:00 as people write it; "19:00" is only 19:00."""
    if 1 <= hour <= 11:
        return frozenset({hour * 60 + minute, (hour + 12) * 60 + minute})
    if hour == 12:
        return frozenset({12 * 60 + minute, minute})
    return frozenset({hour * 60 + minute})


def _date(kind: str, match: re.Match[str]) -> tuple[int, int] | None:
    groups = match.groups()
    if kind == "iso":
        month, day = int(groups[1]), int(groups[2])
    elif kind == "day_of_month":
        day, month = int(groups[0]), _MONTHS.get(groups[1]) or _MONTH_ABBREVIATIONS[groups[1]]
    elif kind == "month_day":
        month, day = _MONTHS[groups[0]], int(groups[1])
    else:
        day, month = int(groups[0]), int(groups[1])
    try:
        dt.date(2024, month, day)  # a leap year: 29/2 is a date
    except ValueError:
        return None
    return month, day


# --- what a reply may state ------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What a reply may state: everything in its data and in the template's draft."""

    links: frozenset[str]
    emails: frozenset[str]
    amounts: frozenset[int]
    times: frozenset[int]
    dates: frozenset[tuple[int, int]]
    years: frozenset[int]
    weekdays: frozenset[int]
    months: frozenset[int]
    codes: frozenset[str]
    counts: frozenset[int]
    numbers: frozenset[int]
    """Bare numbers allowed, in cents: every number of the data and the draft, day and year included."""
    required_links: frozenset[str]
    required_codes: frozenset[str]
    claims: frozenset[ClaimGroup]
    register_words: frozenset[str]
    """Register-revealing words the draft uses itself (allowed in the rewrite too)."""
    draft_chars: int


def facts_of(data: Mapping[str, Any], draft: str, *, kinds: Iterable[str] = (), extra: Iterable[str] = ()) -> Facts:
    """The facts of a reply: its typed `data` (JSON values), the template's `draft`, the reply `kinds`
    (whose data is a success of its own) and `extra` texts the reply may quote (the business's name)."""
    draft_mentions = mentions(draft)
    acc = _Accumulator()
    acc.add_mentions(draft_mentions)
    for text in extra:
        acc.add_mentions(_recurring_mentions(text))
    required_links: set[str] = set()
    required_codes: set[str] = set()
    for key, value in _walk(data):
        acc.add_value(key, value)
        if key == "payment_link" and isinstance(value, str) and _normal_link(value) in draft_mentions.links:
            required_links.add(_normal_link(value))
        if key == "code" and isinstance(value, str) and value.upper() in draft_mentions.codes:
            required_codes.add(value.upper())
    claims = set(_claims(draft))
    for kind in kinds:
        claims |= _KIND_CLAIMS.get(kind, frozenset())
    return Facts(
        links=frozenset(acc.mentions.links), emails=frozenset(acc.mentions.emails),
        amounts=frozenset(acc.mentions.amounts), times=frozenset(t for ts in acc.mentions.times for t in ts),
        dates=frozenset(acc.mentions.dates), years=frozenset(acc.mentions.years),
        weekdays=frozenset(acc.mentions.weekdays), months=frozenset(acc.mentions.months),
        codes=frozenset(acc.mentions.codes), counts=frozenset(acc.mentions.counts), numbers=frozenset(acc.numbers),
        required_links=frozenset(required_links), required_codes=frozenset(required_codes),
        claims=frozenset(claims), register_words=frozenset(_register_words(draft)), draft_chars=len(draft),
    )


class _Accumulator:
    def __init__(self) -> None:
        self.mentions = Mentions()
        self.numbers: set[int] = set()

    def add_mentions(self, found: Mentions) -> None:
        m = self.mentions
        m.links |= found.links
        m.emails |= found.emails
        m.amounts |= found.amounts
        m.times.extend(found.times)
        m.dates |= found.dates
        m.years |= found.years
        m.weekdays |= found.weekdays
        m.months |= found.months
        m.codes |= found.codes
        m.counts |= found.counts
        self.numbers |= found.numbers | {n * 100 for n in found.counts} | found.amounts
        self.numbers |= {day * 100 for _, day in found.dates} | {y * 100 for y in found.years}
        for candidates in found.times:
            self.numbers |= {(t // 60) * 100 for t in candidates} | {(t // 60 % 12 or 12) * 100 for t in candidates}

    def add_value(self, key: str, value: Any) -> None:
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, int | float):
            cents = round(value * 100)
            self.numbers.add(cents)
            if key in ("price", "amount"):
                self.mentions.amounts.add(cents)
            if float(value).is_integer():
                self.mentions.counts.add(int(value))
            return
        if isinstance(value, list | tuple):
            self.mentions.counts.add(len(value))
            self.numbers.add(len(value) * 100)
            return
        if not isinstance(value, str):
            return
        if _ISO_DATE.match(value) or _ISO_DATETIME.match(value):
            self._add_moment(value)
            return
        if _HHMM.match(value):
            hour, minute = int(value[:2]), int(value[3:])
            self.add_mentions(Mentions(times=[frozenset({hour * 60 + minute})]))
            return
        self.add_mentions(_recurring_mentions(value))
        self.mentions.codes.add(value.strip().upper())
        if "@" in value:
            self.mentions.emails.add(value.strip().lower())
        self.numbers |= {int(group) * 100 for group in re.findall(r"\d+", value)}

    def _add_moment(self, value: str) -> None:
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return
        found = Mentions(dates={(moment.month, moment.day)}, years={moment.year}, weekdays={moment.weekday()},
                         months={moment.month})
        if _ISO_DATETIME.match(value):
            found.times.append(frozenset({moment.hour * 60 + moment.minute}))
        self.add_mentions(found)


def _walk(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """Every (key, value) of a JSON document, containers included, depth first."""
    yield key, value
    if isinstance(value, Mapping):
        for child_key, child in value.items():
            yield from _walk(child, str(child_key))
    elif isinstance(value, list | tuple):
        for child in value:
            yield from _walk(child, key)


# --- the check -------------------------------------------------------------------------------------


def check(text: str, facts: Facts, register: Register, *, max_chars: int = MAX_CHARS) -> Rejection | None:
    """Why `text` must not be sent (the first problem found), or None when it may."""
    if (rejection := _shape(text, facts, max_chars)) is not None:
        return rejection
    said = mentions(text)  # what the reply states, read once for the facts and the required items
    return (_facts(said, facts) or _claims_made(text, facts) or _required(said, facts)
            or _register(text, facts, register))


def _shape(text: str, facts: Facts, max_chars: int) -> Rejection | None:
    if not text.strip():
        return Rejection("empty", "no text")
    if _PROMPT_ECHO.search(text):
        return Rejection("prompt_echo", "the reply repeats the prompt's markers")
    for name, pattern in _MARKDOWN:
        if pattern.search(text):
            return Rejection("markdown", f"Markdown {name}")
    limit = min(max_chars, int(facts.draft_chars * LENGTH_RATIO) + LENGTH_SLACK)
    if len(text) > limit:
        return Rejection("too_long", f"{len(text)} characters, at most {limit}")
    return None


def _facts(said: Mentions, facts: Facts) -> Rejection | None:
    if links := sorted(said.links - facts.links):
        return Rejection("invented_link", f"link {links[0]}")
    if emails := sorted(said.emails - facts.emails):
        return Rejection("invented_link", f"e-mail {emails[0]}")
    if amounts := sorted(said.amounts - facts.amounts):
        return Rejection("invented_price", f"amount {amounts[0] / 100:g}")
    if said.invalid:
        return Rejection("invented_date" if "/" in said.invalid[0] or " de " in said.invalid[0]
                         else "invented_time", f"not a valid date or time: {said.invalid[0]}")
    for candidates in said.times:
        if not candidates & facts.times:
            minutes = min(candidates)
            return Rejection("invented_time", f"time {minutes // 60:02d}:{minutes % 60:02d}")
    if dates := sorted(said.dates - facts.dates):
        return Rejection("invented_date", f"date {dates[0][1]}/{dates[0][0]}")
    if years := sorted(said.years - facts.years):
        return Rejection("invented_date", f"year {years[0]}")
    if months := sorted(said.months - facts.months):
        return Rejection("invented_date", f"month {months[0]}")
    if weekdays := sorted(said.weekdays - facts.weekdays):
        return Rejection("invented_weekday", f"weekday {weekdays[0]} (0 = lunes)")
    if codes := sorted(said.codes - facts.codes):
        return Rejection("invented_code", f"code {codes[0]}")
    if counts := sorted(said.counts - facts.counts):
        return Rejection("invented_number", f"count {counts[0]}")
    if numbers := sorted(said.numbers - facts.numbers - facts.amounts):
        return Rejection("invented_number", f"number {numbers[0] / 100:g}")
    return None


def _claims(text: str) -> Iterator[ClaimGroup]:
    """The successes `text` states (outside questions, not negated)."""
    statements = _QUESTION.sub(" ", text.lower())
    for group, pattern in _CLAIMS.items():
        for match in pattern.finditer(statements):
            if not _NEGATION.search(statements[max(0, match.start() - 40):match.start()]):
                yield group
                break


def _claims_made(text: str, facts: Facts) -> Rejection | None:
    for group in _claims(text):
        # "confirmado" words any success the reply has ("tu pago quedó confirmado")
        if group not in facts.claims and not (group == "confirmed" and facts.claims):
            return Rejection("false_success", f"claims {group} though the reply does not")
    return None


def _required(said: Mentions, facts: Facts) -> Rejection | None:
    if missing := sorted(facts.required_links - said.links):
        return Rejection("dropped_link", f"payment link {missing[0]} left out")
    if missing_codes := sorted(facts.required_codes - said.codes):
        return Rejection("dropped_code", f"booking code {missing_codes[0]} left out")
    return None


def _register_words(text: str) -> Iterator[str]:
    plain = _QUOTED.sub(" ", text.lower())
    for pattern in _MARKERS.values():
        for match in pattern.finditer(plain):
            yield re.sub(r"\s+", " ", match.group(0))


def _register(text: str, facts: Facts, register: Register) -> Rejection | None:
    plain = _QUOTED.sub(" ", text.lower())
    for marker in _WRONG[register]:
        for match in _MARKERS[marker].finditer(plain):
            word = re.sub(r"\s+", " ", match.group(0))
            if word not in facts.register_words:
                return Rejection("wrong_register", f"«{word}» ({marker}) to a customer who uses {register}")
    return None
