"""runtime.resilience: the circuit breaker's states, backoff delays and the retry helper."""

from __future__ import annotations

import asyncio
import random

import pytest

from runtime.resilience import CircuitBreaker, CircuitOpen, CircuitState, backoff_delays, retry


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Boom(Exception):
    pass


class NotFound(Exception):
    pass


def state(b: CircuitBreaker) -> CircuitState:
    """Read through a function: mypy narrows a property after an assert and flags the next check."""
    return b.state


def breaker(clock: FakeClock, **kwargs: object) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=3, reset_after_s=10.0, clock=clock, **kwargs)  # type: ignore[arg-type]


# --- circuit breaker -----------------------------------------------------------------------------


def test_opens_after_threshold_consecutive_failures() -> None:
    b = breaker(FakeClock())
    for _ in range(2):
        assert b.allow()
        b.record_failure()
    assert state(b) is CircuitState.CLOSED
    assert b.allow()
    b.record_failure()
    assert state(b) is CircuitState.OPEN
    assert not b.allow()


def test_a_success_resets_the_count() -> None:
    b = breaker(FakeClock())
    b.record_failure()
    b.record_failure()
    b.record_success()
    b.record_failure()
    b.record_failure()
    assert state(b) is CircuitState.CLOSED
    assert b.consecutive_failures == 2


def test_half_open_after_cool_down_lets_one_trial_through() -> None:
    clock = FakeClock()
    b = breaker(clock)
    for _ in range(3):
        b.record_failure()
    clock.advance(9.9)
    assert state(b) is CircuitState.OPEN
    assert b.retry_after_s() == pytest.approx(0.1)
    clock.advance(0.1)
    assert state(b) is CircuitState.HALF_OPEN
    assert b.allow()
    assert not b.allow(), "only one trial call at a time"
    b.record_success()
    assert state(b) is CircuitState.CLOSED
    assert b.allow() and b.allow()


def test_failed_trial_opens_again_for_a_full_cool_down() -> None:
    clock = FakeClock()
    b = breaker(clock)
    for _ in range(3):
        b.record_failure()
    clock.advance(10)
    assert b.allow()
    b.record_failure()
    assert state(b) is CircuitState.OPEN
    assert b.retry_after_s() == pytest.approx(10)
    clock.advance(10)
    assert state(b) is CircuitState.HALF_OPEN


def test_on_change_reports_every_transition_once() -> None:
    clock = FakeClock()
    seen: list[tuple[CircuitState, CircuitState]] = []
    b = breaker(clock, on_change=lambda old, new: seen.append((old, new)))
    for _ in range(3):
        b.record_failure()
    clock.advance(10)
    state(b)
    state(b)
    assert b.allow()
    b.record_success()
    assert seen == [
        (CircuitState.CLOSED, CircuitState.OPEN),
        (CircuitState.OPEN, CircuitState.HALF_OPEN),
        (CircuitState.HALF_OPEN, CircuitState.CLOSED),
    ]
    assert [state.level for state in CircuitState] == [0, 1, 2]


def test_rejects_nonsense_settings() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(failure_threshold=0)
    with pytest.raises(ValueError):
        CircuitBreaker(reset_after_s=0)


async def test_context_manager_records_outcomes_and_fails_fast_when_open() -> None:
    clock = FakeClock()
    b = breaker(clock, name="rasa", ignore=(NotFound,))
    async with b:
        pass
    with pytest.raises(NotFound):
        async with b:
            raise NotFound
    assert b.consecutive_failures == 0, "an ignored exception is an answer, not a failure"
    for _ in range(3):
        with pytest.raises(Boom):
            async with b:
                raise Boom
    with pytest.raises(CircuitOpen) as refused:
        async with b:
            raise AssertionError("must not run")
    assert refused.value.name == "rasa"
    assert refused.value.retry_after_s == pytest.approx(10)


