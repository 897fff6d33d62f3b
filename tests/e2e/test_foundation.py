"""The walking skeleton from the outside: signed webhooks in, Spanish replies out, events everywhere."""

from __future__ import annotations

import itertools
import time
from typing import Any

import asyncpg
import httpx

from contracts import (
    ACTION_COMPLETED,
    INTENT_DETECTED,
    MESSAGE_RECEIVED,
    REPLY_SENT,
    REPLY_STATUS,
    inbound_event_id,
)
from devstack.conversations.channel import Target, WhatsApp, wait_for
from devstack.stack import DEMO_BUSINESS_NUMBER, Stack
from devstack.webhooks import inbound_params, new_message_sid, signed_request
from tests.topic_reader import high_watermark, read_all

CHAIN = (MESSAGE_RECEIVED, INTENT_DETECTED, ACTION_COMPLETED, REPLY_SENT)


async def post_webhook(stack: Stack, params: dict[str, str], *, token: str | None = None) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10.0) as client:
        return await client.post(stack.webhook_url,
                                 **signed_request(stack.ingress_url + "/webhooks/twilio/whatsapp", params,
                                                  token or stack.config.auth_token))


async def replies_to(stack: Stack, customer: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        return await WhatsApp(Target.from_stack(stack), client).sent_to(customer)


async def test_two_messages_flow_through_every_stage(stack: Stack) -> None:
    customer = "whatsapp:+5215500000001"
    hola = inbound_params(body="hola", customer=customer, business=DEMO_BUSINESS_NUMBER,
                          account_sid=stack.config.account_sid)
    paquetes = inbound_params(body="¿qué paquetes tienen?", customer=customer, business=DEMO_BUSINESS_NUMBER,
                              account_sid=stack.config.account_sid)

    for params in (hola, paquetes):
        before = len(await replies_to(stack, customer))
        started = time.perf_counter()
        response = await post_webhook(stack, params)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.text
        assert response.text.endswith("<Response/>")
        assert elapsed < 1.0, f"ingress answered in {elapsed:.3f} s"
        await wait_for(lambda before=before: _more_than(stack, customer, before))

    replies = await replies_to(stack, customer)
    assert [r["to"] for r in replies] == [customer, customer]
    assert all(r["from"] == DEMO_BUSINESS_NUMBER for r in replies)
    greeting, catalogue = replies[0]["body"], replies[1]["body"]
    assert greeting.startswith("¡Hola")
    async with httpx.AsyncClient(base_url=stack.url("business_api"),
                                 headers={"Authorization": f"Bearer {stack.config.business_token}"}) as api:
        packages = (await api.get("/packages")).json()["packages"]
    assert len(packages) == 4
    for package in packages:
        assert package["name"] in catalogue

    # One event per topic for each message, linked by correlation and causation ids.
    for params in (hola, paquetes):
        correlation = inbound_event_id(params["MessageSid"])
        chain = []
        for topic in CHAIN:
            events = [e for e in await read_all(stack.bootstrap, topic) if e.correlation_id == correlation]
            assert len(events) == 1, f"{topic.name}: {len(events)} events for {params['Body']!r}"
            chain.append(events[0])
        assert chain[0].event_id == correlation and chain[0].causation_id is None
        for cause, effect in itertools.pairwise(chain):
            assert effect.causation_id == cause.event_id
        assert chain[1].payload.intent == ("saludo" if params is hola else "consultar_paquetes")  # type: ignore[attr-defined]

    # The logger wrote every event of both chains to PostgreSQL.
    correlations = [inbound_event_id(p["MessageSid"]) for p in (hola, paquetes)]

    async def logged() -> list[Any] | None:
        conn = await asyncpg.connect(stack.database_url)
        try:
            rows = await conn.fetch(
                "SELECT type, correlation_id FROM orchestrator.events WHERE correlation_id = ANY($1::text[]) "
                "AND type <> 'reply.status'", correlations)
        finally:
            await conn.close()
        return rows if len(rows) == 8 else None

    rows = await wait_for(logged)
    assert sorted(r["type"] for r in rows) == sorted([t.name for t in CHAIN] * 2)

    # Every consuming stage reports its consumer lag, and it is back to 0 once both chains are done
    # (actions, a faust worker, refreshes it every 5 s).
    sources = {"nlu": "message.received", "actions": "intent.detected", "responder": "action.completed",
               "logger": "reply.sent"}

    async def caught_up() -> dict[str, list[float]] | None:
        lags: dict[str, list[float]] = {}
        async with httpx.AsyncClient() as client:
            for service, topic in sources.items():
                text = (await client.get(stack.url(service) + "/metrics")).text
                lags[service] = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                                 if line.startswith("orchestrator_consumer_lag{")
                                 and f'stage="{service}"' in line and f'topic="{topic}"' in line]
        return lags if all(lags.values()) and not any(any(v) for v in lags.values()) else None

    assert await wait_for(caught_up, timeout=20.0)


async def _more_than(stack: Stack, customer: str, count: int) -> bool:
    return len(await replies_to(stack, customer)) > count


async def test_bad_webhooks_are_rejected_and_publish_nothing(stack: Stack) -> None:
    customer = "whatsapp:+5215500000002"
    # ingress answers a webhook only after the broker acknowledged its publish: once the rejections
    # are answered, anything they had published would already count in the high watermarks.
    before = await high_watermark(stack.bootstrap, MESSAGE_RECEIVED)
    unsigned = inbound_params(body="hola", customer=customer, business=DEMO_BUSINESS_NUMBER,
                              account_sid=stack.config.account_sid)
    async with httpx.AsyncClient(timeout=5.0) as client:
        response = await client.post(stack.webhook_url, data=unsigned)
    assert response.status_code == 403
    assert response.json()["error"] == "missing X-Twilio-Signature"

    forged = await post_webhook(stack, unsigned, token="not-the-token")
    assert forged.status_code == 403

    missing = {"AccountSid": stack.config.account_sid, "MessageSid": new_message_sid(), "Body": "hola"}
    response = await post_webhook(stack, missing)
    assert response.status_code == 400
    assert "From" in response.json()["error"]

    assert await high_watermark(stack.bootstrap, MESSAGE_RECEIVED) == before
    published = {e.payload.message_sid for e in await read_all(stack.bootstrap, MESSAGE_RECEIVED)}  # type: ignore[attr-defined]
    assert unsigned["MessageSid"] not in published
    assert missing["MessageSid"] not in published
    assert await replies_to(stack, customer) == []


async def test_delivery_statuses_carry_the_chain_of_the_reply(stack: Stack) -> None:
    """responder names the chain in each message's StatusCallback URL; Twilio (the stand-in) calls
    that exact URL back, signed; ingress publishes reply.status with the chain's correlation id."""
    customer = "whatsapp:+5215500000003"
    hola = inbound_params(body="hola", customer=customer, business=DEMO_BUSINESS_NUMBER,
                          account_sid=stack.config.account_sid)
    assert (await post_webhook(stack, hola)).status_code == 200
    [reply] = await wait_for(lambda: replies_to(stack, customer))
    assert f"correlation_id={inbound_event_id(hola['MessageSid'])}" in reply["status_callback"]

    async def statuses() -> list[Any] | None:
        found = [e for e in await read_all(stack.bootstrap, REPLY_STATUS) if e.payload.message_sid == reply["sid"]]
        return found if len(found) == 3 else None  # sent, delivered, read

    found = await wait_for(statuses)
    assert sorted(e.payload.status for e in found) == ["delivered", "read", "sent"]
    assert {e.correlation_id for e in found} == {inbound_event_id(hola["MessageSid"])}
