"""BUSINESS_API_LATENCY_MS: every API call waits that long (for benchmarks); the health probes do not."""

from __future__ import annotations

import time

import httpx
import pytest

from business_api.settings import BusinessApiSettings
from tests.integration.business_api.harness import AUTH, StartApi, settings_for

LATENCY_MS = 400.0


async def elapsed_s(http: httpx.AsyncClient, path: str) -> float:
    started = time.perf_counter()
    response = await http.get(path, headers=AUTH)
    assert response.status_code == 200, (path, response.text)
    return time.perf_counter() - started


async def test_every_api_call_waits_the_configured_latency(fresh_database: str, start_api: StartApi) -> None:
    server = await start_api(settings_for(fresh_database, latency_ms=LATENCY_MS))
    async with httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=30.0) as http:
        for path in ("/packages", "/schedule-slots"):
            assert await elapsed_s(http, path) >= LATENCY_MS / 1000, path
        unauthorized = time.perf_counter()
        assert (await http.get("/packages")).status_code == 401
        assert time.perf_counter() - unauthorized >= LATENCY_MS / 1000
        for probe in ("/healthz", "/readyz"):
            assert await elapsed_s(http, probe) < LATENCY_MS / 1000, probe


def test_the_latency_is_read_from_its_variable_and_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BUSINESS_API_LATENCY_MS", raising=False)
    assert BusinessApiSettings().latency_ms == 0.0
    monkeypatch.setenv("BUSINESS_API_LATENCY_MS", "50")
    assert BusinessApiSettings().latency_ms == 50.0
