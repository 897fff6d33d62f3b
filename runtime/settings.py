"""Settings shared by every service. Each service subclasses `ServiceSettings` with its own env prefix.

`load_settings` reads them at start: a bad value stops the process with one line per variable,
naming it, its problem and a valid example, and exit code `EXIT_CONFIG`.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import UnionType
from typing import Annotated, Literal, TypeVar, Union, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticUndefined
from pydantic_settings import BaseSettings, SettingsConfigDict

EXIT_CONFIG = 78  # EX_CONFIG (sysexits.h): a setting is missing or malformed

DEMO_ACCOUNT_SID = "AC00000000000000000000000000000001"
DEMO_AUTH_TOKEN = "demo-auth-token-0000000000000000"
DEMO_BUSINESS_TOKEN = "demo-business-token"

# The account SID Twilio gives: `AC` and 32 hexadecimal digits.
TwilioAccountSid = Annotated[
    str, Field(pattern=r"^AC[0-9a-fA-F]{32}$", examples=["AC0123456789abcdef0123456789abcdef"])
]


def shared(name: str) -> AliasChoices:
    """An un-prefixed environment variable shared by all services (KAFKA_BOOTSTRAP_SERVERS, ...)."""
    return AliasChoices(name)


class ServiceSettings(BaseSettings):
    """What every service needs: where the broker is, how to tune it, how to log, how to serve ops."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    mode: Literal["demo", "production"] = Field("demo", validation_alias=shared("ORCHESTRATOR_MODE"))
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", validation_alias=shared("KAFKA_BOOTSTRAP_SERVERS")
    )
    kafka_profile: Literal["tansu", "kafka"] = Field(
        "tansu",
        validation_alias=shared("KAFKA_PROFILE"),
        description="tansu: one record per batch, no idempotent producer (DESIGN.md section 9); "
        "kafka: batching and the idempotent producer",
    )
    kafka_max_batch_bytes: int | None = Field(
        None, validation_alias=shared("KAFKA_MAX_BATCH_BYTES"), examples=[512 * 1024],
        description="Producer batch size; unset: one record per batch on Tansu, 512 KB on Kafka",
    )
    kafka_fetch_wait_ms: int | None = Field(
        None, ge=1, le=60_000, description="Longest a consumer's fetch waits for records; unset: 50 ms on Tansu "
        "(which answers a waiting fetch only when the wait is over), 500 ms on Kafka (which answers when a "
        "record arrives). Shorter: less latency per hop, more idle fetches",
    )
    kafka_request_timeout_ms: int = Field(
        10_000, description="How long a publish may wait for the broker before it fails"
    )
    kafka_session_timeout_ms: int = Field(10_000, validation_alias=shared("KAFKA_SESSION_TIMEOUT_MS"))
    kafka_rebalance_timeout_ms: int = Field(10_000, validation_alias=shared("KAFKA_REBALANCE_TIMEOUT_MS"))
    log_level: str = Field("INFO", validation_alias=shared("LOG_LEVEL"))
    log_format: Literal["json", "text"] = Field("json", validation_alias=shared("LOG_FORMAT"))
    otel_exporter: Literal["none", "console", "otlp"] = Field("none", validation_alias=shared("OTEL_EXPORTER"))
    http_host: str = "127.0.0.1"
    http_port: int = 0
    max_attempts: int = Field(3, ge=1, description="Attempts per record failing with an unknown error (a bug) "
                              "before it is dead-lettered")
    retry_attempts: int = Field(8, ge=1, description="Attempts per record failing transiently (timeouts, "
                                "connection errors) before it is dead-lettered; backoff up to 5 s between")
    concurrency: int = Field(256, ge=1, le=10_000, description="Records a consuming stage processes side by "
                             "side (each conversation still in order): with calls of latency L, at most "
                             "concurrency / L records per second")



class ReceiptSettings(ServiceSettings):
    """The optional receipt («Mensaje recibido»), shared by ingress and responder: with
    `RECEIPT_AFTER_S=0` ingress answers it in the webhook's TwiML; with N > 0 responder sends it
    if no reply to the message went out within N seconds."""

    receipt_text: str | None = Field(
        None, validation_alias=AliasChoices("RECEIPT_TEXT", "INGRESS_RECEIPT_TEXT"),
        description="Optional receipt (e.g. «Mensaje recibido»); off unless set",
    )
    receipt_after_s: float = Field(
        0.0, ge=0, validation_alias=AliasChoices("RECEIPT_AFTER_S", "INGRESS_RECEIPT_AFTER_S"),
        description="0: ingress answers the receipt in the TwiML; N > 0: responder sends it only if no reply "
        "went out within N seconds",
    )

    @property
    def instant_receipt_text(self) -> str | None:
        """The receipt ingress answers in the TwiML (None when off or delayed)."""
        return self.receipt_text if self.receipt_text and self.receipt_after_s <= 0 else None

    @property
    def delayed_receipt(self) -> bool:
        """Whether responder sends the receipt later (and consumes message.received for it)."""
        return bool(self.receipt_text) and self.receipt_after_s > 0


