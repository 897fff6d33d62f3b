"""The analysis views on the scripted day (`scripted.py`): every figure asserted exactly."""

from __future__ import annotations

import asyncpg
import pytest

from contracts import ActionOutcome
from contracts.replies import AskDate, Packages
from services.logger.adapters.migrations import migrate, migrations
from services.logger.adapters.postgres import EventStore
from tests.integration.logger.scripted import DAY, T0, Conversation, script


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


STATS = ("SELECT conversation_id, day, messages_in, messages_out, first_message_at, last_message_at, duration_s, "
         "intents, outcome, replies_llm, replies_template FROM {schema}.conversation_stats ORDER BY 1, 2")


async def test_conversation_stats_are_the_same_whatever_the_batches_their_order_and_redeliveries(
        logged: tuple[asyncpg.Pool, dict[str, Conversation]]) -> None:
    pool, conversations = logged
    # F starts a booking, then asks the schedule instead: its day ends answered, not abandoned
    f = (Conversation("whatsapp:+52155000006").says(500, "quiero agendar", "agendar_cita", 0.9)
         .acts(502, "agendar_cita", ActionOutcome.NEEDS_INPUT, AskDate()).replies(503, "ask_date")
         .says(560, "mejor dime los horarios", "consultar_horarios", 0.9)
         .acts(562, "consultar_horarios", ActionOutcome.ANSWERED, Packages()).replies(563, "schedule"))
    assert all(await EventStore(pool, schema="orchestrator").append_many(f.events))
    events = [event for conversation in [*conversations.values(), f] for event in conversation.events]
    store = await EventStore.on_pool(pool, schema="batched")
    shuffled = events[::-1]  # newest first: the last action of a day arrives before the earlier ones
    for start in range(0, len(shuffled), 3):  # F's two actions land in different batches, the later first
        await store.append_many(shuffled[start:start + 3])
    assert not any(await store.append_many(events[:20]))  # a redelivery inserts and counts nothing

    one_batch = [tuple(r) for r in await pool.fetch(STATS.format(schema="orchestrator"))]
    assert [tuple(r) for r in await pool.fetch(STATS.format(schema="batched"))] == one_batch
    assert len(one_batch) == 6
    assert ("whatsapp:+52155000006", "answered") in {(r[0], r[8]) for r in one_batch}


async def test_a_log_older_than_conversation_days_is_counted_when_migrated(fresh_database: str) -> None:
    events = [event for conversation in script().values() for event in conversation.events]
    conn = await asyncpg.connect(fresh_database)
    try:
        await migrate(conn, "older", migrations()[:4])  # the log before migration 0005
        await conn.executemany(
            "INSERT INTO older.events (event_id, type, schema_version, occurred_at, conversation_id, correlation_id,"
            " causation_id, payload, topic) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8::jsonb, $2)",
            [(e.event_id, e.type, e.schema_version, e.occurred_at, e.conversation_id, e.correlation_id,
              e.causation_id, e.payload.model_dump_json(by_alias=True)) for e in events])  # type: ignore[attr-defined]
        assert await migrate(conn, "older") == [5]
        outcomes = dict(await conn.fetch("SELECT conversation_id, outcome FROM older.conversation_stats"))
        assert sorted(outcomes.values()) == ["abandoned", "answered", "booked", "handed_off", "purchased"]
        assert await conn.fetchval("SELECT sum(messages_in) FROM older.conversation_stats") == 9
    finally:
        await conn.close()
