"""Settings of the reference business API (env prefix ``BUSINESS_API_``)."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEMO_TOKEN = "demo-business-token"  # the documented demo credential


class BusinessApiSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BUSINESS_API_", frozen=True, extra="ignore", validate_by_name=True, validate_by_alias=True
    )

    mode: Literal["demo", "production"] = Field(
        "demo", validation_alias=AliasChoices("BUSINESS_API_MODE", "ORCHESTRATOR_MODE")
    )
    database_url: str = Field(
        DEFAULT_DATABASE_URL, validation_alias=AliasChoices("BUSINESS_API_DATABASE_URL", "DATABASE_URL")
    )
    db_schema: str = Field(
        "business",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="PostgreSQL schema holding every table of the API, so the database can be shared",
    )
    host: str = "127.0.0.1"
    port: int = Field(8090, ge=0, le=65535)
    token: SecretStr = SecretStr(DEMO_TOKEN)
    timezone: str = Field("America/Mexico_City", description="Local time of the business (slot times, dates)")
    seed: bool = Field(True, description="Seed the demo studio when empty and keep two weeks of slots ahead")
    payment_base_url: str = "http://127.0.0.1:8090/pay"
    pool_min_size: int = Field(1, ge=0)
    pool_max_size: int = Field(10, ge=1)
    connect_timeout_s: float = Field(5.0, gt=0, description="How long start-up waits for PostgreSQL")
    acquire_timeout_s: float = Field(10.0, gt=0, description="How long a request waits for a pooled connection")
    idempotency_retention_days: int = Field(7, ge=1, description="Idempotency keys older than this are purged")

    @field_validator("database_url")
    @classmethod
    def _plain_postgres_scheme(cls, value: str) -> str:
        scheme, sep, rest = value.partition("://")
        if not sep or scheme.split("+")[0] not in ("postgresql", "postgres"):
            raise ValueError("must be a postgresql:// URL")
        return f"postgresql://{rest}"  # drop a driver suffix such as postgresql+asyncpg://

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("payment_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _no_demo_secrets_in_production(self) -> BusinessApiSettings:
        if self.mode == "production" and self.token.get_secret_value() == DEMO_TOKEN:
            raise ValueError("BUSINESS_API_TOKEN must be set to a real secret in production mode")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def database_address(self) -> str:
        """``host:port/db`` of the database, without credentials, for messages."""
        parts = urlsplit(self.database_url)
        database = parts.path.lstrip("/") or parts.username or "postgres"
        return f"{parts.hostname or 'localhost'}:{parts.port or 5432}/{database}"
