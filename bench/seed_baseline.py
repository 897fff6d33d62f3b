"""The seed's design, as the end-to-end benchmark's baseline: everything inside the webhook request.

One FastAPI handler verifies Twilio's signature, parses the form, classifies the text with the
built-in NLU (the nlu service's settings, catalogue adapter and `NluEngine.train`), calls the
business API for the facts, asks the LLM (OpenRouter's chat completions) to word the reply, sends
it with Twilio's Messages API, and only then answers the webhook with an empty TwiML. No broker,
no retries, no state: the webhook's latency is the sum of the three dependencies'.

It is given its best chance: asynchronous HTTP clients with generous pools, one process, no
logging per request. It lives in bench/ only and is started by `bench/e2e_bench.py`:

    .venv/bin/python bench/seed_baseline.py --port 8095 --twilio-url http://127.0.0.1:8091 \\
        --llm-url http://127.0.0.1:8092 [--public-url http://127.0.0.1:8095]

The business API's address and token are the nlu service's (`BUSINESS_API_URL`, `BUSINESS_API_TOKEN`).
"""

# No ``from __future__ import annotations``: FastAPI resolves the route annotations at runtime.
import argparse
import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request, Response
from twilio.request_validator import RequestValidator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openrouter_standin.settings import DEMO_API_KEY
from runtime.settings import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN
from services.nlu.adapters.catalogue import fetch_package_names
from services.nlu.engine import EngineConfig, NluEngine
from services.nlu.settings import NluSettings

WEBHOOK_PATH = "/webhooks/twilio/whatsapp"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
LLM_MODEL = "openai/gpt-4o-mini"
PERSONA = "Eres la recepcionista de un estudio de pilates. Reescribe el borrador, cálido y breve, sin cambiar datos."
SCHEDULE_INTENTS = frozenset({"consultar_horarios", "agendar_cita"})


@dataclass(frozen=True)
class SeedConfig:
    port: int
    public_url: str
    twilio_url: str
    llm_url: str
    llm_key: str
    account_sid: str
    auth_token: str


class SeedError(RuntimeError):
    """A dependency answered with an error: the webhook fails (500) and Twilio would retry it."""


def draft(intent: str, facts: dict[str, Any]) -> str:
    """The reply's facts in plain words, for the LLM to reword."""
    if "slots" in facts:
        slots = facts["slots"][:4]
        listed = ", ".join(f"{slot['class_name']} a las {slot['time']}" for slot in slots)
        return f"Estas son las próximas clases: {listed}." if slots else "No hay clases en los próximos días."
    packages = ", ".join(f"{package['name']} (${package['price']:.0f})" for package in facts.get("packages", []))
    if intent == "saludo":
        return f"¡Hola! Soy el asistente del estudio. Tenemos {packages}. ¿En qué te ayudo?"
    return f"Estos son nuestros paquetes: {packages}."


def create_app(config: SeedConfig) -> FastAPI:
    nlu = NluSettings()
    validator = RequestValidator(config.auth_token)
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=500)
    clients: dict[str, httpx.AsyncClient] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        token = nlu.business_api_token.get_secret_value()
        catalogue = await fetch_package_names(nlu.business_api_url, token)
        app.state.engine = NluEngine.train(nlu.training_data, catalogue=catalogue, config=EngineConfig(
            timezone=nlu.timezone, opens_at=nlu.opens_at, closes_at=nlu.closes_at))
        clients["business"] = httpx.AsyncClient(base_url=nlu.business_api_url, limits=limits, timeout=30,
                                                headers={"Authorization": f"Bearer {token}"}, trust_env=False)
        clients["llm"] = httpx.AsyncClient(base_url=config.llm_url, limits=limits, timeout=30, trust_env=False,
                                           headers={"Authorization": f"Bearer {config.llm_key}"})
        clients["twilio"] = httpx.AsyncClient(base_url=config.twilio_url, limits=limits, timeout=30,
                                              auth=(config.account_sid, config.auth_token), trust_env=False)
        try:
            yield
        finally:
            await asyncio.gather(*(client.aclose() for client in clients.values()))

    app = FastAPI(title="seed baseline", lifespan=lifespan)

    async def call(name: str, method: str, path: str, **kwargs: Any) -> Any:
        response = await clients[name].request(method, path, **kwargs)
        if response.status_code >= 400:
            raise SeedError(f"{name} {path}: HTTP {response.status_code} {response.text[:200]}")
        return response.json()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(WEBHOOK_PATH)
    async def webhook(request: Request) -> Response:
        form = {key: str(value) for key, value in (await request.form()).items()}
        if not validator.validate(config.public_url + WEBHOOK_PATH, form,
                                  request.headers.get("X-Twilio-Signature", "")):
            return Response(status_code=403)
        customer, business, text = form["From"], form["To"], form.get("Body", "")
        intent = app.state.engine.parse(text, reference_time=datetime.now(UTC)).intent.name
        if intent in SCHEDULE_INTENTS:
            facts = await call("business", "GET", "/schedule-slots", params={"days": 2, "only_available": "true"})
        else:
            facts = await call("business", "GET", "/packages")
        completion = await call("llm", "POST", "/api/v1/chat/completions", json={
            "models": [LLM_MODEL], "max_tokens": 400, "temperature": 0.3, "messages": [
                {"role": "system", "content": PERSONA},
                {"role": "user", "content": f"Cliente: {text}\n<<<BORRADOR\n{draft(intent, facts)}\nBORRADOR>>>"}]})
        body = str(completion["choices"][0]["message"]["content"])
        await call("twilio", "POST", f"/2010-04-01/Accounts/{config.account_sid}/Messages.json",
                   data={"From": business, "To": customer, "Body": body})
        return Response(EMPTY_TWIML, media_type="application/xml")

    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--public-url", help="The URL Twilio signs (default: http://127.0.0.1:<port>)")
    parser.add_argument("--twilio-url", required=True)
    parser.add_argument("--llm-url", required=True)
    parser.add_argument("--llm-key", default=DEMO_API_KEY)
    parser.add_argument("--account-sid", default=DEMO_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=DEMO_AUTH_TOKEN)
    args = parser.parse_args()
    config = SeedConfig(port=args.port, public_url=args.public_url or f"http://127.0.0.1:{args.port}",
                        twilio_url=args.twilio_url.rstrip("/"), llm_url=args.llm_url.rstrip("/"),
                        llm_key=args.llm_key, account_sid=args.account_sid, auth_token=args.auth_token)
    uvicorn.run(create_app(config), host="127.0.0.1", port=config.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
