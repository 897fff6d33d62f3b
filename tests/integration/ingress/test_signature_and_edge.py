"""Ingress against real Redis and a real broker: signatures, limits, retries, throttling."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlencode

import httpx
import pytest

from contracts import MESSAGE_RECEIVED, MessageReceived, status_event_id
from devstack.webhooks import inbound_params, new_message_sid, sign
from runtime.settings import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN
from tests.integration.ingress.conftest import IngressFactory
from tests.topic_reader import read_all

BUSINESS = "whatsapp:+14155238886"


def params(customer: str = "whatsapp:+5215500000100", **extra: str) -> dict[str, str]:
    return inbound_params(body="hola", customer=customer, business=BUSINESS, account_sid=DEMO_ACCOUNT_SID,
                          **extra)


async def published(bootstrap: str, sid: str) -> list[MessageReceived]:
    return [e for e in await read_all(bootstrap, MESSAGE_RECEIVED) if e.payload.message_sid == sid]  # type: ignore[attr-defined]


async def post(url: str, form: dict[str, str] | list[tuple[str, str]], signature: str | None,
               headers: dict[str, str] | None = None) -> httpx.Response:
    all_headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    if signature is not None:
        all_headers["X-Twilio-Signature"] = signature
    pairs = list(form.items()) if isinstance(form, dict) else form
    async with httpx.AsyncClient(timeout=10.0) as client:
        return await client.post(url, content=urlencode(pairs), headers=all_headers)


async def test_signature_matrix(ingress: IngressFactory, kafka_bootstrap: str) -> None:
    async with ingress() as app:
        url = app.webhook
        without_port = url.replace(f":{app.settings.http_port}", "")
        cases: list[tuple[str, dict[str, str] | list[tuple[str, str]], str | None, int]] = []
        good = params()
        cases.append(("valid", good, sign(url, good, DEMO_AUTH_TOKEN), 200))
        p = params()
        cases.append(("missing", p, None, 403))
        p = params()
        cases.append(("invalid", p, "bm90IGEgc2lnbmF0dXJl", 403))
        p = params()
        cases.append(("wrong token", p, sign(url, p, "another-token"), 403))
        p = params()
        cases.append(("wrong URL", p, sign(url.replace("whatsapp", "status"), p, DEMO_AUTH_TOKEN), 403))
        p = params()
        cases.append(("reordered", list(reversed(list(p.items()))), sign(url, p, DEMO_AUTH_TOKEN), 200))
        p = params()
        added = {**p, "Body": p["Body"], "ButtonPayload": "refund-everything"}
        cases.append(("added after signing", added, sign(url, p, DEMO_AUTH_TOKEN), 403))
        p = params()
        repeated = [*p.items(), ("Body", "otro texto")]
        cases.append(("field repeated after signing", repeated, sign(url, p, DEMO_AUTH_TOKEN), 403))
        p = params()
        changed = {**p, "Body": "quiero cancelar todo"}
        cases.append(("body changed", changed, sign(url, p, DEMO_AUTH_TOKEN), 403))
        for name, form, signature, expected in cases:
            response = await post(url, form, signature)
            assert response.status_code == expected, f"{name}: {response.status_code} {response.text}"
            if expected == 403:
                assert "signature" in response.json()["error"].lower(), name

    # Twilio may sign the URL without the port: the library accepts both, and so do we.
    async with ingress(public_url=None) as app:
        url = app.webhook
        no_port = url.replace(f":{app.settings.http_port}", "")
        p = params()
        assert (await post(url, p, sign(no_port, p, DEMO_AUTH_TOKEN))).status_code == 200
        p = params()
        assert (await post(url, p, sign(url, p, DEMO_AUTH_TOKEN))).status_code == 200
    del without_port

    sids = [good["MessageSid"]]
    assert len(await published(kafka_bootstrap, sids[0])) == 1


async def test_behind_a_proxy(ingress: IngressFactory) -> None:
    public = "https://bot.example.com/webhooks/twilio/whatsapp"
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "bot.example.com"}
    async with ingress(public_url="https://bot.example.com") as app:
        p = params()
        assert (await post(app.webhook, p, sign(public, p, DEMO_AUTH_TOKEN))).status_code == 200
        p = params()
        assert (await post(app.webhook, p, sign(app.webhook, p, DEMO_AUTH_TOKEN))).status_code == 403
    async with ingress(public_url=None, trust_forwarded_headers=True) as app:
        p = params()
        assert (await post(app.webhook, p, sign(public, p, DEMO_AUTH_TOKEN), forwarded)).status_code == 200
    async with ingress(public_url=None, trust_forwarded_headers=False) as app:
        p = params()
        response = await post(app.webhook, p, sign(public, p, DEMO_AUTH_TOKEN), forwarded)
        assert response.status_code == 403, "forwarded headers must be ignored unless the proxy is trusted"
        # not even the scheme alone, from a loopback peer (which uvicorn's own proxy handling would trust)
        p = params()
        https_self = app.webhook.replace("http://", "https://")
        response = await post(app.webhook, p, sign(https_self, p, DEMO_AUTH_TOKEN), {"X-Forwarded-Proto": "https"})
        assert response.status_code == 403


async def test_other_account_and_malformed_fields(ingress: IngressFactory, kafka_bootstrap: str) -> None:
    async with ingress() as app:
        other = inbound_params(body="hola", customer="whatsapp:+5215500000101", business=BUSINESS,
                               account_sid="AC" + "9" * 32)
        response = await post(app.webhook, other, sign(app.webhook, other, DEMO_AUTH_TOKEN))
        assert response.status_code == 403 and "AccountSid" in response.json()["error"]
        bad = params(From="+5215500000101")
        response = await post(app.webhook, bad, sign(app.webhook, bad, DEMO_AUTH_TOKEN))
        assert response.status_code == 400
        assert response.json()["error"] == "field From is not a WhatsApp address (whatsapp:+E164)"
    for form in (other, bad):
        assert await published(kafka_bootstrap, form["MessageSid"]) == []


async def test_limits(ingress: IngressFactory) -> None:
    async with ingress(max_body_bytes=8192, max_params=40) as app:
        big = params(Body="a" * 5000)
        response = await post(app.webhook, big, sign(app.webhook, big, DEMO_AUTH_TOKEN))
        assert response.status_code == 413 and "Body" in response.json()["error"]
        huge = params(Body="a" * 9000)
        response = await post(app.webhook, huge, sign(app.webhook, huge, DEMO_AUTH_TOKEN))
        assert response.status_code == 413 and "8192 bytes" in response.json()["error"]
        many = params(**{f"X{i}": "1" for i in range(50)})
        response = await post(app.webhook, many, sign(app.webhook, many, DEMO_AUTH_TOKEN))
        assert response.status_code == 400 and "more than 40 fields" in response.json()["error"]
        long_name = params(ProfileName="x" * 2000)
        response = await post(app.webhook, long_name, sign(app.webhook, long_name, DEMO_AUTH_TOKEN))
        assert response.status_code == 400 and "ProfileName" in response.json()["error"]
        async with httpx.AsyncClient() as client:
            response = await client.post(app.webhook, json={"Body": "hola"})
        assert response.status_code == 415


async def test_retries_publish_once(ingress: IngressFactory, kafka_bootstrap: str) -> None:
    async with ingress() as app:
        p = params()
        signature = sign(app.webhook, p, DEMO_AUTH_TOKEN)
        responses = await asyncio.gather(*(post(app.webhook, p, signature) for _ in range(5)))
        assert [r.status_code for r in responses] == [200] * 5
        assert all(r.text.endswith("<Response/>") for r in responses)
    assert len(await published(kafka_bootstrap, p["MessageSid"])) == 1


async def test_throttled_sender_is_recorded_and_told_once(ingress: IngressFactory, kafka_bootstrap: str,
                                                          unique: object) -> None:
    customer = "whatsapp:+52155" + new_message_sid()[-8:].translate(str.maketrans("abcdef", "123456"))
    async with ingress(rate_capacity=2, rate_refill_per_s=0.01) as app:
        sent = []
        bodies = []
        for _ in range(5):
            p = params(customer=customer)
            response = await post(app.webhook, p, sign(app.webhook, p, DEMO_AUTH_TOKEN))
            assert response.status_code == 200
            sent.append(p["MessageSid"])
            bodies.append(response.text)
    notices = [b for b in bodies if "<Message>" in b]
    assert len(notices) == 1 and "muchos mensajes seguidos" in notices[0]
    assert "<Message>" in bodies[2], "the first throttled message gets the notice"
    flags = []
    for sid in sent:
        events = await published(kafka_bootstrap, sid)
        assert len(events) == 1, "a throttled message is still recorded"
        flags.append(events[0].payload.throttled)
    assert flags == [False, False, True, True, True]


@pytest.mark.parametrize("receipt_after_s", [0.0])
async def test_optional_receipt_in_twiml(ingress: IngressFactory, receipt_after_s: float) -> None:
    async with ingress() as app:
        p = params()
        response = await post(app.webhook, p, sign(app.webhook, p, DEMO_AUTH_TOKEN))
        assert response.text.endswith("<Response/>"), "no receipt unless configured"
    async with ingress(receipt_text="Mensaje recibido", receipt_after_s=receipt_after_s) as app:
        p = params()
        response = await post(app.webhook, p, sign(app.webhook, p, DEMO_AUTH_TOKEN))
        assert "<Message>Mensaje recibido</Message>" in response.text


async def test_status_callback_is_signed_and_published(ingress: IngressFactory, kafka_bootstrap: str) -> None:
    from contracts import REPLY_STATUS

    async with ingress() as app:
        url = app.url + "/webhooks/twilio/status"
        sid = new_message_sid()
        form = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": DEMO_ACCOUNT_SID,
                "To": "whatsapp:+5215500000100", "From": BUSINESS}
        assert (await post(url, form, "forged")).status_code == 403
        response = await post(url, form, sign(url, form, DEMO_AUTH_TOKEN))
        assert response.status_code == 204
    statuses = [e for e in await read_all(kafka_bootstrap, REPLY_STATUS) if e.payload.message_sid == sid]  # type: ignore[attr-defined]
    assert [e.payload.status for e in statuses] == ["delivered"]  # type: ignore[attr-defined]


async def test_delayed_receipt_is_not_in_the_twiml(ingress: IngressFactory) -> None:
    """With after_s > 0 ingress answers nothing: responder sends the receipt later, if no reply went
    out (tests/integration/responder/test_receipt.py)."""
    from services.ingress.handler import TwiML

    async with ingress(receipt_text="Mensaje recibido", receipt_after_s=0.3) as app:
        for form in (params(customer="whatsapp:+5215500000111"), params(customer="whatsapp:+5215500000112")):
            response = await post(app.webhook, form, sign(app.webhook, form, DEMO_AUTH_TOKEN))
            assert response.text == TwiML().xml(), "the receipt is not in the TwiML when delayed"


async def test_status_callback_names_its_chain_in_the_signed_url(ingress: IngressFactory,
                                                                 kafka_bootstrap: str) -> None:
    from contracts import REPLY_STATUS

    chain = str(uuid.uuid4())
    async with ingress() as app:
        url = app.url + f"/webhooks/twilio/status?correlation_id={chain}"
        sid = new_message_sid()
        form = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": DEMO_ACCOUNT_SID,
                "To": "whatsapp:+5215500000100", "From": BUSINESS}
        # Twilio signs the URL with its query: another chain in the query breaks the signature.
        forged = app.url + f"/webhooks/twilio/status?correlation_id={uuid.uuid4()}"
        assert (await post(forged, form, sign(url, form, DEMO_AUTH_TOKEN))).status_code == 403
        assert (await post(url, form, sign(url.split("?")[0], form, DEMO_AUTH_TOKEN))).status_code == 403
        response = await post(url, form, sign(url, form, DEMO_AUTH_TOKEN))
        assert response.status_code == 204
        other = new_message_sid()  # no query: a chain of its own (the status event's id), as before
        plain = app.url + "/webhooks/twilio/status"
        unchained = {**form, "MessageSid": other}
        assert (await post(plain, unchained, sign(plain, unchained, DEMO_AUTH_TOKEN))).status_code == 204
    statuses = {e.payload.message_sid: e for e in await read_all(kafka_bootstrap, REPLY_STATUS)  # type: ignore[attr-defined]
                if e.payload.message_sid in (sid, other)}  # type: ignore[attr-defined]
    assert statuses[sid].correlation_id == chain
    assert statuses[other].correlation_id == status_event_id(other, "delivered")
