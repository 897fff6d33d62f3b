"""Composition root of actions: wires the business API client and runs the stage."""

from __future__ import annotations

import asyncio

from contracts import INTENT_DETECTED, IntentDetected
from runtime.service import run_service, serve_stage
from runtime.stage import Output
from services.actions.business_api import BusinessApiClient
from services.actions.policy import STAGE, ActionsDeps, handle
from services.actions.settings import ActionsSettings


async def serve(stop: asyncio.Event, settings: ActionsSettings) -> None:
    api = BusinessApiClient.from_settings(
        settings.business_api_url, settings.business_api_token.get_secret_value(),
        timeout_s=settings.business_api_timeout_s, retries=settings.business_api_retries,
    )
    deps = ActionsDeps(business_api=api, confidence_threshold=settings.confidence_threshold)

    async def handler(event: IntentDetected) -> list[Output]:
        return await handle(event, deps)

    try:
        await serve_stage(stop, settings=settings, name=STAGE, sources=[INTENT_DETECTED], handler=handler,
                          ready_checks={"business_api": api.ready})
    finally:
        await api.close()


def main() -> None:
    settings = ActionsSettings()
    run_service(STAGE, settings, lambda stop: serve(stop, settings))


if __name__ == "__main__":
    main()
