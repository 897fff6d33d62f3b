"""An ingress app served over real HTTP in the test's loop, on the session's broker and Redis."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from devstack.infra import free_port
from runtime.kafka import Publisher
from runtime.ops import http_server
from runtime.redis_client import redis_client
from services.ingress.adapters.admission import Admission
from services.ingress.handler import IngressDeps
from services.ingress.http import create_app
from services.ingress.settings import IngressSettings


@dataclass
class RunningIngress:
    url: str
    settings: IngressSettings
    deps: IngressDeps

    @property
    def webhook(self) -> str:
        return self.url + "/webhooks/twilio/whatsapp"


IngressFactory = Callable[..., contextlib.AbstractAsyncContextManager[RunningIngress]]


@pytest.fixture
def ingress(kafka_bootstrap: str, redis_url: str) -> IngressFactory:
    @contextlib.asynccontextmanager
    async def run(**overrides: Any) -> AsyncIterator[RunningIngress]:
        port = free_port()
        values: dict[str, Any] = {"kafka_bootstrap_servers": kafka_bootstrap, "redis_url": redis_url,
                                  "http_port": port, "public_url": f"http://127.0.0.1:{port}"}
        values.update(overrides)
        settings = IngressSettings(**values)
        redis = redis_client(redis_url)
        publisher = await Publisher.connect(settings, stage="ingress")
        deps = IngressDeps(admission=Admission(redis, dedup_ttl_s=600, capacity=settings.rate_capacity,
                                               refill_per_s=settings.rate_refill_per_s,
                                               notice_window_s=settings.rate_notice_window_s),
                           publisher=publisher, rate_notice_text=settings.rate_notice_text,
                           instant_receipt_text=settings.instant_receipt_text)
        server = http_server(create_app(settings, deps), host="127.0.0.1", port=port)
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn only exposes a flag
            await asyncio.sleep(0.01)
        try:
            yield RunningIngress(url=f"http://127.0.0.1:{port}", settings=settings, deps=deps)
        finally:
            server.should_exit = True
            await task
            await publisher.close()
            await redis.aclose()

    return run
