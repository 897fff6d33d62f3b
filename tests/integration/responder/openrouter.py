"""The OpenRouter stand-in served over real HTTP in the test's event loop."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from devstack.infra import free_port
from openrouter_standin.app import create_app
from openrouter_standin.settings import DEMO_API_KEY, StandinSettings
from tests.integration.responder.standin import served


@dataclass(frozen=True)
class OpenRouterStandin:
    url: str
    api_key: str = DEMO_API_KEY

    async def script(self, *responses: dict[str, Any]) -> None:
        """The next answers, in order (content, status, retry_after_s, error_body, delay_s, model)."""
        async with httpx.AsyncClient(trust_env=False) as client:
            response = await client.post(self.url + "/_standin/script", json={"responses": list(responses)})
            response.raise_for_status()

    async def requests(self) -> list[dict[str, Any]]:
        """The completions asked for, oldest first: `headers` and the JSON `body`."""
        async with httpx.AsyncClient(trust_env=False) as client:
            response = await client.get(self.url + "/_standin/requests")
            response.raise_for_status()
            return list(response.json())

    async def set_latency(self, latency_ms: float) -> None:
        async with httpx.AsyncClient(trust_env=False) as client:
            response = await client.put(self.url + "/_standin/latency", json={"latency_ms": latency_ms})
            response.raise_for_status()


@contextlib.asynccontextmanager
async def running_openrouter(**overrides: Any) -> AsyncIterator[OpenRouterStandin]:
    port = free_port()
    values: dict[str, Any] = {"port": port, "answer": "draft", **overrides}
    async with served(create_app(StandinSettings(**values)), port) as url:
        yield OpenRouterStandin(url)
