"""The logger's decisions: every event goes to the PostgreSQL log once (idempotent by event id),
then, only when it was new, to the JSONL copy and the console.

Events are written in batches (`write_batch`, one statement for many events). The stage's handler
(`handle`) hands its event to the shared batcher and returns only once the batch holding it is
committed, so the stage loop, which commits a partition's offset only up to its lowest record
still in flight, never commits the offset of an event that is not yet in PostgreSQL.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from contracts.events import Event
from runtime.logs import mask_phone
from runtime.stage import Output
from services.logger.adapters.jsonl import JsonlWriter
from services.logger.adapters.postgres import EventStore
from services.logger.batching import Batcher

STAGE = "logger"
log = logging.getLogger("logger")

EventBatcher = Batcher[Event, bool]


@dataclass(frozen=True)
class LoggerDeps:
    store: EventStore
    jsonl: JsonlWriter | None
    console: bool


async def write_batch(events: Sequence[Event], deps: LoggerDeps) -> list[bool]:
    """Log `events` (one statement); for each, whether it was new. A redelivered event (already in
    PostgreSQL) is not copied again. A crash between the commit and the copies loses those lines of
    the JSONL copy and the console, never a row: PostgreSQL is the log, the others are conveniences."""
    inserted = await deps.store.append_many(events)
    new = [event for event, fresh in zip(events, inserted, strict=True) if fresh]
    if new and deps.jsonl is not None:
        deps.jsonl.write_many(new)
    if deps.console:
        for event in new:
            log.info("%s %s conversation=%s", event.type, event.event_id, mask_phone(event.conversation_id))
    return inserted


def batcher(deps: LoggerDeps, *, max_size: int, max_wait_s: float) -> EventBatcher:
    """The batcher every record of the stage shares."""

    async def write(events: Sequence[Event]) -> list[bool]:
        return await write_batch(events, deps)

    return Batcher(write, max_size=max_size, max_wait_s=max_wait_s)


async def handle(event: Event, log_batcher: EventBatcher) -> list[Output]:
    """Log `event`; returns once it is durable in PostgreSQL, raises what kept it out (the stage
    retries or dead-letters the record by its error)."""
    await log_batcher.submit(event)
    return []
