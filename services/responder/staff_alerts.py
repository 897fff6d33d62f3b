"""Staff are told when a reply finally could not be sent and when a conversation is handed to them.

The decision is pure: `notice_for(event, zone=..., now=...)` says which events become which notice, in
Spanish for the staff, with the customer's number masked (`runtime.logs.mask_phone`, as in the logs);
news older than `STALE_AFTER` and a handoff already over are not told (a stage started on a topic's
backlog, or catching up after an outage, does not page staff about the past);
`with_skipped` adds the summary of notices held back ("…y 37 más"). `handle(event, deps)` is the
staff-notice stage's handler: it routes one notice through each configured channel
(`adapters/staff_channel.py`: a signed webhook, an approved WhatsApp template to an admin number),
once per event id and channel, within each channel's rate limit. A channel that fails is logged and
counted; its notice joins the held-back ones, summarised in the next notice that goes out; nothing
is raised into the pipeline and the handler publishes nothing.

The stage runs beside the reply stage, in its own consumer group (`services/responder/main.py`), so
a slow or dead channel never delays a reply.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from zoneinfo import ZoneInfo

from prometheus_client import Counter
from pydantic import JsonValue

from contracts import (
    CONVERSATION_HANDED_OFF,
    REPLY_FAILED,
    ConversationHandedOff,
    Event,
    ReplyFailed,
    Topic,
)
from runtime.logs import mask_phone
from runtime.stage import Output
from services.responder.spanish import day_label

log = logging.getLogger(__name__)

STAFF_ALERTS_GROUP = "responder-staff-alerts"
"""The consumer group of the staff-notice stage: its own offsets, apart from the replies'."""
StaffAlertInput = ReplyFailed | ConversationHandedOff
SOURCES: tuple[Topic[StaffAlertInput], ...] = (REPLY_FAILED, CONVERSATION_HANDED_OFF)  # type: ignore[assignment]

EXCERPT_CHARS = 160
STALE_AFTER = dt.timedelta(hours=6)
NOTICES = Counter("responder_staff_notices_total", "Staff notices by channel and result "
                  "(sent, duplicate, held back by the rate limit, failed)", ["channel", "result"])

_REASONS = {
    "asked": "pidió hablar con una persona",
    "not_understood": "el bot no le entendió dos veces seguidas",
    "unknown_question": "preguntó algo que el perfil del negocio no responde",
    "payment_claim": "dice que ya pagó: hay que revisarlo",
}


@dataclass(frozen=True)
class StaffNotice:
    """What staff are told about one event: a Spanish text and the facts behind it (numbers masked)."""

    event_id: str
    event_type: str
    occurred_at: dt.datetime
    conversation: str
    text: str
    details: dict[str, JsonValue] = field(default_factory=dict)

    def as_json(self, *, text: str, skipped: int) -> dict[str, JsonValue]:
        """The webhook's body: the notice with the summary of the ones held back (`skipped`)."""
        return {"event_id": self.event_id, "event_type": self.event_type,
                "occurred_at": self.occurred_at.isoformat(), "conversation": self.conversation, "text": text,
                "skipped": skipped, "details": self.details}


def notice_for(event: Event, *, zone: ZoneInfo, now: dt.datetime) -> StaffNotice | None:
    """The notice `event` becomes, or None when staff need not hear about it (any other event, old news,
    a handoff that is over)."""
    if now - event.occurred_at > STALE_AFTER:
        return None
    if isinstance(event, ReplyFailed):
        return _reply_failed(event)
    if isinstance(event, ConversationHandedOff) and event.payload.until > now:
        return _handed_off(event, zone)
    return None


def with_skipped(text: str, skipped: int) -> str:
    """`text` followed by how many notices were held back since the last one that went out."""
    if skipped <= 0:
        return text
    return f"{text}\n…y {skipped} más que no se enviaron, para no saturar este canal."


def one_line(text: str) -> str:
    """`text` on one line: WhatsApp refuses line breaks inside a template's variables."""
    return " ".join(text.split())


