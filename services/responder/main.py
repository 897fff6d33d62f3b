"""Composition root of responder: Twilio client, Redis ledger, the delayed receipt, and the stage.

The stage consumes `action.completed` and `staff.acted` (a message each, `handler.py`),
`message.received` (the 24-hour window's start, and the delayed receipt when configured:
`RECEIPT_TEXT`, `RECEIPT_AFTER_S` > 0, `receipt.py`) and `conversation.opted_out`; records are
dispatched by event type. With `OPENROUTER_API_KEY` an LLM words the
replies (`writer.py`), else the templates do.

With a staff channel configured (`RESPONDER_STAFF_WEBHOOK_URL`, `RESPONDER_STAFF_WHATSAPP_TO`), a second
stage in the same process tells staff about `reply.failed` and `conversation.handed_off`
(`staff_alerts.py`), in its own consumer group with its own ops port, so a slow or dead staff channel
never delays a reply. Nothing configured: that stage does not start.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from contracts import (
    ACTION_COMPLETED,
    CONVERSATION_OPTED_OUT,
    MESSAGE_RECEIVED,
    STAFF_ACTED,
    ActionCompleted,
    ConversationOptedOut,
    Event,
    MessageReceived,
    StaffActed,
    Topic,
)
from runtime.redis_client import connect_redis
from runtime.resilience import CircuitBreaker
from runtime.service import run_service, run_until_stopped, serve_stage
from runtime.settings import load_settings
from runtime.stage import Handler, Output
from services.responder.adapters.content import ContentRegistry
from services.responder.adapters.context import ConversationContext
from services.responder.adapters.ledger import ReplyLedger
from services.responder.adapters.openrouter import OpenRouterClient
from services.responder.adapters.reach_store import ReachStore
from services.responder.adapters.staff_channel import RedisNoticeGate, WebhookChannel, WhatsAppTemplateChannel
from services.responder.adapters.twilio import TwilioSender
from services.responder.adapters.written import WrittenReplies
from services.responder.handler import STAGE, ResponderDeps, handle, handle_staff
from services.responder.receipt import DelayedReceipts
from services.responder.settings import ResponderSettings
from services.responder.staff_alerts import SOURCES as STAFF_ALERT_SOURCES
from services.responder.staff_alerts import STAFF_ALERTS_GROUP, StaffAlertDeps, StaffChannel
from services.responder.staff_alerts import handle as handle_staff_alert
from services.responder.writer import ReplyWriter


def dispatcher(deps: ResponderDeps, receipts: DelayedReceipts | None) -> Handler[Event]:
    """The stage's handler: replies for `action.completed` and `staff.acted`; for `message.received` the
    window's start (and the receipt timer); for `conversation.opted_out` the opt-out."""

    async def dispatch(event: Event) -> list[Output]:
        if isinstance(event, ActionCompleted):
            # The reply's delivery callbacks name its chain (?correlation_id= in the callback URL).
            chained = dataclasses.replace(deps, sender=deps.sender.for_chain(event.correlation_id))
            return await handle(event, chained)
        if isinstance(event, StaffActed):
            chained = dataclasses.replace(deps, sender=deps.sender.for_chain(event.correlation_id))
            return await handle_staff(event, chained)
        if isinstance(event, MessageReceived):
            if deps.reach is not None:  # the 24-hour window runs from the customer's last message
                await deps.reach.inbound(event.conversation_id, event.payload.received_at)
            return await receipts.handle(event) if receipts is not None else []
        if isinstance(event, ConversationOptedOut):
            if deps.reach is not None:
                await deps.reach.opted_out(event.conversation_id, event.occurred_at)
            return []
        raise TypeError(f"responder does not handle {event.type}")

    return dispatch


def reply_writer(settings: ResponderSettings, context: ConversationContext, redis: Redis) -> ReplyWriter:
    """The LLM writer when OPENROUTER_API_KEY is set, else the templates alone."""
    client = None
    if settings.openrouter_api_key is not None and settings.openrouter_api_key.get_secret_value():
        client = OpenRouterClient(
            settings.openrouter_api_key.get_secret_value(), models=settings.llm_models,
            base_url=settings.openrouter_base_url, app_url=settings.llm_app_url, app_title=settings.llm_app_title,
            max_tokens=settings.llm_max_tokens, temperature=settings.llm_temperature,
            timeout_s=settings.llm_timeout_s, budget_s=settings.llm_budget_s, attempts=settings.llm_attempts,
            breaker=CircuitBreaker(name="openrouter", failure_threshold=settings.llm_circuit_failures,
                                   reset_after_s=settings.llm_circuit_reset_s),
            max_connections=settings.concurrency,  # one per reply in flight: the LLM is the slow call
        )
    return ReplyWriter(settings.business_name, client=client, context=context, written=WrittenReplies(redis),
                       persona=settings.llm_persona, context_turns=settings.llm_context_turns)


