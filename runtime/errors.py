"""The exception tree of the runtime plumbing, and how the stage loop treats what a handler raises.

    OrchestratorError
    ├── DependencyUnreachable    a dependency could not be reached at start: the process exits 2
    │                            with one line naming it
    └── ProcessingError          raised while a stage handles one record
        ├── RetryableError       transient: the record is retried with backoff
        └── PoisonEvent          can never succeed: the record is dead-lettered at once

Services raise their own exceptions too (each package has its own root, e.g. the actions
adapter's `BusinessApiError`, handled inside the actions stage). `classify` tells the stage loop
what to do with any exception that escapes a handler:

- **poison**: `PoisonEvent`, pydantic's `ValidationError` (an event or a reply that does not fit
  its model), `ValueError` raised while decoding. Retrying cannot help: straight to the dead-letter
  topic, with no backoff holding up the batch's commit.
- **transient**: `RetryableError`, timeouts, connection errors (`OSError`), a retriable Kafka
  error, Redis connection and timeout errors, httpx transport errors, PostgreSQL connection
  errors. Retried with exponential backoff up to `retry_attempts` times, then dead-lettered.
- **unknown**: anything else, which is most likely a bug. Retried `max_attempts` times (a bug
  that depends on timing may pass), then dead-lettered with its traceback.
"""

from __future__ import annotations

from typing import Literal

import asyncpg
import httpx
import redis.exceptions
from aiokafka.errors import KafkaError
from pydantic import ValidationError


class OrchestratorError(Exception):
    """Root of the errors raised by the runtime plumbing."""


class DependencyUnreachable(OrchestratorError):
    """A service could not reach a dependency at start (broker, database, Redis, business API)."""

    def __init__(self, service: str, dependency: str, address: str, reason: str) -> None:
        self.service, self.dependency, self.address, self.reason = service, dependency, address, reason
        super().__init__(f"{service}: cannot reach {dependency} at {address}: {reason}")


class ProcessingError(OrchestratorError):
    """Raised while a stage handles one record."""


class RetryableError(ProcessingError):
    """A transient failure (timeout, 429, 5xx, connection): retried with backoff before dead-lettering."""


class PoisonEvent(ProcessingError):
    """A record that can never be processed: it goes to the dead-letter topic at once."""


ErrorClass = Literal["poison", "transient", "unknown"]

_TRANSIENT: tuple[type[BaseException], ...] = (
    RetryableError,
    OSError,  # ConnectionError and TimeoutError among them
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    httpx.TransportError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
)


def classify(exc: BaseException) -> ErrorClass:
    """What the stage loop does with `exc`: dead-letter now, retry a while, or retry a few times."""
    if isinstance(exc, PoisonEvent | ValidationError):
        return "poison"
    if isinstance(exc, _TRANSIENT):
        return "transient"
    if isinstance(exc, KafkaError):
        return "transient" if exc.retriable else "unknown"
    return "unknown"
