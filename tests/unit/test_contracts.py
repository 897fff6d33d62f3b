from __future__ import annotations

import ast
import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

import contracts
from contracts import (
    ACTION_COMPLETED,
    ALL_TOPICS,
    INTENT_DETECTED,
    MESSAGE_RECEIVED,
    ActionCompleted,
    IntentDetected,
    IntentDetectedPayload,
    MessageReceived,
    MessageReceivedPayload,
    derive_event_id,
    inbound_event_id,
    replies,
    status_event_id,
)
from contracts.events import EVENT_TYPES
from contracts.jsonschema import breaking_changes, generate, render, schema_path
from contracts.topics import UnsupportedSchemaVersion

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def received(sid: str = "SM1", body: str = "hola") -> MessageReceived:
    event_id = inbound_event_id(sid)
    return MessageReceived(
        event_id=event_id, type="message.received", occurred_at=NOW, conversation_id="whatsapp:+5215500000001",
        correlation_id=event_id,
        payload=MessageReceivedPayload(message_sid=sid, account_sid="AC1", customer="whatsapp:+5215500000001",
                                       business="whatsapp:+14155238886", body=body, received_at=NOW),
    )


def detected(cause: MessageReceived) -> IntentDetected:
    return IntentDetected.caused_by(cause, stage="nlu", payload=IntentDetectedPayload(
        message_sid="SM1", customer=cause.conversation_id, business="whatsapp:+14155238886", text="hola",
        intent="saludo", confidence=0.9, model_version="m", received_at=NOW,
    ))


def test_checked_in_schemas_are_current() -> None:
    for event_type in EVENT_TYPES:
        path = schema_path(event_type)
        assert path.exists(), f"{path.name} missing: run `make schemas`"
        assert path.read_text() == render(generate(event_type)), f"{path.name} is stale: run `make schemas`"


def test_models_stay_compatible_with_checked_in_schemas() -> None:
    for event_type in EVENT_TYPES:
        old = json.loads(schema_path(event_type).read_text())
        assert breaking_changes(old, generate(event_type)) == []


def _schema(props: dict[str, object], required: list[str]) -> dict[str, object]:
    return {"type": "object", "properties": props, "required": required}


def test_breaking_changes_are_detected() -> None:
    old = _schema({"a": {"type": "string"}, "b": {"type": "integer"}}, ["a"])
    assert breaking_changes(old, _schema({"a": {"type": "string"}}, ["a"])) == ["$.b: field removed"]
    assert breaking_changes(old, _schema({"a": {"type": "integer"}, "b": {"type": "integer"}}, ["a"])) == [
        "$.a: type changed from ['string'] to ['integer']"
    ]
    assert breaking_changes(old, _schema({"a": {"type": "string"}, "b": {"type": "integer"}}, ["a", "b"])) == [
        "$.b: field became required"
    ]


def test_additive_changes_are_compatible() -> None:
    old = _schema({"a": {"type": "string"}}, ["a"])
    wider = _schema({"a": {"anyOf": [{"type": "string"}, {"type": "null"}]}, "c": {"type": "string"}}, ["a"])
    assert breaking_changes(old, wider) == []


def test_ids_are_deterministic_and_distinct() -> None:
    assert inbound_event_id("SM1") == inbound_event_id("SM1") != inbound_event_id("SM2")
    assert derive_event_id("x", "nlu") == derive_event_id("x", "nlu") != derive_event_id("x", "actions")
    assert status_event_id("SM1", "sent") != status_event_id("SM1", "delivered")


def test_caused_by_links_the_chain_and_reprocessing_gives_the_same_id() -> None:
    cause = received()
    first, again = detected(cause), detected(cause)
    assert first.event_id == again.event_id == derive_event_id(cause.event_id, "nlu")
    assert first.causation_id == cause.event_id
    assert first.correlation_id == cause.correlation_id == cause.event_id
    assert first.conversation_id == cause.conversation_id


def test_round_trip_and_unknown_fields_are_tolerated() -> None:
    event = received()
    raw = json.loads(MESSAGE_RECEIVED.encode(event))
    raw["payload"]["added_by_a_newer_producer"] = 1
    raw["also_new"] = "x"
    assert MESSAGE_RECEIVED.decode(json.dumps(raw).encode()) == event


def test_newer_schema_version_is_refused_not_misread() -> None:
    raw = json.loads(MESSAGE_RECEIVED.encode(received()))
    raw["schema_version"] = 2
    with pytest.raises(UnsupportedSchemaVersion):
        MESSAGE_RECEIVED.decode(json.dumps(raw).encode())


def test_poison_records_raise_value_errors() -> None:
    with pytest.raises(ValueError):
        INTENT_DETECTED.decode(b"not json")
    with pytest.raises(ValidationError):
        INTENT_DETECTED.decode(MESSAGE_RECEIVED.encode(received()))


