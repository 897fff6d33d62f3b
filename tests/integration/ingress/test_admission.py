"""Admission against a real Redis: webhooks admitted in the same loop turn share one script call
and each keeps its own answer (claim, rate limit, notice), whatever the batch holds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from devstack.infra import free_port
from runtime.redis_client import redis_client
from services.ingress.adapters.admission import MAX_BATCH, Admission


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = redis_client(redis_url)
    yield client
    await client.aclose()


def admission(redis: Redis, prefix: str, *, capacity: int = 1000, refill_per_s: float = 1000.0) -> Admission:
    return Admission(redis, dedup_ttl_s=600, capacity=capacity, refill_per_s=refill_per_s, notice_window_s=600,
                     prefix=prefix + ":")


async def test_retries_in_one_batch_are_claimed_once(redis: Redis, unique: Callable[[str], str]) -> None:
    gate = admission(redis, unique("adm"))
    sids = [f"SM{i:032d}" for i in range(10)]
    answers = await asyncio.gather(*(gate.admit(sid, f"whatsapp:+5215500000{i:03d}")
                                     for _ in range(5) for i, sid in enumerate(sids)))
    firsts = [sid for sid, answer in zip(sids * 5, answers, strict=True) if answer.first]
    assert sorted(firsts) == sids  # each MessageSid claimed by exactly one of its five copies
    assert all(answer.allowed for answer in answers if answer.first)
    again = await gate.admit(sids[0], "whatsapp:+5215500000000")  # a later batch sees the claim too
    assert not again.first


async def test_rate_limit_and_one_notice_within_a_batch(redis: Redis, unique: Callable[[str], str]) -> None:
    gate = admission(redis, unique("adm"), capacity=3, refill_per_s=0.001)
    sender, other = "whatsapp:+5215511111111", "whatsapp:+5215522222222"
    answers = await asyncio.gather(*(gate.admit(f"SM-a{i}", sender) for i in range(6)),
                                   gate.admit("SM-b0", other))
    mine, theirs = answers[:6], answers[6]
    assert [a.allowed for a in mine] == [True, True, True, False, False, False]  # in arrival order
    assert [a.notice for a in mine] == [False, False, False, True, False, False]  # once per window
    assert theirs.first and theirs.allowed and not theirs.notice  # another sender has its own bucket


async def test_a_burst_larger_than_a_batch_is_split_and_fully_answered(redis: Redis,
                                                                       unique: Callable[[str], str]) -> None:
    gate = admission(redis, unique("adm"))
    count = MAX_BATCH * 2 + 17
    answers = await asyncio.gather(*(gate.admit(f"SM{i}", f"whatsapp:+52155{i:08d}") for i in range(count)))
    assert len(answers) == count and all(a.first and a.allowed for a in answers)


async def test_a_release_lets_the_retry_be_claimed(redis: Redis, unique: Callable[[str], str]) -> None:
    gate = admission(redis, unique("adm"))
    assert (await gate.admit("SM-r", "whatsapp:+5215533333333")).first
    await gate.release("SM-r")
    assert (await gate.admit("SM-r", "whatsapp:+5215533333333")).first


async def test_redis_down_fails_every_webhook_of_the_batch() -> None:
    unreachable = redis_client(f"redis://127.0.0.1:{free_port()}/0")
    gate = admission(unreachable, "adm-down")
    try:
        results = await asyncio.gather(*(gate.admit(f"SM{i}", "whatsapp:+5215544444444") for i in range(5)),
                                       return_exceptions=True)
    finally:
        await unreachable.aclose()
    assert all(isinstance(result, RedisConnectionError) for result in results), results
