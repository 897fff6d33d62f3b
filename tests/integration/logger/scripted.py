"""A scripted day of five conversations, as events (the analytics and replay tests' data).

A: books (three turns, two replies by the LLM), B: asks the packages (the guardrail rejects the LLM's
wording), then the booking fails on the business API and the reply cannot be sent (63016),
C: is not understood, then asks for a person (one reply undelivered), D: starts a booking and
leaves, E: buys a package and pays.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from contracts import (
    ActionCompleted,
    ActionCompletedPayload,
    ActionError,
    ActionOutcome,
    ConversationHandedOff,
    Event,
    HandedOffPayload,
    IntentDetected,
    IntentDetectedPayload,
    MessageReceived,
    MessageReceivedPayload,
    PaymentUpdated,
    PaymentUpdatedPayload,
    ReplyFailed,
    ReplyFailedPayload,
    ReplySent,
    ReplySentPayload,
    ReplyStatus,
    ReplyStatusPayload,
)
from contracts.replies import (
    ApiProblem,
    AskDate,
    Booked,
    Clarification,
    ConfirmBooking,
    HandedOff,
    Packages,
    PaymentConfirmed,
    Reply,
)

BUSINESS = "whatsapp:+14155238886"
DAY = dt.date(2026, 11, 20)
T0 = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)


@dataclass
class Conversation:
    """A conversation's events, each `at` seconds after T0."""

    customer: str
    events: list[Event] = field(default_factory=list)
    _message: MessageReceived | None = None

    def says(self, at: float, text: str, intent: str | None, confidence: float) -> Conversation:
        when = T0 + dt.timedelta(seconds=at)
        sid = f"SM{uuid.uuid4().hex}"
        message = MessageReceived(
            event_id=str(uuid.uuid4()), occurred_at=when, conversation_id=self.customer,
            correlation_id=str(uuid.uuid4()),
            payload=MessageReceivedPayload(message_sid=sid, account_sid="AC1", customer=self.customer,
                                           business=BUSINESS, body=text, received_at=when))
        message = message.model_copy(update={"correlation_id": message.event_id})
        self._message = message
        self.events += [message, IntentDetected.caused_by(
            message, stage="nlu", occurred_at=when + dt.timedelta(seconds=1),
            payload=IntentDetectedPayload(message_sid=sid, customer=self.customer, business=BUSINESS, text=text,
                                          intent=intent, confidence=confidence, model_version="test",
                                          received_at=when))]
        return self

    def acts(self, at: float, intent: str | None, outcome: ActionOutcome, reply: Reply,
             error: ActionError | None = None) -> Conversation:
        assert self._message is not None
        self.events.append(ActionCompleted(
            event_id=str(uuid.uuid4()), occurred_at=T0 + dt.timedelta(seconds=at), conversation_id=self.customer,
            correlation_id=self._message.correlation_id, causation_id=self._message.event_id,
            payload=ActionCompletedPayload(customer=self.customer, business=BUSINESS, intent=intent,
                                           action="test", outcome=outcome, reply=reply, error=error)))
        return self

    def replies(self, at: float, kind: str, *, generator: str = "template", fallback: str | None = None,
                sid: str | None = None) -> Conversation:
        assert self._message is not None
        self.events.append(ReplySent(
            event_id=str(uuid.uuid4()), occurred_at=T0 + dt.timedelta(seconds=at), conversation_id=self.customer,
            correlation_id=self._message.correlation_id,
            payload=ReplySentPayload.model_validate({
                "to": self.customer, "from": BUSINESS, "body": "…", "message_sid": sid or f"SM{uuid.uuid4().hex}",
                "template": kind, "generator": generator, "fallback": fallback})))
        return self

    def other(self, event: Event) -> Conversation:
        self.events.append(event)
        return self

    def envelope(self, at: float) -> dict[str, Any]:
        assert self._message is not None
        return {"event_id": str(uuid.uuid4()), "occurred_at": T0 + dt.timedelta(seconds=at),
                "conversation_id": self.customer, "correlation_id": self._message.correlation_id}


def script() -> dict[str, Conversation]:
    a, b, c, d, e = (Conversation(f"whatsapp:+5215500000{n}") for n in range(1, 6))
    (a.says(0, "quiero agendar pilates", "agendar_cita", 0.9)
      .acts(2, "agendar_cita", ActionOutcome.NEEDS_INPUT, AskDate()).replies(3, "ask_date", generator="llm")
      .says(60, "mañana a las 7", "agendar_cita", 0.7)
      .acts(62, "agendar_cita", ActionOutcome.NEEDS_CONFIRMATION,
            ConfirmBooking(date=dt.date(2026, 11, 21), time="19:00")).replies(63, "confirm_booking")
      .says(120, "sí", "afirmar", 0.95)
      .acts(122, "agendar_cita", ActionOutcome.SUCCEEDED, Booked()).replies(123, "booked", generator="llm"))
    (b.says(10, "¿qué paquetes tienen?", "consultar_paquetes", 0.8)
      .acts(12, "consultar_paquetes", ActionOutcome.ANSWERED, Packages())
      .replies(13, "packages", fallback="guardrail:invented_price")
      .says(300, "quiero agendar", "agendar_cita", 0.6)
      .acts(302, "agendar_cita", ActionOutcome.FAILED, ApiProblem(error="unavailable", code="timeout"),
            error=ActionError(kind="unavailable", message="timed out", code="timeout")))
    b.other(ReplyFailed(**b.envelope(303), payload=ReplyFailedPayload(
        to=b.customer, body="…", template="api_error", error_code=63016, error_message="outside the window",
        attempts=1)))
    (c.says(20, "asdf", "saludo", 0.3)
      .acts(22, "saludo", ActionOutcome.CLARIFICATION, Clarification()).replies(23, "clarification", sid="SMlost")
      .says(40, "quiero hablar con alguien", "hablar_con_humano", 0.97)
      .acts(42, "hablar_con_humano", ActionOutcome.ANSWERED, HandedOff()))
    c.other(ConversationHandedOff(**c.envelope(42.5), payload=HandedOffPayload(
        customer=c.customer, reason="asked", until=T0 + dt.timedelta(hours=4)))).replies(43, "handed_off")
    c.other(ReplyStatus(**c.envelope(50), payload=ReplyStatusPayload.model_validate({
        "message_sid": "SMlost", "status": "undelivered", "account_sid": "AC1", "error_code": 30008})))
    (d.says(30, "quiero agendar una clase", "agendar_cita", 0.85)
      .acts(32, "agendar_cita", ActionOutcome.NEEDS_INPUT, AskDate()).replies(33, "ask_date", generator="llm"))
    (e.says(100, "quiero el paquete de 10", "comprar_paquete", 0.9)
      .acts(102, "comprar_paquete", ActionOutcome.NEEDS_CONFIRMATION, Packages()).replies(103, "confirm_purchase"))
    e.other(PaymentUpdated(**e.envelope(400), payload=PaymentUpdatedPayload(
        customer=e.customer, purchase_id="P-1", status="paid", package="10 clases", amount=1200.0, currency="MXN",
        occurred_at=T0 + dt.timedelta(seconds=399))))
    e.acts(401, "comprar_paquete", ActionOutcome.SUCCEEDED, PaymentConfirmed()).replies(402, "payment_confirmed")
    return {"A": a, "B": b, "C": c, "D": d, "E": e}


