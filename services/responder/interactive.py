"""Quick-reply buttons and list pickers: what a reply offers as taps (Twilio Content API).

`Interactive` is the message's interactive part: the text (`body`) and the choices. The Content API
adapter (`adapters/content.py`) turns it into a `twilio/quick-reply` (up to 3 buttons, titles up to
20 characters) or a `twilio/list-picker` (up to 10 items, titles up to 24 characters) and sends it
with `ContentSid`/`ContentVariables`. A tap comes back through ingress as `ButtonPayload` (the
choice's `id`) and `ButtonText` (its title); nlu understands the id exactly (no guess).

`interactive_for(reply, followup, body, register)` decides what a reply offers (its docstring lists
the decision per kind); the ids follow the scheme of `contracts/taps.py`, which nlu decodes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from contracts import replies as r
from contracts.replies import Register, Reply
from contracts.taps import Tap, encode_tap
from services.responder.register import in_register
from services.responder.spanish import MONTHS, WEEKDAYS, count_label, money_label
from services.responder.split import twilio_length

QUICK_REPLY_MAX = 3
QUICK_REPLY_TITLE_MAX = 20
LIST_MAX = 10
LIST_TITLE_MAX = 24
LIST_DESCRIPTION_MAX = 72


@dataclass(frozen=True)
class Choice:
    id: str
    """What comes back as `ButtonPayload` when tapped (e.g. `act:afirmar`, `time:19:00`)."""
    title: str
    description: str = ""


@dataclass(frozen=True)
class Interactive:
    kind: Literal["quick_reply", "list"]
    body: str
    choices: tuple[Choice, ...]
    button: str = "Ver opciones"
    """The list picker's button label (unused by quick replies)."""


BODY_MAX = 1024
"""Twilio Content API: the body of a quick reply or a list picker is at most 1,024 characters."""
_ELLIPSIS = "…"
_DANGLING = frozenset({"a", "al", "con", "de", "del", "el", "en", "la", "las", "los", "o", "para", "por", "un", "una",
                       "y", "·", "-", "—", "|", "+"})
"""Words a trimmed title must not end on ("Pack de…")."""


@dataclass(frozen=True)
class _Words:
    """A title in each register; vos and usted differ from tú only where a verb is conjugated."""

    tu: str
    vos: str | None = None
    usted: str | None = None

    def said(self, register: Register) -> str:
        return {"tu": self.tu, "vos": self.vos or self.tu, "usted": self.usted or self.tu}[register]


_NO_THANKS = _Words("No, gracias")
_YES_NO: dict[str, tuple[_Words, _Words]] = {
    "confirm_booking": (_Words("Sí, resérvame", "Sí, reservame", "Sí, resérveme"), _Words("No, cambiar algo")),
    "confirm_cancel": (_Words("Sí, cancélala", "Sí, cancelala", "Sí, cancélela"),
                       _Words("No, consérvala", "No, conservala", "No, consérvela")),
    "confirm_purchase": (_Words("Sí, comprar"), _NO_THANKS),
    "confirm_profile": (_Words("Sí, cámbialo", "Sí, cambialo", "Sí, cámbielo"), _Words("No, lo corrijo")),
    "resume_flow": (_Words("Sí, sigamos"), _Words("No, déjalo", "No, dejalo", "No, déjelo")),
    "unknown_question": (_Words("Sí, por favor"), _NO_THANKS),
}
"""Yes/no questions: a yes taps `act:afirmar`, a no `act:negar`; each title says what the answer does
(a no to a booking summary asks what to change, a no to a new e-mail asks for it again)."""

_OPTIONS: dict[str, tuple[str, str]] = {
    "agendar una clase": ("agendar_cita", "Elegir día y hora"),
    "ver paquetes y precios": ("consultar_paquetes", "Precios, clases y vigencia"),
    "consultar horarios": ("consultar_horarios", "Las clases de los próximos días"),
    "cancelar una reserva": ("cancelar_cita", "Liberar tu lugar en una clase"),
    "pagar un paquete": ("pagar_servicio", "Comprar y recibir el enlace de pago"),
    "consultar tus reservas": ("consulta_estado", "Tus próximas clases"),
}
"""The options actions lists ("Puedo ayudarte a …", `CAPABILITIES`): the intent a tap asks for and a
description; an option not listed here is not offered as a tap (it is still in the text)."""


