from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from contracts import (
    ALL_TOPICS,
    INTENT_DETECTED,
    MESSAGE_RECEIVED,
    IntentDetected,
    IntentDetectedPayload,
    MessageReceived,
    MessageReceivedPayload,
    derive_event_id,
    inbound_event_id,
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
    assert len({t.name for t in ALL_TOPICS}) == len(ALL_TOPICS) == 6
