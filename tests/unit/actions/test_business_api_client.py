"""The HTTP adapter against a stand-in transport (httpx.MockTransport): retries, taxonomy, circuit breaker.

The integration tests run the same adapter against the real reference API.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from runtime.resilience import CircuitBreaker, CircuitState
from services.actions.adapters.business_api import BusinessApiClient, BusinessApiError
from services.actions.adapters.endpoints import Operation, load_endpoints
from services.actions.settings import DEFAULT_ENDPOINTS_FILE, ActionsSettings

ENDPOINTS = load_endpoints(DEFAULT_ENDPOINTS_FILE)
PHONE = "whatsapp:+5215511111111"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client(handler: Callable[[httpx.Request], httpx.Response], *, retries: int = 2, threshold: int = 3,
           clock: Clock | None = None) -> BusinessApiClient:
    settings = ActionsSettings(business_api_url="http://api.test", business_api_retries=retries,
                               business_api_backoff_s=0.001, business_api_backoff_max_s=0.002,
                               circuit_failure_threshold=threshold, circuit_reset_s=30)
    api = BusinessApiClient.from_settings(settings, transport=httpx.MockTransport(handler))
    if clock is not None:
        api.breaker = CircuitBreaker(failure_threshold=threshold, reset_after_s=30, clock=clock)
    return api


def state(breaker: CircuitBreaker) -> CircuitState:
    """Read afresh each time (a property mypy would otherwise narrow once)."""
    return breaker.state


def error(status: int, kind: str, code: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"kind": kind, "message": f"{code} happened", "code": code}})


async def test_a_call_sends_the_mapped_request_and_returns_the_result() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"booking": {"code": "BK-1"}})

    api = client(handler)
    result = await api.call(Operation.BOOK, {"slot_id": 3, "package_id": None}, client_phone=PHONE,
                            idempotency_key="abc")
    assert result == {"code": "BK-1"}
    [request] = seen
    assert (request.method, request.url.path) == ("POST", "/booking")
    assert json.loads(request.content) == {"slot_id": 3}
    assert request.headers["X-Client-Phone"] == "+5215511111111"
    assert request.headers["Idempotency-Key"] == "abc"
    assert request.headers["Authorization"] == "Bearer demo-business-token"
    await api.close()


@pytest.mark.parametrize(("status", "kind", "code"), [
    (422, "validation", "invalid_email"), (400, "validation", "malformed_json"), (404, "not_found", "no_such_slot"),
    (409, "conflict", "slot_full"), (401, "unauthorized", "invalid_token"),
])
async def test_errors_keep_their_kind_and_code_and_are_not_retried(status: int, kind: str, code: str) -> None:
    attempts = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        return error(status, kind, code)

    api = client(handler)
    with pytest.raises(BusinessApiError) as caught:
        await api.call(Operation.LIST_SLOTS, {"date": "2026-11-27"})
    assert (caught.value.kind, caught.value.code, caught.value.status) == (kind, code, status)
    assert caught.value.operation == "list_slots" and len(attempts) == 1
    assert state(api.breaker) is CircuitState.CLOSED


async def test_idempotent_calls_are_retried_on_5xx_and_transport_errors() -> None:
    answers: list[httpx.Response | Exception] = [
        error(503, "unavailable", "database_unavailable"),
        httpx.ConnectError("refused"),
        httpx.Response(200, json={"slots": [{"id": 1}]}),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    api = client(handler, retries=2)
    assert await api.call(Operation.LIST_SLOTS, {"date": "2026-11-27"}) == [{"id": 1}]
    assert answers == []


async def test_a_post_with_an_idempotency_key_is_retried_a_patch_marked_idempotent_too() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) % 2:
            return httpx.Response(502)
        body = {"booking": {"code": "BK-1"}} if request.method == "POST" else {"client": {"email": "a@b.co"}}
        return httpx.Response(200, json=body)

    api = client(handler, retries=1)
    await api.call(Operation.BOOK, {"slot_id": 1}, client_phone=PHONE, idempotency_key="k")
    await api.call(Operation.UPDATE_PROFILE, {"email": "a@b.co"}, client_phone=PHONE)
    assert calls == ["POST", "POST", "PATCH", "PATCH"]


async def test_a_post_without_a_key_is_not_retried() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503)

    api = client(handler, retries=3)
    with pytest.raises(BusinessApiError) as caught:
        await api.call(Operation.BOOK, {"slot_id": 1}, client_phone=PHONE, idempotency_key=None)
    assert caught.value.kind == "unavailable" and len(calls) == 1


async def test_a_client_phone_is_required_where_the_mapping_says_so() -> None:
    api = client(lambda request: httpx.Response(200, json={}))
    with pytest.raises(BusinessApiError) as caught:
        await api.call(Operation.LIST_BOOKINGS)
    assert (caught.value.kind, caught.value.code) == ("validation", "missing_client_phone")


async def test_an_unexpected_response_is_an_unavailable_error() -> None:
    api = client(lambda request: httpx.Response(200, json={"nothing": []}))
    with pytest.raises(BusinessApiError) as caught:
        await api.call(Operation.LIST_PACKAGES)
    assert (caught.value.kind, caught.value.code) == ("unavailable", "unexpected_response")
    api = client(lambda request: httpx.Response(200, text="<html>"))
    with pytest.raises(BusinessApiError) as caught:
        await api.call(Operation.LIST_PACKAGES)
    assert caught.value.code == "unexpected_response"


async def test_the_circuit_opens_fails_fast_and_recovers_after_the_cool_down() -> None:
    clock, calls, down = Clock(), [], [True]

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if down[0]:
            raise httpx.ConnectError("refused")
        return httpx.Response(200, json={"packages": []})

    api = client(handler, retries=1, threshold=3, clock=clock)
    for _ in range(3):
        with pytest.raises(BusinessApiError, match="ConnectError"):
            await api.call(Operation.LIST_PACKAGES)
    assert len(calls) == 6 and state(api.breaker) is CircuitState.OPEN
    with pytest.raises(BusinessApiError) as caught:
        await api.call(Operation.LIST_PACKAGES)
    assert (caught.value.kind, caught.value.code) == ("unavailable", "circuit_open") and len(calls) == 6

    clock.now += 30  # half-open: one trial goes out; it fails and the circuit opens again
    with pytest.raises(BusinessApiError, match="ConnectError"):
        await api.call(Operation.LIST_PACKAGES)
    assert state(api.breaker) is CircuitState.OPEN
    with pytest.raises(BusinessApiError, match="circuit open"):
        await api.call(Operation.LIST_PACKAGES)

    down[0] = False
    clock.now += 30
    assert await api.call(Operation.LIST_PACKAGES) == []
    assert state(api.breaker) is CircuitState.CLOSED


async def test_a_refusal_from_a_healthy_api_does_not_open_the_circuit() -> None:
    api = client(lambda request: error(409, "conflict", "slot_full"), threshold=1)
    for _ in range(3):
        with pytest.raises(BusinessApiError):
            await api.call(Operation.BOOK, {"slot_id": 1}, client_phone=PHONE, idempotency_key="k")
    assert state(api.breaker) is CircuitState.CLOSED


def test_the_breaker_lets_one_trial_through_when_half_open() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=2, reset_after_s=10, clock=clock)
    breaker.record_failure()
    assert state(breaker) is CircuitState.CLOSED and breaker.allow()
    breaker.record_failure()
    assert state(breaker) is CircuitState.OPEN and not breaker.allow()
    assert breaker.retry_after_s() == 10
    clock.now += 10
    assert state(breaker) is CircuitState.HALF_OPEN
    assert breaker.allow() and not breaker.allow(), "only one trial at a time"
    breaker.record_success()
    assert state(breaker) is CircuitState.CLOSED and breaker.allow()
    with pytest.raises(ValueError):
        CircuitBreaker(failure_threshold=0)
