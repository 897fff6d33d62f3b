from __future__ import annotations

from datetime import time
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from runtime.settings import DEMO_BUSINESS_TOKEN, ServiceSettings, refuse_demo_secret, shared

DATA_DIR = Path(__file__).parent / "data"


class NluSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NLU_", frozen=True, extra="ignore", populate_by_name=True)

    http_port: int = 5005
    training_data: Path = DATA_DIR / "nlu.yml"
    business_api_url: str = Field("http://127.0.0.1:8090", validation_alias=shared("BUSINESS_API_URL"))
    business_api_token: SecretStr = Field(
        SecretStr(DEMO_BUSINESS_TOKEN), validation_alias=shared("BUSINESS_API_TOKEN")
    )
    timezone: str = Field("America/Mexico_City", validation_alias=shared("BUSINESS_TIMEZONE"))
    opens_at: time = Field(time(7, 0), description="Opening hours disambiguate a bare hour: «a las 3» is 15:00")
    closes_at: time = time(21, 0)

    # Delegation to a real Rasa server (unset: the built-in model answers every message).
    rasa_url: str | None = Field(
        None, validation_alias=shared("RASA_URL"),
        description="Base URL of a Rasa 3.x server; nlu calls its /model/parse and falls back to the built-in model",
    )
    rasa_token: SecretStr | None = Field(
        None, validation_alias=shared("RASA_TOKEN"), description="Rasa's --auth-token, sent as ?token="
    )
    rasa_timeout_s: float = Field(2.0, gt=0, description="Deadline of one request to Rasa")
    rasa_retries: int = Field(1, ge=0, description="Further attempts after a timeout, transport error, 429 or 5xx")
    rasa_breaker_threshold: int = Field(5, ge=1, description="Consecutive failed requests that open the circuit")
    rasa_breaker_cooldown_s: float = Field(30.0, gt=0, description="Open time before one trial request")

    @field_validator("rasa_url")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value.strip().rstrip("/") or None if value is not None else None

    @model_validator(mode="after")
    def _no_demo_secrets_in_production(self) -> NluSettings:
        refuse_demo_secret(self, self.business_api_token, DEMO_BUSINESS_TOKEN, "BUSINESS_API_TOKEN")
        return self
