"""The staff's admin API against a real broker: a message to send and a hand-back, both as staff.acted."""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from contracts import STAFF_ACTED, StaffActed
from runtime.kafka import all_topic_specs, ensure_topics
from tests.integration.ingress.conftest import IngressFactory
from tests.topic_reader import read_all

TOKEN = "admin-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def test_staff_messages_and_hand_backs_are_published(ingress: IngressFactory, kafka_bootstrap: str) -> None:
    await ensure_topics(kafka_bootstrap, all_topic_specs())
    async with ingress(admin_token=SecretStr(TOKEN)) as running, httpx.AsyncClient(base_url=running.url) as http:
        sent = await http.post("/admin/conversations/+5215599990042/messages",
                               json={"text": "Hola, soy Carla del estudio 🙂", "staff": "Carla"},
                               headers={**AUTH, "Idempotency-Key": "carla-1"})
        assert sent.status_code == 202, sent.text
        again = await http.post("/admin/conversations/whatsapp:+5215599990042/messages",
                                json={"text": "Hola, soy Carla del estudio 🙂", "staff": "Carla"},
                                headers={**AUTH, "Idempotency-Key": "carla-1"})
        assert again.json()["event_id"] == sent.json()["event_id"], "a retried request is the same event"
        back = await http.post("/admin/conversations/+5215599990042/hand-back", headers=AUTH)
        assert back.status_code == 202

        assert (await http.post("/admin/conversations/+5215599990042/hand-back")).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert (await http.post("/admin/conversations/+5215599990042/hand-back", headers=wrong)).status_code == 401
        bad = await http.post("/admin/conversations/hola/messages", json={"text": "x"}, headers=AUTH)
        assert bad.status_code == 400 and "WhatsApp number" in bad.json()["detail"]
        empty = await http.post("/admin/conversations/+5215599990042/messages", json={"text": ""}, headers=AUTH)
        assert empty.status_code == 422

    events = [e for e in await read_all(kafka_bootstrap, STAFF_ACTED) if isinstance(e, StaffActed)
              and e.payload.customer == "whatsapp:+5215599990042"]
    assert sorted(e.payload.action for e in events) == ["hand_back", "reply", "reply"]
    reply = next(e for e in events if e.payload.action == "reply")
    assert (reply.payload.body, reply.payload.staff, reply.conversation_id) == (
        "Hola, soy Carla del estudio 🙂", "Carla", "whatsapp:+5215599990042")


async def test_the_admin_api_is_off_without_a_token(ingress: IngressFactory) -> None:
    async with ingress(admin_token=SecretStr("")) as running, httpx.AsyncClient(base_url=running.url) as http:
        response = await http.post("/admin/conversations/+5215599990042/hand-back", headers=AUTH)
        assert response.status_code == 404
