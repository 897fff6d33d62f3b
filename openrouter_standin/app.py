"""HTTP app speaking OpenRouter's chat-completions wire format, for the demo and the tests.

Only what the responder uses: ``POST /api/v1/chat/completions`` with a Bearer key, answered with
``id``, ``model`` (the first of ``models``), ``choices[0].message.content`` and ``usage``
(``prompt_tokens``, ``completion_tokens``, ``cost``), and OpenRouter's error bodies
(``{"error": {"code", "message"}}``). By default it answers with the draft the responder's prompt
carries between ``<<<BORRADOR`` and ``BORRADOR>>>`` lines, lightly reworded (or as is), so the
whole pipeline works without a key. The ``/_standin`` endpoints are for tests and the demo:

- ``POST /_standin/script``: the next answers, in order (``{"responses": [...]}``): a given
  ``content``; an HTTP 200 whose body is an ``error`` (``error_body``); a ``status`` such as 429
  (with ``retry_after_s``), 402 or 500; a ``delay_s`` before answering (longer than the client's
  timeout: a timeout). ``DELETE`` forgets the script.
- ``GET /_standin/requests``: the completions asked for, oldest first (attribution headers and
  the JSON body: models, messages, max_tokens, temperature); ``DELETE`` forgets them.
- ``PUT /_standin/latency``: ``{"latency_ms": N}`` added to every completion from now on.
"""

# No ``from __future__ import annotations``: FastAPI must resolve the route annotations.
import asyncio
import math
import re
import secrets
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from openrouter_standin.settings import StandinSettings

COMPLETIONS_PATH = "/api/v1/chat/completions"
# The responder's prompt puts the template's text between these lines (services/responder/prompt.py).
DRAFT = re.compile(r"<<<BORRADOR\n(.*?)\nBORRADOR>>>", re.DOTALL)
NO_DRAFT_ANSWER = "¡Hola! ¿En qué te puedo ayudar?"
RECORDED_HEADERS = ("http-referer", "x-openrouter-title", "x-title", "content-type", "user-agent")
# Register-neutral rewordings that keep every fact: what "lightly rephrased" means here.
REWORDINGS = (
    ("¡Listo!", "¡Hecho!"),
    ("¡Perfecto!", "¡Genial!"),
    ("¡Con gusto!", "¡Con mucho gusto!"),
    ("Con gusto te ayudo.", "Con mucho gusto te ayudo."),
    ("Estos son nuestros paquetes:", "Aquí van nuestros paquetes:"),
    ("Lo siento,", "Lo lamento,"),
)


class ScriptedResponse(BaseModel):
    """One scripted answer of ``POST /_standin/script``."""

    model_config = ConfigDict(frozen=True)

    content: str | None = None
    status: int = Field(default=200, ge=200, le=599)
    error_body: bool = False
    message: str | None = None
    retry_after_s: float | None = Field(default=None, ge=0)
    delay_s: float = Field(default=0.0, ge=0)
    model: str | None = None
    finish_reason: str = "stop"


class Script(BaseModel):
    model_config = ConfigDict(frozen=True)

    responses: list[ScriptedResponse] = Field(min_length=1)


class Latency(BaseModel):
    model_config = ConfigDict(frozen=True)

    latency_ms: float = Field(ge=0)


@dataclass
class _State:
    latency_ms: float
    script: deque[ScriptedResponse] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)


def error_response(status: int, message: str, *, retry_after_s: float | None = None) -> JSONResponse:
    """OpenRouter's error body, with the HTTP status equal to ``error.code``."""
    headers = {"Retry-After": f"{retry_after_s:g}"} if retry_after_s is not None else None
    return JSONResponse({"error": {"code": status, "message": message}}, status_code=status, headers=headers)


def draft_of(messages: list[Any]) -> str | None:
    """The draft in the last user message that carries one."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user" and isinstance(message.get("content"), str):
            found = DRAFT.search(message["content"])
            if found:
                return found.group(1)
    return None


def reworded(text: str) -> str:
    for old, new in REWORDINGS:
        text = text.replace(old, new)
    return text


def default_answer(messages: list[Any], mode: str) -> str:
    draft = draft_of(messages)
    if draft is None:
        return NO_DRAFT_ANSWER
    return reworded(draft) if mode == "rephrase" else draft


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def create_app(settings: StandinSettings) -> FastAPI:
    state = _State(latency_ms=settings.latency_ms)
    app = FastAPI(title="OpenRouter stand-in")

    @app.post(COMPLETIONS_PATH)
    async def chat_completions(request: Request) -> JSONResponse:
        expected = f"Bearer {settings.api_key.get_secret_value()}"
        if not secrets.compare_digest(request.headers.get("authorization", "").encode(), expected.encode()):
            return error_response(401, "No auth credentials found" if "authorization" not in request.headers
                                  else "User not found.")
        try:
            body = await request.json()
        except ValueError:
            return error_response(400, "Invalid JSON body")
        if not isinstance(body, dict):
            return error_response(400, "The body must be a JSON object")
        state.requests.append({
            "at": datetime.now(UTC).isoformat(),
            "headers": {name: request.headers[name] for name in RECORDED_HEADERS if name in request.headers},
            "body": body,
        })
        messages = body.get("messages")
        models = body.get("models") or ([body["model"]] if body.get("model") else [])
        if not isinstance(messages, list) or not messages:
            return error_response(400, "messages: a non-empty array is required")
        if not isinstance(models, list) or not models or not all(isinstance(m, str) for m in models):
            return error_response(400, "model or models: a model id is required")
        scripted = state.script.popleft() if state.script else None
        delay = state.latency_ms / 1000 + (scripted.delay_s if scripted else 0.0)
        if delay:
            await asyncio.sleep(delay)
        if scripted is not None and scripted.status != 200:
            return error_response(scripted.status, scripted.message or f"Scripted HTTP {scripted.status}",
                                  retry_after_s=scripted.retry_after_s)
        generation = f"gen-{int(time.time())}-{uuid.uuid4().hex[:12]}"
        model = (scripted.model if scripted else None) or models[0]
        if scripted is not None and scripted.error_body:
            return JSONResponse({"id": generation, "model": model, "error": {
                "code": 502, "message": scripted.message or "Provider returned error"}})
        if scripted is not None and scripted.content is not None:
            content = scripted.content
        else:
            content = default_answer(messages, settings.answer)
        prompt_tokens = _tokens("".join(str(m.get("content", "")) for m in messages if isinstance(m, dict)))
        completion_tokens = _tokens(content)
        cost = round(prompt_tokens * settings.prompt_price + completion_tokens * settings.completion_price, 10)
        finish = scripted.finish_reason if scripted else "stop"
        return JSONResponse({
            "id": generation,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "provider": "stand-in",
            "choices": [{"index": 0, "finish_reason": finish, "native_finish_reason": finish,
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens, "cost": cost},
        })

    @app.post("/_standin/script", status_code=202)
    async def add_script(script: Script) -> dict[str, int]:
        state.script.extend(script.responses)
        return {"pending": len(state.script)}

    @app.delete("/_standin/script", status_code=204)
    async def clear_script() -> None:
        state.script.clear()

    @app.get("/_standin/requests")
    async def recorded_requests() -> list[dict[str, Any]]:
        return list(state.requests)

    @app.delete("/_standin/requests", status_code=204)
    async def clear_requests() -> None:
        state.requests.clear()

    @app.put("/_standin/latency")
    async def set_latency(latency: Latency) -> dict[str, float]:
        state.latency_ms = latency.latency_ms
        return {"latency_ms": state.latency_ms}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
