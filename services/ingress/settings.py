from __future__ import annotations

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from runtime.settings import (
    DEMO_ACCOUNT_SID,
    DEMO_AUTH_TOKEN,
    ReceiptSettings,
    TwilioAccountSid,
    refuse_demo_secret,
    shared,
)

DEMO_BUSINESS_WEBHOOK_SECRET = "demo-business-webhook-secret"  # the business API's demo default too


DEMO_ADMIN_TOKEN = "demo-admin-token"


class IngressSettings(ReceiptSettings):
    model_config = SettingsConfigDict(env_prefix="INGRESS_", frozen=True, extra="ignore", populate_by_name=True)

    http_port: int = 8080
    kafka_max_batch_bytes: int | None = Field(
        512 * 1024,
        description="Batches even on Tansu: awaited sends racing for one-record batches turn p99 into seconds, "
        "and nothing reads message.received's end offsets (lag uses the fetch high watermark)",
    )
    kafka_request_timeout_ms: int = Field(
        5_000, description="Twilio waits 15 s: fail the publish (503, Twilio retries) well before that"
    )
    public_url: str | None = Field(
        "http://127.0.0.1:8080",
        description="The base URL Twilio calls and signs (the public one behind a proxy). Preferred over "
        "forwarded headers; unset it to rebuild the URL from X-Forwarded-* (trusted proxy) or the request.",
    )
    trust_forwarded_headers: bool = Field(
        False, description="Build the signed URL from X-Forwarded-Proto/Host when public_url is unset"
    )
    twilio_account_sid: TwilioAccountSid = Field(DEMO_ACCOUNT_SID, validation_alias=shared("TWILIO_ACCOUNT_SID"))
    twilio_auth_token: SecretStr = Field(SecretStr(DEMO_AUTH_TOKEN), validation_alias=shared("TWILIO_AUTH_TOKEN"))
    business_webhook_secret: SecretStr = Field(
        SecretStr(DEMO_BUSINESS_WEBHOOK_SECRET), validation_alias=shared("BUSINESS_WEBHOOK_SECRET"),
        description="HMAC-SHA256 secret of the business's payment webhook (X-Business-Signature), shared with "
        "the business's system",
    )
    admin_token: SecretStr | None = Field(
        SecretStr(DEMO_ADMIN_TOKEN), description="Bearer token of the staff's admin API (/admin/...); empty: the "
        "admin API is off",
    )
    business_number: str = Field("whatsapp:+14155238886", validation_alias=shared("BUSINESS_WHATSAPP_NUMBER"),
                                 description="The business's WhatsApp address staff messages are sent from")
    redis_url: str = Field("redis://127.0.0.1:6379/0", validation_alias=shared("REDIS_URL"))
    dedup_ttl_s: int = Field(7 * 24 * 3600, description="How long a MessageSid is remembered for retries")

    max_body_bytes: int = 128 * 1024
    max_params: int = 64
    max_body_chars: int = Field(4096, description="WhatsApp's own limit for a message body")
    max_field_chars: int = 1024

    rate_capacity: int = Field(20, description="Messages a sender may send in a burst")
    rate_refill_per_s: float = Field(0.2, description="Sustained messages per second per sender")
    rate_notice_window_s: int = Field(300, description="At most one throttling notice per sender per window")
    rate_notice_text: str = (
        "Estás enviando muchos mensajes seguidos. Dame un momento y te respondo enseguida. 🙏"
    )


    @model_validator(mode="after")
    def _no_demo_secrets_in_production(self) -> IngressSettings:
        refuse_demo_secret(self, self.twilio_auth_token, DEMO_AUTH_TOKEN, "TWILIO_AUTH_TOKEN")
        refuse_demo_secret(self, self.business_webhook_secret, DEMO_BUSINESS_WEBHOOK_SECRET, "BUSINESS_WEBHOOK_SECRET")
        if self.mode == "production" and self.admin_token is not None and \
                self.admin_token.get_secret_value() == DEMO_ADMIN_TOKEN:
            raise ValueError("production mode refuses the demo INGRESS_ADMIN_TOKEN (set your own, or leave it empty "
                             "to turn the admin API off)")
        if self.mode == "production" and not (self.public_url or "").startswith("https://"):
            raise ValueError("production mode needs INGRESS_PUBLIC_URL, the https URL Twilio calls")
        return self


    @field_validator("admin_token")
    @classmethod
    def _empty_is_off(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value().strip() else None

    @property
    def demo_credentials(self) -> bool:
        return self.twilio_auth_token.get_secret_value() == DEMO_AUTH_TOKEN
