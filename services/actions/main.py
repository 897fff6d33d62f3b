"""Composition root of actions: builds the business API adapter and the faust worker from settings.

`bootstrap(settings)` wires the real adapters; tests call it with fakes of what lies outside
(`business_api=`, `publisher=`) and get the same worker the service runs.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from faust.worker import Worker

from runtime.errors import DependencyUnreachable
from runtime.kafka import Publisher
from runtime.logs import configure_logging
from runtime.service import EXIT_UNREACHABLE
from runtime.settings import load_settings
from runtime.tracing import configure_tracing
from services.actions.adapters.business_api import BusinessApi, BusinessApiClient
from services.actions.agent import DialogueWorker, create_worker
from services.actions.flows import ActionsDeps
from services.actions.handler import STAGE
from services.actions.settings import ActionsSettings

log = logging.getLogger("actions")


def bootstrap(settings: ActionsSettings, *, business_api: BusinessApi | None = None,
              publisher: Publisher | None = None) -> DialogueWorker:
    """The actions worker wired from `settings`.

    Without `business_api` the HTTP adapter is built from the settings and the endpoints file
    (an invalid file raises `EndpointsError`, naming the file and the problem); without
    `publisher` the worker connects its own when it starts. The caller owns the adapter:
    `await worker.deps.business_api.close()` on shutdown.
    """
    api = business_api if business_api is not None else BusinessApiClient.from_settings(settings)
    return create_worker(settings, ActionsDeps.from_settings(settings, api), publisher=publisher)


async def preflight(settings: ActionsSettings) -> None:
    """Fail at start, in one line, when the broker cannot be reached (faust would retry forever)."""
    publisher = await Publisher.connect(settings, stage=STAGE)
    await publisher.close()


def main() -> None:
    settings = load_settings(ActionsSettings, STAGE)
    configure_logging(STAGE, level=settings.log_level, fmt=settings.log_format)
    configure_tracing(STAGE, settings.otel_exporter)
    try:
        asyncio.run(preflight(settings))
    except DependencyUnreachable as exc:
        log.error("start-up failed: %s", exc)
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_UNREACHABLE)
    worker = bootstrap(settings)
    Worker(worker.app, loglevel=settings.log_level, quiet=True, override_logging=False).execute_from_commandline()


if __name__ == "__main__":
    main()
