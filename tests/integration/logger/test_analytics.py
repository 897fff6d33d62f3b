"""The analysis views on a scripted day of five conversations: every figure asserted exactly.

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

import asyncpg
import pytest

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
from services.logger.adapters.migrations import migrate, migrations
from services.logger.adapters.postgres import EventStore

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


@pytest.fixture
async def logged(fresh_database: str) -> tuple[asyncpg.Pool, dict[str, Conversation]]:
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=4)
    store = await EventStore.on_pool(pool, schema="orchestrator")
    conversations = script()
    events = [event for conversation in conversations.values() for event in conversation.events]
    assert all(await store.append_many(events))
    yield pool, conversations
    await pool.close()


async def test_conversation_stats_tell_each_conversations_day(logged: tuple[asyncpg.Pool, dict[str, Conversation]]
                                                              ) -> None:
    pool, conversations = logged
    rows = {row["conversation_id"]: row for row in await pool.fetch("SELECT * FROM orchestrator.conversation_stats")}
    by_name = {name: rows[c.customer] for name, c in conversations.items()}

    assert {name: row["outcome"] for name, row in by_name.items()} == {
        "A": "booked", "B": "answered", "C": "handed_off", "D": "abandoned", "E": "purchased"}
    assert {name: (row["messages_in"], row["messages_out"]) for name, row in by_name.items()} == {
        "A": (3, 3), "B": (2, 1), "C": (2, 2), "D": (1, 1), "E": (1, 2)}
    assert {name: row["duration_s"] for name, row in by_name.items()} == {
        "A": 123.0, "B": 290.0, "C": 23.0, "D": 3.0, "E": 302.0}
    assert by_name["A"]["intents"] == ["afirmar", "agendar_cita"]
    assert (by_name["A"]["replies_llm"], by_name["A"]["replies_template"]) == (2, 1)
    assert (by_name["B"]["replies_llm"], by_name["B"]["replies_template"]) == (0, 1)  # the guardrail's fallback
    assert {row["day"] for row in by_name.values()} == {DAY}
    assert by_name["A"]["first_message_at"] == T0


async def test_intent_stats_give_volume_confidence_rates_conversions_and_time_to_completion(
        logged: tuple[asyncpg.Pool, dict[str, Conversation]]) -> None:
    pool, _ = logged
    rows = {row["intent"]: dict(row) for row in await pool.fetch("SELECT * FROM orchestrator.intent_stats")}

    booking = rows["agendar_cita"]
    assert (booking["volume"], booking["conversations"], booking["actions"]) == (4, 3, 5)
    assert booking["mean_confidence"] == pytest.approx((0.9 + 0.7 + 0.6 + 0.85) / 4)
    assert booking["clarification_rate"] == 0.0
    assert booking["success_rate"] == 0.5  # A's booking succeeded, B's failed
    assert (booking["conversions"], booking["conversion_rate"]) == (1, pytest.approx(1 / 3))
    assert booking["median_completion_s"] == 121.0  # A: first asked at 1 s, booked at 122 s

    assert rows["saludo"]["clarification_rate"] == 1.0
    assert rows["consultar_paquetes"]["success_rate"] is None  # answered: neither succeeded nor failed
    assert (rows["consultar_paquetes"]["conversions"], rows["consultar_paquetes"]["conversion_rate"]) == (0, 0.0)
    assert (rows["afirmar"]["actions"], rows["afirmar"]["conversion_rate"]) == (0, 1.0)
    purchase = rows["comprar_paquete"]
    assert (purchase["success_rate"], purchase["conversion_rate"], purchase["median_completion_s"]) == (1.0, 1.0, 300.0)
    assert set(rows) == {"agendar_cita", "afirmar", "consultar_paquetes", "saludo", "hablar_con_humano",
                         "comprar_paquete"}


async def test_error_stats_count_each_failure_by_stage_kind_and_hour(
        logged: tuple[asyncpg.Pool, dict[str, Conversation]]) -> None:
    pool, _ = logged
    rows = await pool.fetch("SELECT stage, error_kind, hour, errors, conversations FROM orchestrator.error_stats")

    assert {(r["stage"], r["error_kind"]): r["errors"] for r in rows} == {
        ("actions", "business_api:unavailable:timeout"): 1,
        ("responder", "llm:guardrail:invented_price"): 1,
        ("responder", "twilio:63016"): 1,
        ("twilio", "delivery:30008"): 1,
    }
    assert {r["hour"] for r in rows} == {T0}


async def test_messages_per_user_is_a_distribution_without_numbers(
        logged: tuple[asyncpg.Pool, dict[str, Conversation]]) -> None:
    pool, _ = logged
    rows = await pool.fetch("SELECT messages, customers FROM orchestrator.messages_per_user ORDER BY messages")
    assert [(r["messages"], r["customers"]) for r in rows] == [(1, 2), (2, 2), (3, 1)]


async def test_typed_views_need_no_json_paths(logged: tuple[asyncpg.Pool, dict[str, Conversation]]) -> None:
    pool, conversations = logged
    booked = await pool.fetchrow("SELECT reply_kind, outcome, intent FROM orchestrator.actions "
                                 "WHERE conversation_id = $1 ORDER BY occurred_at DESC LIMIT 1",
                                 conversations["A"].customer)
    assert dict(booked) == {"reply_kind": "booked", "outcome": "succeeded", "intent": "agendar_cita"}
    paid = await pool.fetchrow("SELECT status, amount, currency FROM orchestrator.payments")
    assert (paid["status"], float(paid["amount"]), paid["currency"]) == ("paid", 1200.0, "MXN")
    assert await pool.fetchval("SELECT count(*) FROM orchestrator.messages_in") == 9
    assert await pool.fetchval("SELECT avg(confidence) FROM orchestrator.intents WHERE intent = 'afirmar'") == 0.95
    assert await pool.fetchval("SELECT error_code FROM orchestrator.reply_failures") == 63016
    assert await pool.fetchval("SELECT reason FROM orchestrator.handoffs") == "asked"


async def test_migrations_apply_once_in_order_and_refuse_a_newer_schema(fresh_database: str) -> None:
    conn = await asyncpg.connect(fresh_database)
    try:
        known = migrations()
        assert await migrate(conn, "analytics") == [m.version for m in known]
        assert await migrate(conn, "analytics") == []  # a restart applies nothing
        versions = await conn.fetch("SELECT version, name FROM analytics.schema_migrations ORDER BY version")
        assert [(r["version"], r["name"]) for r in versions] == [(m.version, m.name) for m in known]
        await conn.execute("INSERT INTO analytics.schema_migrations (version, name) VALUES (99, 'from_the_future')")
        with pytest.raises(Exception, match=r"\[99\]"):
            await migrate(conn, "analytics")
    finally:
        await conn.close()


async def test_a_log_made_before_migrations_is_migrated_in_place(fresh_database: str) -> None:
    conn = await asyncpg.connect(fresh_database)
    try:
        # what the logger created before versioned migrations: the table, no migrations table
        await conn.execute("CREATE SCHEMA legacy")
        await conn.execute(migrations()[0].for_schema("legacy"))
        await conn.execute("INSERT INTO legacy.events (event_id, type, schema_version, occurred_at, conversation_id, "
                           "correlation_id, payload, topic) VALUES (gen_random_uuid(), 'message.received', 1, now(), "
                           "'whatsapp:+1', 'x', '{}', 'message.received')")
        await migrate(conn, "legacy")
        assert await conn.fetchval("SELECT count(*) FROM legacy.messages_in") == 1
    finally:
        await conn.close()