def _reply_failed(event: ReplyFailed) -> StaffNotice:
    payload = event.payload
    customer = mask_phone(payload.to)
    error = f"error {payload.error_code}: " if payload.error_code is not None else ""
    attempts = "1 intento" if payload.attempts == 1 else f"{payload.attempts} intentos"
    text = (f"⚠️ No se pudo enviar una respuesta a {customer} tras {attempts} ({error}{payload.error_message}). "
            f"Decía: «{_excerpt(payload.body)}». Conviene contactar al cliente por otra vía.")
    details: dict[str, JsonValue] = {"error_code": payload.error_code, "error_message": payload.error_message,
                                     "attempts": payload.attempts, "template": payload.template}
    return StaffNotice(event.event_id, event.type, event.occurred_at, customer, mask_phone(text), details)


def _handed_off(event: ConversationHandedOff, zone: ZoneInfo) -> StaffNotice:
    payload = event.payload
    customer = mask_phone(payload.customer)
    until = payload.until.astimezone(zone)
    said = f" Su último mensaje: «{_excerpt(payload.summary)}»." if payload.summary.strip() else ""
    text = (f"🙋 Una conversación espera a una persona: {customer} ({_REASONS[payload.reason]}).{said} "
            f"El bot no le responde hasta que se la devuelvan, o hasta el {day_label(until.date())} "
            f"a las {until:%H:%M}.")
    details: dict[str, JsonValue] = {"reason": payload.reason, "until": payload.until.isoformat()}
    return StaffNotice(event.event_id, event.type, event.occurred_at, customer, mask_phone(text), details)


def _excerpt(text: str) -> str:
    flat = one_line(text)
    return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1].rstrip() + "…"


# --- the stage's handler -------------------------------------------------------------------------------


class StaffChannelError(Exception):
    """A channel could not deliver a notice (after its own retries)."""


class StaffChannel(Protocol):
    """Where staff are told: delivers one notice's text, or raises `StaffChannelError`."""

    name: str

    async def deliver(self, notice: StaffNotice, text: str, *, skipped: int) -> None: ...


class NoticeGate(Protocol):
    """Once per event and channel, at most so many per minute per channel, shared by every process."""

    async def claim(self, channel: str, event_id: str) -> bool:
        """True the first time (event, channel) is seen; False for a duplicate."""
        ...

    async def admit(self, channel: str) -> int | None:
        """None: over this minute's limit (held back and counted); else how many were held back before."""
        ...

    async def hold_back(self, channel: str, count: int = 1) -> None:
        """Count notices that did not reach staff, for the next notice's summary."""
        ...


@dataclass(frozen=True)
class StaffAlertDeps:
    channels: Sequence[StaffChannel]
    gate: NoticeGate
    zone: ZoneInfo
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))


async def handle(event: Event, deps: StaffAlertDeps) -> list[Output]:
    """Tell staff about `event` through every channel; publishes nothing and never raises a channel's failure."""
    notice = notice_for(event, zone=deps.zone, now=deps.clock())
    if notice is not None:
        await asyncio.gather(*(_through(channel, notice, deps.gate) for channel in deps.channels))
    return []


async def _through(channel: StaffChannel, notice: StaffNotice, gate: NoticeGate) -> None:
    if not await gate.claim(channel.name, notice.event_id):
        NOTICES.labels(channel.name, "duplicate").inc()
        return
    skipped = await gate.admit(channel.name)
    if skipped is None:
        NOTICES.labels(channel.name, "held_back").inc()
        return
    try:
        await channel.deliver(notice, with_skipped(notice.text, skipped), skipped=skipped)
    except StaffChannelError as exc:
        NOTICES.labels(channel.name, "failed").inc()
        await gate.hold_back(channel.name, skipped + 1)  # told in the next notice that goes out
        log.warning("staff notice %s (%s) not delivered by %s: %s", notice.event_id, notice.event_type,
                    channel.name, exc)
        return
    NOTICES.labels(channel.name, "sent").inc()
