from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from runtime.settings import (
    DEMO_ACCOUNT_SID,
    DEMO_AUTH_TOKEN,
    ReceiptSettings,
    TwilioAccountSid,
    refuse_demo_secret,
    shared,
)


class ResponderSettings(ReceiptSettings):
    model_config = SettingsConfigDict(env_prefix="RESPONDER_", frozen=True, extra="ignore", populate_by_name=True)

    http_port: int = 8082
    business_name: str = Field("Estudio Sol Pilates", validation_alias=shared("BUSINESS_NAME"))
    business_number: str = Field("whatsapp:+14155238886", validation_alias=shared("BUSINESS_WHATSAPP_NUMBER"),
                                 description="The business's WhatsApp address, for messages staff send")
    twilio_account_sid: TwilioAccountSid = Field(DEMO_ACCOUNT_SID, validation_alias=shared("TWILIO_ACCOUNT_SID"))
    twilio_auth_token: SecretStr = Field(SecretStr(DEMO_AUTH_TOKEN), validation_alias=shared("TWILIO_AUTH_TOKEN"))
    twilio_api_base_url: str | None = Field(
        None, validation_alias=shared("TWILIO_API_BASE_URL"),
        description="Unset: Twilio itself. The demo points it at the local Twilio stand-in.",
    )
    status_callback_url: str | None = Field(
        None, description="Where Twilio reports delivery (ingress's /webhooks/twilio/status, public URL); "
        "each message's copy gets ?correlation_id=<its chain> added",
    )
    redis_url: str = Field("redis://127.0.0.1:6379/0", validation_alias=shared("REDIS_URL"))
    send_attempts: int = 4
    send_backoff_s: float = 0.5
    openrouter_api_key: SecretStr | None = Field(None, validation_alias=shared("OPENROUTER_API_KEY"))


    @model_validator(mode="after")
    def _no_demo_secrets_in_production(self) -> ResponderSettings:
        refuse_demo_secret(self, self.twilio_auth_token, DEMO_AUTH_TOKEN, "TWILIO_AUTH_TOKEN")
        return self