def interactive_for(reply: Reply, followup: Reply | None, body: str, register: Register = "tu") -> Interactive | None:
    """The taps that help answer the message's question, or None when typing is as good (or better).

    The question is the followup when there is one (a flow's question asked again, "¿Seguimos con…?"),
    else the reply. `body` is the message's rendered text. Per kind:

    - yes/no questions (`confirm_booking`, `confirm_cancel`, `confirm_purchase`, `confirm_profile`,
      `resume_flow`, `unknown_question`): a quick reply, `act:afirmar` and `act:negar`, titles in the
      customer's register;
    - a yes that means a request (`no_bookings` and an empty `booking_status`: "Sí, agendar una";
      an empty `credits` or `purchase_history`: "Sí, ver paquetes"; `flow_expired`: "Empezar de
      nuevo" that flow): that `intent:…` and `act:negar`;
    - class times (`offer_slots`, `slot_full`, the free classes of a one-day `schedule`): one
      `slot:<day>T<time>` per time (the day is in the id, so a tap on an older message never books
      another day), up to 3 as a quick reply, 4 to 10 as a list;
    - packages (`choose_package`, `no_credits`): a list, `package:<id>`, name and price;
    - bookings (`choose_booking`): a list, `booking:<code>`, day and time, class and code;
    - options (`greeting`, `help`, `clarification`): a list of `intent:…`.

    More than 10 choices gives None rather than a list that silently leaves some out (the text lists
    them all). Anything else, a body over `BODY_MAX`, or a value that cannot be an id gives None.
    """
    question = reply if followup is None else followup
    if not body.strip() or twilio_length(body) > BODY_MAX:
        return None
    try:
        offer = _offer(question, register)
    except ValueError:  # a package id or booking code the tap scheme cannot carry
        return None
    if offer is None:
        return None
    choices, button, always_list = offer
    return _arranged(choices, body, button, always_list=always_list)


def _offer(question: Reply, register: Register) -> tuple[list[Choice], str, bool] | None:
    """The choices `question` offers (titles and descriptions not yet fitted), the list's button label,
    and whether they are always a list; None when it offers none."""
    if question.kind in _YES_NO:
        yes, no = _YES_NO[question.kind]
        return [_choice(Tap("act", "afirmar"), yes.said(register)), _choice(Tap("act", "negar"), no.said(register))], \
            "", False
    if isinstance(question, (r.NoBookings, r.BookingStatus)):
        return None if getattr(question, "bookings", ()) else _yes_means("agendar_cita", "Sí, agendar una", register)
    if isinstance(question, (r.Credits, r.PurchaseHistory)):
        listed = question.packages if isinstance(question, r.Credits) else question.purchases
        return None if listed else _yes_means("consultar_paquetes", "Sí, ver paquetes", register)
    if isinstance(question, r.FlowExpired):
        return _yes_means(question.flow, "Empezar de nuevo", register)
    if isinstance(question, (r.OfferSlots, r.SlotFull)):
        return _slots(question.slots)
    if isinstance(question, r.Schedule) and question.date is not None:
        return _slots(tuple(slot for day in question.days for slot in day.slots if slot.available > 0))
    if isinstance(question, (r.ChoosePackage, r.NoCredits)):
        return _packages(question.packages)
    if isinstance(question, r.ChooseBooking):
        return _bookings(question.bookings, register)
    if isinstance(question, (r.Greeting, r.Help, r.Clarification)):
        return _options(question.options, register)
    return None


def _choice(tap: Tap, title: str, description: str = "") -> Choice:
    return Choice(id=encode_tap(tap), title=title, description=description)


def _yes_means(intent: str, yes: str, register: Register) -> tuple[list[Choice], str, bool]:
    return [_choice(Tap("intent", intent), yes), _choice(Tap("act", "negar"), _NO_THANKS.said(register))], "", False


def _slots(slots: Sequence[r.SlotInfo]) -> tuple[list[Choice], str, bool] | None:
    """One choice per day and time (two classes at the same time are one choice: the customer picks
    the time, as when typing it)."""
    by_time: dict[tuple[dt.date, str], list[r.SlotInfo]] = {}
    for slot in slots:
        by_time.setdefault((slot.date, slot.time), []).append(slot)
    if not by_time:
        return None
    several_days = len({day for day, _ in by_time}) > 1
    choices = []
    for (day, time), same in by_time.items():
        title = f"{_short_day(day, month=False)} · {time}" if several_days else time
        choices.append(_choice(Tap("slot", f"{day.isoformat()}T{time}"), title, _slot_description(same)))
    return choices, "Ver horarios", False


def _slot_description(slots: Sequence[r.SlotInfo]) -> str:
    names = " / ".join(dict.fromkeys(slot.class_name for slot in slots if slot.class_name))
    available = sum(slot.available for slot in slots)
    places = "queda 1 lugar" if available == 1 else f"quedan {available} lugares" if 1 < available <= 3 else ""
    return " · ".join(part for part in (names, places) if part) or "Hay lugar"


