"""Adapter to the business's own API over httpx.

Timeouts on every call, retries with exponential backoff and jitter for idempotent calls only,
and an error taxonomy (validation, not_found, conflict, unauthorized, unavailable) that the
policy maps to a clear reply.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any, Literal

import httpx
from prometheus_client import Counter, Histogram

from runtime.metrics import LATENCY_BUCKETS

ErrorKind = Literal["validation", "not_found", "conflict", "unauthorized", "unavailable"]

API_CALLS = Counter("actions_business_api_calls_total", "Business API calls by endpoint and result",
                    ["endpoint", "result"])
API_SECONDS = Histogram("actions_business_api_seconds", "Business API call latency", ["endpoint"],
                        buckets=LATENCY_BUCKETS)


class BusinessApiError(Exception):
    """A business API call failed; `kind` says how, `status` is the HTTP status when there was one."""

    def __init__(self, kind: ErrorKind, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.status = status


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


RETRYABLE_STATUS = frozenset({429, 502, 503, 504, 500})


class BusinessApiClient:
    def __init__(self, client: httpx.AsyncClient, *, retries: int = 3, backoff_base_s: float = 0.2) -> None:
        self._client = client
        self._retries = retries
        self._backoff_base_s = backoff_base_s

    @classmethod
    def from_settings(cls, base_url: str, token: str, *, timeout_s: float, retries: int) -> BusinessApiClient:
        client = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout_s, connect=min(2.0, timeout_s)),
            headers={"Authorization": f"Bearer {token}"},
        )
        return cls(client, retries=retries)

    async def close(self) -> None:
        await self._client.aclose()

    async def ready(self) -> bool:
        try:
            response = await self._client.get("/healthz", timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def request(self, method: str, path: str, *, endpoint: str, idempotent: bool,
                      **kwargs: Any) -> dict[str, Any]:
        attempts = 1 + (self._retries if idempotent else 0)
        for attempt in range(1, attempts + 1):
            try:
                with API_SECONDS.labels(endpoint).time():
                    response = await self._client.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                error = BusinessApiError("unavailable", f"{endpoint}: {type(exc).__name__}: {exc}")
            else:
                if response.is_success:
                    API_CALLS.labels(endpoint, "ok").inc()
                    body: dict[str, Any] = response.json()
                    return body
                error = BusinessApiError(_kind_for(response.status_code), _message(response),
                                         status=response.status_code)
                if response.status_code not in RETRYABLE_STATUS:
                    API_CALLS.labels(endpoint, error.kind).inc()
                    raise error
            if attempt == attempts:
                API_CALLS.labels(endpoint, error.kind).inc()
                raise error
            delay = self._backoff_base_s * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def list_packages(self) -> list[dict[str, Any]]:
        body = await self.request("GET", "/packages", endpoint="GET /packages", idempotent=True)
        packages: list[dict[str, Any]] = body["packages"]
        return packages


def _message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
        return str(error.get("message") or response.reason_phrase)
    except ValueError:
        return response.reason_phrase or f"HTTP {response.status_code}"
