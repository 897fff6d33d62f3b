"""Ops endpoints every service exposes: /healthz (alive), /readyz (dependencies), /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping

import uvicorn
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

Check = Callable[[], Awaitable[bool]]

log = logging.getLogger(__name__)


def add_ops_routes(app: FastAPI, *, service: str, ready_checks: Mapping[str, Check],
                   alive: Callable[[], bool] = lambda: True) -> FastAPI:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        ok = alive()
        return JSONResponse({"service": service, "status": "ok" if ok else "stalled"}, status_code=200 if ok else 503)

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        names = list(ready_checks)
        results = await asyncio.gather(*(_safe(ready_checks[name]) for name in names))
        checks = {name: "ok" if ok else "unreachable" for name, ok in zip(names, results, strict=True)}
        ready = all(results)
        return JSONResponse({"service": service, "ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


def ops_app(*, service: str, ready_checks: Mapping[str, Check], alive: Callable[[], bool] = lambda: True) -> FastAPI:
    return add_ops_routes(FastAPI(title=f"{service} ops", docs_url=None, redoc_url=None),
                          service=service, ready_checks=ready_checks, alive=alive)


async def _safe(check: Check) -> bool:
    try:
        return await asyncio.wait_for(check(), timeout=3.0)
    except Exception:  # a check that raises means "not ready", never a 500
        return False


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside a service's own event loop: the service, not uvicorn, handles signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def http_server(app: FastAPI, *, host: str, port: int) -> uvicorn.Server:
    # proxy_headers off: a service that needs forwarded headers reads them itself, under its own
    # trust setting (ingress: INGRESS_TRUST_FORWARDED_HEADERS), not uvicorn's loopback default
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="off",
                            proxy_headers=False)
    return _EmbeddedServer(config)
