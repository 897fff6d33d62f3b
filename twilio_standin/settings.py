"""Settings of the Twilio stand-in.

The credentials are read from the same variables as production (``TWILIO_ACCOUNT_SID``,
``TWILIO_AUTH_TOKEN``) so that the demo's services and the stand-in agree on them; everything
specific to the stand-in uses the ``TWILIO_STANDIN_`` prefix.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from runtime.settings import TwilioAccountSid

CallbackStatus = Literal["sent", "delivered", "read", "failed", "undelivered"]

DEMO_ACCOUNT_SID = "AC00000000000000000000000000000001"
DEMO_AUTH_TOKEN = "demo-auth-token-0000000000000000"


class StandinSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TWILIO_STANDIN_",
        frozen=True,
        extra="ignore",
        validate_by_name=True,
        validate_by_alias=True,
    )

    account_sid: TwilioAccountSid = Field(default=DEMO_ACCOUNT_SID, validation_alias="TWILIO_ACCOUNT_SID")
    auth_token: SecretStr = Field(default=SecretStr(DEMO_AUTH_TOKEN), validation_alias="TWILIO_AUTH_TOKEN")
    host: str = "127.0.0.1"
    port: int = Field(default=8091, ge=0, le=65535)
    callbacks: bool = True
    latency_ms: float = Field(default=0.0, ge=0.0, description="Added to every API call (real Twilio: ~100-300 ms)")
    callback_delay_s: float = Field(default=0.05, ge=0.0)
    callback_statuses: Annotated[tuple[CallbackStatus, ...], NoDecode] = ("sent", "delivered", "read")

    @field_validator("callback_statuses", mode="before")
    @classmethod
    def _split_comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value
