"""The API's exception tree, rooted at `ReferenceApiError`. Each `HttpError` knows its HTTP status and
renders the documented body ``{"error": {"kind", "message", "code"}}`` (`schemas.ErrorResponse`):

- `InvalidRequest`: 422 (400 for malformed JSON), kind ``validation``
- `Unauthorized`: 401, kind ``unauthorized``
- `NotFound`: 404, kind ``not_found``
- `Conflict`: 409, kind ``conflict``
- `Unavailable`: 503, kind ``unavailable`` (the database stopped answering)

`DatabaseUnavailable` is the start-up failure: PostgreSQL could not be reached.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

ErrorKind = Literal["validation", "not_found", "conflict", "unauthorized", "unavailable", "internal"]


class ReferenceApiError(Exception):
    """Root of the errors raised by the reference business API package (`business_api`)."""


class DatabaseUnavailable(ReferenceApiError):
    """PostgreSQL could not be reached (or refused us) at start-up."""

    def __init__(self, address: str, reason: str) -> None:
        self.address, self.reason = address, reason
        super().__init__(f"cannot reach PostgreSQL at {address}: {reason}")


class HttpError(ReferenceApiError):
    """An error answered to the caller with its HTTP status and the JSON error body."""

    kind: ClassVar[ErrorKind]
    status: ClassVar[int]

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message = code, message
        self.status_code = status or self.status

    def body(self) -> dict[str, Any]:
        return {"error": {"kind": self.kind, "message": self.message, "code": self.code}}


class InvalidRequest(HttpError):
    kind = "validation"
    status = 422


class Unauthorized(HttpError):
    kind = "unauthorized"
    status = 401


class NotFound(HttpError):
    kind = "not_found"
    status = 404


class Conflict(HttpError):
    kind = "conflict"
    status = 409


class Unavailable(HttpError):
    kind = "unavailable"
    status = 503
