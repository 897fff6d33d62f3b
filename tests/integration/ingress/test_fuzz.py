"""Property-based fuzzing of the webhook body: no input yields a 5xx or publishes an unsigned message."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import MESSAGE_RECEIVED
from devstack import infra
from devstack.webhooks import inbound_params, sign
from runtime.settings import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN
from tests.integration.ingress.test_processes import WEBHOOK, start_ingress
from tests.topic_reader import read_all

FIELDS = ["MessageSid", "AccountSid", "From", "To", "Body", "NumMedia", "MediaUrl0", "MediaContentType0",
          "ProfileName", "WaId", "ButtonText", "ButtonPayload", "Latitude", "Longitude"]
text = st.text(max_size=60)
field_names = st.one_of(st.sampled_from(FIELDS), st.text(min_size=1, max_size=20))
forms = st.dictionaries(field_names, text, max_size=16)
UNSIGNED_SIDS: list[str] = []


@pytest.fixture(scope="module")
def ingress_url(kafka_bootstrap: str, redis_url: str, run_dir: Path) -> Iterator[str]:
    procs = infra.Processes()
    try:
        yield start_ingress(procs, "ingress-fuzz", bootstrap=kafka_bootstrap, redis_url=redis_url, log_dir=run_dir)
    finally:
        procs.stop_all()


def post(url: str, body: bytes | str, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(url + "/webhooks/twilio/whatsapp", content=body, headers=headers, timeout=10.0)


def with_valid_base(form: dict[str, str]) -> dict[str, str]:
    base = inbound_params(body="hola", customer="whatsapp:+5215500000300", business="whatsapp:+14155238886",
                          account_sid=DEMO_ACCOUNT_SID)
    return {**base, **form}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=forms, base=st.booleans(), signature=st.one_of(
    st.none(), st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40)))
def test_unsigned_or_forged_never_5xx_never_published(ingress_url: str, form: dict[str, str], base: bool,
                                                      signature: str | None) -> None:
    body = with_valid_base(form) if base else form
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    response = post(ingress_url, urlencode(body), headers)
    assert response.status_code < 500, response.text
    assert response.status_code in (400, 403, 413), response.text
    if "MessageSid" in body:
        UNSIGNED_SIDS.append(body["MessageSid"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=forms, base=st.booleans())
def test_signed_random_forms_never_5xx(ingress_url: str, form: dict[str, str], base: bool) -> None:
    body = with_valid_base(form) if base else form
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "X-Twilio-Signature": sign(WEBHOOK, body, DEMO_AUTH_TOKEN)}
    response = post(ingress_url, urlencode(body), headers)
    assert response.status_code < 500, response.text
    assert response.status_code in (200, 400, 403, 413), response.text


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300), content_type=st.sampled_from(
    ["application/x-www-form-urlencoded", "application/json", "text/plain", "multipart/form-data", ""]))
def test_raw_bodies_never_5xx(ingress_url: str, raw: bytes, content_type: str) -> None:
    response = post(ingress_url, raw, {"Content-Type": content_type, "X-Twilio-Signature": "abc"})
    assert 400 <= response.status_code < 500, response.text


def test_no_unsigned_message_was_published(ingress_url: str, kafka_bootstrap: str) -> None:
    assert UNSIGNED_SIDS, "the unsigned fuzz test must run first and post MessageSids"
    published = {e.payload.message_sid for e in asyncio.run(read_all(kafka_bootstrap, MESSAGE_RECEIVED))}  # type: ignore[attr-defined]
    assert published.isdisjoint(UNSIGNED_SIDS)
