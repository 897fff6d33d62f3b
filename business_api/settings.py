"""Settings of the reference business API (env prefix ``BUSINESS_API_``)."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime.settings import known_time_zone

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEMO_TOKEN = "demo-business-token"  # the documented demo credential
DEMO_PAYMENT_PROVIDER_SECRET = "demo-payment-provider-secret"  # signs the payment webhook in the demo
DEMO_WEBHOOK_SECRET = "demo-business-webhook-secret"  # shared with ingress: signs the orchestrator's webhook


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
    latency_ms: float = Field(
        0.0,
        ge=0.0,
        description="Waited before answering every API call (not /healthz, /readyz), as a remote business system "
        "would take; for benchmarks",
    )

    # Packages and credits
    booking_requires_package: bool = Field(
        True,
        description="A booking needs a usable package (409 no_usable_package otherwise); false: books "
        "without one when none is usable",
    )
    cancel_refund_hours: int = Field(
        12, ge=0, description="A cancellation at least this many hours before the class gives its session back"
    )

    # Payments: the provider's webhook into this API
    payment_provider_secret: SecretStr = Field(
        SecretStr(DEMO_PAYMENT_PROVIDER_SECRET),
        description="HMAC-SHA256 secret of POST /payments/webhook (X-Payment-Signature)",
    )
    payment_webhook_url: str | None = Field(
        None, description="Where the demo payment page posts its webhook; unset: this server's own address"
    )
    demo_checkout: bool | None = Field(
        None, description="The demo page's pay buttons (no real money); unset: on in demo mode, off in production"
    )

    # Payments: notifying the orchestrator (the outbox)
    orchestrator_webhook_url: str | None = Field(
        None,
        examples=["http://127.0.0.1:8080/webhooks/business/payments"],
        description="POST each payment status change here (signed); unset: no notifications",
    )
    webhook_secret: SecretStr = Field(
        SecretStr(DEMO_WEBHOOK_SECRET),
        validation_alias=AliasChoices("BUSINESS_WEBHOOK_SECRET"),
        description="HMAC-SHA256 secret of the orchestrator's webhook (X-Business-Signature), shared with ingress",
    )
    notify_timeout_s: float = Field(5.0, gt=0, description="How long one delivery attempt may take")
    notify_retry_base_s: float = Field(1.0, gt=0, description="The first retry's delay; doubled at every attempt")
    notify_retry_max_s: float = Field(300.0, gt=0, description="The longest delay between two attempts")
    notify_poll_s: float = Field(1.0, gt=0, description="How often the outbox is checked for due notifications")

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
        return known_time_zone(value)

    @field_validator("payment_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("payment_webhook_url", "orchestrator_webhook_url")
    @classmethod
    def _http_url_or_unset(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.strip()

    @model_validator(mode="after")
    def _no_demo_secrets_in_production(self) -> BusinessApiSettings:
        if self.mode != "production":
            return self
        if self.token.get_secret_value() == DEMO_TOKEN:
            raise ValueError("BUSINESS_API_TOKEN must be set to a real secret in production mode")
        if self.payment_provider_secret.get_secret_value() in ("", DEMO_PAYMENT_PROVIDER_SECRET):
            raise ValueError("BUSINESS_API_PAYMENT_PROVIDER_SECRET must be set to a real secret in production mode")
        if self.orchestrator_webhook_url and self.webhook_secret.get_secret_value() in ("", DEMO_WEBHOOK_SECRET):
            raise ValueError("BUSINESS_WEBHOOK_SECRET must be set to a real secret in production mode")
        return self

    @property
    def demo_checkout_enabled(self) -> bool:
        """Whether the demo payment page may mark purchases paid (never by default in production)."""
        return self.demo_checkout if self.demo_checkout is not None else self.mode == "demo"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def database_address(self) -> str:
        """``host:port/db`` of the database, without credentials, for messages."""
        parts = urlsplit(self.database_url)
        database = parts.path.lstrip("/") or parts.username or "postgres"
        return f"{parts.hostname or 'localhost'}:{parts.port or 5432}/{database}"