async def serve(stop: asyncio.Event, settings: ResponderSettings) -> None:
    redis = await connect_redis(settings.redis_url, service=STAGE)
    sender = TwilioSender.create(
        settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value(),
        api_base_url=settings.twilio_api_base_url, attempts=settings.send_attempts,
        backoff_s=settings.send_backoff_s, status_callback=settings.status_callback_url,
    )
    ledger = ReplyLedger(redis)
    content = ContentRegistry.create(
        redis, account_sid=settings.twilio_account_sid, auth_token=settings.twilio_auth_token.get_secret_value(),
        base_url=settings.content_base_url, language=settings.content_language, timeout_s=settings.content_timeout_s,
    )
    context = ConversationContext(redis)
    writer = reply_writer(settings, context, redis)
    deps = ResponderDeps(sender=sender, ledger=ledger, business_name=settings.business_name,
                         business_number=settings.business_number, content=content, writer=writer, context=context,
                         reach=ReachStore(redis), buttons=settings.buttons,
                         approved_templates=settings.approved_templates)
    receipts = None
    sources: list[Topic[Any]] = [ACTION_COMPLETED, STAFF_ACTED, MESSAGE_RECEIVED, CONVERSATION_OPTED_OUT]
    if settings.delayed_receipt and settings.receipt_text:
        receipts = DelayedReceipts(text=settings.receipt_text, after_s=settings.receipt_after_s, sender=sender,
                                   ledger=ledger)

    async def redis_ready() -> bool:
        return bool(await redis.ping())

    try:
        replies = serve_stage(stop, settings=settings, name=STAGE, sources=sources,
                              handler=dispatcher(deps, receipts), ready_checks={"redis": redis_ready})
        if settings.staff_alerts_enabled:
            await run_until_stopped(stop, replies, serve_staff_alerts(stop, settings, redis))
        else:
            await replies
    finally:
        if receipts is not None:
            await receipts.aclose()
        await sender.aclose()
        await content.aclose()
        await writer.aclose()
        await redis.aclose()


async def serve_staff_alerts(stop: asyncio.Event, settings: ResponderSettings, redis: Redis) -> None:
    """The staff-notice stage: `reply.failed` and `conversation.handed_off` in a consumer group of their
    own, served on `RESPONDER_STAFF_ALERTS_HTTP_PORT`. Its dead letters (records that do not decode) go
    to the responder's dead-letter topic."""
    channels: list[StaffChannel] = []
    webhook: WebhookChannel | None = None
    sender: TwilioSender | None = None
    if settings.staff_webhook_url and settings.staff_webhook_secret is not None:
        webhook = WebhookChannel.create(settings.staff_webhook_url, settings.staff_webhook_secret.get_secret_value(),
                                        timeout_s=settings.staff_webhook_timeout_s,
                                        attempts=settings.staff_webhook_attempts)
        channels.append(webhook)
    if settings.staff_whatsapp_to and settings.staff_whatsapp_content_sid:
        sender = TwilioSender.create(  # no status callback: a notice to staff is no reply of a conversation
            settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value(),
            api_base_url=settings.twilio_api_base_url, attempts=2, backoff_s=settings.send_backoff_s,
            status_callback=None,
        )
        channels.append(WhatsAppTemplateChannel(sender, to=settings.staff_whatsapp_to, from_=settings.business_number,
                                                content_sid=settings.staff_whatsapp_content_sid))
    deps = StaffAlertDeps(channels=channels, gate=RedisNoticeGate(redis, per_minute=settings.staff_alerts_per_minute),
                          zone=ZoneInfo(settings.staff_alerts_timezone))

    async def redis_ready() -> bool:
        return bool(await redis.ping())

    try:
        await serve_stage(stop, settings=settings.model_copy(update={"http_port": settings.staff_alerts_http_port}),
                          name=STAGE, sources=STAFF_ALERT_SOURCES, group_id=STAFF_ALERTS_GROUP,
                          handler=lambda event: handle_staff_alert(event, deps), ready_checks={"redis": redis_ready})
    finally:
        if webhook is not None:
            await webhook.aclose()
        if sender is not None:
            await sender.aclose()


def main() -> None:
    settings = load_settings(ResponderSettings, STAGE)
    run_service(STAGE, settings, lambda stop: serve(stop, settings))


if __name__ == "__main__":
    main()
