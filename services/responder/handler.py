"""The responder's decision: which words, sent once, and which event records the outcome."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from prometheus_client import Counter

from contracts import (
    REPLY_FAILED,
    REPLY_SENT,
    ActionCompleted,
    ReplyFailed,
    ReplyFailedPayload,
    ReplySent,
    ReplySentPayload,
)
from runtime.stage import Output
from services.responder.adapters.ledger import ReplyLedger, claimed_at
from services.responder.adapters.twilio import TwilioSender
from services.responder.templates import render

log = logging.getLogger(__name__)

STAGE = "responder"
REPLIES = Counter("responder_replies_total", "Replies by template and result", ["template", "result"])


@dataclass
class ResponderDeps:
    sender: TwilioSender
    ledger: ReplyLedger
    business_name: str


def write_reply(event: ActionCompleted, business_name: str) -> tuple[str, str]:
    """The reply text and the kind of reply it writes."""
    payload = event.payload
    text = render(payload.reply, business=business_name, followup=payload.followup, register=payload.form_of_address)
    return text, payload.reply.kind


async def handle(event: ActionCompleted, deps: ResponderDeps) -> list[Output]:
    payload = event.payload
    body, template = write_reply(event, deps.business_name)
    sent = ReplySent.caused_by(event, stage=STAGE, payload=ReplySentPayload(
        to=payload.customer, from_=payload.business, body=body, message_sid="pending", template=template,
    ))
    state = await deps.ledger.claim(sent.event_id)
    if state is not None and state.startswith("sent:"):
        return [Output(REPLY_SENT, _with_sid(sent, state.removeprefix("sent:"), attempts=1))]
    if state == "failed":
        return []  # reply.failed was already published for this reply
    if state is not None and state.startswith("sending:"):
        sid = await deps.sender.find_sent(to=payload.customer, from_=payload.business, body=body,
                                          since=claimed_at(state))
        if sid is not None:
            await deps.ledger.record_sent(sent.event_id, sid, event.correlation_id)
            return [Output(REPLY_SENT, _with_sid(sent, sid, attempts=1))]
    result = await deps.sender.send(to=payload.customer, from_=payload.business, body=body)
    if result.ok and result.sid:
        await deps.ledger.record_sent(sent.event_id, result.sid, event.correlation_id)
        REPLIES.labels(template, "sent").inc()
        return [Output(REPLY_SENT, _with_sid(sent, result.sid, attempts=result.attempts))]
    await deps.ledger.record_failed(sent.event_id)
    REPLIES.labels(template, "failed").inc()
    failed = ReplyFailed.caused_by(event, stage=STAGE, payload=ReplyFailedPayload(
        to=payload.customer, body=body, template=template, error_code=result.error_code,
        error_message=result.error_message or "unknown error", attempts=result.attempts,
    ))
    return [Output(REPLY_FAILED, failed)]


def _with_sid(sent: ReplySent, sid: str, *, attempts: int) -> ReplySent:
    return sent.model_copy(update={"payload": sent.payload.model_copy(update={"message_sid": sid,
                                                                               "attempts": attempts})})