async def test_cancelled_trial_releases_the_slot_without_a_verdict() -> None:
    clock = FakeClock()
    b = breaker(clock)
    for _ in range(3):
        b.record_failure()
    clock.advance(10)
    with pytest.raises(asyncio.CancelledError):
        async with b:
            raise asyncio.CancelledError
    assert state(b) is CircuitState.HALF_OPEN
    assert b.allow(), "the slot is free for the next trial"


# --- backoff -------------------------------------------------------------------------------------


def test_backoff_without_jitter_doubles_up_to_the_cap() -> None:
    assert backoff_delays(6, 0.1, 1.0, "none") == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0])
    assert backoff_delays(1, 0.1, 1.0) == []


@pytest.mark.parametrize("jitter", ["full", "equal"])
def test_backoff_jitter_stays_within_its_band(jitter: str) -> None:
    rng = random.Random(7)
    for _ in range(200):
        delays = backoff_delays(5, 0.1, 0.5, jitter, rng=rng)  # type: ignore[arg-type]
        for n, delay in enumerate(delays):
            ceiling = min(0.5, 0.1 * 2**n)
            low = 0.0 if jitter == "full" else ceiling / 2
            assert low <= delay <= ceiling


def test_backoff_is_reproducible_with_a_seeded_rng() -> None:
    assert backoff_delays(4, 0.1, 1, rng=random.Random(1)) == backoff_delays(4, 0.1, 1, rng=random.Random(1))


def test_backoff_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        backoff_delays(0, 0.1, 1.0)
    with pytest.raises(ValueError):
        backoff_delays(2, -1, 1.0)


# --- retry ---------------------------------------------------------------------------------------


class Flaky:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


async def test_retry_retries_matching_errors_with_the_backoff_delays() -> None:
    slept: list[float] = []
    retried: list[tuple[int, str, float]] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    fn = Flaky([Boom("1"), Boom("2")])
    result = await retry(fn, attempts=3, retry_on=Boom, base_s=0.1, max_s=1.0, jitter="none", sleep=sleep,
                         on_retry=lambda attempt, exc, delay: retried.append((attempt, str(exc), delay)))
    assert result == "ok"
    assert fn.calls == 3
    assert slept == pytest.approx([0.1, 0.2])
    assert [(attempt, text) for attempt, text, _ in retried] == [(1, "1"), (2, "2")]
    assert [delay for _, _, delay in retried] == slept


async def test_retry_gives_up_after_the_last_attempt_with_the_last_error() -> None:
    fn = Flaky([Boom("1"), Boom("2"), Boom("3")])
    with pytest.raises(Boom, match="2"):
        await retry(fn, attempts=2, retry_on=(Boom,), base_s=0, sleep=_no_sleep)
    assert fn.calls == 2


async def test_retry_does_not_retry_other_errors_or_an_open_circuit() -> None:
    fn = Flaky([NotFound()])
    with pytest.raises(NotFound):
        await retry(fn, attempts=5, retry_on=Boom, sleep=_no_sleep)
    assert fn.calls == 1

    opened = Flaky([CircuitOpen("x", 1.0)])
    with pytest.raises(CircuitOpen):
        await retry(opened, attempts=5, retry_on=lambda exc: True, sleep=_no_sleep)
    assert opened.calls == 1


async def test_retry_accepts_a_predicate() -> None:
    fn = Flaky([Boom("retry me"), Boom("fatal")])
    with pytest.raises(Boom, match="fatal"):
        await retry(fn, attempts=5, retry_on=lambda exc: "retry" in str(exc), sleep=_no_sleep)
    assert fn.calls == 2


async def test_retry_with_a_breaker_stops_calling_once_it_opens() -> None:
    b = breaker(FakeClock())
    fn = Flaky([Boom()] * 10)

    async def guarded() -> str:
        async with b:
            return await fn()

    with pytest.raises(CircuitOpen):
        await retry(guarded, attempts=10, retry_on=Boom, sleep=_no_sleep)
    assert fn.calls == 3


async def _no_sleep(_: float) -> None:
    return None
