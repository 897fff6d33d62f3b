"""Adapter to a real Rasa server's HTTP API: `POST /model/parse` and `GET /status`.

    breaker = CircuitBreaker(name="rasa", failure_threshold=5, reset_after_s=30.0)
    async with RasaClient("http://rasa:5005", timeout_s=2.0, retries=1, breaker=breaker) as rasa:
        result = await rasa.parse("quiero agendar mañana", message_id="SM123")  # -> ParseResult

Every way the call can go wrong ends in one `RasaUnavailable` with a `reason` (timeout,
unreachable, http_<status>, bad_response, circuit_open), so the caller has one thing to catch
and falls back to the built-in model:

- a deadline of `timeout_s` per attempt (connect, send, wait, read: the whole request);
- `retries` more attempts after a timeout, a transport error, a 429 or a 5xx, with exponential
  backoff and full jitter (parsing is idempotent, so retrying is safe); a 4xx (409: Rasa has no
  model loaded) or an unreadable body is not retried;
- every failed attempt counts towards the circuit breaker; while it is open no request goes
  out and `parse` raises at once with reason `circuit_open`.

`on_failure(exc)` is called for every failed attempt and every refused call (for a counter).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import PurePosixPath
from types import TracebackType
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from runtime.resilience import CircuitBreaker, CircuitOpen, retry
from services.nlu.engine import EntityPrediction, IntentPrediction, NluError, ParseResult

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
RETRYABLE_REASONS = frozenset({"timeout", "unreachable", *(f"http_{status}" for status in RETRYABLE_STATUS)})


class RasaUnavailable(NluError):
    """Rasa gave no usable answer; `reason` says why (timeout, unreachable, http_500, ...)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"rasa unavailable ({reason}){': ' + detail if detail else ''}")

    @property
    def retryable(self) -> bool:
        return self.reason in RETRYABLE_REASONS


# --- Rasa's wire format (what a Rasa 3.x server answers; unknown keys are ignored) -----------


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _WireIntent(_Wire):
    name: str | None = None
    confidence: float = 0.0


class _WireEntity(_Wire):
    entity: str
    value: Any = None
    start: int | None = None
    end: int | None = None
    confidence_entity: float | None = None
    extractor: str | None = None
    role: str | None = None


class _WireParse(_Wire):
    text: str = ""
    intent: _WireIntent | None = None
    intent_ranking: list[_WireIntent] = Field(default_factory=list)
    entities: list[_WireEntity] = Field(default_factory=list)


def parse_rasa_response(body: Any, text: str) -> ParseResult:
    """Rasa's `/model/parse` JSON → the engine's `ParseResult`; `RasaUnavailable` if it is not one.

    Entity values are kept as Rasa gives them (usually the surface text, "mañana"); a
    non-string value (a number, a Duckling dict) becomes its JSON text. An entity without a
    span cannot be placed in the message and is left out.
    """
    try:
        wire = _WireParse.model_validate(body)
    except ValidationError as exc:
        raise RasaUnavailable("bad_response", f"not a /model/parse response: {exc.errors()[:1]}") from exc
    if wire.intent is None or not wire.intent.name:
        raise RasaUnavailable("bad_response", "the response has no intent (is an intent classifier configured?)")
    intent = IntentPrediction(name=wire.intent.name, confidence=wire.intent.confidence)
    ranking = tuple(IntentPrediction(name=r.name, confidence=r.confidence) for r in wire.intent_ranking if r.name)
    entities = tuple(
        EntityPrediction(
            entity=e.entity,
            value=e.value if isinstance(e.value, str) else json.dumps(e.value, ensure_ascii=False),
            start=e.start,
            end=e.end,
            confidence_entity=e.confidence_entity,
            extractor=e.extractor or "rasa",
            role=e.role,
        )
        for e in wire.entities
        if e.start is not None and e.end is not None
    )
    return ParseResult(text=text, intent=intent, intent_ranking=ranking or (intent,), entities=entities)


class RasaClient:
    """`POST {base_url}/model/parse` with a deadline, retries and a circuit breaker."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 2.0,
        retries: int = 1,
        breaker: CircuitBreaker | None = None,
        token: str | None = None,
        backoff_base_s: float = 0.05,
        backoff_max_s: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
        on_failure: Callable[[RasaUnavailable], None] | None = None,
    ) -> None:
        if timeout_s <= 0 or retries < 0:
            raise ValueError("timeout_s must be > 0 and retries >= 0")
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.retries = retries
        self.breaker = breaker or CircuitBreaker(name="rasa")
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self._on_failure = on_failure
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_s),
            params={"token": token} if token else None,
            transport=transport,
        )

    async def __aenter__(self) -> RasaClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def parse(self, text: str, *, message_id: str | None = None) -> ParseResult:
        """Rasa's reading of `text`. Raises `RasaUnavailable` when Rasa cannot give one."""
        payload = {"text": text, "message_id": message_id}
        try:
            return await retry(
                lambda: self._attempt(payload, text),
                attempts=self.retries + 1,
                retry_on=lambda exc: isinstance(exc, RasaUnavailable) and exc.retryable,
                base_s=self.backoff_base_s,
                max_s=self.backoff_max_s,
                on_retry=lambda attempt, exc, delay: log.info(
                    "rasa attempt %d failed (%s), retrying in %.2f s", attempt, exc, delay
                ),
            )
        except CircuitOpen as exc:
            refused = RasaUnavailable("circuit_open", str(exc))
            self._report(refused)
            raise refused from exc

    async def status(self) -> str | None:
        """The loaded model's file name (`GET /status` `model_file`), or None if Rasa does not say.

        Not guarded by the breaker and never raises: it only names the model in events.
        """
        try:
            async with asyncio.timeout(self.timeout_s):
                response = await self._http.get("/status")
            response.raise_for_status()
            model_file = response.json().get("model_file")
        except (httpx.HTTPError, TimeoutError, ValueError, AttributeError) as exc:
            log.info("rasa /status gave no model name: %s", exc)
            return None
        return PurePosixPath(str(model_file)).name if model_file else None

    async def _attempt(self, payload: dict[str, Any], text: str) -> ParseResult:
        try:
            async with self.breaker:
                return await self._post(payload, text)
        except RasaUnavailable as exc:
            self._report(exc)
            raise

    async def _post(self, payload: dict[str, Any], text: str) -> ParseResult:
        try:
            async with asyncio.timeout(self.timeout_s):
                response = await self._http.post("/model/parse", json=payload)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise RasaUnavailable("timeout", f"no answer within {self.timeout_s} s") from exc
        except httpx.TransportError as exc:
            raise RasaUnavailable("unreachable", f"{type(exc).__name__}: {exc}") from exc
        except httpx.HTTPError as exc:  # undecodable body, too many redirects
            raise RasaUnavailable("bad_response", f"{type(exc).__name__}: {exc}") from exc
        if response.status_code != httpx.codes.OK:
            raise RasaUnavailable(f"http_{response.status_code}", response.text[:200])
        try:
            body = response.json()
        except ValueError as exc:
            raise RasaUnavailable("bad_response", f"invalid JSON: {response.text[:80]!r}") from exc
        return parse_rasa_response(body, text)

    def _report(self, exc: RasaUnavailable) -> None:
        log.debug("rasa attempt failed: %s", exc)
        if self._on_failure is not None:
            self._on_failure(exc)
