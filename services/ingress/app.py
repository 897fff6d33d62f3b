"""The webhook edge: limits, Twilio's signature, parsing, de-duplication, rate limits, publish, TwiML."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from aiokafka.errors import KafkaError
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import Counter, Histogram
from redis.asyncio import Redis
from redis.exceptions import RedisError
from twilio.base.exceptions import TwilioException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

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
from runtime.metrics import LATENCY_BUCKETS
from runtime.twilio_rest import REPLIED_PREFIX
from services.ingress.adapters.admission import Admission
from services.ingress.settings import IngressSettings
from services.ingress.signature import FormParams, signed_url, valid_signature
from services.ingress.webhook import InvalidWebhook, parse_inbound, parse_status

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/twilio/whatsapp"
STATUS_PATH = "/webhooks/twilio/status"
REPLY_SID_PREFIX = "responder:sid:"  # responder stores the correlation id of each sent message here
FORM_TYPE = "application/x-www-form-urlencoded"

WEBHOOKS = Counter("ingress_webhooks_total", "Webhooks answered, by endpoint and result", ["endpoint", "result"])
WEBHOOK_SECONDS = Histogram("ingress_webhook_seconds", "Time to answer a webhook", ["endpoint"],
                            buckets=LATENCY_BUCKETS)
BROKER_UNAVAILABLE = Counter("ingress_broker_unavailable_total", "Webhooks answered 503 because the broker failed")


@dataclass
class IngressDeps:
    settings: IngressSettings
    publisher: Publisher
    redis: Redis
    admission: Admission
    twilio: Client | None = None
    background: set[asyncio.Task[None]] = field(default_factory=set)


class Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def twiml(*messages: str) -> Response:
    body = "".join(f"<Message>{escape(m)}</Message>" for m in messages)
    xml = f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>' if body else \
        '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    return Response(xml, media_type="application/xml")


def check_limits(pairs: list[tuple[str, str]], settings: IngressSettings) -> None:
    for name, value in pairs:
        limit = settings.max_body_chars if name == "Body" else settings.max_field_chars
        if len(name) > 64:
            raise Rejected(400, "a field name is too long")
        if len(value) > limit:
            raise Rejected(413 if name == "Body" else 400, f"field {name} is longer than {limit} characters")


async def read_form(request: Request, settings: IngressSettings) -> FormParams:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise Rejected(415, f"expected {FORM_TYPE}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > settings.max_body_bytes:
        raise Rejected(413, f"body larger than {settings.max_body_bytes} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > settings.max_body_bytes:
            raise Rejected(413, f"body larger than {settings.max_body_bytes} bytes")
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, max_num_fields=settings.max_params)
    except UnicodeDecodeError:
        raise Rejected(400, "body is not UTF-8") from None
    except ValueError:
        raise Rejected(400, f"more than {settings.max_params} fields") from None
    check_limits(pairs, settings)
    return FormParams(pairs)


def create_app(deps: IngressDeps) -> FastAPI:
    settings = deps.settings
    validator = RequestValidator(settings.twilio_auth_token.get_secret_value())
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

    async def answer(endpoint: str, request: Request, handler: object) -> Response:
        with WEBHOOK_SECONDS.labels(endpoint).time():
            try:
                response: Response = await handler(await verified_form(request))  # type: ignore[operator]
                return response
            except Rejected as exc:
                WEBHOOKS.labels(endpoint, f"rejected_{exc.status}").inc()
                log.warning("%s webhook rejected with %d: %s", endpoint, exc.status, exc.reason)
                return JSONResponse({"error": exc.reason}, status_code=exc.status)

    async def inbound(form: FormParams) -> Response:
        try:
            payload = parse_inbound(form, received_at=datetime.now(UTC))
        except InvalidWebhook as exc:
            raise Rejected(400, str(exc)) from None
        event_id = inbound_event_id(payload.message_sid)
        correlation_id.set(event_id)
        try:
            admitted = await deps.admission.admit(payload.message_sid, payload.customer)
        except RedisError as exc:
            log.error("Redis unavailable, answering 503 so that Twilio retries: %s", exc)
            raise Rejected(503, "temporarily unavailable, retry later") from None
        if not admitted.first:
            WEBHOOKS.labels("whatsapp", "duplicate").inc()
            return twiml()
        allowed, notice = admitted.allowed, admitted.notice
        if not allowed:
            payload = payload.model_copy(update={"throttled": True})
        event = MessageReceived(
            event_id=event_id, type=MessageReceived.TYPE, occurred_at=payload.received_at,
            conversation_id=payload.customer, correlation_id=event_id, causation_id=None, payload=payload,
        )
        try:
            await deps.publisher.publish(MESSAGE_RECEIVED, event)
        except (KafkaError, OSError) as exc:
            BROKER_UNAVAILABLE.inc()
            await _release(deps, payload.message_sid)
            log.error("broker unavailable, answering 503 so that Twilio retries: %s", exc)
            raise Rejected(503, "temporarily unavailable, retry later") from None
        WEBHOOKS.labels("whatsapp", "throttled" if not allowed else "published").inc()
        if notice:
            return twiml(settings.rate_notice_text)
        if allowed and settings.receipt_text:
            if settings.receipt_after_s <= 0:
                return twiml(settings.receipt_text)
            _schedule_receipt(deps, event)
        return twiml()

    async def status(form: FormParams) -> Response:
        try:
            payload = parse_status(form)
        except InvalidWebhook as exc:
            raise Rejected(400, str(exc)) from None
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
            BROKER_UNAVAILABLE.inc()
            log.error("broker unavailable for a status callback, answering 503: %s", exc)
            raise Rejected(503, "temporarily unavailable, retry later") from None
        WEBHOOKS.labels("status", "published").inc()
        return Response(status_code=204)

    @app.post(WEBHOOK_PATH)
    async def whatsapp_webhook(request: Request) -> Response:
        return await answer("whatsapp", request, inbound)

    @app.post(STATUS_PATH)
    async def status_callback(request: Request) -> Response:
        return await answer("status", request, status)

    return app


def _server_netloc(scope: MutableMapping[str, Any]) -> str:
    host, port = scope.get("server") or ("localhost", 80)
    return f"{host}:{port}"


async def _release(deps: IngressDeps, message_sid: str) -> None:
    try:
        await deps.admission.release(message_sid)
    except RedisError as exc:  # the claim expires by itself; Twilio's retry is then published
        log.error("could not release the claim on %s: %s", message_sid, exc)


def _schedule_receipt(deps: IngressDeps, event: MessageReceived) -> None:
    task = asyncio.create_task(_receipt_if_no_reply(deps, event))
    deps.background.add(task)
    task.add_done_callback(deps.background.discard)


async def _receipt_if_no_reply(deps: IngressDeps, event: MessageReceived) -> None:
    """Best effort: after N seconds without a reply for this message, send the receipt text."""
    settings = deps.settings
    await asyncio.sleep(settings.receipt_after_s)
    try:
        if await deps.redis.exists(REPLIED_PREFIX + event.correlation_id) or deps.twilio is None:
            return
        await asyncio.to_thread(deps.twilio.messages.create, to=event.payload.customer,
                                from_=event.payload.business, body=settings.receipt_text)
        WEBHOOKS.labels("whatsapp", "receipt_sent").inc()
    except (RedisError, TwilioException, OSError) as exc:
        log.warning("could not send the receipt message: %s", exc)