def test_times_are_normalised_to_utc_and_naive_times_refused() -> None:
    event = received().model_copy()
    local = datetime(2026, 11, 25, 9, 0, tzinfo=timezone(timedelta(hours=-6)))
    moved = MessageReceived.model_validate({**event.model_dump(), "occurred_at": local})
    assert moved.occurred_at.tzinfo == UTC and moved.occurred_at.hour == 15
    with pytest.raises(ValidationError):
        MessageReceived.model_validate({**event.model_dump(), "occurred_at": datetime(2026, 1, 1)})


def test_every_topic_is_keyed_by_conversation() -> None:
    event = received()
    assert MESSAGE_RECEIVED.key(event) == b"whatsapp:+5215500000001"
    assert len({t.name for t in ALL_TOPICS}) == len(ALL_TOPICS) == 12


GOLDEN_V1 = Path(__file__).parents[1] / "fixtures" / "events" / "v1"


def test_v1_action_completed_records_are_upcast_on_decode() -> None:
    goldens = sorted(GOLDEN_V1.glob("action.completed.*.json"))
    assert len(goldens) >= 10
    for path in goldens:
        raw = json.loads(path.read_text())
        assert raw["schema_version"] == 1 and "reply_template" in raw["payload"]
        event = ACTION_COMPLETED.decode(path.read_bytes())
        assert event.schema_version == ActionCompleted.SCHEMA_VERSION == 2
        assert event.payload.reply.kind == raw["payload"]["reply_template"], path.name
        assert event.event_id == raw["event_id"] and event.payload.dialogue is not None


def test_upcasting_keeps_the_facts_of_the_reply() -> None:
    def golden(name: str) -> ActionCompleted:
        return ACTION_COMPLETED.decode((GOLDEN_V1 / f"action.completed.{name}.json").read_bytes())

    booked = golden("booked").payload.reply
    assert isinstance(booked, replies.Booked)
    assert (booked.code, booked.date, booked.time) == ("BK-4821", date(2026, 11, 27), "07:00")
    offered = golden("offer_slots").payload.reply
    assert isinstance(offered, replies.OfferSlots)
    assert [s.time for s in offered.slots] == ["07:00", "09:00", "18:00", "19:00", "20:00"]
    assert {s.date for s in offered.slots} == {date(2026, 11, 27)}
    confirm = golden("confirm_purchase").payload.reply
    assert isinstance(confirm, replies.ConfirmPurchase)
    assert (confirm.package.name, confirm.package.price, confirm.package.currency) == ("Pack 10 clases", 2000.0, "MXN")
    cancel = golden("confirm_cancel").payload.reply
    assert isinstance(cancel, replies.ConfirmCancel) and cancel.booking.code == "BK-4821"
    resumed = golden("with_resume").payload
    assert resumed.reply.kind == "packages" and resumed.followup == replies.ResumeFlow(flow="agendar_cita")


def test_an_unknown_v1_template_becomes_the_clarification_v1_answered_with() -> None:
    raw = json.loads((GOLDEN_V1 / "action.completed.greeting.json").read_text())
    raw["payload"]["reply_template"] = "retired_template"
    event = ACTION_COMPLETED.decode(json.dumps(raw).encode())
    assert event.payload.reply.kind == "clarification"


def test_replies_are_validated_when_built_and_when_read() -> None:
    raw = json.loads((GOLDEN_V1 / "action.completed.booked.json").read_text())
    current = json.loads(ACTION_COMPLETED.encode(ACTION_COMPLETED.decode(json.dumps(raw).encode())))
    current["payload"]["reply"]["kind"] = "no_such_kind"
    with pytest.raises(ValidationError):
        ACTION_COMPLETED.decode(json.dumps(current).encode())
    current["payload"]["reply"] = {"kind": "booked", "time": "7 pm"}
    with pytest.raises(ValidationError):
        ACTION_COMPLETED.decode(json.dumps(current).encode())
    with pytest.raises(ValidationError):
        replies.OfferSlots(date="viernes", slots=())  # type: ignore[arg-type]


def test_contracts_import_nothing_but_themselves_and_have_no_cycle() -> None:
    package = Path(contracts.__file__).parent
    graph: dict[str, set[str]] = {}
    for path in package.glob("*.py"):
        module = f"contracts.{path.stem}" if path.stem != "__init__" else "contracts"
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        assert not {m for m in imported if m.split(".")[0] in ("services", "runtime", "devstack")}, module
        graph[module] = {m for m in imported if m.startswith("contracts.")} - {module}
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle: {' -> '.join((*path, module))}"
        if module in done:
            return
        for target in graph.get(module, ()):
            visit(target, (*path, module))
        done.add(module)

    for module in graph:
        visit(module, ())
