"""The operation → endpoint mapping (endpoints.yaml): loaded and validated at start, rendered per call.

The policy asks for operations by name (`Operation`) with named parameters; this module says
which HTTP method, path, query and body each one becomes, so that a business points the
orchestrator at its own API by editing YAML. docs/actions.md documents the format.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from services.actions.config_files import load_yaml_model


class Operation(StrEnum):
    """What the dialogue policy can ask of the business API."""

    LIST_PACKAGES = "list_packages"
    LIST_SLOTS = "list_slots"
    BOOK = "book"
    LIST_BOOKINGS = "list_bookings"
    CANCEL_BOOKING = "cancel_booking"
    BOOKING_STATUS = "booking_status"
    PURCHASE = "purchase"
    PURCHASE_HISTORY = "purchase_history"
    LIST_CLIENT_PACKAGES = "list_client_packages"
    GET_PROFILE = "get_profile"
    UPDATE_PROFILE = "update_profile"


CLIENT_PHONE = "client_phone"

OPERATION_PARAMS: dict[Operation, frozenset[str]] = {
    Operation.LIST_PACKAGES: frozenset(),
    Operation.LIST_SLOTS: frozenset({"date", "days", "only_available"}),
    Operation.BOOK: frozenset({"slot_id", "date", "time", "package_id"}),
    Operation.LIST_BOOKINGS: frozenset(),
    Operation.CANCEL_BOOKING: frozenset({"code"}),
    Operation.BOOKING_STATUS: frozenset({"code"}),
    Operation.PURCHASE: frozenset({"package_id"}),
    Operation.PURCHASE_HISTORY: frozenset(),
    Operation.LIST_CLIENT_PACKAGES: frozenset(),
    Operation.GET_PROFILE: frozenset(),
    Operation.UPDATE_PROFILE: frozenset({"name", "email"}),
}
"""The parameters the policy passes to each operation (plus `client_phone`, always available)."""

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


class EndpointsError(ValueError):
    """The endpoints file is missing, malformed or incomplete; the message says where."""


class Endpoint(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str = Field(pattern=r"^/")
    query: dict[str, JsonValue] = Field(default_factory=dict)
    body: dict[str, JsonValue] | None = None
    client_phone: bool = Field(False, description="Send the customer's number in the client phone header")
    idempotency_key: bool = Field(False, description="Send an Idempotency-Key derived from the event id")
    idempotent: bool | None = Field(None, description="Safe to retry; default: GET, or a call with a key")
    result: str | None = Field(None, description="Dot path of the useful part of the response body")
    timeout_s: float | None = Field(None, gt=0)

    def retryable(self, *, key_sent: bool) -> bool:
        """Safe to send again: marked idempotent, a GET, or a call that carries its idempotency key."""
        if self.idempotent is not None:
            return self.idempotent
        return self.method == "GET" or (self.idempotency_key and key_sent)


class EndpointsConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1]
    client_phone_header: str = "X-Client-Phone"
    idempotency_header: str = "Idempotency-Key"
    operations: dict[str, Endpoint]

    @model_validator(mode="after")
    def _complete_and_consistent(self) -> EndpointsConfig:
        problems: list[str] = []
        known = {str(operation) for operation in Operation}
        for missing in sorted(known - set(self.operations)):
            problems.append(f"operation {missing!r} is missing")
        for unknown in sorted(set(self.operations) - known):
            problems.append(f"operation {unknown!r} is unknown (known: {', '.join(sorted(known))})")
        for name, endpoint in self.operations.items():
            if name not in known:
                continue
            allowed = OPERATION_PARAMS[Operation(name)] | {CLIENT_PHONE}
            for where, placeholder in _placeholders(endpoint):
                if not _IDENTIFIER.fullmatch(placeholder):
                    problems.append(f"{name}.{where}: {{{placeholder}}} is not a parameter name")
                elif placeholder not in allowed:
                    problems.append(f"{name}.{where}: unknown parameter {{{placeholder}}} "
                                    f"(this operation has: {', '.join(sorted(allowed))})")
            if endpoint.body is not None and endpoint.method == "GET":
                problems.append(f"{name}: a GET has no body")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def endpoint(self, operation: Operation | str) -> Endpoint:
        return self.operations[str(operation)]


def load_endpoints(path: Path | str) -> EndpointsConfig:
    """Read and validate the endpoints file; `EndpointsError` names the file and every problem."""
    return load_yaml_model(path, EndpointsConfig, EndpointsError, what="the endpoints file",
                           shape="`version` and `operations`")


def _placeholders(endpoint: Endpoint) -> list[tuple[str, str]]:
    found = [("path", name) for name in _PLACEHOLDER.findall(endpoint.path)]
    found += [(f"query.{key}", name) for key, value in endpoint.query.items() for name in _names_in(value)]
    if endpoint.body is not None:
        found += [(f"body.{key}", name) for key, value in endpoint.body.items() for name in _names_in(value)]
    return found


def _names_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return list(_PLACEHOLDER.findall(value))
    if isinstance(value, dict):
        return [name for item in value.values() for name in _names_in(item)]
    if isinstance(value, list):
        return [name for item in value for name in _names_in(item)]
    return []


# --- rendering -----------------------------------------------------------------------------------


class _Omit:
    """A template whose parameter was not given: the key is left out."""


OMIT = _Omit()


class MissingParameter(KeyError):
    """A path parameter was not given, so the request cannot be built."""


@dataclass(frozen=True)
class RenderedRequest:
    method: str
    path: str
    params: dict[str, str]
    json: dict[str, Any] | None
    headers: dict[str, str]


def render_value(template: Any, params: Mapping[str, Any]) -> Any:
    """`"{x}"` → params["x"] with its type (OMIT when absent); `"a{x}b"` → text; others as they are."""
    if isinstance(template, str):
        names = _PLACEHOLDER.findall(template)
        if not names:
            return template
        if template == f"{{{names[0]}}}" and len(names) == 1:
            value = params.get(names[0])
            return OMIT if value is None else value
        if any(params.get(name) is None for name in names):
            return OMIT
        return _PLACEHOLDER.sub(lambda m: _text(params[m.group(1)]), template)
    if isinstance(template, dict):
        rendered = {key: render_value(value, params) for key, value in template.items()}
        return {key: value for key, value in rendered.items() if value is not OMIT}
    if isinstance(template, list):
        return [item for item in (render_value(value, params) for value in template) if item is not OMIT]
    return template


def render_request(config: EndpointsConfig, operation: Operation | str, params: Mapping[str, Any], *,
                   idempotency_key: str | None) -> RenderedRequest:
    endpoint = config.endpoint(operation)

    def path_part(match: re.Match[str]) -> str:
        value = params.get(match.group(1))
        if value is None:
            raise MissingParameter(f"{operation}: missing path parameter {match.group(1)!r}")
        return quote(_text(value), safe="")

    path = _PLACEHOLDER.sub(path_part, endpoint.path)
    query = {key: _text(value) for key, value in render_value(endpoint.query, params).items()}
    body = render_value(endpoint.body, params) if endpoint.body is not None else None
    headers: dict[str, str] = {}
    if endpoint.client_phone and params.get(CLIENT_PHONE):
        headers[config.client_phone_header] = str(params[CLIENT_PHONE])
    if endpoint.idempotency_key and idempotency_key:
        headers[config.idempotency_header] = idempotency_key
    return RenderedRequest(endpoint.method, path, query, body, headers)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def extract_result(body: Any, result: str | None) -> Any:
    """The part of a response body named by the dot path `result` (KeyError when absent)."""
    if result is None:
        return body
    for part in result.split("."):
        if not isinstance(body, dict) or part not in body:
            raise KeyError(result)
        body = body[part]
    return body
