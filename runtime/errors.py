"""Exception root of the runtime plumbing, and the start-up failure that names what was unreachable."""

from __future__ import annotations


class OrchestratorError(Exception):
    """Root of the errors raised by the runtime plumbing."""


class DependencyUnreachable(OrchestratorError):
    """A service could not reach a dependency at start (broker, database, Redis, business API)."""

    def __init__(self, service: str, dependency: str, address: str, reason: str) -> None:
        self.service, self.dependency, self.address, self.reason = service, dependency, address, reason
        super().__init__(f"{service}: cannot reach {dependency} at {address}: {reason}")


class RetryableError(OrchestratorError):
    """A transient failure: the stage retries the record with backoff before dead-lettering it."""


class PoisonEvent(OrchestratorError):
    """A record that can never be processed: it goes to the dead-letter topic at once."""