def refuse_demo_secret(settings: ServiceSettings, secret: SecretStr, demo: str, variable: str) -> None:
    """In production mode, refuse an empty secret or the demo one (for a model validator)."""
    if settings.mode == "production" and secret.get_secret_value() in ("", demo):
        raise ValueError(f"production mode needs {variable} (the demo token is refused)")


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S], service: str) -> S:
    """`cls` read from the environment; a bad setting prints one line per variable and exits `EXIT_CONFIG`."""
    try:
        return cls()
    except ValidationError as error:
        print("\n".join(error_lines(error, cls, service, os.environ)), file=sys.stderr)
        sys.exit(EXIT_CONFIG)


def settings_errors(cls: type[BaseSettings], service: str, environ: Mapping[str, str]) -> list[str]:
    """The lines `load_settings` would print in a process started with `environ`; empty when it is valid.

    pydantic-settings reads `os.environ` only, so `environ` stands in for it meanwhile: call this
    before starting threads.
    """
    with _environment(environ):
        try:
            cls()
        except ValidationError as error:
            return error_lines(error, cls, service, environ)
    return []


def error_lines(error: ValidationError, cls: type[BaseSettings], service: str, environ: Mapping[str, str]) -> list[str]:
    """`error: <service>: <VAR>=<value>: <problem>; e.g. <VAR>=<example>`, one line per variable.

    A model validator's error (a production-mode refusal) names its variables itself: its message is the line.
    """
    lines: dict[str, str] = {}
    for detail in error.errors():
        problem = _problem(detail)
        if not detail["loc"]:
            lines.setdefault(problem, f"error: {service}: {problem}")
            continue
        name, field = _field(cls, str(detail["loc"][0]))
        variable = _variable(cls, name, field, environ)
        value = environ.get(variable, str(detail["input"]))
        shown = "****" if _is_secret(field) else shlex.quote(_mask_password(value))
        example = _example(field)
        hint = f"; e.g. {variable}={example}" if example else ""
        lines.setdefault(variable, f"error: {service}: {variable}={shown}: {problem}{hint}")
    return list(lines.values())


@contextmanager
def _environment(environ: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _problem(detail: ErrorDetails) -> str:
    """Our validators' messages as written; pydantic's own ("Input should be ...") lower-cased to read on."""
    if detail["type"] == "value_error":
        return detail["msg"].removeprefix("Value error, ")
    return detail["msg"][:1].lower() + detail["msg"][1:]


def _field(cls: type[BaseSettings], key: str) -> tuple[str, FieldInfo]:
    """The field an error's location names: pydantic-settings reports a field by its alias when it has one."""
    for name, field in cls.model_fields.items():
        if key == name or key in _aliases(field):
            return name, field
    raise KeyError(key)


def _aliases(field: FieldInfo) -> list[str]:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [choice for choice in alias.choices if isinstance(choice, str)]
    return [alias] if isinstance(alias, str) else []


def _variable(cls: type[BaseSettings], name: str, field: FieldInfo, environ: Mapping[str, str]) -> str:
    """The environment variable of a field: the alias that is set (else the first one), else prefix + name."""
    aliases = _aliases(field)
    set_names = {key.upper() for key in environ}
    for alias in aliases:
        if alias.upper() in set_names:
            return alias
    return aliases[0] if aliases else f"{cls.model_config.get('env_prefix', '')}{name}".upper()


def _kinds(field: FieldInfo) -> tuple[object, ...]:
    """The types a field accepts: `int | None` → (int, NoneType)."""
    union = get_origin(field.annotation) in (Union, UnionType)
    return get_args(field.annotation) if union else (field.annotation,)


def _is_secret(field: FieldInfo) -> bool:
    return SecretStr in _kinds(field)


def _mask_password(value: str) -> str:
    """`postgresql://user:secret@host/db` → `postgresql://user:****@host/db`."""
    return re.sub(r"(://[^:/@\s]*:)[^@/\s]*@", r"\1****@", value)


_TYPE_EXAMPLES = {bool: "true", int: "10", float: "0.5"}


def _example(field: FieldInfo) -> str | None:
    """A valid value: the field's first example, its allowed values, its default, else one of its type."""
    if field.examples:
        return shlex.quote(_as_env(field.examples[0]))
    allowed = next((list(get_args(kind)) for kind in _kinds(field) if get_origin(kind) is Literal), [])
    if allowed:
        first = field.default if field.default in allowed else allowed[0]
        others = ", ".join(str(value) for value in allowed if value != first)
        return f"{first} (or {others})"
    if field.default not in (None, PydanticUndefined) and not isinstance(field.default, SecretStr):
        return shlex.quote(_as_env(field.default))
    return next((_TYPE_EXAMPLES[kind] for kind in _kinds(field) if kind in _TYPE_EXAMPLES), None)


def _as_env(value: object) -> str:
    """A value as it is written in the environment: `true`, `sent,delivered`, `07:00:00`."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple | list):
        return ",".join(map(str, value))
    return str(value)


def known_time_zone(value: str) -> str:
    """`value` if it names an IANA time zone ("America/Mexico_City"); ValueError otherwise (a field validator)."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value
