"""Ingress's decision: what to do with a webhook whose signature and account were verified.

An inbound message is parsed, admitted (de-duplication and the sender's rate limit, in Redis),
published as `message.received` once the broker acknowledged it, and answered with TwiML. A
delivery callback is published as `reply.status`, chained to the conversation by the correlation
id the responder put in the callback URL. A payment notification of the business (its signed
webhook) is published as `payment.updated` in the customer's conversation, with an id derived from
the purchase and status so that the business's retries map to one event. `http.py` reads, limits
and verifies the request and turns `Rejected` into a JSON 4xx/5xx; nothing here knows about HTTP.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from xml.sax.saxutils import escape

from aiokafka.errors import KafkaError
from prometheus_client import Counter
from redis.exceptions import RedisError

from contracts import (
    MESSAGE_RECEIVED,
    PAYMENT_UPDATED,
    REPLY_STATUS,
    Event,
    MessageReceived,
    PaymentUpdated,
    ReplyStatus,
    Topic,
    inbound_event_id,
    payment_event_id,
    status_event_id,
)
from runtime.logs import correlation_id
from services.ingress.adapters.admission import Admitted
from services.ingress.business_webhook import parse_payment
from services.ingress.webhook import InvalidWebhook, parse_inbound, parse_status

log = logging.getLogger(__name__)

# The query parameter of the StatusCallback URL that carries the chain's correlation id: the
# responder adds it to each message it sends, Twilio calls that exact URL back and signs it.
CORRELATION_PARAM = "correlation_id"
MAX_CORRELATION_CHARS = 128
RETRY_LATER = "temporarily unavailable, retry later"

WEBHOOKS = Counter("ingress_webhooks_total", "Webhooks answered, by endpoint and result", ["endpoint", "result"])
BROKER_UNAVAILABLE = Counter("ingress_broker_unavailable_total", "Webhooks answered 503 because the broker failed")


class Rejected(Exception):
    """The webhook is answered with `status` and `{"error": reason}`; a 503 asks Twilio to retry."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Admits(Protocol):
    async def admit(self, message_sid: str, sender: str) -> Admitted: ...

    async def release(self, message_sid: str) -> None: ...


class Publishes(Protocol):
    async def publish(self, topic: Topic[Any], event: Event) -> None: ...


@dataclass(frozen=True)
class IngressDeps:
    admission: Admits  # adapters.admission.Admission in production
    publisher: Publishes  # runtime.kafka.Publisher in production
    rate_notice_text: str
    instant_receipt_text: str | None = None  # answered in the TwiML of every admitted message


@dataclass(frozen=True)
class TwiML:
    """The answer to an inbound webhook: the messages Twilio sends back at once (none: `<Response/>`)."""

    messages: tuple[str, ...] = ()

    def xml(self) -> str:
        if not self.messages:
            return '<?xml version="1.0" encoding="UTF-8"?><Response/>'
        body = "".join(f"<Message>{escape(m)}</Message>" for m in self.messages)
        return f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>'


async def handle_inbound(form: Mapping[str, str], deps: IngressDeps, *, received_at: datetime) -> TwiML:
    """Publish a verified inbound message once (Twilio's retries are answered, not re-published)."""
    try:
        payload = parse_inbound(form, received_at=received_at)
    except InvalidWebhook as exc:
        raise Rejected(400, str(exc)) from None
    event_id = inbound_event_id(payload.message_sid)
    correlation_id.set(event_id)
    try:
        admitted = await deps.admission.admit(payload.message_sid, payload.customer)
    except RedisError as exc:
        log.error("Redis unavailable, answering 503 so that Twilio retries: %s", exc)
        raise Rejected(503, RETRY_LATER) from None
    if not admitted.first:
        WEBHOOKS.labels("whatsapp", "duplicate").inc()
        return TwiML()
    if not admitted.allowed:
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
        raise Rejected(503, RETRY_LATER) from None
    WEBHOOKS.labels("whatsapp", "published" if admitted.allowed else "throttled").inc()
    if admitted.notice:
        return TwiML((deps.rate_notice_text,))
    if admitted.allowed and deps.instant_receipt_text:
        return TwiML((deps.instant_receipt_text,))
    return TwiML()


async def handle_status(form: Mapping[str, str], deps: IngressDeps, *, query: Mapping[str, str]) -> None:
    """Publish a verified delivery callback. `query` is the signed callback URL's query string."""
    try:
        payload = parse_status(form)
    except InvalidWebhook as exc:
        raise Rejected(400, str(exc)) from None
    event_id = status_event_id(payload.message_sid, payload.status)
    chain = chain_of(query) or event_id  # a message the responder did not send: a chain of its own
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
        raise Rejected(503, RETRY_LATER) from None
    WEBHOOKS.labels("status", "published").inc()


async def handle_payment(body: bytes, deps: IngressDeps) -> str:
    """Publish the business's verified payment notification as `payment.updated`; return the event id.

    At-least-once from the business: a retry publishes the same event id again, and consumers
    de-duplicate by id. The event starts a chain of its own (it answers no message)."""
    try:
        payload = parse_payment(body)
    except InvalidWebhook as exc:
        raise Rejected(400, str(exc)) from None
    event_id = payment_event_id(payload.purchase_id, payload.status, payload.occurred_at)
    correlation_id.set(event_id)
    event = PaymentUpdated(
        event_id=event_id, type=PaymentUpdated.TYPE, occurred_at=payload.occurred_at,
        conversation_id=payload.customer, correlation_id=event_id, causation_id=None, payload=payload,
    )
    try:
        await deps.publisher.publish(PAYMENT_UPDATED, event)
    except (KafkaError, OSError) as exc:
        BROKER_UNAVAILABLE.inc()
        log.error("broker unavailable for a payment notification, answering 503 so that the business retries: %s",
                  exc)
        raise Rejected(503, RETRY_LATER) from None
    WEBHOOKS.labels("business_payment", "published").inc()
    return event_id


def chain_of(query: Mapping[str, str]) -> str | None:
    """The correlation id the responder put in the callback URL, if it is there and plausible."""
    value = query.get(CORRELATION_PARAM, "").strip()
    return value if value and len(value) <= MAX_CORRELATION_CHARS and value.isprintable() else None


async def _release(deps: IngressDeps, message_sid: str) -> None:
    try:
        await deps.admission.release(message_sid)
    except RedisError as exc:  # the claim expires by itself; Twilio's retry is then published
        log.error("could not release the claim on %s: %s", message_sid, exc)
