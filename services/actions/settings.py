from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from runtime.settings import ServiceSettings, shared


class ActionsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ACTIONS_", frozen=True, extra="ignore", populate_by_name=True)

    http_port: int = 8081
    business_api_url: str = Field("http://127.0.0.1:8090", validation_alias=shared("BUSINESS_API_URL"))
    business_api_token: SecretStr = Field(
        SecretStr("demo-business-token"), validation_alias=shared("BUSINESS_API_TOKEN")
    )
    business_api_timeout_s: float = 5.0
    business_api_retries: int = 3
    confidence_threshold: float = Field(0.45, description="Below it the bot asks instead of guessing")
