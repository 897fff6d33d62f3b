"""Our own Rasa-compatible `/model/parse`, over real HTTP: Rasa's response shape, errors, and our client."""

from __future__ import annotations

import httpx

from services.nlu.adapters.rasa import RasaClient
from services.nlu.engine import NluEngine
from tests.integration.nlu.conftest import TEXT

REFERENCE_TIME = "2026-11-25T15:00:00-06:00"  # a Wednesday in Mexico City


async def test_model_parse_answers_in_rasas_shape(nlu_api: str) -> None:
    text = "quiero agendar mañana a las 5 de la tarde"
    async with httpx.AsyncClient(base_url=nlu_api) as client:
        response = await client.post("/model/parse", json={"text": text, "message_id": "SM1",
                                                           "reference_time": REFERENCE_TIME})
    assert response.status_code == 200
    body = response.json()
    assert body["text"] == text
    assert body["message_id"] == "SM1"
    assert set(body["intent"]) == {"name", "confidence"}
    assert body["intent"]["name"] == "agendar_cita"
    assert 0.5 < body["intent"]["confidence"] <= 1.0
    ranking = body["intent_ranking"]
    assert ranking[0] == body["intent"]
    assert all(set(r) == {"name", "confidence"} for r in ranking)
    assert [r["confidence"] for r in ranking] == sorted((r["confidence"] for r in ranking), reverse=True)
    entities = {e["entity"]: e for e in body["entities"]}
    assert set(entities) == {"fecha", "hora"}
    for entity in body["entities"]:
        assert {"entity", "value", "start", "end", "extractor"} <= set(entity)
        assert text[entity["start"]:entity["end"]].strip() != ""
    assert entities["fecha"]["value"] == "2026-11-26"
    assert text[entities["fecha"]["start"]:entities["fecha"]["end"]] == "mañana"
    assert entities["hora"]["value"] == "17:00"
    assert "a las 5" in text[entities["hora"]["start"]:entities["hora"]["end"]]


async def test_model_parse_refuses_empty_text(nlu_api: str) -> None:
    async with httpx.AsyncClient(base_url=nlu_api) as client:
        for text in ("", "   "):
            response = await client.post("/model/parse", json={"text": text})
            assert response.status_code == 400
            assert response.json()["reason"] == "EmptyText"
        assert (await client.post("/model/parse", json={})).status_code == 422


async def test_our_rasa_client_reads_our_own_api(nlu_api: str, engine: NluEngine) -> None:
    """The wire format both ways: the client that talks to Rasa can talk to this API too."""
    async with RasaClient(nlu_api, timeout_s=2.0, retries=0) as client:
        assert await client.status() == engine.model_version
        result = await client.parse(TEXT, message_id="SM1")
    assert result.intent.name == "agendar_cita"
    assert {e.entity for e in result.entities} >= {"paquete", "fecha", "hora"}
