"""The responder's decision: which words, sent once, and which event records the outcome."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from prometheus_client import Counter

from contracts import (
    CONVERSATION_OPTED_OUT,
    REPLY_FAILED,
    REPLY_SENT,
    ActionCompleted,
    ConversationOptedOut,
    Event,
    OptOutPayload,
    ReplyFailed,
    ReplyFailedPayload,
    ReplySent,
    ReplySentPayload,
    StaffActed,
)
from contracts.replies import Reply
from runtime.stage import Output
from services.responder.adapters.content import (
    ApprovedTemplate,
    ContentError,
    ContentRegistry,
    body_variables,
)
from services.responder.adapters.context import ConversationContext, Turn, bot_turn, user_turn
from services.responder.adapters.ledger import FAILED, ReplyLedger, claimed_at
from services.responder.adapters.reach_store import ReachStore
from services.responder.adapters.twilio import SendResult, TwilioSender
from services.responder.interactive import BODY_MAX, Interactive, interactive_for
from services.responder.reach import FREE_FORM, OPTED_OUT, Reach, reach
from services.responder.split import split_body
from services.responder.writer import ReplyWriter, Written

log = logging.getLogger(__name__)

STAGE = "responder"
REPLIES = Counter("responder_replies_total", "Replies by template and result", ["template", "result"])


UNKNOWN_CONTENT = 21655  # Twilio: the ContentSid is invalid (e.g. the Content was deleted)

STAFF_TEMPLATE = "staff"
"""`reply.sent.template` of a message staff wrote (not a reply kind: no template wrote it)."""


@dataclass
class ResponderDeps:
    sender: TwilioSender
    ledger: ReplyLedger
    business_name: str
    business_number: str = "whatsapp:+14155238886"
    content: ContentRegistry | None = None
    """Quick replies and lists through Twilio's Content API; None: interactive messages go as plain text."""
    writer: ReplyWriter | None = None
    """Writes the replies (an LLM checked by guardrails, else templates); None: templates."""
    context: ConversationContext | None = None
    """The conversation's recent turns (the LLM's prompt reads them); None: not recorded."""
    reach: ReachStore | None = None
    """The customer's last inbound message and opt-out (`reach.py`); None: every message is sent free-form."""
    buttons: bool = False
    """Offer quick replies and lists (`interactive.py`) where a reply asks for a choice."""
    approved_templates: Mapping[str, str] = field(default_factory=dict)
    """Reply kind → ContentSid of its WhatsApp-approved template, sent outside the 24-hour window."""


async def handle(event: ActionCompleted, deps: ResponderDeps) -> list[Output]:
    """The reply `event` asks for, written and sent once, if and as the customer may get it."""
    payload = event.payload
    # The customer's turn is recorded before writing (the prompt shows it), while the reach is read.
    decision, _ = await asyncio.gather(_reach(event, payload.reply, payload.received_at, deps),
                                       _record(deps.context, event.conversation_id, [user_turn(event)]))
    if decision.how == "blocked":
        return [_not_sent(event, to=payload.customer, body="", template=payload.reply.kind, decision=decision)]
    written = await (deps.writer or ReplyWriter(deps.business_name)).write(event)
    body, template = written.body, payload.reply.kind
    approved = None
    interactive = None
    if decision.how == "template" and decision.content_sid:
        approved = ApprovedTemplate(decision.content_sid, decision.variables)
    elif deps.buttons:
        interactive = interactive_for(payload.reply, payload.followup, body, payload.form_of_address)
    outputs = await send_once(event, to=payload.customer, from_=payload.business, body=body, template=template,
                              deps=deps, written=written, interactive=interactive, approved=approved)
    await _record(deps.context, event.conversation_id,
                  [bot_turn(o.event) for o in outputs if isinstance(o.event, ReplySent)])
    return outputs + await _opted_out_by_twilio(event, outputs, deps)


async def _record(context: ConversationContext | None, conversation_id: str, turns: list[Turn | None]) -> None:
    if context is not None:
        await context.record(conversation_id, turns)


