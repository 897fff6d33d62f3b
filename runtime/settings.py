"""Settings shared by every service. Each service subclasses `ServiceSettings` with its own env prefix."""

from __future__ import annotations

from typing import Literal, TypeVar

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_ACCOUNT_SID = "AC00000000000000000000000000000001"
DEMO_AUTH_TOKEN = "demo-auth-token-0000000000000000"


def shared(name: str) -> AliasChoices:
    """An un-prefixed environment variable shared by all services (KAFKA_BOOTSTRAP_SERVERS, ...)."""
    return AliasChoices(name)


class ServiceSettings(BaseSettings):
    """What every service needs: where the broker is, how to tune it, how to log, how to serve ops."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    mode: Literal["demo", "production"] = Field("demo", validation_alias=shared("ORCHESTRATOR_MODE"))
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", validation_alias=shared("KAFKA_BOOTSTRAP_SERVERS")
    )
    kafka_profile: Literal["tansu", "kafka"] = Field(
        "tansu",
        validation_alias=shared("KAFKA_PROFILE"),
        description="tansu: one record per batch, no idempotent producer (DESIGN.md section 9); "
        "kafka: batching and the idempotent producer",
    )
    kafka_max_batch_bytes: int | None = Field(
        None, validation_alias=shared("KAFKA_MAX_BATCH_BYTES"),
        description="Producer batch size; unset: one record per batch on Tansu, 512 KB on Kafka",
    )
    kafka_request_timeout_ms: int = Field(
        10_000, description="How long a publish may wait for the broker before it fails"
    )
    kafka_session_timeout_ms: int = Field(10_000, validation_alias=shared("KAFKA_SESSION_TIMEOUT_MS"))
    kafka_rebalance_timeout_ms: int = Field(10_000, validation_alias=shared("KAFKA_REBALANCE_TIMEOUT_MS"))
    log_level: str = Field("INFO", validation_alias=shared("LOG_LEVEL"))
    log_format: Literal["json", "text"] = Field("json", validation_alias=shared("LOG_FORMAT"))
    otel_exporter: Literal["none", "console", "otlp"] = Field("none", validation_alias=shared("OTEL_EXPORTER"))
    http_host: str = "127.0.0.1"
    http_port: int = 0
    max_attempts: int = Field(5, description="Attempts per record before it is dead-lettered")


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S], service: str) -> S:
    """`cls()` read from the environment (placeholder: the settings issue gives it one-line errors)."""
    return cls()
