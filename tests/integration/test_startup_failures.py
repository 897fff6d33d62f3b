"""A service that cannot reach a dependency at start says which one, in one line, and exits 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from devstack.infra import free_port


def run_service(module: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", module], env={**os.environ, "LOG_FORMAT": "text", **env},
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("module", ["services.ingress", "services.responder"])
def test_unreachable_redis_is_named(module: str) -> None:
    address = f"redis://127.0.0.1:{free_port()}/0"
    done = run_service(module, REDIS_URL=address)
    assert done.returncode == 2
    assert f"error: {module.split('.')[1]}: cannot reach Redis at {address}" in done.stderr
    assert "Traceback" not in done.stderr


def test_unreachable_broker_is_named(redis_url: str) -> None:
    address = f"127.0.0.1:{free_port()}"
    done = run_service("services.ingress", KAFKA_BOOTSTRAP_SERVERS=address, REDIS_URL=redis_url)
    assert done.returncode == 2
    assert f"error: ingress: cannot reach the Kafka broker at {address}" in done.stderr
    assert "Traceback" not in done.stderr


def test_unreachable_database_is_named() -> None:
    port = free_port()
    done = run_service("services.logger", DATABASE_URL=f"postgresql://postgres@127.0.0.1:{port}/events")
    assert done.returncode == 2
    assert f"error: logger: cannot reach PostgreSQL at 127.0.0.1:{port}/events" in done.stderr
    assert "Traceback" not in done.stderr
