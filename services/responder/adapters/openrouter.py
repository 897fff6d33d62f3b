"""OpenRouter's chat completions API over httpx: one reply's wording, within a time budget.

    client = OpenRouterClient(key, models=("google/gemini-2.5-flash-lite", "openai/gpt-4.1-mini"),
                              timeout_s=4.0, budget_s=6.0)
    completion = await client.complete(messages)   # -> Completion, or raises OpenRouterError

The request (`POST {base}/api/v1/chat/completions`) names the models in priority order
(`models`: OpenRouter falls back to the next one by itself; the one that answered comes back as
`model`), with `max_tokens`, a low `temperature`, the key as a Bearer token and the app's
`HTTP-Referer` / `X-OpenRouter-Title` attribution headers. The answer's `usage` gives the tokens
and the `cost` in credits.

Every way it can fail ends in one `OpenRouterError` with a `kind`:

- `http_402` (no credits), `http_4xx` (a bad request or key): not retried;
- `http_408`, `http_429`, `http_5xx`, `timeout`, `unreachable`: retried with backoff while the
  budget lasts, waiting at least `Retry-After` (a wait past the budget is not attempted);
- `error_body` (HTTP 200 whose body is an `error`: the generation failed after it was accepted),
  `truncated` (cut by `max_tokens`), `empty`, `bad_response`: not retried;
- `circuit_open`: the breaker is open after repeated failures, so no request went out.

Every failed attempt counts towards the circuit breaker (`runtime.resilience`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx
from prometheus_client import Counter, Histogram
from pydantic import BaseModel, ConfigDict, ValidationError

from runtime.http import pooled_client
from runtime.metrics import LATENCY_BUCKETS
from runtime.resilience import CircuitBreaker, CircuitOpen, retry

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://openrouter.ai"
COMPLETIONS_PATH = "/api/v1/chat/completions"
MIN_ATTEMPT_S = 0.2
"""An attempt is not started with less budget left than this: it could only time out."""

FailureKind = Literal["timeout", "unreachable", "http_402", "http_408", "http_429", "http_5xx", "http_4xx",
                      "error_body", "truncated", "empty", "bad_response", "circuit_open"]
RETRYABLE: frozenset[FailureKind] = frozenset({"timeout", "unreachable", "http_408", "http_429", "http_5xx"})

LLM_SECONDS = Histogram("responder_llm_seconds", "OpenRouter requests that answered, by the model that answered",
                        ["model"], buckets=LATENCY_BUCKETS)
LLM_TOKENS = Counter("responder_llm_tokens_total", "Tokens OpenRouter counted, by model and kind (prompt, completion)",
                     ["model", "kind"])
LLM_COST = Counter("responder_llm_cost_total", "OpenRouter usage.cost in credits (USD), by model", ["model"])
LLM_FAILURES = Counter("responder_llm_failures_total", "LLM attempts or replies that gave no usable text, by kind "
                       "(timeout, http_429, http_402, http_5xx, error_body, circuit_open, guardrail:<reason>, ...)",
                       ["kind"])


class OpenRouterError(Exception):
    """OpenRouter gave no usable completion; `kind` says why."""

    def __init__(self, kind: FailureKind, detail: str = "", *, retry_after_s: float | None = None) -> None:
        self.kind: FailureKind = kind
        self.detail = detail
        self.retry_after_s = retry_after_s
        super().__init__(f"openrouter {kind}{': ' + detail if detail else ''}")

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    """The model that answered (OpenRouter's `model`: a fallback of the list when the first failed)."""
    prompt_tokens: int | None
    completion_tokens: int | None
    cost: float | None
    latency_ms: float
    """From the first request to the answer, retries and their waits included."""
    attempts: int = 1
    id: str | None = None


# --- the wire format (unknown keys ignored) ------------------------------------------------------


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _WireError(_Wire):
    code: int | str | None = None
    message: str = ""


class _WireMessage(_Wire):
    content: str | None = None


class _WireChoice(_Wire):
    message: _WireMessage | None = None
    finish_reason: str | None = None
    error: _WireError | None = None


class _WireUsage(_Wire):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: float | None = None


class _WireCompletion(_Wire):
    id: str | None = None
    model: str | None = None
    choices: list[_WireChoice] = []
    usage: _WireUsage | None = None
    error: _WireError | None = None


def parse_completion(body: Any, *, requested: Sequence[str], latency_ms: float, attempts: int = 1) -> Completion:
    """OpenRouter's JSON answer → `Completion`; `OpenRouterError` when it holds no usable text."""
    try:
        wire = _WireCompletion.model_validate(body)
    except ValidationError as exc:
        raise OpenRouterError("bad_response", f"not a chat completion: {exc.errors()[:1]}") from exc
    if wire.error is not None:
        raise OpenRouterError("error_body", f"{wire.error.code}: {wire.error.message}".strip(": "))
    if not wire.choices:
        raise OpenRouterError("bad_response", "no choices")
    choice = wire.choices[0]
    if choice.error is not None or choice.finish_reason == "error":
        error = choice.error or _WireError()
        raise OpenRouterError("error_body", f"{error.code}: {error.message}".strip(": "))
    if choice.finish_reason == "length":
        raise OpenRouterError("truncated", "the answer was cut at max_tokens")
    text = (choice.message.content if choice.message else None) or ""
    if not text.strip():
        raise OpenRouterError("empty", "the answer has no text")
    usage = wire.usage or _WireUsage()
    return Completion(text=text.strip(), model=wire.model or requested[0], prompt_tokens=usage.prompt_tokens,
                      completion_tokens=usage.completion_tokens, cost=usage.cost, latency_ms=latency_ms,
                      attempts=attempts, id=wire.id)


def retry_after_s(response: httpx.Response) -> float | None:
    """`Retry-After` in seconds (a number or an HTTP date), None when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _status_kind(status: int) -> FailureKind:
    if status in (402, 408, 429):
        return "http_402" if status == 402 else "http_408" if status == 408 else "http_429"
    return "http_5xx" if status >= 500 else "http_4xx"


def _error_message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error") or {}
        return f"{response.status_code}: {error.get('message') or response.reason_phrase}"
    except (ValueError, AttributeError):
        return f"{response.status_code}: {response.text[:120]}"


class OpenRouterClient:
    """`POST /api/v1/chat/completions` with a per-request timeout, a total budget, retries and a breaker."""

    def __init__(
        self,
        api_key: str,
        *,
        models: Sequence[str],
        base_url: str = DEFAULT_BASE_URL,
        app_url: str | None = None,
        app_title: str | None = None,
        max_tokens: int = 400,
        temperature: float = 0.3,
        timeout_s: float = 4.0,
        budget_s: float = 6.0,
        attempts: int = 3,
        backoff_base_s: float = 0.2,
        backoff_max_s: float = 1.0,
        breaker: CircuitBreaker | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 100,
    ) -> None:
        if not models:
            raise ValueError("at least one model is needed")
        if timeout_s <= 0 or budget_s < timeout_s or attempts < 1:
            raise ValueError("timeout_s must be > 0, budget_s >= timeout_s and attempts >= 1")
        self.models = tuple(models)
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.timeout_s = timeout_s
        self.budget_s = budget_s
        self.attempts = attempts
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.breaker = breaker or CircuitBreaker(name="openrouter", failure_threshold=5, reset_after_s=30.0)
        headers = {"Authorization": f"Bearer {api_key}"}
        if app_url:
            headers["HTTP-Referer"] = app_url
        if app_title:
            headers["X-OpenRouter-Title"] = app_title
        self._http = pooled_client(max_connections=max_connections, base_url=base_url.rstrip("/"), headers=headers,
                                   timeout=httpx.Timeout(timeout_s), transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    def request_body(self, messages: Sequence[Mapping[str, str]]) -> dict[str, Any]:
        return {"models": list(self.models), "messages": [dict(m) for m in messages],
                "max_tokens": self.max_tokens, "temperature": self.temperature}

    async def complete(self, messages: Sequence[Mapping[str, str]]) -> Completion:
        """The completion of `messages`; `OpenRouterError` when none came within the budget."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + self.budget_s
        body = self.request_body(messages)
        tries = 0
        last: OpenRouterError | None = None

        async def attempt() -> Completion:
            nonlocal tries
            tries += 1
            answer = await self._attempt(body, deadline)
            return parse_completion(answer, requested=self.models, latency_ms=(loop.time() - started) * 1000,
                                    attempts=tries)

        def worth_retrying(exc: BaseException) -> bool:
            if not isinstance(exc, OpenRouterError) or not exc.retryable:
                return False
            return loop.time() + (exc.retry_after_s or 0.0) + MIN_ATTEMPT_S <= deadline

        def on_retry(number: int, exc: BaseException, delay: float) -> None:
            nonlocal last
            last = exc if isinstance(exc, OpenRouterError) else None
            log.info("openrouter attempt %d failed (%s), retrying", number, exc)

        async def wait(delay: float) -> None:
            wanted = max(delay, (last.retry_after_s or 0.0) if last else 0.0)
            await asyncio.sleep(max(0.0, min(wanted, deadline - MIN_ATTEMPT_S - loop.time())))

        try:
            completion = await retry(attempt, attempts=self.attempts, retry_on=worth_retrying,
                                     base_s=self.backoff_base_s, max_s=self.backoff_max_s, sleep=wait,
                                     on_retry=on_retry)
        except CircuitOpen as exc:
            LLM_FAILURES.labels("circuit_open").inc()
            raise OpenRouterError("circuit_open", str(exc)) from exc
        self._observe(completion)
        return completion

    async def _attempt(self, body: dict[str, Any], deadline: float) -> Any:
        """One request, guarded by the breaker: the answer's JSON, or `OpenRouterError`."""
        loop = asyncio.get_running_loop()
        left = deadline - loop.time()
        if left < MIN_ATTEMPT_S:
            raise OpenRouterError("timeout", "the reply's time budget is spent")
        try:
            async with self.breaker:
                started = loop.time()
                answer = await self._post(body, min(self.timeout_s, left))
                # A generation that failed after it was accepted is a failure of the dependency too.
                parse_completion(answer, requested=self.models, latency_ms=0.0)
                LLM_SECONDS.labels(str(answer.get("model") or self.models[0])).observe(loop.time() - started)
                return answer
        except OpenRouterError as exc:
            LLM_FAILURES.labels(exc.kind).inc()
            raise

    async def _post(self, body: dict[str, Any], timeout_s: float) -> Any:
        try:
            async with asyncio.timeout(timeout_s):
                response = await self._http.post(COMPLETIONS_PATH, json=body)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise OpenRouterError("timeout", f"no answer within {timeout_s:.2f} s") from exc
        except httpx.TransportError as exc:
            raise OpenRouterError("unreachable", f"{type(exc).__name__}: {exc}") from exc
        except httpx.HTTPError as exc:
            raise OpenRouterError("bad_response", f"{type(exc).__name__}: {exc}") from exc
        if response.status_code != httpx.codes.OK:
            raise OpenRouterError(_status_kind(response.status_code), _error_message(response),
                                  retry_after_s=retry_after_s(response))
        try:
            answer = response.json()
        except ValueError as exc:
            raise OpenRouterError("bad_response", f"invalid JSON: {response.text[:80]!r}") from exc
        if not isinstance(answer, dict):
            raise OpenRouterError("bad_response", "the answer is not a JSON object")
        return answer

    def _observe(self, completion: Completion) -> None:
        model = completion.model
        if completion.prompt_tokens is not None:
            LLM_TOKENS.labels(model, "prompt").inc(completion.prompt_tokens)
        if completion.completion_tokens is not None:
            LLM_TOKENS.labels(model, "completion").inc(completion.completion_tokens)
        if completion.cost is not None and completion.cost >= 0:
            LLM_COST.labels(model).inc(completion.cost)
