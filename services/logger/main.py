"""Composition root of logger: PostgreSQL event log, JSONL copy and console lines for every event."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TextIO

from contracts import ALL_TOPICS, topic_for
from contracts.events import Event
from runtime.logs import mask_phone
from runtime.service import run_service, serve_stage
from runtime.stage import Output
from services.logger.settings import LoggerSettings
from services.logger.store import EventStore

STAGE = "logger"
log = logging.getLogger("logger")


class EventSink:
    """Writes each event to PostgreSQL (idempotent by id), then the JSONL file and the console."""

    def __init__(self, store: EventStore, *, jsonl: TextIO | None, console: bool) -> None:
        self.store = store
        self.jsonl = jsonl
        self.console = console

    async def handle(self, event: Event) -> list[Output]:
        inserted = await self.store.append(event, topic=event.type)
        if inserted and self.jsonl is not None:
            self.jsonl.write(topic_for(event.type).encode(event).decode() + "\n")
            self.jsonl.flush()
        if inserted and self.console:
            log.info("%s %s conversation=%s", event.type, event.event_id, mask_phone(event.conversation_id))
        return []


def open_jsonl(path: Path | None) -> TextIO | None:
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("a", encoding="utf-8")


async def serve(stop: asyncio.Event, settings: LoggerSettings) -> None:
    store = await EventStore.connect(settings.database_url, schema=settings.db_schema)
    jsonl = open_jsonl(settings.jsonl_path)
    sink = EventSink(store, jsonl=jsonl, console=settings.console)
    try:
        await serve_stage(stop, settings=settings, name=STAGE, sources=list(ALL_TOPICS), handler=sink.handle,
                          ready_checks={"postgres": store.ready})
    finally:
        await store.close()
        if jsonl is not None:
            jsonl.close()


def main() -> None:
    settings = LoggerSettings()
    run_service(STAGE, settings, lambda stop: serve(stop, settings))


if __name__ == "__main__":
    main()
