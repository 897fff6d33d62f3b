"""A stand-in Rasa server and our own Rasa-compatible API, both served over real HTTP in the test loop.

A real Rasa 3.6 server needs Python 3.10 and a trained model, outside this repo's reach (see
bench/rasa_compare.py for the side-by-side run). The stand-in speaks Rasa's wire format, with a
canned answer captured from Rasa 3.6.20 serving a DIET model trained on services/nlu/data/nlu.yml,
and can be told to fail: 500s, 409 (no model loaded), slow answers, invalid JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from devstack.infra import free_port
from runtime.ops import http_server
from services.nlu.engine import NluEngine
from services.nlu.http import create_app

Mode = Literal["ok", "error500", "no_model", "slow", "invalid_json"]

MODEL_FILE = "models/nlu-20261125-diet.tar.gz"

# What Rasa 3.6.20 answered for this text (text_tokens and the ranking's tail trimmed). Its fecha
# and hora values are the surface text; the nlu stage replaces them with resolved ones.
TEXT = "quiero el pack de 10 para mañana a las 5 de la tarde"
RASA_ANSWER: dict[str, Any] = {
    "text": TEXT,
    "intent": {"name": "agendar_cita", "confidence": 0.9996922016143799},
    "entities": [
        {"entity": "paquete", "start": 10, "end": 20, "confidence_entity": 0.8149943947792053,
         "value": "Pack 10 clases", "extractor": "DIETClassifier", "processors": ["EntitySynonymMapper"]},
        {"entity": "fecha", "start": 26, "end": 32, "confidence_entity": 0.6916510462760925, "value": "mañana",
         "extractor": "DIETClassifier", "processors": ["EntitySynonymMapper"]},
        {"entity": "hora", "start": 33, "end": 52, "confidence_entity": 0.9, "value": "a las 5 de la tarde",
         "extractor": "DIETClassifier"},
    ],
    "text_tokens": [[0, 6], [7, 9], [10, 14], [15, 17], [18, 20], [21, 25], [26, 32], [33, 34]],
    "intent_ranking": [
        {"name": "agendar_cita", "confidence": 0.9996922016143799},
        {"name": "consultar_horarios", "confidence": 0.00017816443869378418},
        {"name": "pagar_servicio", "confidence": 0.00012333510676398873},
    ],
}


@dataclass
class RasaStandIn:
    """A Rasa server's `/model/parse` and `/status`, with a hit counter and failure injection."""

    url: str = ""
    mode: Mode = "ok"
    slow_s: float = 1.0
    status_available: bool = True
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)  # text -> Rasa answer
    hits: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)

    def answer_for(self, text: str) -> dict[str, Any]:
        if text in self.answers:
            return self.answers[text]
        return {**RASA_ANSWER, "text": text, "entities": []} if text != TEXT else RASA_ANSWER

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/status")
        async def status() -> Response:
            if not self.status_available:
                return JSONResponse({"status": "failure", "reason": "NoModel"}, status_code=409)
            return JSONResponse({"model_file": MODEL_FILE, "model_id": "84b18a9e", "num_active_training_jobs": 0})

        @app.post("/model/parse")
        async def parse(request: Request) -> Response:
            self.hits += 1
            body = await request.json()
            self.requests.append(body)
            if self.mode == "error500":
                return JSONResponse({"status": "failure", "reason": "ParsingError", "code": 500}, status_code=500)
            if self.mode == "no_model":
                return JSONResponse({"status": "failure", "reason": "NoModel", "code": 409}, status_code=409)
            if self.mode == "invalid_json":
                return Response("<html>502 Bad Gateway", media_type="application/json")
            if self.mode == "slow":
                await asyncio.sleep(self.slow_s)
            return JSONResponse(self.answer_for(body["text"]))

        return app


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[tuple[str, uvicorn.Server]]:
    port = free_port()
    server = http_server(app, host="127.0.0.1", port=port)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:  # uvicorn only exposes a flag
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        server.force_exit = True
        await task


@pytest.fixture
async def rasa() -> AsyncIterator[RasaStandIn]:
    stand_in = RasaStandIn()
    async with serving(stand_in.app()) as (url, _):
        stand_in.url = url
        yield stand_in


@pytest.fixture(scope="session")
def engine() -> NluEngine:
    return NluEngine.train()


@pytest.fixture(scope="session")
def nlu_api_app(engine: NluEngine) -> FastAPI:
    return create_app(engine)


@pytest.fixture
async def nlu_api(nlu_api_app: FastAPI) -> AsyncIterator[str]:
    async with serving(nlu_api_app) as (url, _):
        yield url


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    yield FakeClock()
