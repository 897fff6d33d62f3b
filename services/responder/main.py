"""Composition root of responder: Twilio client, Redis ledger, and the stage."""

from __future__ import annotations

import asyncio

from contracts import ACTION_COMPLETED, ActionCompleted
from runtime.redis_client import connect_redis
from runtime.service import run_service, serve_stage
from runtime.stage import Output
from services.responder.adapters.ledger import ReplyLedger
from services.responder.adapters.twilio import TwilioSender
from services.responder.handler import STAGE, ResponderDeps, handle
from services.responder.settings import ResponderSettings


async def serve(stop: asyncio.Event, settings: ResponderSettings) -> None:
    redis = await connect_redis(settings.redis_url, service=STAGE)
    sender = TwilioSender.create(
        settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value(),
        api_base_url=settings.twilio_api_base_url, attempts=settings.send_attempts,
        backoff_s=settings.send_backoff_s, status_callback=settings.status_callback_url,
    )
    deps = ResponderDeps(sender=sender, ledger=ReplyLedger(redis), business_name=settings.business_name)

    async def handler(event: ActionCompleted) -> list[Output]:
        return await handle(event, deps)

    async def redis_ready() -> bool:
        return bool(await redis.ping())

    try:
        await serve_stage(stop, settings=settings, name=STAGE, sources=[ACTION_COMPLETED], handler=handler,
                          ready_checks={"redis": redis_ready})
    finally:
        sender.close()
        await redis.aclose()


def main() -> None:
    settings = ResponderSettings()
    run_service(STAGE, settings, lambda stop: serve(stop, settings))


if __name__ == "__main__":
    main()
