"""Composition root of responder: Twilio client, Redis ledger, the delayed receipt, and the stage.

The stage consumes `action.completed` (a reply per event, `handler.py`) and, when a delayed
receipt is configured (`RECEIPT_TEXT`, `RECEIPT_AFTER_S` > 0), `message.received` as well
(`receipt.py`); records are dispatched by event type.
"""

from __future__ import annotations

import asyncio
import dataclasses

from contracts import (
    ACTION_COMPLETED,
    MESSAGE_RECEIVED,
    STAFF_ACTED,
    ActionCompleted,
    Event,
    MessageReceived,
    StaffActed,
    Topic,
)
from runtime.redis_client import connect_redis
from runtime.service import run_service, serve_stage
from runtime.settings import load_settings
from runtime.stage import Handler, Output
from services.responder.adapters.ledger import ReplyLedger
from services.responder.adapters.twilio import TwilioSender
from services.responder.handler import STAGE, ResponderDeps, handle, handle_staff
from services.responder.receipt import DelayedReceipts
from services.responder.settings import ResponderSettings


def dispatcher(deps: ResponderDeps, receipts: DelayedReceipts | None) -> Handler[Event]:
    """The stage's handler: replies for `action.completed`, receipt timers for `message.received`."""

    async def dispatch(event: Event) -> list[Output]:
        if isinstance(event, ActionCompleted):
            # The reply's delivery callbacks name its chain (?correlation_id= in the callback URL).
            chained = dataclasses.replace(deps, sender=deps.sender.for_chain(event.correlation_id))
            return await handle(event, chained)
        if isinstance(event, StaffActed):
            chained = dataclasses.replace(deps, sender=deps.sender.for_chain(event.correlation_id))
            return await handle_staff(event, chained)
        if isinstance(event, MessageReceived) and receipts is not None:
            return await receipts.handle(event)
        raise TypeError(f"responder does not handle {event.type}")

    return dispatch


async def serve(stop: asyncio.Event, settings: ResponderSettings) -> None:
    redis = await connect_redis(settings.redis_url, service=STAGE)
    sender = TwilioSender.create(
        settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value(),
        api_base_url=settings.twilio_api_base_url, attempts=settings.send_attempts,
        backoff_s=settings.send_backoff_s, status_callback=settings.status_callback_url,
    )
    ledger = ReplyLedger(redis)
    deps = ResponderDeps(sender=sender, ledger=ledger, business_name=settings.business_name,
                         business_number=settings.business_number)
    receipts = None
    sources: list[Topic[ActionCompleted] | Topic[MessageReceived] | Topic[StaffActed]] = [ACTION_COMPLETED, STAFF_ACTED]
    if settings.delayed_receipt and settings.receipt_text:
        receipts = DelayedReceipts(text=settings.receipt_text, after_s=settings.receipt_after_s, sender=sender,
                                   ledger=ledger)
        sources.append(MESSAGE_RECEIVED)

    async def redis_ready() -> bool:
        return bool(await redis.ping())

    try:
        await serve_stage(stop, settings=settings, name=STAGE, sources=sources, handler=dispatcher(deps, receipts),
                          ready_checks={"redis": redis_ready})
    finally:
        if receipts is not None:
            await receipts.aclose()
        sender.close()
        await redis.aclose()


def main() -> None:
    settings = load_settings(ResponderSettings, STAGE)
    run_service(STAGE, settings, lambda stop: serve(stop, settings))


if __name__ == "__main__":
    main()
