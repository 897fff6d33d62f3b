"""The webhook edge: verify Twilio's signature, parse, de-duplicate, publish, answer with TwiML."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka.errors import KafkaError
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError
from twilio.request_validator import RequestValidator

from contracts import (
    MESSAGE_RECEIVED,
    REPLY_STATUS,
    MessageReceived,
    ReplyStatus,
    inbound_event_id,
    status_event_id,
)
from runtime.kafka import Publisher
from runtime.logs import correlation_id
from services.ingress.dedup import Deduplicator
from services.ingress.settings import IngressSettings
from services.ingress.webhook import InvalidWebhook, parse_inbound, parse_status

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/twilio/whatsapp"
STATUS_PATH = "/webhooks/twilio/status"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
REPLY_SID_PREFIX = "responder:sid:"  # responder stores the correlation id of each sent message here

WEBHOOKS = Counter("ingress_webhooks_total", "Webhooks answered, by endpoint and result", ["endpoint", "result"])


@dataclass
class IngressDeps:
    settings: IngressSettings
    publisher: Publisher
    redis: Redis
    dedup: Deduplicator


def _reject(endpoint: str, status: int, reason: str) -> JSONResponse:
    WEBHOOKS.labels(endpoint, f"rejected_{status}").inc()
    log.warning("%s rejected with %d: %s", endpoint, status, reason)
    return JSONResponse({"error": reason}, status_code=status)


def _twiml() -> Response:
    return Response(EMPTY_TWIML, media_type="application/xml")


def create_app(deps: IngressDeps) -> FastAPI:
    settings = deps.settings
    validator = RequestValidator(settings.twilio_auth_token.get_secret_value())
    app = FastAPI(title="ingress", docs_url=None, redoc_url=None)

    async def verified_form(request: Request, endpoint: str) -> Mapping[str, str] | JSONResponse:
        form = await request.form()
        params = {key: value for key, value in form.items() if isinstance(value, str)}
        signature = request.headers.get("X-Twilio-Signature", "")
        url = settings.public_url.rstrip("/") + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        if not signature:
            return _reject(endpoint, 403, "missing X-Twilio-Signature")
        if not validator.validate(url, params, signature):
            return _reject(endpoint, 403, "invalid Twilio signature")
        if params.get("AccountSid") and params["AccountSid"] != settings.twilio_account_sid:
            return _reject(endpoint, 403, "AccountSid does not match this deployment")
        return params

    @app.post(WEBHOOK_PATH)
    async def whatsapp_webhook(request: Request) -> Response:
        form = await verified_form(request, "whatsapp")
        if isinstance(form, Response):
            return form
        try:
            payload = parse_inbound(form, received_at=datetime.now(UTC))
        except InvalidWebhook as exc:
            return _reject("whatsapp", 400, str(exc))
        event_id = inbound_event_id(payload.message_sid)
        correlation_id.set(event_id)
        try:
            first = await deps.dedup.claim(payload.message_sid)
        except RedisError as exc:
            log.error("redis unavailable for de-duplication: %s", exc)
            return _reject("whatsapp", 503, "temporarily unavailable, retry later")
        if not first:
            WEBHOOKS.labels("whatsapp", "duplicate").inc()
            return _twiml()
        event = MessageReceived(
            event_id=event_id, type=MessageReceived.TYPE, occurred_at=payload.received_at,
            conversation_id=payload.customer, correlation_id=event_id, causation_id=None, payload=payload,
        )
        try:
            await deps.publisher.publish(MESSAGE_RECEIVED, event)
        except (KafkaError, OSError) as exc:
            await deps.dedup.release(payload.message_sid)
            log.error("broker unavailable, answering 503 so that Twilio retries: %s", exc)
            return _reject("whatsapp", 503, "temporarily unavailable, retry later")
        WEBHOOKS.labels("whatsapp", "published").inc()
        return _twiml()

    @app.post(STATUS_PATH)
    async def status_callback(request: Request) -> Response:
        form = await verified_form(request, "status")
        if isinstance(form, Response):
            return form
        try:
            payload = parse_status(form)
        except InvalidWebhook as exc:
            return _reject("status", 400, str(exc))
        event_id = status_event_id(payload.message_sid, payload.status)
        try:
            stored = await deps.redis.get(REPLY_SID_PREFIX + payload.message_sid)
        except RedisError:
            stored = None
        chain = stored.decode() if isinstance(stored, bytes) else stored or event_id
        event = ReplyStatus(
            event_id=event_id, type=ReplyStatus.TYPE, occurred_at=datetime.now(UTC),
            conversation_id=payload.to or payload.message_sid, correlation_id=chain, causation_id=None,
            payload=payload,
        )
        try:
            await deps.publisher.publish(REPLY_STATUS, event)
        except (KafkaError, OSError) as exc:
            log.error("broker unavailable for a status callback, answering 503: %s", exc)
            return _reject("status", 503, "temporarily unavailable, retry later")
        WEBHOOKS.labels("status", "published").inc()
        return Response(status_code=204)

    return app
