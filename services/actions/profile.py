"""The business's profile (business.yaml): loaded and validated at start, read by the dialogue.

Everything the bot may say about the studio itself, as opposed to what the business API knows
(slots, bookings, packages and their prices): address and map link, opening hours per weekday
and closed dates, payment methods, the cancellation and late-arrival policies, what each package
includes, the FAQs and how soon staff answer a handed-off conversation. The bot answers from
this file and never invents. docs/business-profile.md documents the format.

`load_profile(path)` returns a frozen `BusinessProfile` or raises `ProfileError` naming the file
and every problem. The profile answers questions about time in the business's own zone:
`is_open(at)`, `hours_on(day)`, `next_opening(after)`; `answer(faq_id)` is an FAQ's answer with
its placeholders filled from the fields, so a fact (an address, a number of hours) is written
once.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from runtime.settings import known_time_zone
from services.actions.config_files import load_yaml_model

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
"""The keys of `hours`, in `date.weekday()` order (Monday is 0)."""

SPANISH_WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
SPANISH_MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
                  "octubre", "noviembre", "diciembre")

MAX_ANSWER_CHARS = 1500
"""An answer, placeholders filled, must fit in one WhatsApp message (Twilio's limit is 1,600)."""

_SLUG = r"^[a-z0-9][a-z0-9-]*$"
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


class ProfileError(ValueError):
    """The profile file is missing, malformed or inconsistent; the message says where."""


def _parse_time(value: Any) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str) and (found := _HHMM.fullmatch(value.strip())):
        return time(int(found.group(1)), int(found.group(2)))
    raise ValueError(f"expected a quoted 'HH:MM' time, got {value!r}")


