"""A process that cannot start says why in one line, without a traceback.

An unreachable dependency exits 2 naming it; a malformed setting exits 78 (EX_CONFIG) naming the
variable, its problem and a valid example.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.infra import free_port
from runtime.settings import EXIT_CONFIG

DEFAULT_PORTS = {"ingress": 8080, "nlu": 5005, "actions": 8081, "responder": 8082, "logger": 8083}


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


def assert_config_error(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert done.returncode == EXIT_CONFIG, done.stderr
    for text in expected:
        assert text in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("service", ["ingress", "responder"])
def test_a_malformed_account_sid_is_named(service: str) -> None:
    done = run_service(f"services.{service}", TWILIO_ACCOUNT_SID="foo")
    assert_config_error(done, f"error: {service}: TWILIO_ACCOUNT_SID=foo: ",
                        "e.g. TWILIO_ACCOUNT_SID=AC0123456789abcdef0123456789abcdef")


@pytest.mark.parametrize(("service", "port"), DEFAULT_PORTS.items())
def test_a_non_integer_port_is_named(service: str, port: int) -> None:
    variable = f"{service.upper()}_HTTP_PORT"
    done = run_service(f"services.{service}", **{variable: "abc"})
    assert_config_error(done, f"error: {service}: {variable}=abc: input should be a valid integer",
                        f"e.g. {variable}={port}")


def test_an_unknown_kafka_profile_is_named() -> None:
    done = run_service("services.logger", KAFKA_PROFILE="bogus")
    assert_config_error(done, "error: logger: KAFKA_PROFILE=bogus: ", "e.g. KAFKA_PROFILE=tansu (or kafka)")


@pytest.mark.parametrize("service", ["actions", "nlu"])
def test_production_mode_refuses_the_demo_business_token(service: str) -> None:
    done = run_service(f"services.{service}", ORCHESTRATOR_MODE="production", BUSINESS_API_TOKEN="demo-business-token")
    assert_config_error(done, f"error: {service}: production mode needs BUSINESS_API_TOKEN (the demo token is refused)")


def test_the_business_api_names_a_bad_setting() -> None:
    done = run_service("business_api", BUSINESS_API_PORT="abc")
    assert_config_error(done, "error: business-api: BUSINESS_API_PORT=abc: ", "e.g. BUSINESS_API_PORT=8090")


def test_the_twilio_standin_names_a_bad_setting() -> None:
    done = run_service("twilio_standin", TWILIO_ACCOUNT_SID="foo")
    assert_config_error(done, "error: twilio-standin: TWILIO_ACCOUNT_SID=foo: ", "e.g. TWILIO_ACCOUNT_SID=AC")


def test_the_demo_checks_every_setting_before_starting_anything(tmp_path: Path) -> None:
    # INGRESS_HTTP_PORT is the stack's to set: checked is the environment the services would get.
    env = {**os.environ, "TWILIO_ACCOUNT_SID": "foo", "INGRESS_HTTP_PORT": "abc"}
    done = subprocess.run([sys.executable, "-m", "devstack.demo"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == EXIT_CONFIG, done.stderr
    assert done.stderr.splitlines() == [
        f"error: {name}: TWILIO_ACCOUNT_SID=foo: string should match pattern '^AC[0-9a-fA-F]{{32}}$'; "
        "e.g. TWILIO_ACCOUNT_SID=AC0123456789abcdef0123456789abcdef"
        for name in ("twilio-standin", "ingress", "responder")
    ]
    assert done.stdout == ""
    assert not (tmp_path / ".run").exists()
