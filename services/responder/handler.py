"""The responder's decision: which words, sent once, and which event records the outcome."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from prometheus_client import Counter

from contracts import (
    REPLY_FAILED,
    REPLY_SENT,
    ActionCompleted,
    Event,
    ReplyFailed,
    ReplyFailedPayload,
    ReplySent,
    ReplySentPayload,
    StaffActed,
)
from runtime.stage import Output
from services.responder.adapters.ledger import ReplyLedger, claimed_at
from services.responder.adapters.twilio import TwilioSender
from services.responder.templates import render

log = logging.getLogger(__name__)

STAGE = "responder"
REPLIES = Counter("responder_replies_total", "Replies by template and result", ["template", "result"])


STAFF_TEMPLATE = "staff"
"""`reply.sent.template` of a message staff wrote (not a reply kind: no template wrote it)."""


@dataclass
class ResponderDeps:
    sender: TwilioSender
    ledger: ReplyLedger
    business_name: str
    business_number: str = "whatsapp:+14155238886"


def write_reply(event: ActionCompleted, business_name: str) -> tuple[str, str]:
    """The reply text and the kind of reply it writes."""
    payload = event.payload
    text = render(payload.reply, business=business_name, followup=payload.followup, register=payload.form_of_address)
    return text, payload.reply.kind


async def handle(event: ActionCompleted, deps: ResponderDeps) -> list[Output]:
    """The reply `event` asks for, written and sent once."""
    payload = event.payload
    body, template = write_reply(event, deps.business_name)
    return await send_once(event, to=payload.customer, from_=payload.business, body=body, template=template,
                           deps=deps)


async def handle_staff(event: StaffActed, deps: ResponderDeps) -> list[Output]:
    """A message staff wrote through the admin API, sent as is (a hand-back sends nothing)."""
    payload = event.payload
    if payload.action != "reply" or not payload.body.strip():
        return []
    return await send_once(event, to=payload.customer, from_=payload.business or deps.business_number,
                           body=payload.body, template=STAFF_TEMPLATE, deps=deps)


async def send_once(cause: Event, *, to: str, from_: str, body: str, template: str,
                    deps: ResponderDeps) -> list[Output]:
    """Send `body` once for `cause`, whatever the redeliveries: the ledger claims the reply before the
    Twilio call and records it after; a claim found without a record asks Twilio whether it went out."""
    sent = ReplySent.caused_by(cause, stage=STAGE, payload=ReplySentPayload(
        to=to, from_=from_, body=body, message_sid="pending", template=template,
    ))
    state = await deps.ledger.claim(sent.event_id)
    if state is not None and state.startswith("sent:"):
        return [Output(REPLY_SENT, _with_sid(sent, state.removeprefix("sent:"), attempts=1))]
    if state == "failed":
        return []  # reply.failed was already published for this reply
    if state is not None and state.startswith("sending:"):
        sid = await deps.sender.find_sent(to=to, from_=from_, body=body, since=claimed_at(state))
        if sid is not None:
            await deps.ledger.record_sent(sent.event_id, sid, cause.correlation_id)
            return [Output(REPLY_SENT, _with_sid(sent, sid, attempts=1))]
    result = await deps.sender.send(to=to, from_=from_, body=body)
    if result.ok and result.sid:
        await deps.ledger.record_sent(sent.event_id, result.sid, cause.correlation_id)
        REPLIES.labels(template, "sent").inc()
        return [Output(REPLY_SENT, _with_sid(sent, result.sid, attempts=result.attempts))]
    await deps.ledger.record_failed(sent.event_id)
    REPLIES.labels(template, "failed").inc()
    failed = ReplyFailed.caused_by(cause, stage=STAGE, payload=ReplyFailedPayload(
        to=to, body=body, template=template, error_code=result.error_code,
        error_message=result.error_message or "unknown error", attempts=result.attempts,
    ))
    return [Output(REPLY_FAILED, failed)]


def _with_sid(sent: ReplySent, sid: str, *, attempts: int) -> ReplySent:
    return sent.model_copy(update={"payload": sent.payload.model_copy(update={"message_sid": sid,
                                                                               "attempts": attempts})})
