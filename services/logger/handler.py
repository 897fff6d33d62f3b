"""The logger's decision: every event goes to the PostgreSQL log once (idempotent by event id),
then, only when it was new, to the JSONL copy and the console."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from contracts.events import Event
from runtime.logs import mask_phone
from runtime.stage import Output
from services.logger.adapters.jsonl import JsonlWriter
from services.logger.adapters.postgres import EventStore

STAGE = "logger"
log = logging.getLogger("logger")


@dataclass(frozen=True)
class LoggerDeps:
    store: EventStore
    jsonl: JsonlWriter | None
    console: bool


async def handle(event: Event, deps: LoggerDeps) -> list[Output]:
    """Log `event`; a redelivered event (already in PostgreSQL) is not copied again."""
    inserted = await deps.store.append(event, topic=event.type)
    if inserted and deps.jsonl is not None:
        deps.jsonl.write(event)
    if inserted and deps.console:
        log.info("%s %s conversation=%s", event.type, event.event_id, mask_phone(event.conversation_id))
    return []