def _packages(packages: Sequence[r.PackageInfo]) -> tuple[list[Choice], str, bool] | None:
    firsts = {package.id: package for package in reversed(packages)}  # of a repeated id, the first is offered
    choices = [_choice(Tap("package", package.id), package.name, _package_description(package))
               for package in packages if firsts[package.id] is package]
    return (choices, "Ver paquetes", True) if choices else None


def _package_description(package: r.PackageInfo) -> str:
    detail = "clases ilimitadas" if package.sessions is None else count_label(package.sessions, "clase", "clases")
    if package.validity_days:
        detail += f", vigencia de {package.validity_days} días"
    price = money_label(package.price, package.currency)
    return f"{price} · {detail}" if price else detail


def _bookings(bookings: Sequence[r.BookingInfo], register: Register) -> tuple[list[Choice], str, bool] | None:
    """Bookings by code; a booking without one cannot be tapped exactly, and a list leaving it out would
    mislead: then no taps at all."""
    if not bookings or any(not booking.code for booking in bookings):
        return None
    choices: list[Choice] = []
    seen: set[str] = set()
    for booking in bookings:
        code = str(booking.code)
        if code in seen:
            continue
        seen.add(code)
        when = " · ".join(part for part in (_short_day(booking.date) if booking.date else "", booking.time or "")
                          if part) or code
        description = " · ".join(part for part in (booking.class_name, code) if part)
        choices.append(_choice(Tap("booking", code), when, description))
    return choices, in_register("Ver tus clases", register), True


def _options(options: Sequence[str], register: Register) -> tuple[list[Choice], str, bool] | None:
    choices: list[Choice] = []
    offered: set[str] = set()
    for option in options:
        intent, description = _OPTIONS.get(option.lower(), ("", ""))
        if intent and intent not in offered:  # one choice per intent
            offered.add(intent)
            title = in_register(option[0].upper() + option[1:], register)
            choices.append(_choice(Tap("intent", intent), title, in_register(description, register)))
    return (choices, "Ver opciones", True) if choices else None


def _short_day(day: dt.date, *, month: bool = True) -> str:
    """`2026-11-27` → `Vie 27 nov` (or `Vie 27`)."""
    label = f"{WEEKDAYS[day.weekday()][:3].capitalize()} {day.day}"
    return f"{label} {MONTHS[day.month - 1][:3]}" if month else label


def _arranged(choices: Sequence[Choice], body: str, button: str, *, always_list: bool) -> Interactive | None:
    """Up to 3 as quick-reply buttons (no descriptions), up to 10 as a list; titles fitted and unique."""
    if not choices or len(choices) > LIST_MAX:
        return None
    if len(choices) <= QUICK_REPLY_MAX and not always_list:
        titles = unique_titles([choice.title for choice in choices], QUICK_REPLY_TITLE_MAX)
        fitted = tuple(Choice(id=choice.id, title=title) for choice, title in zip(choices, titles, strict=True))
        return Interactive(kind="quick_reply", body=body, choices=fitted)
    titles = unique_titles([choice.title for choice in choices], LIST_TITLE_MAX)
    fitted = tuple(Choice(id=choice.id, title=title, description=fit(choice.description, LIST_DESCRIPTION_MAX))
                   for choice, title in zip(choices, titles, strict=True))
    return Interactive(kind="list", body=body, choices=fitted, button=fit(button, QUICK_REPLY_TITLE_MAX))


def fit(text: str, limit: int) -> str:
    """`text` in at most `limit` characters as Twilio counts them (`twilio_length`): cut after a whole
    word (never on "de", "y"…) with "…", or mid-word only when its first word alone is too long."""
    text = " ".join(text.split())
    if twilio_length(text) <= limit:
        return text
    room = limit - len(_ELLIPSIS)
    kept: list[str] = []
    for word in text.split(" "):
        if twilio_length(" ".join([*kept, word])) > room:
            break
        kept.append(word)
    while kept and kept[-1].lower().strip(",;:.") in _DANGLING:
        kept.pop()
    if not kept:
        cut = text[:room]
        while twilio_length(cut) > room:  # an emoji counts 2
            cut = cut[:-1]
        return cut.rstrip() + _ELLIPSIS
    return " ".join(kept).rstrip(",;:.·-") + _ELLIPSIS


def unique_titles(titles: Sequence[str], limit: int) -> list[str]:
    """Each title fitted to `limit`; one equal to an earlier one (ignoring case) gets " (2)", " (3)"…"""
    seen: set[str] = set()
    unique: list[str] = []
    for title in titles:
        candidate, number = fit(title, limit), 1
        while candidate.lower() in seen:
            number += 1
            suffix = f" ({number})"
            candidate = fit(title, limit - len(suffix)) + suffix
        seen.add(candidate.lower())
        unique.append(candidate)
    return unique
