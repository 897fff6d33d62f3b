"""Running the service: auth, health, migrations on repeated and concurrent starts, start-up failures."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import asyncpg
import httpx
import pytest
from pydantic import SecretStr, ValidationError

from business_api.app import create_app
from business_api.errors import DatabaseUnavailable
from business_api.settings import BusinessApiSettings
from devstack.infra import free_port
from tests.integration.business_api.harness import AUTH, StartApi, settings_for

ENDPOINTS = [
    ("GET", "/packages"),
    ("GET", "/schedule-slots"),
    ("POST", "/booking"),
    ("GET", "/client/bookings"),
    ("POST", "/client/bookings/BK-1234/cancel"),
    ("GET", "/admin/bookings"),
    ("POST", "/client/purchase"),
    ("GET", "/client/purchase-history"),
    ("GET", "/client/packages"),
    ("GET", "/client/me"),
    ("PATCH", "/client/me"),
]


async def snapshot(db: asyncpg.Connection) -> dict[str, int]:
    counts = {}
    for table in ("schema_migrations", "packages", "clients", "slots", "bookings", "purchases"):
        counts[table] = await db.fetchval(f"SELECT count(*) FROM {table}")
    return counts


async def test_every_endpoint_but_health_needs_the_bearer_token(fresh_database: str, start_api: StartApi) -> None:
    server = await start_api(settings_for(fresh_database))
    async with httpx.AsyncClient(base_url=server.url, trust_env=False) as http:
        for method, path in ENDPOINTS:
            missing = await http.request(method, path, headers={"X-Client-Phone": "+5215511111111"})
            wrong = await http.request(method, path, headers={"Authorization": "Bearer nope"})
            assert missing.status_code == 401, (method, path, missing.text)
            assert missing.json()["error"] == {
                "kind": "unauthorized",
                "message": "send Authorization: Bearer <token>",
                "code": "missing_token",
            }
            assert missing.headers["WWW-Authenticate"] == "Bearer"
            assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "invalid_token"), (method, path)
        health = await http.get("/healthz")
        ready = await http.get("/readyz")
        authorized = await http.get("/packages", headers=AUTH)

    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert authorized.status_code == 200


async def test_restarting_on_the_same_database_applies_and_seeds_nothing_twice(
    fresh_database: str, start_api: StartApi, db: asyncpg.Connection
) -> None:
    first = await start_api(settings_for(fresh_database))
    after_first = await snapshot(db)
    await first.stop()

    await start_api(settings_for(fresh_database))

    assert await snapshot(db) == after_first
    assert after_first["schema_migrations"] >= 1 and after_first["packages"] == 4


async def test_two_processes_starting_at_once_migrate_and_seed_once(
    fresh_database: str, start_api: StartApi, db: asyncpg.Connection
) -> None:
    await asyncio.gather(*(start_api(settings_for(fresh_database)) for _ in range(3)))

    counts = await snapshot(db)
    versions = [row["version"] for row in await db.fetch("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == sorted(set(versions)) and versions[0] == 1
    assert counts["packages"] == 4
    assert await db.fetchval("SELECT count(*) FROM clients WHERE phone = '+5215511111111'") == 1
    assert (
        await db.fetchval("SELECT count(*) FROM (SELECT 1 FROM slots GROUP BY starts_at, class_name) s")
        == (counts["slots"])
    )
    assert await db.fetchval("SELECT count(*) FROM slots WHERE capacity - booked = 1") == 1


async def test_all_tables_live_in_the_configured_schema(
    fresh_database: str, start_api: StartApi, db: asyncpg.Connection
) -> None:
    server = await start_api(settings_for(fresh_database, db_schema="studio_api"))
    async with httpx.AsyncClient(base_url=server.url, headers=AUTH, trust_env=False) as http:
        packages = await http.get("/packages")

    tables = {
        (row["table_schema"], row["table_name"])
        for row in await db.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
    }
    assert packages.status_code == 200 and len(packages.json()["packages"]) == 4
    assert {schema for schema, _ in tables} == {"studio_api"}
    assert {"schema_migrations", "clients", "packages", "slots", "bookings", "purchases", "idempotency_keys"} <= {
        name for _, name in tables
    }


async def test_an_unreachable_database_fails_the_start_naming_its_address() -> None:
    port = free_port()
    app = create_app(settings_for(f"postgresql://postgres@127.0.0.1:{port}/nowhere", connect_timeout_s=0.5))

    with pytest.raises(DatabaseUnavailable) as failure:
        async with app.router.lifespan_context(app):
            pass

    assert str(failure.value).startswith(f"cannot reach PostgreSQL at 127.0.0.1:{port}/nowhere: ")


async def test_a_missing_database_is_reported_at_once(fresh_database: str) -> None:
    missing = fresh_database.rsplit("/", 1)[0] + "/no_such_database_here"
    app = create_app(settings_for(missing))

    with pytest.raises(DatabaseUnavailable, match="no_such_database_here"):
        async with app.router.lifespan_context(app):
            pass


def test_the_command_prints_one_line_and_exits_2_when_postgres_is_unreachable() -> None:
    port = free_port()
    env = {
        **os.environ,
        "BUSINESS_API_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/demo",
        "BUSINESS_API_CONNECT_TIMEOUT_S": "0.5",
    }

    done = subprocess.run(
        [sys.executable, "-m", "business_api"], env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: business-api: cannot reach PostgreSQL at 127.0.0.1:{port}/demo: ")


async def test_readiness_turns_503_when_the_database_goes_away(
    fresh_database: str, start_api: StartApi, postgres_url: str
) -> None:
    server = await start_api(settings_for(fresh_database, pool_min_size=1, pool_max_size=1))
    name = fresh_database.rsplit("/", 1)[1]
    async with httpx.AsyncClient(base_url=server.url, headers=AUTH, trust_env=False, timeout=10) as http:
        assert (await http.get("/readyz")).status_code == 200
        admin = await asyncpg.connect(postgres_url)
        try:
            await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
            not_ready = await http.get("/readyz")
            unavailable = await http.get("/packages")
        finally:
            await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
            await admin.close()

    assert not_ready.status_code == 503
    assert not_ready.json()["status"] == "unavailable"
    assert unavailable.status_code == 503
    assert unavailable.json()["error"]["kind"] == "unavailable"


async def test_the_openapi_describes_packages_and_payments(fresh_database: str, start_api: StartApi) -> None:
    server = await start_api(settings_for(fresh_database))
    async with httpx.AsyncClient(base_url=server.url, trust_env=False) as http:
        spec = (await http.get("/openapi.json")).json()

    assert {"/client/packages", "/payments/webhook"} <= set(spec["paths"])
    schemas = spec["components"]["schemas"]
    assert {"purchase_id", "package_name", "sessions_left"} <= set(schemas["BookedView"]["properties"])
    assert {"session_returned", "refund_hours", "sessions_left"} <= set(schemas["CancelledView"]["properties"])
    assert set(schemas["ClientPackageView"]["properties"]) == {
        "purchase_id", "package_id", "name", "sessions_total", "sessions_left", "valid_until", "status", "payment_link"}
    webhook = spec["paths"]["/payments/webhook"]["post"]
    body = webhook["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) >= {"purchase_id", "token", "status"} and body["required"] == ["status"]
    assert "security" not in webhook and {"200", "401", "404", "422"} <= set(webhook["responses"])


def test_production_mode_refuses_the_demo_payment_secrets() -> None:
    real = {"mode": "production", "token": SecretStr("a-real-token")}

    with pytest.raises(ValidationError, match="BUSINESS_API_PAYMENT_PROVIDER_SECRET"):
        BusinessApiSettings(**real)
    with_provider = {**real, "payment_provider_secret": SecretStr("a-real-provider-secret")}
    assert not BusinessApiSettings(**with_provider).demo_checkout_enabled, "no free payments in production"
    with pytest.raises(ValidationError, match="BUSINESS_WEBHOOK_SECRET"):
        BusinessApiSettings(**with_provider, orchestrator_webhook_url="https://bot.example.com/webhooks/business/payments")
    assert BusinessApiSettings(**with_provider, orchestrator_webhook_url="https://bot.example.com/x",
                               webhook_secret=SecretStr("a-real-shared-secret")).orchestrator_webhook_url
