"""The event log written in batches against the real PostgreSQL: one statement per batch, each
event acknowledged only once its batch is committed, redeliveries not duplicated, a poison row
failing alone."""

from __future__ import annotations

import asyncio

from runtime.errors import RetryableError, classify
from services.logger.adapters.postgres import RowRejected
from services.logger.handler import batcher, handle
from tests.integration.logger.conftest import EventLog
from tests.integration.logger.events import message


async def test_many_events_are_written_with_one_statement_per_batch(event_log: EventLog) -> None:
    log_batcher = batcher(event_log.deps, max_size=100, max_wait_s=5.0)  # only full batches are written
    events = [message(conversation=n) for n in range(1000)]

    results = await asyncio.gather(*(log_batcher.submit(event) for event in events))

    assert results == [True] * 1000
    assert await event_log.rows() == 1000
    assert (log_batcher.batches, event_log.inserts) == (10, 10)  # row by row: 1000 statements
    assert sorted(event_log.jsonl_ids()) == sorted(e.event_id for e in events)


async def test_a_partial_batch_is_written_after_the_wait_and_only_then_acknowledged(event_log: EventLog) -> None:
    log_batcher = batcher(event_log.deps, max_size=500, max_wait_s=0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    pending = [asyncio.create_task(handle(message(conversation=n), log_batcher)) for n in range(3)]
    await asyncio.sleep(0.1)
    assert not any(task.done() for task in pending)
    assert await event_log.rows() == 0  # nothing acknowledged, nothing written yet

    assert await asyncio.gather(*pending) == [[], [], []]
    assert 0.2 <= loop.time() - started < 2.0
    assert (await event_log.rows(), log_batcher.batches) == (3, 1)


async def test_a_redelivered_event_is_not_written_twice(event_log: EventLog) -> None:
    log_batcher = batcher(event_log.deps, max_size=50, max_wait_s=0.01)
    first = [message(conversation=n) for n in range(20)]
    assert await asyncio.gather(*(log_batcher.submit(e) for e in first)) == [True] * 20

    fresh = [message(conversation=100 + n) for n in range(5)]
    again = [*first, fresh[0], *fresh, first[0]]  # redeliveries, and one id twice in the same batch
    results = await asyncio.gather(*(log_batcher.submit(e) for e in again))

    assert results == [False] * 20 + [True] + [False] + [True] * 4 + [False]
    assert await event_log.rows() == 25
    assert sorted(event_log.jsonl_ids()) == sorted(e.event_id for e in first + fresh)  # copied once each


async def test_a_poison_row_fails_alone_and_the_rest_of_its_batch_is_written(event_log: EventLog) -> None:
    log_batcher = batcher(event_log.deps, max_size=30, max_wait_s=5.0)
    events = [message(conversation=n) for n in range(30)]
    events[7] = message("ho\x00la", conversation=7)  # PostgreSQL refuses NUL in text and jsonb
    events[21] = message(conversation=21, event_id="not-a-uuid")

    results = await asyncio.gather(*(log_batcher.submit(e) for e in events), return_exceptions=True)

    failed = {n: r for n, r in enumerate(results) if isinstance(r, BaseException)}
    assert set(failed) == {7, 21}
    assert all(isinstance(r, RowRejected) and classify(r) == "poison" for r in failed.values())  # dead-lettered at once
    assert [r for n, r in enumerate(results) if n not in failed] == [True] * 28
    assert await event_log.rows() == 28
    assert (log_batcher.batches, log_batcher.singles) == (1, 30)
    assert sorted(event_log.jsonl_ids()) == sorted(e.event_id for n, e in enumerate(events) if n not in failed)


async def test_an_unreachable_database_fails_the_batch_for_a_retry_without_row_by_row(event_log: EventLog) -> None:
    log_batcher = batcher(event_log.deps, max_size=5, max_wait_s=5.0)
    await event_log.pool.close()

    results = await asyncio.gather(*(log_batcher.submit(message(conversation=n)) for n in range(5)),
                                   return_exceptions=True)

    assert all(isinstance(r, RetryableError) and classify(r) == "transient" for r in results)
    assert log_batcher.singles == 0
