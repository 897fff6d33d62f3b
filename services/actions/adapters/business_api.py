"""Adapter to the business's own API over httpx.

The policy calls `call(operation, params, client_phone=..., idempotency_key=...)`; the endpoints
file (endpoints.yaml) says which request that is. Around every call:

- a timeout (the operation's `timeout_s`, else the default);
- retries with exponential backoff and full jitter for retryable operations only: GETs, and
  calls that carry an `Idempotency-Key` (the API stores the first response and replays it, so a
  retried POST never acts twice) or are marked `idempotent: true`. Transport errors, 429 and 5xx
  are retried; `Retry-After` is honoured up to the backoff cap;
- a circuit breaker: after N consecutive calls that failed as `unavailable` it opens and calls
  fail fast with kind `unavailable` (code `circuit_open`) until a cool-down has passed;
- an error taxonomy: validation (400/422), not_found (404), conflict (409), unauthorized
  (401/403), unavailable (transport errors, timeouts, 429, 5xx, open circuit, unreadable
  response), with the API's own error `code` kept (`slot_full`, `invalid_email`, ...).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, Protocol

import httpx
from prometheus_client import Counter, Gauge, Histogram

from contracts.replies import ErrorKind
from runtime.http import pooled_client
from runtime.metrics import LATENCY_BUCKETS
from runtime.resilience import CircuitBreaker, CircuitState, backoff_delay
from services.actions.adapters.endpoints import (
    CLIENT_PHONE,
    EndpointsConfig,
    MissingParameter,
    Operation,
    extract_result,
    load_endpoints,
    render_request,
)
from services.actions.settings import ActionsSettings

log = logging.getLogger(__name__)

API_CALLS = Counter("actions_business_api_calls_total", "Business API calls by endpoint and result",
                    ["endpoint", "result"])
API_SECONDS = Histogram("actions_business_api_seconds", "Business API call latency", ["endpoint"],
                        buckets=LATENCY_BUCKETS)
API_RETRIES = Counter("actions_business_api_retries_total", "Business API attempts retried", ["endpoint"])
CIRCUIT_OPEN = Gauge("actions_business_api_circuit_open", "1 while the business API circuit breaker is open")

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class BusinessApiError(Exception):
    """A business API call failed; `kind` says how, `code` is the API's own error code if any."""

    def __init__(self, kind: ErrorKind, message: str, *, status: int | None = None, code: str | None = None,
                 operation: str | None = None) -> None:
        super().__init__(f"{operation}: {message}" if operation else message)
        self.kind: ErrorKind = kind
        self.message = message
        self.status = status
        self.code = code
        self.operation = operation


class BusinessApi(Protocol):
    """The port the policy calls; `BusinessApiClient` is the HTTP adapter."""

    async def call(self, operation: Operation, params: Mapping[str, Any] | None = None, *,
                   client_phone: str | None = None, idempotency_key: str | None = None) -> Any:
        """The operation's result (the part of the body named by `result`); raises BusinessApiError."""
        ...

    async def ready(self) -> bool:
        """Whether the API answers its health check (the readiness probe)."""
        ...

    async def close(self) -> None:
        """Release connections (at shutdown)."""
        ...


def client_phone_of(address: str) -> str:
    """`whatsapp:+5215511111111` → `+5215511111111`, the way the API identifies a customer."""
    return address.removeprefix("whatsapp:").strip()


def _kind_for(status: int) -> ErrorKind:
    if status in (400, 422):
        return "validation"
    if status == 404:
        return "not_found"
    if status == 409:
        return "conflict"
    if status in (401, 403):
        return "unauthorized"
    return "unavailable"