async def handle_staff(event: StaffActed, deps: ResponderDeps) -> list[Output]:
    """A message staff wrote through the admin API, sent as is (a hand-back sends nothing), unless the
    customer opted out or the 24-hour window closed (then `reply.failed` says so)."""
    payload = event.payload
    if payload.action != "reply" or not payload.body.strip():
        return []
    decision = await _reach(event, None, None, deps)
    if decision.how == "blocked":
        return [_not_sent(event, to=payload.customer, body=payload.body, template=STAFF_TEMPLATE, decision=decision)]
    outputs = await send_once(event, to=payload.customer, from_=payload.business or deps.business_number,
                              body=payload.body, template=STAFF_TEMPLATE, deps=deps)
    return outputs + await _opted_out_by_twilio(event, outputs, deps)


async def _reach(event: Event, reply: Reply | None, received_at: dt.datetime | None, deps: ResponderDeps) -> Reach:
    if deps.reach is None:
        return FREE_FORM
    last_inbound, opted_out_at = await deps.reach.times(event.conversation_id)
    if received_at is not None and (last_inbound is None or received_at > last_inbound):
        last_inbound = received_at
    return reach(now=dt.datetime.now(dt.UTC), reply=reply, last_inbound=last_inbound, opted_out_at=opted_out_at,
                 approved=deps.approved_templates)


def _not_sent(cause: Event, *, to: str, body: str, template: str, decision: Reach) -> Output:
    """`reply.failed` for a message the window or the opt-out kept from being sent (Twilio not called)."""
    REPLIES.labels(template, "not_sent").inc()
    return Output(REPLY_FAILED, ReplyFailed.caused_by(cause, stage=STAGE, payload=ReplyFailedPayload(
        to=to, body=body, template=template, error_code=decision.error_code, error_message=decision.reason,
        attempts=0,
    )))


async def _opted_out_by_twilio(cause: Event, outputs: list[Output], deps: ResponderDeps) -> list[Output]:
    """Twilio refused a send with 21610 (the customer unsubscribed): the conversation is opted out."""
    refused = [o for o in outputs if isinstance(o.event, ReplyFailed) and o.event.payload.error_code == OPTED_OUT
               and o.event.payload.attempts > 0]
    if not refused:
        return []
    failed = refused[0].event
    if deps.reach is not None:
        await deps.reach.opted_out(cause.conversation_id, failed.occurred_at)
    return [Output(CONVERSATION_OPTED_OUT, ConversationOptedOut.caused_by(failed, stage=STAGE, payload=OptOutPayload(
        customer=cause.conversation_id, source="twilio", error_code=OPTED_OUT)))]


async def send_once(cause: Event, *, to: str, from_: str, body: str, template: str,
                    deps: ResponderDeps, interactive: Interactive | None = None,
                    approved: ApprovedTemplate | None = None, written: Written | None = None) -> list[Output]:
    """Send `body` once for `cause`, whatever the redeliveries: the ledger claims the reply before the
    Twilio call and records it after; a claim found without a record asks Twilio whether it went out.

    A body over Twilio's 1,600 characters goes as parts in order (`split_body`), each claimed and
    recorded on its own (`part_key`), so a redelivery sends only the parts not yet sent. With
    `interactive`, the last part carries its buttons or list (a Content from `deps.content`; plain
    text if none can be had). With `approved`, the message is that template (one message; `body` is
    what the template renders, for the record and the "did it go out?" lookup).
    """
    sent = ReplySent.caused_by(cause, stage=STAGE, payload=ReplySentPayload(
        to=to, from_=from_, body=body, message_sid="pending", template=template,
    ).model_copy(update=how_written(written)))
    last_limit = BODY_MAX if interactive is not None else None
    parts = [body] if approved is not None else split_body(body, last_limit=last_limit)
    sids: list[str] = []
    attempts = 0
    content_sid: str | None = None
    sent_now = False
    for index, part in enumerate(parts):
        key = part_key(sent.event_id, index)
        last = index == len(parts) - 1
        state = await deps.ledger.claim(key)
        if state is not None and state.startswith(FAILED):  # the same reply.failed again (idempotent by id)
            return [Output(REPLY_FAILED, REPLY_FAILED.decode(state.removeprefix(FAILED).encode()))]
        sid = state.removeprefix("sent:") if state is not None and state.startswith("sent:") else None
        if state is not None and state.startswith("sending:"):
            sid = await deps.sender.find_sent(to=to, from_=from_, body=part, since=claimed_at(state))
            if sid is not None:
                await deps.ledger.record_sent(key, sid, cause.correlation_id)
        if sid is not None:  # went out before this delivery
            sids.append(sid)
            attempts += 1
            if last:
                content_sid = await _content_used(deps, interactive, approved)
            continue
        outgoing = await _outgoing(part, deps, interactive if last else None, approved)
        result = await deps.sender.send(to=to, from_=from_, body=outgoing.body, content_sid=outgoing.content_sid,
                                        content_variables=outgoing.content_variables)
        if result.error_code == UNKNOWN_CONTENT and approved is None and interactive is not None \
                and deps.content is not None and outgoing.content_sid is not None:
            # The cached Content is gone at Twilio: forget it, and the choices go as plain text this time.
            await deps.content.forget(interactive, outgoing.content_sid)
            outgoing = _Outgoing(part)
            result = await deps.sender.send(to=to, from_=from_, body=part)
        if not (result.ok and result.sid):
            failed = _failed(cause, to=to, body=body, template=template, result=result, part=index,
                             parts=len(parts), sids=sids)
            await deps.ledger.record_failed(key, REPLY_FAILED.encode(failed).decode())
            REPLIES.labels(template, "failed").inc()
            return [Output(REPLY_FAILED, failed)]
        await deps.ledger.record_sent(key, result.sid, cause.correlation_id)
        sids.append(result.sid)
        attempts += result.attempts
        content_sid = outgoing.content_sid
        sent_now = True
    if sent_now:
        REPLIES.labels(template, "sent").inc()
    return [Output(REPLY_SENT, _with_sids(sent, sids, attempts=attempts, content_sid=content_sid))]


