"""Composition root of nlu: trains the built-in model, serves the Rasa API and runs the stage.

With `RASA_URL` set, the stage asks that Rasa server first (timeout, retries, circuit breaker)
and falls back to the built-in model. The Rasa-compatible HTTP API served here (`/model/parse`)
always answers from the built-in model: it is what this process offers, not a proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from contracts import MESSAGE_RECEIVED
from runtime.resilience import CircuitBreaker
from runtime.service import run_service, serve_stage
from runtime.settings import load_settings
from services.nlu.adapters.catalogue import fetch_package_names
from services.nlu.adapters.rasa import RasaClient
from services.nlu.engine import EngineConfig, NluEngine
from services.nlu.handler import STAGE, Parser, make_handler, record_circuit_change, record_rasa_failure
from services.nlu.http import create_app
from services.nlu.settings import NluSettings

log = logging.getLogger("nlu")


async def serve(stop: asyncio.Event, settings: NluSettings) -> None:
    catalogue = await fetch_package_names(settings.business_api_url, settings.business_api_token.get_secret_value())
    started = time.perf_counter()
    engine = NluEngine.train(
        settings.training_data,
        catalogue=catalogue,
        config=EngineConfig(timezone=settings.timezone, opens_at=settings.opens_at, closes_at=settings.closes_at),
    )
    log.info(
        "trained %s in %.1f s on %s, catalogue %s",
        engine.model_version,
        time.perf_counter() - started,
        settings.training_data.name,
        catalogue,
    )
    async with contextlib.AsyncExitStack() as resources:
        rasa = None
        if settings.rasa_url is not None:
            rasa = await resources.enter_async_context(rasa_client(settings))
        parser = Parser(engine, rasa)
        if rasa is not None:
            await parser.refresh_rasa_model()
            log.info("delegating to Rasa at %s (model %s), falling back to %s",
                     settings.rasa_url, parser.rasa_model, engine.model_version)
        await serve_stage(
            stop,
            settings=settings,
            name=STAGE,
            sources=[MESSAGE_RECEIVED],
            handler=make_handler(parser),
            app=create_app(engine),
        )


def rasa_client(settings: NluSettings) -> RasaClient:
    """The Rasa adapter from settings, its failures and circuit state wired to the stage's metrics."""
    if settings.rasa_url is None:
        raise ValueError("RASA_URL is not set")
    breaker = CircuitBreaker(
        name="rasa",
        failure_threshold=settings.rasa_breaker_threshold,
        reset_after_s=settings.rasa_breaker_cooldown_s,
        on_change=record_circuit_change,
    )
    return RasaClient(
        settings.rasa_url,
        timeout_s=settings.rasa_timeout_s,
        retries=settings.rasa_retries,
        breaker=breaker,
        token=settings.rasa_token.get_secret_value() if settings.rasa_token else None,
        on_failure=record_rasa_failure,
    )


def main() -> None:
    settings = load_settings(NluSettings, STAGE)
    run_service(STAGE, settings, lambda stop: serve(stop, settings))


if __name__ == "__main__":
    main()
