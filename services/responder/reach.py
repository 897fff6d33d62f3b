"""Whether a message may reach the customer now, and in which form: WhatsApp's 24-hour window and
the customer's opt-out.

WhatsApp lets a business write free-form messages only within 24 hours of the customer's last
message; outside it only an approved template goes (Twilio refuses free-form with 63016). The
window is known from the stream: the latest of the inbound time the reply answers
(`action.completed.received_at`) and the last `message.received` the responder saw (Redis).

An opted-out customer gets nothing, except the confirmation of the opt-out itself, until they
write again: a reply to a message written after the opt-out goes out (writing again is consent).
The two checks are pure; `adapters/reach_store.py` keeps the times they read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from contracts.replies import PaymentConfirmed, PaymentFailed, Reply

WINDOW = dt.timedelta(hours=24)
WINDOW_MARGIN = dt.timedelta(minutes=1)
"""Sent this close to the window's end, a message could reach Twilio after it closes: treated as outside."""
OUTSIDE_WINDOW = 63016  # Twilio: free-form message outside the 24-hour window
OPTED_OUT = 21610  # Twilio: the recipient unsubscribed
ALWAYS_SENT = frozenset({"opted_out"})
"""Reply kinds that go out even to an opted-out customer: the confirmation of the opt-out."""


@dataclass(frozen=True)
class Reach:
    how: Literal["free_form", "template", "blocked"]
    content_sid: str | None = None
    variables: tuple[str, ...] = ()
    """The approved template's `{{1}}`, `{{2}}`, … in order."""
    error_code: int | None = None
    reason: str = ""


FREE_FORM = Reach("free_form")


def reach(*, now: dt.datetime, reply: Reply | None, last_inbound: dt.datetime | None,
          opted_out_at: dt.datetime | None, approved: Mapping[str, str]) -> Reach:
    """How a message may go to the customer now (`reply` None: a message staff wrote).

    `approved` maps reply kinds to the ContentSid of their approved WhatsApp template.
    """
    kind = reply.kind if reply is not None else None
    if opted_out_at is not None and kind not in ALWAYS_SENT and (last_inbound is None or last_inbound <= opted_out_at):
        return Reach("blocked", error_code=OPTED_OUT, reason="not sent: the customer opted out")
    if last_inbound is not None and now - last_inbound < WINDOW - WINDOW_MARGIN:
        return FREE_FORM
    if reply is not None and (sid := approved.get(reply.kind)):
        return Reach("template", content_sid=sid, variables=template_variables(reply))
    return Reach("blocked", error_code=OUTSIDE_WINDOW,
                 reason="not sent: outside the 24-hour window and no approved template for this kind")


def template_variables(reply: Reply) -> tuple[str, ...]:
    """The variables of a kind's approved template ({{1}}, {{2}}…), documented in docs/responder.md."""
    if isinstance(reply, PaymentConfirmed):
        until = f", vigente hasta el {reply.valid_until.strftime('%d/%m/%Y')}" if reply.valid_until else ""
        return (reply.package, until)
    if isinstance(reply, PaymentFailed):
        return (reply.package,)
    return ()
