"""An HTTP client for many requests in flight to one dependency: kept-alive connections in small pools.

httpx keeps 20 connections alive by default: with more requests in flight, every connection beyond
them is opened and closed per request. And httpcore scans its whole pool (asking each connection
whether it expired) on every request and response, so one pool of 256 connections costs more CPU
than the request itself. `PooledClient` keeps as many connections alive as requests may be in
flight, spread round-robin over pools of `POOL_SIZE`.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import httpx

POOL_SIZE = 16


class PooledClient:
    """The part of `httpx.AsyncClient` the adapters use, over pools of at most `POOL_SIZE` connections;
    `client_options` are `httpx.AsyncClient`'s (base_url, headers, timeout, transport, ...)."""

    def __init__(self, *, max_connections: int, **client_options: Any) -> None:
        pools = max(1, math.ceil(max_connections / POOL_SIZE))
        per_pool = math.ceil(max_connections / pools)
        limits = httpx.Limits(max_connections=per_pool, max_keepalive_connections=per_pool)
        self._pools = [httpx.AsyncClient(limits=limits, **client_options) for _ in range(pools)]
        self._next = itertools.cycle(self._pools)

    async def request(self, method: str, url: str, **options: Any) -> httpx.Response:
        return await next(self._next).request(method, url, **options)

    async def get(self, url: str, **options: Any) -> httpx.Response:
        return await self.request("GET", url, **options)

    async def post(self, url: str, **options: Any) -> httpx.Response:
        return await self.request("POST", url, **options)

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()
