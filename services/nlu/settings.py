from __future__ import annotations

from datetime import time
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from runtime.settings import ServiceSettings, shared

DATA_DIR = Path(__file__).parent / "data"


class NluSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NLU_", frozen=True, extra="ignore", populate_by_name=True)

    http_port: int = 5005
    training_data: Path = DATA_DIR / "nlu.yml"
    business_api_url: str = Field("http://127.0.0.1:8090", validation_alias=shared("BUSINESS_API_URL"))
    business_api_token: SecretStr = Field(
        SecretStr("demo-business-token"), validation_alias=shared("BUSINESS_API_TOKEN")
    )
    timezone: str = Field("America/Mexico_City", validation_alias=shared("BUSINESS_TIMEZONE"))
    opens_at: time = Field(time(7, 0), description="Opening hours disambiguate a bare hour: «a las 3» is 15:00")
    closes_at: time = time(21, 0)
