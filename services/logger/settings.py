from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from runtime.settings import ServiceSettings, shared


class LoggerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LOGGER_", frozen=True, extra="ignore", populate_by_name=True)

    http_port: int = 8083
    database_url: str = Field("postgresql://postgres@127.0.0.1:5432/test", validation_alias=shared("DATABASE_URL"))
    db_schema: str = "orchestrator"
    jsonl_path: Path | None = Field(Path(".run/events.jsonl"), description="Unset to disable the JSONL copy")
    console: bool = True
