"""Composition root of nlu: trains the built-in model, serves the Rasa API and runs the stage."""

from __future__ import annotations

import asyncio
import logging
import time

from contracts import MESSAGE_RECEIVED
from runtime.service import run_service, serve_stage
from services.nlu.catalogue import fetch_package_names
from services.nlu.engine import EngineConfig, NluEngine
from services.nlu.http import create_app
from services.nlu.settings import NluSettings
from services.nlu.stage import STAGE, make_handler

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
    await serve_stage(
        stop,
        settings=settings,
        name=STAGE,
        sources=[MESSAGE_RECEIVED],
        handler=make_handler(engine),
        app=create_app(engine),
    )


def main() -> None:
    settings = NluSettings()
    run_service(STAGE, settings, lambda stop: serve(stop, settings))


if __name__ == "__main__":
    main()
