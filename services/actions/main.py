"""Composition root of actions: checks its dependencies, wires the business API, runs the faust worker."""

from __future__ import annotations

import asyncio
import logging
import sys

from faust.worker import Worker

from runtime.errors import DependencyUnreachable
from runtime.kafka import Publisher
from runtime.logs import configure_logging
from runtime.service import EXIT_UNREACHABLE
from runtime.tracing import configure_tracing
from services.actions.app import create_app
from services.actions.policy import STAGE
from services.actions.settings import ActionsSettings
from services.actions.wiring import build_deps

log = logging.getLogger("actions")


async def preflight(settings: ActionsSettings) -> None:
    """Fail at start, in one line, when the broker cannot be reached (faust would retry forever)."""
    publisher = await Publisher.connect(settings, stage=STAGE)
    await publisher.close()


def main() -> None:
    settings = ActionsSettings()
    configure_logging(STAGE, level=settings.log_level, fmt=settings.log_format)
    configure_tracing(STAGE, settings.otel_exporter)
    try:
        asyncio.run(preflight(settings))
    except DependencyUnreachable as exc:
        log.error("start-up failed: %s", exc)
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_UNREACHABLE)
    app, _ = create_app(settings, build_deps(settings))
    worker = Worker(app, loglevel=settings.log_level, quiet=True, override_logging=False)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
