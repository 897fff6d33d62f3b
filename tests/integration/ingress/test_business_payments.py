"""The business's payment webhook against a real broker: signature, body, publish, broker down."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from contracts import PAYMENT_UPDATED, PaymentUpdated, payment_event_id
from devstack import infra
from runtime.kafka import all_topic_specs, ensure_topics
from tests.integration.ingress.conftest import IngressFactory
from tests.topic_reader import read_all

PATH = "/webhooks/business/payments"
SECRET = "ingress-test-business-secret"


def signed(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def notice(**changes: Any) -> dict[str, Any]:
    return {"purchase_id": int(uuid.uuid4().int % 10**9), "status": "paid", "customer_phone": "+5215511111111",
            "package_name": "Pack 5 clases", "amount": 1100.0, "currency": "MXN",
            "valid_until": "2030-08-01T16:20:11.52Z", "occurred_at": "2030-06-02T16:20:11.52Z", **changes}


async def post(url: str, body: bytes, signature: str | None, content_type: str = "application/json"
               ) -> httpx.Response:
    headers = {"Content-Type": content_type}
    if signature is not None:
        headers["X-Business-Signature"] = signature
    async with httpx.AsyncClient(timeout=20.0) as client:
        return await client.post(url + PATH, content=body, headers=headers)


async def published(bootstrap: str, purchase_id: object) -> list[PaymentUpdated]:
    return [e for e in await read_all(bootstrap, PAYMENT_UPDATED) if e.payload.purchase_id == str(purchase_id)]


@pytest.fixture
async def topic(make_topics: Any) -> None:
    await make_topics(PAYMENT_UPDATED.name, partitions=PAYMENT_UPDATED.partitions)


@pytest.mark.usefixtures("topic")
async def test_a_signed_notification_is_published_as_payment_updated(ingress: IngressFactory,
                                                                     kafka_bootstrap: str) -> None:
    body = notice(customer_phone="whatsapp:+5215522222222")
    raw = json.dumps(body).encode()

    async with ingress(business_webhook_secret=SecretStr(SECRET)) as app:
        response = await post(app.url, raw, signed(raw))
        retried = await post(app.url, raw, signed(raw))  # the business retries when it missed our answer

    expected_id = payment_event_id(str(body["purchase_id"]), "paid", datetime.fromisoformat(body["occurred_at"]))
    assert response.status_code == 202, response.text
    assert response.json() == {"event_id": expected_id} == retried.json()
    events = await published(kafka_bootstrap, body["purchase_id"])
    assert [e.event_id for e in events] == [expected_id, expected_id], "at-least-once: consumers dedup by id"
    event = events[0]
    assert (event.type, event.conversation_id, event.correlation_id, event.causation_id) == (
        "payment.updated", "whatsapp:+5215522222222", expected_id, None)
    payload = event.payload
    assert (payload.customer, payload.purchase_id, payload.status) == (
        "whatsapp:+5215522222222", str(body["purchase_id"]), "paid")
    assert (payload.package, payload.amount, payload.currency) == ("Pack 5 clases", 1100.0, "MXN")
    assert payload.valid_until is not None and payload.valid_until.isoformat() == "2030-08-01T16:20:11.520000+00:00"
    assert event.occurred_at == payload.occurred_at and payload.occurred_at.year == 2030


@pytest.mark.usefixtures("topic")
async def test_a_failed_payment_with_a_text_id_is_published_too(ingress: IngressFactory,
                                                                kafka_bootstrap: str) -> None:
    body = notice(purchase_id=f"mp-{uuid.uuid4().hex[:12]}", status="failed", valid_until=None)
    del body["amount"], body["currency"], body["package_name"]
    raw = json.dumps(body).encode()

    async with ingress() as app:  # the demo secret, which the business API's demo default matches
        response = await post(app.url, raw, signed(raw, "demo-business-webhook-secret"))

    assert response.status_code == 202, response.text
    [event] = await published(kafka_bootstrap, body["purchase_id"])
    assert event.event_id == payment_event_id(str(body["purchase_id"]), "failed", event.payload.occurred_at)
    assert (event.payload.status, event.payload.amount, event.payload.package) == ("failed", None, "")


@pytest.mark.usefixtures("topic")
async def test_only_the_shared_secret_over_the_exact_body_is_accepted(ingress: IngressFactory,
                                                                      kafka_bootstrap: str) -> None:
    body = notice()
    raw = json.dumps(body).encode()
    cases = [
        ("missing", raw, None, "missing X-Business-Signature"),
        ("empty", raw, "", "missing X-Business-Signature"),
        ("no prefix", raw, signed(raw).removeprefix("sha256="), "malformed X-Business-Signature"),
        ("not hex", raw, "sha256=" + "z" * 64, "malformed X-Business-Signature"),
        ("other secret", raw, signed(raw, "another-secret"), "invalid X-Business-Signature"),
        ("demo secret", raw, signed(raw, "demo-business-webhook-secret"), "invalid X-Business-Signature"),
        ("body changed", raw.replace(b'"paid"', b'"failed"'), signed(raw), "invalid X-Business-Signature"),
        ("whitespace added", raw + b" ", signed(raw), "invalid X-Business-Signature"),
    ]

    async with ingress(business_webhook_secret=SecretStr(SECRET)) as app:
        for name, sent, signature, reason in cases:
            response = await post(app.url, sent, signature)
            assert response.status_code == 401, f"{name}: {response.status_code} {response.text}"
            assert response.json()["error"].startswith(reason), name
        upper = await post(app.url, raw, "SHA256=" + signed(raw).removeprefix("sha256=").upper())

    assert upper.status_code == 202, "the hex digest is not case-sensitive"
    assert len(await published(kafka_bootstrap, body["purchase_id"])) == 1


@pytest.mark.parametrize(("body", "reason"), [
    (b"{not json", "the body is not valid JSON"),
    (b"[1, 2]", "the body must be a JSON object"),
    (json.dumps({k: v for k, v in notice().items() if k != "status"}).encode(), "missing field status"),
    (json.dumps(notice(status="refunded")).encode(), "field status: "),
    (json.dumps({k: v for k, v in notice().items() if k != "purchase_id"}).encode(), "missing field purchase_id"),
    (json.dumps(notice(purchase_id="")).encode(), "field purchase_id: "),
    (json.dumps(notice(purchase_id=True)).encode(), "field purchase_id: "),
    (json.dumps(notice(customer_phone="5511111111")).encode(), "field customer_phone: "),
    (json.dumps({k: v for k, v in notice().items() if k != "customer_phone"}).encode(),
     "missing field customer_phone"),
    (json.dumps(notice(occurred_at="2030-06-02T16:20:11")).encode(), "field occurred_at: "),
    (json.dumps(notice(amount=-1)).encode(), "field amount: "),
    (json.dumps(notice(currency="pesos")).encode(), "field currency: "),
])
async def test_a_malformed_body_is_refused_with_its_reason(ingress: IngressFactory, body: bytes,
                                                           reason: str) -> None:
    async with ingress(business_webhook_secret=SecretStr(SECRET)) as app:
        response = await post(app.url, body, signed(body))

    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith(reason), response.json()


async def test_the_body_must_be_json_and_small(ingress: IngressFactory) -> None:
    raw = json.dumps(notice()).encode()
    huge = json.dumps(notice(package_name="x" * 200_000)).encode()

    async with ingress(business_webhook_secret=SecretStr(SECRET)) as app:
        form = await post(app.url, raw, signed(raw), content_type="application/x-www-form-urlencoded")
        too_big = await post(app.url, huge, signed(huge))

    assert (form.status_code, form.json()["error"]) == (415, "expected application/json")
    assert too_big.status_code == 413


@pytest.fixture
def own_broker(run_dir: Path) -> Iterator[tuple[infra.Processes, int]]:
    procs = infra.Processes()
    yield procs, infra.free_port()
    procs.stop_all()


async def test_with_the_broker_down_the_answer_is_503_and_the_retry_is_published(
        ingress: IngressFactory, own_broker: tuple[infra.Processes, int], run_dir: Path) -> None:
    procs, port = own_broker
    bootstrap = infra.start_tansu(procs, port=port, log_dir=run_dir)
    await ensure_topics(bootstrap, all_topic_specs())
    body = notice()
    raw = json.dumps(body).encode()

    async with ingress(kafka_bootstrap_servers=bootstrap, kafka_request_timeout_ms=2000,
                       business_webhook_secret=SecretStr(SECRET)) as app:
        procs.stop("tansu")
        down = await post(app.url, raw, signed(raw))
        infra.start_tansu(procs, port=port, log_dir=run_dir)  # a restarted Tansu starts empty
        await ensure_topics(bootstrap, all_topic_specs())
        retried = down
        for _ in range(40):  # the business's outbox retries until it gets a 2xx
            retried = await post(app.url, raw, signed(raw))
            if retried.status_code == 202:
                break
            await asyncio.sleep(0.25)

    assert (down.status_code, down.json()) == (503, {"error": "temporarily unavailable, retry later"})
    assert retried.status_code == 202, retried.text
    assert [e.event_id for e in await published(bootstrap, body["purchase_id"])] == [
        payment_event_id(str(body["purchase_id"]), "paid", datetime.fromisoformat(body["occurred_at"]))]
