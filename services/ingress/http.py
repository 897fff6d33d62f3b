"""The webhook edge over HTTP: form reading and limits, Twilio's signature and account, routes;
and the business's payment webhook: body limits and its HMAC signature.

Everything past verification (parse, admission, publish, the answer) is `handler.py`'s; a
`Rejected` from either side becomes a JSON 4xx/5xx with a reason for Twilio's debugger (or the
business's logs).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import Histogram
from twilio.request_validator import RequestValidator

from runtime.metrics import LATENCY_BUCKETS
from services.ingress.admin import admin_routes
from services.ingress.business_webhook import SIGNATURE_HEADER, signature_problem
from services.ingress.handler import (
    WEBHOOKS,
    IngressDeps,
    Rejected,
    handle_inbound,
    handle_payment,
    handle_status,
)
from services.ingress.settings import IngressSettings
from services.ingress.signature import FormParams, signed_url, valid_signature

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/twilio/whatsapp"
STATUS_PATH = "/webhooks/twilio/status"
BUSINESS_PAYMENTS_PATH = "/webhooks/business/payments"
FORM_TYPE = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"

WEBHOOK_SECONDS = Histogram("ingress_webhook_seconds", "Time to answer a webhook", ["endpoint"],
                            buckets=LATENCY_BUCKETS)

Verified = Callable[[Request, FormParams], Awaitable[Response]]  # what to do with a verified webhook


def check_limits(pairs: list[tuple[str, str]], settings: IngressSettings) -> None:
    for name, value in pairs:
        limit = settings.max_body_chars if name == "Body" else settings.max_field_chars
        if len(name) > 64:
            raise Rejected(400, "a field name is too long")
        if len(value) > limit:
            raise Rejected(413 if name == "Body" else 400, f"field {name} is longer than {limit} characters")


async def read_body(request: Request, settings: IngressSettings, *, content_type: str) -> bytes:
    """The raw body, of the content type expected (415 otherwise), within the body limit (413 beyond it:
    the declared length is checked first, then what actually arrives)."""
    given = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if given != content_type:
        raise Rejected(415, f"expected {content_type}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > settings.max_body_bytes:
        raise Rejected(413, f"body larger than {settings.max_body_bytes} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > settings.max_body_bytes:
            raise Rejected(413, f"body larger than {settings.max_body_bytes} bytes")
    return bytes(body)


async def read_form(request: Request, settings: IngressSettings) -> FormParams:
    body = await read_body(request, settings, content_type=FORM_TYPE)
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, max_num_fields=settings.max_params)
    except UnicodeDecodeError:
        raise Rejected(400, "body is not UTF-8") from None
    except ValueError:
        raise Rejected(400, f"more than {settings.max_params} fields") from None
    check_limits(pairs, settings)
    return FormParams(pairs)


async def read_json_body(request: Request, settings: IngressSettings) -> bytes:
    """The raw JSON body (what the signature covers), within the body limit."""
    return await read_body(request, settings, content_type=JSON_TYPE)


def create_app(settings: IngressSettings, deps: IngressDeps) -> FastAPI:
    validator = RequestValidator(settings.twilio_auth_token.get_secret_value())
    business_secret = settings.business_webhook_secret.get_secret_value()
    app = FastAPI(title="ingress", docs_url=None, redoc_url=None)

    async def verified_form(request: Request) -> FormParams:
        form = await read_form(request, settings)
        scope = request.scope  # read directly: building request.url costs more than the rest of this check
        url = signed_url(public_url=settings.public_url, trust_forwarded=settings.trust_forwarded_headers,
                         headers=request.headers, scheme=scope["scheme"],
                         host=request.headers.get("host") or _server_netloc(scope), path=scope["path"],
                         query=scope["query_string"].decode("latin-1"))
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature:
            raise Rejected(403, "missing X-Twilio-Signature")
        if not valid_signature(validator, url, form, signature):
            raise Rejected(403, "invalid Twilio signature")
        if form.get("AccountSid") != settings.twilio_account_sid:
            raise Rejected(403, "AccountSid does not match this deployment")
        return form

    async def inbound(request: Request, form: FormParams) -> Response:
        twiml = await handle_inbound(form, deps, received_at=datetime.now(UTC))
        return Response(twiml.xml(), media_type="application/xml")

    async def status(request: Request, form: FormParams) -> Response:
        # The query is part of the URL Twilio signed (verified above), so what it says is authentic.
        query = dict(parse_qsl(request.scope["query_string"].decode("latin-1"), keep_blank_values=True))
        await handle_status(form, deps, query=query)
        return Response(status_code=204)

    async def answer(endpoint: str, request: Request, handler: Verified) -> Response:
        with WEBHOOK_SECONDS.labels(endpoint).time():
            try:
                return await handler(request, await verified_form(request))
            except Rejected as exc:
                WEBHOOKS.labels(endpoint, f"rejected_{exc.status}").inc()
                log.warning("%s webhook rejected with %d: %s", endpoint, exc.status, exc.reason)
                return JSONResponse({"error": exc.reason}, status_code=exc.status)

    @app.post(WEBHOOK_PATH)
    async def whatsapp_webhook(request: Request) -> Response:
        return await answer("whatsapp", request, inbound)

    @app.post(STATUS_PATH)
    async def status_callback(request: Request) -> Response:
        return await answer("status", request, status)

    async def verified_business_body(request: Request) -> bytes:
        body = await read_json_body(request, settings)
        problem = signature_problem(business_secret, body, request.headers.get(SIGNATURE_HEADER))
        if problem is not None:
            raise Rejected(401, problem)
        return body

    @app.post(BUSINESS_PAYMENTS_PATH, status_code=202)
    async def business_payment(request: Request) -> Response:
        endpoint = "business_payment"
        with WEBHOOK_SECONDS.labels(endpoint).time():
            try:
                event_id = await handle_payment(await verified_business_body(request), deps)
            except Rejected as exc:
                WEBHOOKS.labels(endpoint, f"rejected_{exc.status}").inc()
                log.warning("%s webhook rejected with %d: %s", endpoint, exc.status, exc.reason)
                return JSONResponse({"error": exc.reason}, status_code=exc.status)
        return JSONResponse({"event_id": event_id}, status_code=202)

    if settings.admin_token is not None:
        app.include_router(admin_routes(token=settings.admin_token.get_secret_value(),
                                        business_number=settings.business_number, publisher=deps.publisher))
    return app


def _server_netloc(scope: MutableMapping[str, Any]) -> str:
    host, port = scope.get("server") or ("localhost", 80)
    return f"{host}:{port}"
