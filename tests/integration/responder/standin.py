"""The Twilio stand-in served over real HTTP in the test's event loop (shared by the ingress tests)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from devstack.infra import free_port
from runtime.ops import http_server
from twilio_standin.app import create_app
from twilio_standin.settings import StandinSettings


@dataclass(frozen=True)
class Standin:
    url: str

    async def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        """What the stand-in recorded as sent, oldest first."""
        async with httpx.AsyncClient(trust_env=False) as client:
            response = await client.get(self.url + "/_standin/messages", params={"to": to} if to else None)
            response.raise_for_status()
            return list(response.json())

    async def sent_earlier(self, *, to: str, from_: str, body: str, date_sent: datetime) -> str:
        """Record a message as sent at `date_sent` (the stand-in's dev-only history endpoint); its sid."""
        async with httpx.AsyncClient(trust_env=False) as client:
            response = await client.post(self.url + "/_standin/history", json={
                "to": to, "from": from_, "body": body, "date_sent": date_sent.isoformat()})
            response.raise_for_status()
            return str(response.json()["sid"])


@contextlib.asynccontextmanager
async def served(app: Any, port: int, *, lifespan: str = "auto") -> AsyncIterator[str]:
    """`app` served over real HTTP on `port` in the test's event loop; its base URL."""
    server = http_server(app, host="127.0.0.1", port=port)
    server.config.lifespan = lifespan
    task = asyncio.create_task(server.serve())
    while not server.started:  # uvicorn only exposes a flag
        if task.done():
            await task
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def running_standin(**overrides: Any) -> AsyncIterator[Standin]:
    port = free_port()
    values: dict[str, Any] = {"port": port, "callbacks": False, **overrides}
    # lifespan on: the stand-in closes its status-callback sender on shutdown
    async with served(create_app(StandinSettings(**values)), port, lifespan="on") as url:
        yield Standin(url)
