"""An HTTP client for many requests in flight to one dependency: httpx's API over aiohttp's connections.

The hot paths (the business API from actions, OpenRouter from the responder) keep hundreds of
requests in flight. httpx's own transport (httpcore over anyio) costs about 1.8 ms of CPU per small
JSON request on this project's machine: it scans its whole pool, asking each connection whether it
expired, on every request and response, and goes through anyio for every socket call. aiohttp's
connector and C parser do the same request for about 0.4 ms. `pooled_client` gives an
`httpx.AsyncClient` (base_url, auth, headers, timeouts, `httpx` exceptions: what the adapters use)
whose transport is `AiohttpTransport`, keeping as many connections alive as requests may be in flight.

`AiohttpTransport` sends the URL exactly as httpx built it (a signed callback URL must not be
re-encoded), reads each response whole (the dependencies answer small JSON documents) and raises
httpx's transport errors, so callers tell a timeout from a refused connection as before.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import aiohttp
import httpx
from yarl import URL

KEEPALIVE_S = 4.0
"""An idle connection is closed after this long: below uvicorn's 5 s, so the client, not the server,
closes it, and a request never goes out on a connection the server is closing."""


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport over one `aiohttp.ClientSession` (created on first use, in the running loop)."""

    def __init__(self, *, max_connections: int, keepalive_s: float = KEEPALIVE_S, verify: bool = True) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be >= 1")
        self._max_connections = max_connections
        self._keepalive_s = keepalive_s
        self._verify = verify
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            tls: ssl.SSLContext | bool = httpx.create_ssl_context() if self._verify else False
            connector = aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=0,
                                             keepalive_timeout=self._keepalive_s, ssl=tls)
            # No cookie jar and no proxies from the environment: like the httpx clients it replaces.
            self._session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                                  trust_env=False, auto_decompress=False)
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        body = await request.aread()
        try:
            async with self._open().request(
                request.method, URL(str(request.url), encoded=True), headers=_as_sent(request.headers),
                data=body or None, allow_redirects=False, compress=None,
                timeout=aiohttp.ClientTimeout(total=None, connect=timeouts.get("pool"),
                                              sock_connect=timeouts.get("connect"), sock_read=timeouts.get("read")),
            ) as response:
                content = await response.read()
        except Exception as exc:
            raise _httpx_error(exc, request) from exc
        return httpx.Response(
            response.status, headers=list(response.raw_headers), content=content, request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode()},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _as_sent(headers: httpx.Headers) -> list[tuple[str, str]]:
    """The request's headers with their names as written (httpx's `multi_items` lower-cases them)."""
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers.raw]


def _httpx_error(exc: Exception, request: httpx.Request) -> Exception:
    """httpx's exception for what aiohttp raised (the tree callers catch); anything else unchanged."""
    message = f"{type(exc).__name__}: {exc}"
    kind: type[httpx.TransportError]
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        kind = httpx.ConnectTimeout
    elif isinstance(exc, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        kind = httpx.ReadTimeout
    elif isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        kind = httpx.UnsupportedProtocol
    elif isinstance(exc, aiohttp.ClientConnectorError):
        kind = httpx.ConnectError
    elif isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError
                    | aiohttp.ClientResponseError):
        kind = httpx.RemoteProtocolError
    elif isinstance(exc, aiohttp.ClientError | OSError):
        kind = httpx.ReadError
    else:
        return exc
    return kind(message, request=request)


def pooled_client(*, max_connections: int, transport: httpx.AsyncBaseTransport | None = None,
                  **client_options: Any) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` (`client_options`: base_url, headers, timeout, ...) over `AiohttpTransport`
    with `max_connections` kept alive, or over `transport` when one is given (a test's stand-in)."""
    return httpx.AsyncClient(transport=transport or AiohttpTransport(max_connections=max_connections),
                             trust_env=False, **client_options)
