"""Fixtures for the reference business API: each test gets a fresh database and its own server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from business_api.settings import BusinessApiSettings
from tests.integration.business_api.harness import AUTH, Api, ApiServer, StartApi, settings_for


@pytest.fixture
async def start_api(fresh_database: str) -> AsyncIterator[StartApi]:
    """Start servers on demand (several per test when needed); all are stopped at the end, before
    the test's database is dropped."""
    started: list[ApiServer] = []

    async def _start(settings: BusinessApiSettings) -> ApiServer:
        server = ApiServer(settings)
        started.append(server)
        return await server.start()

    yield _start
    for server in started:
        await server.stop()


@pytest.fixture
async def api(fresh_database: str, start_api: StartApi) -> AsyncIterator[Api]:
    server = await start_api(settings_for(fresh_database))
    async with httpx.AsyncClient(base_url=server.url, headers=AUTH, trust_env=False, timeout=30.0) as http:
        yield Api(server, http, fresh_database)


@pytest.fixture
async def db(fresh_database: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to the test database, in the API's schema, to check what HTTP cannot show."""
    conn = await asyncpg.connect(fresh_database, server_settings={"search_path": "business"})
    yield conn
    await conn.close()
