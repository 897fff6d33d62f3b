"""Settings of the OpenRouter stand-in.

The key is read from the same variable as the responder's (``OPENROUTER_API_KEY``) so that the
demo's responder and the stand-in agree on it; everything specific to the stand-in uses the
``OPENROUTER_STANDIN_`` prefix.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_API_KEY = "sk-or-v1-demo-standin-0000000000000000"


class StandinSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="OPENROUTER_STANDIN_",
        frozen=True,
        extra="ignore",
        validate_by_name=True,
        validate_by_alias=True,
    )

    api_key: SecretStr = Field(default=SecretStr(DEMO_API_KEY),
                               validation_alias=AliasChoices("OPENROUTER_API_KEY", "OPENROUTER_STANDIN_API_KEY"))
    host: str = "127.0.0.1"
    port: int = Field(default=8092, ge=0, le=65535)
    latency_ms: float = Field(default=0.0, ge=0.0, description="Added to every completion (a real model: ~0.5-2 s)")
    answer: Literal["rephrase", "draft"] = Field(
        default="rephrase", description="rephrase: the prompt's draft lightly reworded; draft: the draft as is",
    )
    prompt_price: float = Field(default=0.1e-6, ge=0.0, description="Credits per prompt token, for usage.cost")
    completion_price: float = Field(default=0.4e-6, ge=0.0, description="Credits per completion token")
