"""Write many items with one call: `submit(item)` waits until the batch holding the item is written.

A batch is written when it holds `max_size` items or `max_wait_s` after its first item, whichever
comes first; several batches may be written at once. Each `submit` returns the item's own result
or raises the error that kept it from being written, so a caller acknowledges an item only once it
is durable. When a whole batch fails with an error that is not transient, its items are written
again one by one: only the items that fail alone raise (a poison row cannot sink its neighbours),
and the others succeed. A transient failure (the database unreachable) fails every item of the
batch with `RetryableError`, so each caller retries with backoff instead of hammering a dead
server row by row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from runtime.errors import RetryableError, classify

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger(__name__)

Write = Callable[[Sequence[T]], Awaitable[Sequence[R]]]


class Batcher(Generic[T, R]):
    def __init__(self, write: Write[T, R], *, max_size: int, max_wait_s: float) -> None:
        if max_size < 1 or max_wait_s < 0:
            raise ValueError(f"bad batch limits: max_size={max_size}, max_wait_s={max_wait_s}")
        self._write = write
        self.max_size = max_size
        self.max_wait_s = max_wait_s
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._writing: set[asyncio.Task[None]] = set()
        self.batches = 0  # batches written (or tried), each one call of `write`; one by one retries not counted
        self.singles = 0  # items written again alone after their batch failed

    async def submit(self, item: T) -> R:
        """`item`'s result once the batch holding it is written; the error that kept it out otherwise."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if len(self._pending) >= self.max_size:
            self._flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.max_wait_s, self._flush)
        return await future

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if batch:
            task = asyncio.create_task(self._write_batch(batch))
            self._writing.add(task)
            task.add_done_callback(self._writing.discard)

    async def _write_batch(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        self.batches += 1
        try:
            try:
                results = await self._write([item for item, _ in batch])
                if len(results) != len(batch):
                    raise RuntimeError(f"a write of {len(batch)} items returned {len(results)} results")
            except Exception as exc:  # each item gets its own outcome below: nothing is dropped
                if len(batch) == 1 or classify(exc) == "transient":
                    for _, future in batch:
                        _fail(future, exc if len(batch) == 1 else _retryable(exc))
                    return
                log.warning("a batch of %d failed (%s: %s); writing its items one by one",
                            len(batch), type(exc).__name__, exc)
                await self._write_one_by_one(batch)
                return
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():  # done: its caller was cancelled (a shutdown); the item is written anyway
                    future.set_result(result)
        finally:  # cancelled mid-write (a shutdown): whoever still waits learns it was not written
            for _, future in batch:
                _fail(future, RetryableError("batch write interrupted"))

    async def _write_one_by_one(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        for item, future in batch:
            self.singles += 1
            try:
                [result] = await self._write([item])
            except Exception as exc:  # this item's own failure, handed to its caller
                _fail(future, exc)
            else:
                if not future.done():
                    future.set_result(result)

    async def close(self) -> None:
        """Write what is pending and wait for the batches being written."""
        self._flush()
        if self._writing:
            await asyncio.gather(*self._writing, return_exceptions=True)


def _fail(future: asyncio.Future[R], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


def _retryable(exc: Exception) -> RetryableError:
    """A fresh exception per caller (one instance raised in many tasks would pile up their tracebacks)."""
    error = RetryableError(f"batch write failed: {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error
