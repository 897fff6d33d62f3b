from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from contracts.replies import REPLY_KINDS
from runtime.settings import (
    DEMO_ACCOUNT_SID,
    DEMO_AUTH_TOKEN,
    ReceiptSettings,
    TwilioAccountSid,
    known_time_zone,
    refuse_demo_secret,
    shared,
)
from services.responder.prompt import DEFAULT_PERSONA

HttpBaseUrl = Annotated[str, Field(pattern=r"^https?://[^\s/]+[^\s]*$")]
CONTENT_API = "https://content.twilio.com"
DEFAULT_OPENROUTER_URL = "https://openrouter.ai"


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
    content_api_base_url: HttpBaseUrl | None = Field(
        None, validation_alias=shared("TWILIO_CONTENT_BASE_URL"), examples=["https://content.twilio.com"],
        description="Twilio's Content API (quick replies, list pickers). Unset: TWILIO_API_BASE_URL when that "
        "is set (the stand-in serves both), else Twilio's https://content.twilio.com",
    )
    content_language: str = Field("es", pattern=r"^[a-z]{2}(_[A-Z]{2})?$", examples=["es"],
                                  description="The language of the Content the responder creates")
    content_timeout_s: float = Field(5.0, gt=0, description="How long a Content API call may take")
    openrouter_api_key: SecretStr | None = Field(
        None, validation_alias=shared("OPENROUTER_API_KEY"),
        description="Set: an LLM (OpenRouter) words the replies, checked by guardrails; unset: templates",
    )
    openrouter_base_url: HttpBaseUrl = Field(
        DEFAULT_OPENROUTER_URL, validation_alias=shared("OPENROUTER_BASE_URL"), examples=[DEFAULT_OPENROUTER_URL],
        description="OpenRouter itself; the demo points it at the local stand-in (LLM_STANDIN=1)",
    )
    llm_models: Annotated[tuple[str, ...], NoDecode] = Field(
        ("google/gemini-2.5-flash-lite", "openai/gpt-4.1-mini"),
        examples=["google/gemini-2.5-flash-lite,openai/gpt-4.1-mini"],
        description="OpenRouter models in priority order, comma-separated: OpenRouter falls back along the list",
    )
    llm_max_tokens: int = Field(400, ge=16, le=4000, description="Longest answer, in tokens")
    llm_temperature: float = Field(0.3, ge=0.0, le=1.0, description="Low: the wording varies, the facts do not")
    llm_timeout_s: float = Field(4.0, gt=0, le=30, description="How long one OpenRouter request may take")
    llm_budget_s: float = Field(6.0, gt=0, le=60, description="All of a reply's attempts, waits included; past "
                                "it the template writes the reply")
    llm_attempts: int = Field(3, ge=1, le=10, description="Requests per reply (408, 429, 5xx, timeouts)")
    llm_circuit_failures: int = Field(5, ge=1, description="Consecutive failed requests that open the circuit")
    llm_circuit_reset_s: float = Field(30.0, gt=0, description="How long an open circuit sends no request")
    llm_app_url: HttpBaseUrl | None = Field(None, examples=["https://estudiosol.example.com"],
                                            description="OpenRouter attribution: the HTTP-Referer header")
    llm_app_title: str = Field("WhatsApp orchestrator", min_length=1,
                               description="OpenRouter attribution: the X-OpenRouter-Title header")
    llm_persona: str = Field(DEFAULT_PERSONA, min_length=10, description="The bot's persona and tone, in Spanish")
    llm_context_turns: int = Field(8, ge=0, le=12, description="Recent turns of the conversation in the prompt")
    buttons: bool = Field(False, description="Quick-reply buttons and list pickers (Twilio Content API) where a "
                          "reply asks for a choice; off: plain text")
    approved_templates: dict[str, Annotated[str, Field(pattern=r"^HX[0-9a-fA-F]{32}$")]] = Field(
        default_factory=dict, examples=['{"payment_confirmed": "HX0123456789abcdef0123456789abcdef"}'],
        description="JSON: reply kind → ContentSid of its WhatsApp-approved template, sent outside the 24-hour "
        "window (variables in docs/responder.md); a kind without one is not sent there (reply.failed 63016)",
    )
    # Staff notices (staff_alerts.py): a failed send, a conversation handed off. Neither channel set: no stage.
    staff_webhook_url: HttpBaseUrl | None = Field(
        None, examples=["https://estudiosol.example.com/hooks/whatsapp-bot"],
        description="Staff notices as JSON POSTs signed with RESPONDER_STAFF_WEBHOOK_SECRET; unset: no webhook",
    )
    staff_webhook_secret: SecretStr | None = Field(
        None, description="HMAC-SHA256 key of the staff webhook's X-Orchestrator-Signature-256 header (16+ chars)",
    )
    staff_webhook_timeout_s: float = Field(5.0, gt=0, le=30, description="How long one webhook POST may take")
    staff_webhook_attempts: int = Field(3, ge=1, le=6, description="POSTs per notice (timeouts, errors, 429, 5xx)")
    staff_whatsapp_to: str | None = Field(
        None, pattern=r"^whatsapp:\+[1-9]\d{7,14}$", examples=["whatsapp:+5215512345678"],
        description="An admin's WhatsApp address told through an approved template; unset: no WhatsApp notices",
    )
    staff_whatsapp_content_sid: str | None = Field(
        None, pattern=r"^HX[0-9a-fA-F]{32}$", examples=["HX0123456789abcdef0123456789abcdef"],
        description="The approved template (Twilio ContentSid) with one variable, {{1}}: the notice",
    )
    staff_alerts_per_minute: int = Field(10, ge=1, le=600,
                                         description="Most notices per minute per channel, across processes")
    staff_alerts_http_port: int = Field(8083, ge=0, le=65535,
                                        description="The staff-notice stage's /healthz, /readyz and /metrics")
    staff_alerts_timezone: str = Field("America/Mexico_City", validation_alias=shared("BUSINESS_TIMEZONE"),
                                       description="The zone staff read times in (a handoff's end)")

    @field_validator("approved_templates")
    @classmethod
    def _known_kinds(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(REPLY_KINDS))
        if unknown:
            raise ValueError(f"unknown reply kinds {unknown}; known: {', '.join(sorted(REPLY_KINDS))}")
        return value

    @field_validator("staff_alerts_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_time_zone(value)

    @field_validator("staff_webhook_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("use at least 16 characters")
        return value

    @model_validator(mode="after")
    def _staff_channels_complete(self) -> ResponderSettings:
        if self.staff_webhook_url and self.staff_webhook_secret is None:
            raise ValueError("RESPONDER_STAFF_WEBHOOK_URL needs RESPONDER_STAFF_WEBHOOK_SECRET (the signing key)")
        if bool(self.staff_whatsapp_to) != bool(self.staff_whatsapp_content_sid):
            raise ValueError("RESPONDER_STAFF_WHATSAPP_TO and RESPONDER_STAFF_WHATSAPP_CONTENT_SID go together")
        return self

    @property
    def staff_alerts_enabled(self) -> bool:
        """Whether a staff channel is configured (else the staff-notice stage does not start)."""
        return bool(self.staff_webhook_url or self.staff_whatsapp_to)


    @field_validator("llm_models", mode="before")
    @classmethod
    def _split_models(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("llm_models")
    @classmethod
    def _known_shape(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one model")
        for model in value:
            if not re.fullmatch(r"[\w.-]+/[\w.:-]+", model):
                raise ValueError(f"{model!r} is not an OpenRouter model id (vendor/name)")
        return value

    @model_validator(mode="after")
    def _budget_fits_a_request(self) -> ResponderSettings:
        if self.llm_budget_s < self.llm_timeout_s:
            raise ValueError(f"RESPONDER_LLM_BUDGET_S={self.llm_budget_s:g} must be at least "
                             f"RESPONDER_LLM_TIMEOUT_S={self.llm_timeout_s:g}")
        return self


    @property
    def content_base_url(self) -> str:
        """Where the Content API is: its own setting, else the stand-in when the demo uses it, else Twilio."""
        return self.content_api_base_url or self.twilio_api_base_url or CONTENT_API

    @model_validator(mode="after")
    def _no_demo_secrets_in_production(self) -> ResponderSettings:
        refuse_demo_secret(self, self.twilio_auth_token, DEMO_AUTH_TOKEN, "TWILIO_AUTH_TOKEN")
        return self
