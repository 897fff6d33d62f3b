from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from runtime.settings import ServiceSettings, shared


class LoggerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LOGGER_", frozen=True, extra="ignore", populate_by_name=True)

    http_port: int = 8083
    kafka_fetch_wait_ms: int | None = Field(500, ge=1, le=60_000, description="The logger is off the reply's "
                                            "path: long fetch waits, few idle fetches over its many partitions")
    database_url: str = Field("postgresql://postgres@127.0.0.1:5432/test", validation_alias=shared("DATABASE_URL"))
    db_schema: str = "orchestrator"
    jsonl_path: Path | None = Field(Path(".run/events.jsonl"), description="Unset to disable the JSONL copy")
    jsonl_max_bytes: int = Field(100 * 2**20, ge=1024, description="The JSONL file is rotated (and gzipped) "
                                 "before it grows past this size, and every UTC day")
    console: bool = True
    batch_size: int = Field(500, ge=1, le=10_000, description="Events written to PostgreSQL with one statement "
                            "at most; 1 writes them one by one")
    batch_wait_ms: float = Field(50.0, ge=0, le=10_000, description="How long the first event of a batch waits "
                                 "for more before the batch is written anyway")
    concurrency: int = Field(2000, ge=1, le=10_000, description="Records in flight, each waiting for its batch: "
                             "batches fill up to LOGGER_BATCH_SIZE only with at least that many (4 batches "
                             "of 500 are written side by side by default)")
