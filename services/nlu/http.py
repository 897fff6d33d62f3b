"""Rasa-compatible HTTP API: anything that talks to a Rasa server's `/model/parse` can talk to us."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, Field

from services.nlu.engine import EmptyText, NluEngine


class ParseRequest(BaseModel):
    text: str = Field(max_length=4096)
    message_id: str | None = None
    reference_time: AwareDatetime | None = Field(
        None, description="RFC 3339 time the message was sent; relative dates resolve against it"
    )


def create_app(engine: NluEngine) -> FastAPI:
    app = FastAPI(title="nlu (Rasa-compatible)", docs_url=None, redoc_url=None)

    @app.get("/")
    async def hello() -> str:
        return "Hello from the orchestrator's Rasa-compatible NLU"

    @app.get("/status")
    async def status() -> dict[str, Any]:
        return {"model_file": engine.model_version, "model_id": engine.model_version, "num_active_training_jobs": 0}

    @app.post("/model/parse", response_model=None)
    async def parse(request: ParseRequest) -> dict[str, Any] | JSONResponse:
        try:
            result = engine.parse(request.text, reference_time=request.reference_time or datetime.now(UTC))
        except EmptyText:
            return JSONResponse({"version": engine.model_version, "status": "failure", "reason": "EmptyText",
                                 "message": "text is empty: nothing to parse", "code": 400}, status_code=400)
        body = result.model_dump(mode="json")
        body["message_id"] = request.message_id
        return body

    return app
