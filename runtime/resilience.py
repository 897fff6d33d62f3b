"""Calling a dependency that may be down: a circuit breaker, backoff delays and an async retry.

Shared by every adapter that calls out over the network (nlu's Rasa client, the business API
client, responder's senders). No I/O here: clocks, sleeps and randomness are injectable.

    breaker = CircuitBreaker(failure_threshold=5, reset_after_s=30.0)
    async with breaker:                   # raises CircuitOpen instead of calling
        response = await client.get(...)  # an exception escaping the block counts as a failure

    result = await retry(lambda: fetch(), attempts=3, retry_on=(httpx.TransportError,),
                         base_s=0.1, max_s=2.0)

The breaker: closed → (`failure_threshold` consecutive failures) → open: calls fail fast →
(`reset_after_s` after opening) half-open: one trial call at a time goes through; its success
closes the circuit, its failure opens it for another cool-down. The caller decides what a
failure is: a 404 or a 409 is usually a healthy dependency saying no, not a reason to open.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum
from types import TracebackType
from typing import Literal, TypeVar

T = TypeVar("T")

Jitter = Literal["full", "equal", "none"]
Clock = Callable[[], float]
RetryOn = type[BaseException] | tuple[type[BaseException], ...] | Callable[[BaseException], bool]


class ResilienceError(Exception):
    """Root of the exceptions raised by this module."""


class CircuitOpen(ResilienceError):
    """The breaker refused the call: the dependency failed recently and the cool-down is running."""

    def __init__(self, name: str, retry_after_s: float) -> None:
        self.name = name
        self.retry_after_s = retry_after_s
        super().__init__(f"circuit {name!r} is open; next trial in {retry_after_s:.1f} s")


class CircuitState(StrEnum):
    CLOSED = "closed"
    HALF_OPEN = "half_open"
    OPEN = "open"

    @property
    def level(self) -> int:
        """0 closed, 1 half-open, 2 open: a number for a Prometheus gauge (alert on `> 0`)."""
        return _LEVELS[self]


_LEVELS = {CircuitState.CLOSED: 0, CircuitState.HALF_OPEN: 1, CircuitState.OPEN: 2}


class CircuitBreaker:
    """Consecutive-failure circuit breaker with a cool-down and one trial call when half-open.

    Use `allow()` before a call and `record_success()`/`record_failure()` after it, or
    `async with breaker:` which does all three (an exception in the block is a failure unless
    it is one of `ignore`, e.g. a 404 the caller raises; cancellation releases the trial slot
    without counting). `on_change(old, new)` is called whenever a state change is observed,
    which suits a metrics gauge or a log line. Not thread-safe; one event loop owns it.
    """

    def __init__(
        self,
        *,
        name: str = "dependency",
        failure_threshold: int = 5,
        reset_after_s: float = 30.0,
        clock: Clock = time.monotonic,
        ignore: tuple[type[BaseException], ...] = (),
        on_change: Callable[[CircuitState, CircuitState], None] | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be >= 1, got {failure_threshold}")
        if reset_after_s <= 0:
            raise ValueError(f"reset_after_s must be > 0, got {reset_after_s}")
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self.ignore = ignore
        self._clock = clock
        self._on_change = on_change
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False
        self._last_state = CircuitState.CLOSED

    @property
    def state(self) -> CircuitState:
        if self._opened_at is None:
            state = CircuitState.CLOSED
        elif self._clock() - self._opened_at >= self.reset_after_s:
            state = CircuitState.HALF_OPEN
        else:
            state = CircuitState.OPEN
        self._observe(state)
        return state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def allow(self) -> bool:
        """Whether a call may go out now. Half-open lets one trial through until it is recorded."""
        state = self.state
        if state is CircuitState.CLOSED:
            return True
        if state is CircuitState.HALF_OPEN and not self._trial_running:
            self._trial_running = True
            return True
        return False

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial_running = False
        self._observe(CircuitState.CLOSED)

    def record_failure(self) -> None:
        self._failures += 1
        if self._trial_running or self._failures >= self.failure_threshold:
            self._opened_at = self._clock()
            self._observe(CircuitState.OPEN)
        self._trial_running = False

    def release(self) -> None:
        """Give back a trial slot taken by `allow()` without an outcome (the call was cancelled)."""
        self._trial_running = False

    def retry_after_s(self) -> float:
        """Seconds until an open circuit lets a trial call through (0 when it would now)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self.reset_after_s - (self._clock() - self._opened_at))

    async def __aenter__(self) -> CircuitBreaker:
        if not self.allow():
            raise CircuitOpen(self.name, self.retry_after_s())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.record_success()
        elif isinstance(exc, self.ignore):
            self.record_success()  # the dependency answered; the answer was just not what we wanted
        elif isinstance(exc, Exception):
            self.record_failure()
        else:  # CancelledError, KeyboardInterrupt: no verdict on the dependency
            self.release()

    def _observe(self, state: CircuitState) -> None:
        if state is not self._last_state:
            old, self._last_state = self._last_state, state
            if self._on_change is not None:
                self._on_change(old, state)


def backoff_delays(
    attempts: int,
    base_s: float,
    max_s: float,
    jitter: Jitter = "full",
    *,
    rng: random.Random | None = None,
) -> list[float]:
    """The sleeps between `attempts` tries: `attempts - 1` delays growing as base·2ⁿ, capped at max.

    jitter "full": uniform in [0, d] (AWS's "full jitter", spreads retries best);
    "equal": uniform in [d/2, d]; "none": exactly d.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    return [backoff_delay(n + 1, base_s, max_s, jitter, rng=rng) for n in range(attempts - 1)]


def backoff_delay(
    attempt: int,
    base_s: float,
    max_s: float,
    jitter: Jitter = "full",
    *,
    rng: random.Random | None = None,
) -> float:
    """The sleep after failed try number `attempt` (1-based): base·2^(attempt-1), capped, jittered."""
    if base_s < 0 or max_s < 0:
        raise ValueError("base_s and max_s must be >= 0")
    draw = rng or random
    ceiling = min(max_s, base_s * 2.0 ** (attempt - 1))
    if jitter == "full":
        return draw.uniform(0.0, ceiling)
    if jitter == "equal":
        return draw.uniform(ceiling / 2, ceiling)
    return ceiling


async def retry(
    fn: Callable[[], Awaitable[T]],
    *,
    attempts: int,
    retry_on: RetryOn,
    base_s: float = 0.1,
    max_s: float = 2.0,
    jitter: Jitter = "full",
    rng: random.Random | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
) -> T:
    """Await `fn()` up to `attempts` times, sleeping a backoff delay between tries.

    Only exceptions matched by `retry_on` (exception types, or a predicate) are retried; any
    other one, and the last attempt's, propagates unchanged. `on_retry(attempt, error, delay)`
    is called before each sleep (for a log line or a counter). `CircuitOpen` is never retried:
    the breaker has already said no, and sleeping on it would only delay the fallback.
    """
    delays: Sequence[float] = backoff_delays(attempts, base_s, max_s, jitter, rng=rng)
    for attempt in range(1, attempts + 1):
        try:
            return await fn()
        except Exception as exc:
            if attempt == attempts or isinstance(exc, CircuitOpen) or not _matches(retry_on, exc):
                raise
            delay = delays[attempt - 1]
            if on_retry is not None:
                on_retry(attempt, exc, delay)
            await sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _matches(retry_on: RetryOn, exc: BaseException) -> bool:
    if isinstance(retry_on, type) or isinstance(retry_on, tuple):
        return isinstance(exc, retry_on)
    return retry_on(exc)
