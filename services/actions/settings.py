from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from runtime.settings import DEMO_BUSINESS_TOKEN, ServiceSettings, refuse_demo_secret, shared

DEFAULT_ENDPOINTS_FILE = Path(__file__).parent / "endpoints.yaml"
DEFAULT_PROFILE_FILE = Path(__file__).parent / "business.yaml"


class ActionsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ACTIONS_", frozen=True, extra="ignore", populate_by_name=True)

    http_port: int = 8081
    business_api_url: str = Field("http://127.0.0.1:8090", validation_alias=shared("BUSINESS_API_URL"))
    business_api_token: SecretStr = Field(
        SecretStr(DEMO_BUSINESS_TOKEN), validation_alias=shared("BUSINESS_API_TOKEN")
    )
    business_api_timeout_s: float = Field(5.0, description="Default per-call timeout (endpoints.yaml may override)")
    business_api_retries: int = Field(3, ge=0, description="Retries of an idempotent call after the first attempt")
    business_api_backoff_s: float = Field(0.2, gt=0, description="First retry delay; doubles, with jitter")
    business_api_backoff_max_s: float = Field(2.0, gt=0, description="Cap of one retry delay")
    circuit_failure_threshold: int = Field(
        5, ge=1, description="Consecutive calls failing as unavailable that open the circuit breaker"
    )
    circuit_reset_s: float = Field(30.0, gt=0, description="Cool-down before an open circuit lets one trial call")
    endpoints_file: Path = Field(DEFAULT_ENDPOINTS_FILE, description="YAML mapping of operations to endpoints")
    business_profile_file: Path = Field(
        DEFAULT_PROFILE_FILE, description="The business's profile: hours, policies, FAQs"
    )
    confidence_threshold: float = Field(0.45, description="Below it the bot asks instead of guessing")
    flow_idle_s: float = Field(900.0, gt=0, description="An unfinished flow left idle this long is dropped")
    handoff_s: float = Field(4 * 3600.0, gt=0, description="A conversation handed to a person comes back to the bot "
                             "after this long unless staff hand it back sooner")
    business_number: str = Field("whatsapp:+14155238886", validation_alias=shared("BUSINESS_WHATSAPP_NUMBER"),
                                 description="The business's WhatsApp address, for messages no customer message caused")
    timezone: str = Field("America/Mexico_City", validation_alias=shared("BUSINESS_TIMEZONE"))

    @model_validator(mode="after")
    def _no_demo_secrets_in_production(self) -> ActionsSettings:
        refuse_demo_secret(self, self.business_api_token, DEMO_BUSINESS_TOKEN, "BUSINESS_API_TOKEN")
        return self
