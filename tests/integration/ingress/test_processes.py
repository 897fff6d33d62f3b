"""Ingress as real processes: two replicas behind one public URL, and a broker that goes away."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from contracts import MESSAGE_RECEIVED
from devstack import infra
from devstack.webhooks import inbound_params, sign
from runtime.kafka import all_topic_specs, ensure_topics
from runtime.settings import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN
from tests.topic_reader import read_all

PUBLIC = "https://bot.example.com"
WEBHOOK = PUBLIC + "/webhooks/twilio/whatsapp"


def start_ingress(procs: infra.Processes, name: str, *, bootstrap: str, redis_url: str, log_dir: Path) -> str:
    port = infra.free_port()
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "REDIS_URL": redis_url,
           "INGRESS_HTTP_PORT": str(port), "INGRESS_PUBLIC_URL": PUBLIC, "KAFKA_REQUEST_TIMEOUT_MS": "3000"}
    procs.start(name, [sys.executable, "-m", "services.ingress"], log_path=log_dir / f"{name}.log", env=env)
    url = f"http://127.0.0.1:{port}"
    infra.wait_http_ok(url + "/readyz", what=f"{name} (log: {log_dir / f'{name}.log'})", procs=procs)
    return url


@pytest.fixture
def local_procs() -> Iterator[infra.Processes]:
    procs = infra.Processes()
    yield procs
    procs.stop_all()


async def post(url: str, form: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=20.0) as client:
        return await client.post(url + "/webhooks/twilio/whatsapp", content=urlencode(form), headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": sign(WEBHOOK, form, DEMO_AUTH_TOKEN),
            "I-Twilio-Idempotency-Token": "retry-token",
        })


def form(customer: str) -> dict[str, str]:
    return inbound_params(body="hola", customer=customer, business="whatsapp:+14155238886",
                          account_sid=DEMO_ACCOUNT_SID)


async def test_five_retries_on_two_replicas_publish_once(local_procs: infra.Processes, kafka_bootstrap: str,
                                                         redis_url: str, run_dir: Path) -> None:
    first = start_ingress(local_procs, "ingress-a", bootstrap=kafka_bootstrap, redis_url=redis_url,
                          log_dir=run_dir)
    second = start_ingress(local_procs, "ingress-b", bootstrap=kafka_bootstrap, redis_url=redis_url,
                           log_dir=run_dir)
    webhook = form("whatsapp:+5215500000200")
    responses = await asyncio.gather(*(post(url, webhook) for url in (first, second, first, second, first)))
    assert [r.status_code for r in responses] == [200] * 5
    events = [e for e in await read_all(kafka_bootstrap, MESSAGE_RECEIVED)
              if e.payload.message_sid == webhook["MessageSid"]]  # type: ignore[attr-defined]
    assert len(events) == 1


async def test_broker_down_answers_503_and_the_retry_is_published_once(
    local_procs: infra.Processes, redis_url: str, run_dir: Path
) -> None:
    port = infra.free_port()
    bootstrap = infra.start_tansu(local_procs, port=port, log_dir=run_dir)
    await ensure_topics(bootstrap, all_topic_specs())
    url = start_ingress(local_procs, "ingress-c", bootstrap=bootstrap, redis_url=redis_url, log_dir=run_dir)
    assert (await post(url, form("whatsapp:+5215500000201"))).status_code == 200

    local_procs.stop("tansu")
    webhook = form("whatsapp:+5215500000202")
    response = await post(url, webhook)
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily unavailable, retry later"
    async with httpx.AsyncClient() as client:
        assert (await client.get(url + "/readyz")).status_code == 503
        metrics = (await client.get(url + "/metrics")).text
    assert "ingress_broker_unavailable_total 1.0" in metrics

    infra.start_tansu(local_procs, port=port, log_dir=run_dir)  # a restarted Tansu starts empty
    await ensure_topics(bootstrap, all_topic_specs())
    retried = None
    for _ in range(20):  # Twilio retries until it gets a 2xx
        retried = await post(url, webhook)
        if retried.status_code == 200:
            break
        await asyncio.sleep(0.5)
    assert retried is not None and retried.status_code == 200
    assert (await post(url, webhook)).status_code == 200  # one more retry: a duplicate, not published
    events = [e for e in await read_all(bootstrap, MESSAGE_RECEIVED)
              if e.payload.message_sid == webhook["MessageSid"]]  # type: ignore[attr-defined]
    assert len(events) == 1