class BusinessApiClient:
    def __init__(self, client: httpx.AsyncClient, endpoints: EndpointsConfig, *, retries: int = 3,
                 backoff_base_s: float = 0.2, backoff_max_s: float = 2.0,
                 breaker: CircuitBreaker | None = None) -> None:
        self._client = client
        self.endpoints = endpoints
        self._retries = retries
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self.breaker = breaker or CircuitBreaker()

    @classmethod
    def from_settings(cls, settings: ActionsSettings, *, endpoints: EndpointsConfig | None = None,
                      transport: httpx.AsyncBaseTransport | None = None) -> BusinessApiClient:
        """The adapter the composition root builds; raises EndpointsError for a bad endpoints file."""
        timeout_s = settings.business_api_timeout_s
        client = pooled_client(
            max_connections=settings.concurrency,  # one per record in flight
            base_url=settings.business_api_url,
            timeout=httpx.Timeout(timeout_s, connect=min(2.0, timeout_s)),
            headers={"Authorization": f"Bearer {settings.business_api_token.get_secret_value()}"},
            transport=transport,
        )
        return cls(
            client, endpoints or load_endpoints(settings.endpoints_file),
            retries=settings.business_api_retries, backoff_base_s=settings.business_api_backoff_s,
            backoff_max_s=settings.business_api_backoff_max_s,
            breaker=CircuitBreaker(name="business_api", failure_threshold=settings.circuit_failure_threshold,
                                   reset_after_s=settings.circuit_reset_s),
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def ready(self) -> bool:
        try:
            response = await self._client.get("/healthz", timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def call(self, operation: Operation, params: Mapping[str, Any] | None = None, *,
                   client_phone: str | None = None, idempotency_key: str | None = None) -> Any:
        name = str(operation)
        endpoint = self.endpoints.endpoint(operation)
        values = dict(params or {})
        if client_phone:
            values[CLIENT_PHONE] = client_phone_of(client_phone)
        if endpoint.client_phone and not values.get(CLIENT_PHONE):
            raise BusinessApiError("validation", "this operation needs the customer's phone", operation=name,
                                   code="missing_client_phone")
        try:
            request = render_request(self.endpoints, operation, values, idempotency_key=idempotency_key)
        except MissingParameter as exc:
            raise BusinessApiError("validation", str(exc), operation=name, code="missing_parameter") from None
        if not self.breaker.allow():
            API_CALLS.labels(name, "circuit_open").inc()
            raise BusinessApiError("unavailable", f"circuit open for {self.breaker.retry_after_s():.1f} s more",
                                   operation=name, code="circuit_open")
        try:
            retryable = endpoint.retryable(key_sent=self.endpoints.idempotency_header in request.headers)
            body = await self._send(name, request.method, request.path, retryable,
                                    timeout_s=endpoint.timeout_s, params=request.params, json=request.json,
                                    headers=request.headers)
        except BusinessApiError as exc:
            if exc.kind == "unavailable":
                self.breaker.record_failure()
            else:
                self.breaker.record_success()  # the API answered: it is up
            CIRCUIT_OPEN.set(1 if self.breaker.state is CircuitState.OPEN else 0)
            raise
        self.breaker.record_success()
        CIRCUIT_OPEN.set(0)
        try:
            return extract_result(body, endpoint.result)
        except KeyError:
            raise BusinessApiError("unavailable", f"the response has no {endpoint.result!r}",
                                   operation=name, code="unexpected_response") from None

    async def _send(self, name: str, method: str, path: str, retryable: bool, *, timeout_s: float | None,
                    **kwargs: Any) -> Any:
        attempts = 1 + (self._retries if retryable else 0)
        extra: dict[str, Any] = {"timeout": timeout_s} if timeout_s is not None else {}
        for attempt in range(1, attempts + 1):
            retry_after: float | None = None
            try:
                with API_SECONDS.labels(name).time():
                    response = await self._client.request(method, path, **kwargs, **extra)
            except httpx.TransportError as exc:
                error = BusinessApiError("unavailable", f"{type(exc).__name__}: {exc}", operation=name,
                                         code="timeout" if isinstance(exc, httpx.TimeoutException) else "unreachable")
            else:
                if response.is_success:
                    API_CALLS.labels(name, "ok").inc()
                    try:
                        return response.json()
                    except ValueError:
                        raise BusinessApiError("unavailable", "the response is not JSON", operation=name,
                                               status=response.status_code, code="unexpected_response") from None
                error = _error_from(response, name)
                if response.status_code not in RETRYABLE_STATUS:
                    API_CALLS.labels(name, error.kind).inc()
                    raise error
                retry_after = _retry_after(response)
            if attempt == attempts:
                API_CALLS.labels(name, error.kind).inc()
                raise error
            API_RETRIES.labels(name).inc()
            delay = backoff_delay(attempt, self._backoff_base_s, self._backoff_max_s)
            if retry_after is not None:
                delay = max(delay, min(retry_after, self._backoff_max_s))
            log.warning("business API %s failed (attempt %d/%d), retrying in %.2f s: %s",
                        name, attempt, attempts, delay, error.message)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def list_packages(self) -> list[dict[str, Any]]:
        packages: list[dict[str, Any]] = await self.call(Operation.LIST_PACKAGES)
        return packages


def _error_from(response: httpx.Response, operation: str) -> BusinessApiError:
    message, code = response.reason_phrase or f"HTTP {response.status_code}", None
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        error = {}
    if isinstance(error, dict):
        message = str(error.get("message") or message)
        code = str(error["code"]) if error.get("code") else None
    return BusinessApiError(_kind_for(response.status_code), message, status=response.status_code, code=code,
                            operation=operation)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
