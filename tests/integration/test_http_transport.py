"""`runtime.http.pooled_client` against a real local HTTP server: answers, kept-alive connections,
the connection limit, and httpx's exceptions for timeouts, refusals and a server that hangs up."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from devstack.infra import free_port
from runtime.http import pooled_client

Reply = Callable[[bytes, bytes], Awaitable[bytes | None]]
"""(request head, request body) → the raw response to write, or None to hang up without one."""


class Server:
    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.connections = 0
        self.in_flight = 0
        self.most_in_flight = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                body = await reader.readexactly(length) if length else b""
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
                try:
                    answer = await self.reply(head, body)
                finally:
                    self.in_flight -= 1
                if answer is None:
                    return
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()


def response(status: int, body: bytes, *headers: str) -> bytes:
    head = [f"HTTP/1.1 {status} OK", f"Content-Length: {len(body)}", "Content-Type: application/json", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@asynccontextmanager
async def serving(reply: Reply) -> AsyncIterator[tuple[Server, str]]:
    server = Server(reply)
    port = free_port()
    listener = await asyncio.start_server(server.serve, "127.0.0.1", port)
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        listener.close()


async def echo(head: bytes, body: bytes) -> bytes:
    request_line = head.split(b"\r\n")[0].decode()
    auth = next((line.split(b":", 1)[1].strip().decode() for line in head.split(b"\r\n")
                 if line.lower().startswith(b"authorization:")), None)
    return response(201, json.dumps({"request": request_line, "auth": auth, "body": json.loads(body or b"null")})
                    .encode())


async def test_a_request_and_its_answer_go_through_as_httpx_gives_them() -> None:
    async with serving(echo) as (_, url):
        client = pooled_client(max_connections=4, base_url=url, headers={"Authorization": "Bearer k"}, timeout=2.0)
        try:
            answer = await client.post("/api/v1/things", params={"q": "sí"}, json={"n": 1, "text": "¡hola!"})
        finally:
            await client.aclose()
    assert answer.status_code == 201
    assert answer.json() == {"request": "POST /api/v1/things?q=s%C3%AD HTTP/1.1", "auth": "Bearer k",
                             "body": {"n": 1, "text": "¡hola!"}}
    assert answer.headers["content-type"] == "application/json"


async def test_a_compressed_answer_is_decoded_once() -> None:
    async def gzipped(head: bytes, body: bytes) -> bytes:
        return response(200, gzip.compress(b'{"ok": "s\xc3\xad"}'), "Content-Encoding: gzip")

    async with serving(gzipped) as (_, url):
        async with pooled_client(max_connections=2, base_url=url) as client:
            answer = await client.get("/")
    assert answer.json() == {"ok": "sí"}


async def test_connections_are_kept_alive_and_never_more_than_the_limit() -> None:
    async def slow(head: bytes, body: bytes) -> bytes:
        await asyncio.sleep(0.05)
        return response(200, b"{}")

    async with serving(slow) as (server, url):
        async with pooled_client(max_connections=8, base_url=url, timeout=5.0) as client:
            for _ in range(5):
                assert (await client.get("/")).status_code == 200
            assert server.connections == 1
            answers = await asyncio.gather(*(client.get("/") for _ in range(40)))
    assert all(a.status_code == 200 for a in answers)
    assert server.most_in_flight == 8
    assert server.connections == 8


async def test_no_answer_within_the_read_timeout_is_a_read_timeout() -> None:
    async def never(head: bytes, body: bytes) -> bytes:
        await asyncio.sleep(5)
        return response(200, b"{}")

    async with serving(never) as (_, url):
        async with pooled_client(max_connections=2, base_url=url, timeout=0.3) as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.get("/")


async def test_a_refused_connection_is_a_connect_error_not_a_timeout() -> None:
    async with pooled_client(max_connections=2, base_url=f"http://127.0.0.1:{free_port()}", timeout=2.0) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("/")


async def test_a_server_that_hangs_up_is_a_transport_error() -> None:
    async def hang_up(head: bytes, body: bytes) -> None:
        return None

    async with serving(hang_up) as (_, url):
        async with pooled_client(max_connections=2, base_url=url, timeout=2.0) as client:
            with pytest.raises(httpx.TransportError) as raised:
                await client.post("/", json={})
    assert not isinstance(raised.value, httpx.TimeoutException)


async def test_the_url_and_header_names_go_out_exactly_as_written() -> None:
    heads: list[bytes] = []

    async def record(head: bytes, body: bytes) -> bytes:
        heads.append(head)
        return response(200, b"{}")

    async with serving(record) as (_, url):
        async with pooled_client(max_connections=2, timeout=2.0) as client:
            await client.get(f"{url}/status?tenant=demo&note=a+b%2Fc%C3%B1", headers={"X-Twilio-Signature": "s"})
    [head] = heads
    assert head.split(b"\r\n")[0] == b"GET /status?tenant=demo&note=a+b%2Fc%C3%B1 HTTP/1.1"  # signed as is
    assert b"\r\nX-Twilio-Signature: s\r\n" in head
