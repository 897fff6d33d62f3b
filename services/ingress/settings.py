from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from runtime.settings import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, ServiceSettings, shared


class IngressSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INGRESS_", frozen=True, extra="ignore", populate_by_name=True)

    http_port: int = 8080
    public_url: str = Field(
        "http://127.0.0.1:8080",
        description="The base URL Twilio calls (and signs): the public one behind a proxy or load balancer",
    )
    twilio_account_sid: str = Field(DEMO_ACCOUNT_SID, validation_alias=shared("TWILIO_ACCOUNT_SID"))
    twilio_auth_token: SecretStr = Field(SecretStr(DEMO_AUTH_TOKEN), validation_alias=shared("TWILIO_AUTH_TOKEN"))
    redis_url: str = Field("redis://127.0.0.1:6379/0", validation_alias=shared("REDIS_URL"))
    dedup_ttl_s: int = Field(7 * 24 * 3600, description="How long a MessageSid is remembered for retries")

    @model_validator(mode="after")
    def _no_demo_secrets_in_production(self) -> IngressSettings:
        if self.mode == "production":
            if self.twilio_auth_token.get_secret_value() in ("", DEMO_AUTH_TOKEN):
                raise ValueError("production mode needs TWILIO_AUTH_TOKEN (the demo token is refused)")
            if not self.public_url.startswith("https://"):
                raise ValueError("production mode needs INGRESS_PUBLIC_URL, the https URL Twilio calls")
        return self

    @property
    def demo_credentials(self) -> bool:
        return self.twilio_auth_token.get_secret_value() == DEMO_AUTH_TOKEN