Hhmm = Annotated[time, BeforeValidator(_parse_time)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OpeningPeriod(_Frozen):
    """One opening period of a day, written "HH:MM-HH:MM": open from `opens` (included) to `closes`."""

    opens: Hhmm
    closes: Hhmm

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            opens, sep, closes = value.partition("-")
            if not sep:
                raise ValueError(f"expected 'HH:MM-HH:MM', got {value!r}")
            return {"opens": opens, "closes": closes}
        if not isinstance(value, dict | OpeningPeriod):
            raise ValueError(f"expected 'HH:MM-HH:MM', got {value!r}")
        return value

    @model_validator(mode="after")
    def _closes_after_opening(self) -> OpeningPeriod:
        if self.closes <= self.opens:
            raise ValueError(f"closes at {self.closes:%H:%M}, not after it opens at {self.opens:%H:%M}")
        return self

    def __contains__(self, moment: time) -> bool:
        return self.opens <= moment < self.closes

    def __str__(self) -> str:
        return f"{_clock(self.opens)} a {_clock(self.closes)}"


DayHours = tuple[OpeningPeriod, ...]


class WeeklyHours(_Frozen):
    """Opening periods per weekday; an empty list is a day closed. Every weekday is required."""

    monday: DayHours
    tuesday: DayHours
    wednesday: DayHours
    thursday: DayHours
    friday: DayHours
    saturday: DayHours
    sunday: DayHours

    @model_validator(mode="after")
    def _consistent(self) -> WeeklyHours:
        problems = []
        for name in WEEKDAYS:
            periods = getattr(self, name)
            for earlier, later in pairwise(periods):
                if later.opens < earlier.closes:
                    problems.append(f"{name}: {later.opens:%H:%M} starts before the period before it ends "
                                    f"({earlier.closes:%H:%M}); list periods in order, without overlaps")
        if not any(getattr(self, name) for name in WEEKDAYS):
            problems.append("closed every day: at least one weekday needs opening hours")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def on_weekday(self, weekday: int) -> DayHours:
        """The periods of a weekday, Monday being 0 (`date.weekday()`)."""
        periods: DayHours = getattr(self, WEEKDAYS[weekday])
        return periods


class ClosedDate(_Frozen):
    date: date
    reason: str = Field(min_length=1)


class Address(_Frozen):
    line: str = Field(min_length=1, description="The address as a customer reads it, on one line")
    map_url: str = Field(pattern=r"^https://\S+$")
    directions: str = Field("", description="How to get there")


class PaymentMethod(_Frozen):
    id: str = Field(pattern=_SLUG)
    name: str = Field(min_length=1)
    details: str = ""


class CancellationPolicy(_Frozen):
    hours_before: int = Field(ge=0, description="Cancel at least this long before the class and the session comes back")


class LateArrivalPolicy(_Frozen):
    tolerance_minutes: int = Field(ge=0, description="How late a customer may still join the class")


class Policies(_Frozen):
    cancellation: CancellationPolicy
    late_arrival: LateArrivalPolicy
    packages_required: bool = Field(
        True, description="A booking uses a session of a package the customer holds; without one the bot offers "
        "the packages first (must match the business API's BUSINESS_API_BOOKING_REQUIRES_PACKAGE)")


class PackageInfo(_Frozen):
    name: str = Field(min_length=1, description="The package's name, as the business API calls it")
    includes: tuple[str, ...] = Field(min_length=1)


class Faq(_Frozen):
    id: str = Field(pattern=_SLUG)
    questions: tuple[str, ...] = Field(min_length=2, description="Ways a customer asks it")
    answer: str = Field(min_length=1, description="As written, placeholders unfilled (see BusinessProfile.answer)")

    @field_validator("questions")
    @classmethod
    def _no_blank_question(cls, questions: tuple[str, ...]) -> tuple[str, ...]:
        if any(not question.strip() for question in questions):
            raise ValueError("a question is blank")
        return questions


class Handoff(_Frozen):
    response_time: str = Field(min_length=1, description='When staff answer, e.g. "en menos de una hora"')


class BusinessProfile(_Frozen):
    version: Literal[1]
    name: str = Field(min_length=1)
    timezone: str
    address: Address
    phone: str = Field(pattern=r"^\+?[0-9][0-9 ()-]{6,20}$")
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    hours: WeeklyHours
    closed_dates: tuple[ClosedDate, ...] = ()
    payment_methods: tuple[PaymentMethod, ...] = Field(min_length=1)
    policies: Policies
    packages: dict[str, PackageInfo] = Field(description="By the business API's package id")
    handoff: Handoff
    faqs: tuple[Faq, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_time_zone(value)

    @model_validator(mode="after")
    def _consistent(self) -> BusinessProfile:
        problems: list[str] = []
        for what, values in (("closed date", [str(closed.date) for closed in self.closed_dates]),
                             ("payment method id", [method.id for method in self.payment_methods]),
                             ("faq id", [faq.id for faq in self.faqs])):
            problems += [f"{what} {value!r} appears {count} times" for value, count in Counter(values).items()
                         if count > 1]
        owners: dict[str, str] = {}
        for faq in self.faqs:
            for question in faq.questions:
                key = _plain(question)
                if owners.setdefault(key, faq.id) != faq.id:
                    problems.append(f"faqs.{faq.id}: the question {question!r} is also a question of "
                                    f"{owners[key]!r}")
        for package_id in self.packages:
            if not re.match(_SLUG, package_id):
                problems.append(f"packages: {package_id!r} is not a package id (lowercase, digits, dashes)")
        facts = self._facts()
        known = ", ".join(f"{{{name}}}" for name in [*facts, "includes:<package id>"])
        for faq in self.faqs:
            for name in _PLACEHOLDER.findall(faq.answer):
                if name.startswith("includes:"):
                    if name.removeprefix("includes:") not in self.packages:
                        problems.append(f"faqs.{faq.id}: {{{name}}} names no package of `packages`")
                elif name not in facts:
                    problems.append(f"faqs.{faq.id}: unknown placeholder {{{name}}} (known: {known})")
        if not problems:
            for faq in self.faqs:
                if len(answer := self.answer(faq.id)) > MAX_ANSWER_CHARS:
                    problems.append(f"faqs.{faq.id}: the answer has {len(answer)} characters once filled in, "
                                    f"more than {MAX_ANSWER_CHARS} (one WhatsApp message)")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # --- time ------------------------------------------------------------------------------------

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def hours_on(self, day: date) -> DayHours:
        """The opening periods of a local calendar day: none on a closed date or a weekday closed."""
        if any(closed.date == day for closed in self.closed_dates):
            return ()
        return self.hours.on_weekday(day.weekday())

    def is_open(self, at: datetime) -> bool:
        """Whether the studio is open at the instant `at` (timezone-aware; read in the business's zone)."""
        local = self._local(at)
        moment = local.time().replace(tzinfo=None)
        return any(moment in period for period in self.hours_on(local.date()))

    def next_opening(self, after: datetime) -> datetime:
        """The start of the first opening period strictly after `after` (timezone-aware), in the
        business's zone. Open at `after`, it is the next period's start, not the current one's:
        check `is_open` first to say "we are open now"."""
        local = self._local(after)
        # Validation keeps a weekday open, so every closed date passed leaves a week to find it.
        for offset in range(len(self.closed_dates) + 8):
            day = local.date() + timedelta(days=offset)
            for period in self.hours_on(day):
                start = datetime.combine(day, period.opens, tzinfo=self.zone)
                if start > local:
                    return start
        raise AssertionError("unreachable: a validated profile opens at least one weekday")

    def _local(self, at: datetime) -> datetime:
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"a timezone-aware datetime is needed, got the naive {at.isoformat()}")
        return at.astimezone(self.zone)

    # --- answers ---------------------------------------------------------------------------------

    def faq(self, faq_id: str) -> Faq:
        """The FAQ with that id (KeyError when there is none)."""
        for faq in self.faqs:
            if faq.id == faq_id:
                return faq
        raise KeyError(faq_id)

    def answer(self, faq_id: str) -> str:
        """The FAQ's answer as written, with its placeholders filled from the profile's fields."""
        facts = self._facts()

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("includes:"):
                return _includes(self.packages[name.removeprefix("includes:")].includes)
            return facts[name]

        return _PLACEHOLDER.sub(fill, self.faq(faq_id).answer)

    def _facts(self) -> dict[str, str]:
        return {
            "name": self.name,
            "address": self.address.line,
            "map_url": self.address.map_url,
            "directions": self.address.directions,
            "phone": self.phone,
            "email": self.email,
            "hours": describe_hours(self.hours),
            "closed_dates": _sentence_list([f"{_spanish_date(closed.date)} ({closed.reason})"
                                            for closed in self.closed_dates]) or "ninguno por ahora",
            "payment_methods": "\n".join(f"- {method.name}" + (f": {method.details}" if method.details else "")
                                         for method in self.payment_methods),
            "cancellation_hours": str(self.policies.cancellation.hours_before),
            "late_tolerance_minutes": str(self.policies.late_arrival.tolerance_minutes),
            "handoff_response_time": self.handoff.response_time,
            "packages": "\n".join(f"- {package.name}: {_includes(package.includes)}"
                                  for package in self.packages.values()),
        }


def load_profile(path: Path | str) -> BusinessProfile:
    """Read and validate the profile file; `ProfileError` names the file and every problem."""
    return load_yaml_model(path, BusinessProfile, ProfileError, what="the business profile",
                           shape="`version`, `name`, `hours`, `faqs`...")


# --- Spanish wording of the facts -----------------------------------------------------------------


def describe_hours(hours: WeeklyHours) -> str:
    """One line per run of weekdays with the same hours: "lunes a viernes: de 7:00 a 21:00"."""
    lines = []
    start = 0
    while start < len(WEEKDAYS):
        periods = hours.on_weekday(start)
        end = start
        while end + 1 < len(WEEKDAYS) and hours.on_weekday(end + 1) == periods:
            end += 1
        days = SPANISH_WEEKDAYS[start] if end == start else (
            f"{SPANISH_WEEKDAYS[start]} y {SPANISH_WEEKDAYS[end]}" if end == start + 1
            else f"{SPANISH_WEEKDAYS[start]} a {SPANISH_WEEKDAYS[end]}")
        when = "cerrado" if not periods else " y ".join(f"de {period}" for period in periods)
        lines.append(f"- {days[0].upper()}{days[1:]}: {when}")
        start = end + 1
    return "\n".join(lines)


def _clock(moment: time) -> str:
    return f"{moment.hour}:{moment.minute:02d}"


def _spanish_date(day: date) -> str:
    return f"{day.day} de {SPANISH_MONTHS[day.month - 1]} de {day.year}"


def _includes(items: tuple[str, ...]) -> str:
    """ "Diez clases; tapete y equipo; calcetas": the first item as written, the others lowercased."""
    rest = [item if item[:2].isupper() else item[:1].lower() + item[1:] for item in items[1:]]
    return "; ".join([items[0], *rest])


def _sentence_list(items: tuple[str, ...] | list[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} y {items[-1]}"


def _plain(text: str) -> str:
    """Lowercase, no accents or punctuation, single spaces: how two questions are compared."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    letters = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.sub(r"[^\w]+", " ", letters).split())