def part_key(reply_id: str, index: int) -> str:
    """The ledger key of part `index` of a reply: the reply id itself for the first (a single message
    keeps the key it always had), `<reply id>:<index>` for the next ones."""
    return reply_id if index == 0 else f"{reply_id}:{index}"


@dataclass(frozen=True)
class _Outgoing:
    body: str | None
    content_sid: str | None = None
    content_variables: str | None = None


async def _outgoing(part: str, deps: ResponderDeps, interactive: Interactive | None,
                    approved: ApprovedTemplate | None) -> _Outgoing:
    """What Twilio gets for `part`: the approved template, the Content with the choices, or plain text."""
    if approved is not None:
        return _Outgoing(None, approved.sid, approved.content_variables())
    if interactive is not None and deps.content is not None:
        try:
            sid = await deps.content.sid_for(interactive)
        except ContentError as exc:
            log.warning("choices sent as plain text: no Content for them: %s", exc)
        else:
            return _Outgoing(None, sid, body_variables(part))
    return _Outgoing(part)


async def _content_used(deps: ResponderDeps, interactive: Interactive | None,
                        approved: ApprovedTemplate | None) -> str | None:
    """The Content a part sent before this delivery most likely used (the registry's, if it has one)."""
    if approved is not None:
        return approved.sid
    if interactive is not None and deps.content is not None:
        return await deps.content.known_sid(interactive)
    return None


def _failed(cause: Event, *, to: str, body: str, template: str, result: SendResult, part: int, parts: int,
            sids: list[str]) -> ReplyFailed:
    message = result.error_message or "unknown error"
    if parts > 1:
        before = f" (sent before it: {', '.join(sids)})" if sids else ""
        message = f"part {part + 1} of {parts}{before}: {message}"
    return ReplyFailed.caused_by(cause, stage=STAGE, payload=ReplyFailedPayload(
        to=to, body=body, template=template, error_code=result.error_code, error_message=message,
        attempts=result.attempts,
    ))


def _with_sids(sent: ReplySent, sids: list[str], *, attempts: int, content_sid: str | None) -> ReplySent:
    update = {"message_sid": sids[0], "message_sids": tuple(sids), "attempts": attempts, "content_sid": content_sid}
    return sent.model_copy(update={"payload": sent.payload.model_copy(update=update)})


def how_written(written: Written | None) -> dict[str, object]:
    """`reply.sent`'s record of how the words were written (nothing for staff messages)."""
    if written is None:
        return {}
    return {"generator": written.generator, "model": written.model, "prompt_tokens": written.prompt_tokens,
            "completion_tokens": written.completion_tokens, "cost": written.cost,
            "llm_latency_ms": written.llm_latency_ms, "fallback": written.fallback}
