"""runtime.settings: a bad setting reads as one line naming the variable, its problem and a valid example."""

from __future__ import annotations

import os

import pytest
from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from business_api.settings import BusinessApiSettings
from runtime.settings import EXIT_CONFIG, load_settings, settings_errors
from services.actions.settings import ActionsSettings
from services.ingress.settings import IngressSettings
from services.logger.settings import LoggerSettings
from services.nlu.settings import NluSettings
from services.responder.settings import ResponderSettings


class VaultSettings(BaseSettings):
    """Fields whose examples come from their type: none of them has a default or examples of its own."""

    model_config = SettingsConfigDict(env_prefix="VAULT_", frozen=True, extra="ignore")

    token: SecretStr | None = None
    ttl_s: float | None = None
    retries: int | None = None
    sealed: bool | None = None

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value


def test_a_malformed_port_names_the_prefixed_variable_and_its_default_as_example() -> None:
    assert settings_errors(IngressSettings, "ingress", {"INGRESS_HTTP_PORT": "abc"}) == [
        "error: ingress: INGRESS_HTTP_PORT=abc: input should be a valid integer, unable to parse string as an "
        "integer; e.g. INGRESS_HTTP_PORT=8080"
    ]


@pytest.mark.parametrize("cls", [IngressSettings, ResponderSettings])
def test_a_malformed_account_sid_names_the_shared_variable_and_a_valid_sid(cls: type[BaseSettings]) -> None:
    [line] = settings_errors(cls, "svc", {"TWILIO_ACCOUNT_SID": "foo"})
    assert line.startswith("error: svc: TWILIO_ACCOUNT_SID=foo: string should match pattern")
    assert line.endswith("; e.g. TWILIO_ACCOUNT_SID=AC0123456789abcdef0123456789abcdef")


def test_a_literal_lists_its_allowed_values() -> None:
    [line] = settings_errors(LoggerSettings, "logger", {"KAFKA_PROFILE": "bogus"})
    assert line == (
        "error: logger: KAFKA_PROFILE=bogus: input should be 'tansu' or 'kafka'; e.g. KAFKA_PROFILE=tansu (or kafka)"
    )


@pytest.mark.parametrize("variable", ["ORCHESTRATOR_MODE", "BUSINESS_API_MODE"])
def test_of_several_aliases_the_one_that_is_set_is_named(variable: str) -> None:
    [line] = settings_errors(BusinessApiSettings, "business-api", {variable: "bogus"})
    assert line.startswith(f"error: business-api: {variable}=bogus: ")


def test_secrets_are_masked() -> None:
    [line] = settings_errors(VaultSettings, "vault", {"VAULT_TOKEN": "hunter2"})
    assert line == "error: vault: VAULT_TOKEN=****: must be at least 16 characters"


def test_a_password_in_a_url_is_masked() -> None:
    [line] = settings_errors(BusinessApiSettings, "business-api", {"DATABASE_URL": "mysql://shop:hunter2@db/shop"})
    assert "hunter2" not in line
    assert line == (
        "error: business-api: DATABASE_URL='mysql://shop:****@db/shop': must be a postgresql:// URL; "
        "e.g. DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test"
    )


def test_a_value_with_spaces_is_quoted() -> None:
    [line] = settings_errors(BusinessApiSettings, "business-api", {"BUSINESS_API_DB_SCHEMA": "my schema"})
    assert line.startswith("error: business-api: BUSINESS_API_DB_SCHEMA='my schema': ")
    assert line.endswith("; e.g. BUSINESS_API_DB_SCHEMA=business")


@pytest.mark.parametrize(
    ("variable", "example"),
    [("VAULT_TTL_S", "0.5"), ("VAULT_RETRIES", "10"), ("VAULT_SEALED", "true")],
)
def test_without_default_or_examples_the_example_comes_from_the_type(variable: str, example: str) -> None:
    [line] = settings_errors(VaultSettings, "vault", {variable: "lots"})
    assert line.endswith(f"; e.g. {variable}={example}")


def test_examples_take_precedence_over_an_unhelpful_default() -> None:
    [line] = settings_errors(LoggerSettings, "logger", {"KAFKA_MAX_BATCH_BYTES": "lots"})
    assert line.endswith("; e.g. KAFKA_MAX_BATCH_BYTES=524288")


@pytest.mark.parametrize(("cls", "service"), [(ActionsSettings, "actions"), (NluSettings, "nlu")])
def test_production_mode_refuses_the_demo_business_token(cls: type[BaseSettings], service: str) -> None:
    production = {"ORCHESTRATOR_MODE": "production"}
    assert settings_errors(cls, service, production) == [
        f"error: {service}: production mode needs BUSINESS_API_TOKEN (the demo token is refused)"
    ]
    assert settings_errors(cls, service, {**production, "BUSINESS_API_TOKEN": "a-real-secret"}) == []


def test_one_line_per_bad_variable() -> None:
    lines = settings_errors(
        ResponderSettings, "responder", {"KAFKA_PROFILE": "bogus", "RESPONDER_HTTP_PORT": "x", "LOG_FORMAT": "xml"}
    )
    assert [line.split("=")[0] for line in lines] == [
        "error: responder: KAFKA_PROFILE",
        "error: responder: LOG_FORMAT",
        "error: responder: RESPONDER_HTTP_PORT",
    ]


def test_checking_another_environment_leaves_the_process_environment_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_PROFILE", "kafka")
    before = dict(os.environ)
    assert settings_errors(LoggerSettings, "logger", {"KAFKA_PROFILE": "bogus"})
    assert dict(os.environ) == before


def test_load_settings_prints_the_lines_and_exits_78(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOGGER_HTTP_PORT", "abc")
    with pytest.raises(SystemExit) as exited:
        load_settings(LoggerSettings, "logger")
    assert exited.value.code == EXIT_CONFIG == 78
    assert capsys.readouterr().err == (
        "error: logger: LOGGER_HTTP_PORT=abc: input should be a valid integer, unable to parse string as an "
        "integer; e.g. LOGGER_HTTP_PORT=8083\n"
    )


def test_load_settings_returns_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGGER_HTTP_PORT", "9000")
    assert load_settings(LoggerSettings, "logger").http_port == 9000
