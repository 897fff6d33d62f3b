"""Composition root of logger: PostgreSQL event log, JSONL copy and console lines for every event."""

from __future__ import annotations

import asyncio

from contracts import ALL_TOPICS
from contracts.events import Event
from runtime.kafka import connect_consumer
from runtime.service import run_service, serve_stage
from runtime.settings import load_settings
from runtime.stage import Output
from services.logger.adapters.jsonl import JsonlWriter
from services.logger.adapters.postgres import EventStore
from services.logger.dead_letters import GROUP as DEAD_LETTERS_GROUP
from services.logger.dead_letters import TOPICS as DEAD_LETTER_TOPICS
from services.logger.dead_letters import store_dead_letters
from services.logger.handler import STAGE, LoggerDeps, batcher, handle
from services.logger.settings import LoggerSettings


async def serve(stop: asyncio.Event, settings: LoggerSettings) -> None:
    store = await EventStore.connect(settings.database_url, schema=settings.db_schema)
    jsonl = JsonlWriter.open(settings.jsonl_path, max_bytes=settings.jsonl_max_bytes) \
        if settings.jsonl_path is not None else None
    deps = LoggerDeps(store=store, jsonl=jsonl, console=settings.console)
    log_batcher = batcher(deps, max_size=settings.batch_size, max_wait_s=settings.batch_wait_ms / 1000)

    async def handler(event: Event) -> list[Output]:
        return await handle(event, log_batcher)

    dead_letters = await connect_consumer(settings, stage=STAGE, group_id=DEAD_LETTERS_GROUP,
                                          topics=DEAD_LETTER_TOPICS)
    # Beside the stage; if it fails for good, the stage drains and stops too (the process exits with it).
    dead_lettering = asyncio.create_task(store_dead_letters(dead_letters, store, stop=stop))
    dead_lettering.add_done_callback(lambda task: _stop_on_failure(task, stop))
    try:
        await serve_stage(stop, settings=settings, name=STAGE, sources=list(ALL_TOPICS), handler=handler,
                          ready_checks={"postgres": store.ready})
        await dead_lettering  # its error, if it ended with one
    finally:
        stop.set()
        await asyncio.wait([dead_lettering], timeout=5)
        await dead_letters.stop()
        await log_batcher.close()  # the stage has drained: whatever is left has no one waiting for it
        await store.close()
        if jsonl is not None:
            jsonl.close()


def _stop_on_failure(task: asyncio.Task[None], stop: asyncio.Event) -> None:
    if not task.cancelled() and task.exception() is not None:
        stop.set()


def main() -> None:
    settings = load_settings(LoggerSettings, STAGE)
    run_service(STAGE, settings, lambda stop: serve(stop, settings))


if __name__ == "__main__":
    main()
