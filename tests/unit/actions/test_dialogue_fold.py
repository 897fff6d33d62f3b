"""The dialogue state as a pure fold over intent.detected and action.completed events."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from contracts import ActionCompleted, ActionCompletedPayload, ActionOutcome, IntentDetected
from contracts.dialogue import DialogueUpdate, FlowSnapshot, Offer, PendingConfirmation
from contracts.replies import AskDate, Greeting, OfferSlots, Reply
from services.actions.state import (
    MAX_APPLIED,
    MAX_TURNS,
    STATE_VERSION,
    DialogueState,
    UnknownStateVersion,
    apply,
    fold,
    is_expired,
    load_state,
)
from tests.unit.actions.conversation import CUSTOMER, START, detected

FIXTURES = Path(__file__).parents[2] / "fixtures"


def user(text: str, n: int, *, at: dt.datetime | None = None) -> IntentDetected:
    return detected(text, at=at or START + dt.timedelta(minutes=n), sid=f"SMFOLD{n:04d}", intent="agendar_cita",
                    confidence=0.9, entities=[])


def bot(cause: IntentDetected, dialogue: DialogueUpdate | None, reply: Reply | None = None) -> ActionCompleted:
    payload = ActionCompletedPayload(customer=CUSTOMER, business="whatsapp:+1", intent="agendar_cita",
                                     action="ask_date", outcome=ActionOutcome.NEEDS_INPUT, reply=reply or AskDate(),
                                     dialogue=dialogue)
    return ActionCompleted.caused_by(cause, stage="actions", payload=payload, occurred_at=cause.occurred_at)


ASKING = DialogueUpdate(flow="agendar_cita", slots={"fecha": "2026-11-27"}, awaiting="hora",
                        offered=(Offer(kind="slot", ref="12", label="19:00", data={"time": "19:00"}),))


def test_a_user_turn_then_the_bots_decision() -> None:
    first = user("quiero agendar", 1)
    state = apply(DialogueState.empty(CUSTOMER), first)
    assert [t.role for t in state.turns] == ["user"]
    assert state.turns[0].text == "quiero agendar" and state.turns[0].intent == "agendar_cita"
    assert state.updated_at == first.payload.received_at
    assert state.flow is None

    state = apply(state, bot(first, ASKING, OfferSlots(date=dt.date(2026, 11, 27))))
    assert (state.flow, state.awaiting, state.slots) == ("agendar_cita", "hora", {"fecha": "2026-11-27"})
    assert state.offered[0].ref == "12"
    assert [t.role for t in state.turns] == ["user", "bot"] and state.turns[1].text == "offer_slots"
    assert state.updated_at == first.payload.received_at, "idle time counts from the customer's last message"
    assert state.last_reply is not None and state.last_reply.cause_id == first.event_id


def test_an_event_applied_twice_changes_nothing() -> None:
    first = user("quiero agendar", 1)
    answer = bot(first, ASKING)
    once = apply(apply(DialogueState.empty(CUSTOMER), first), answer)
    assert apply(once, first) is once
    assert apply(once, answer) is once
    assert fold([first, answer, first, answer], CUSTOMER) == once


def test_replaying_the_stream_rebuilds_the_same_state_and_it_round_trips_through_json() -> None:
    events: list[IntentDetected | ActionCompleted] = []
    for n in range(4):
        cause = user(f"mensaje {n}", n)
        events += [cause, bot(cause, ASKING if n % 2 else DialogueUpdate())]
    state = fold(events, CUSTOMER)
    assert fold(events, CUSTOMER) == state
    assert DialogueState.model_validate(json.loads(json.dumps(state.model_dump(mode="json")))) == state


def test_a_complete_decision_replaces_the_previous_one() -> None:
    first, second = user("a", 1), user("b", 2)
    pending = PendingConfirmation(action="cancel_booking", params={"code": "BK-1"})
    aside = FlowSnapshot(flow="agendar_cita", slots={"fecha": "2026-11-27"}, awaiting="hora")
    state = fold([first, bot(first, DialogueUpdate(flow="cancelar_cita", awaiting="confirmation", pending=pending,
                                                   interrupted_flow=aside))], CUSTOMER)
    assert state.pending == pending and state.interrupted_flow == aside
    state = fold([second, bot(second, DialogueUpdate())], CUSTOMER, state)
    assert (state.flow, state.awaiting, state.pending, state.interrupted_flow, state.offered) == (
        None, None, None, None, ())
    roundtrip = DialogueState.model_validate(
        fold([first, bot(first, DialogueUpdate(pending=pending, interrupted_flow=aside))], CUSTOMER)
        .model_dump(mode="json"))
    assert roundtrip.pending == pending and roundtrip.interrupted_flow == aside


def test_an_action_without_a_dialogue_update_only_adds_the_bots_turn() -> None:
    first, second = user("a", 1), user("b", 2)
    state = fold([first, bot(first, ASKING), second, bot(second, None, Greeting())], CUSTOMER)
    assert state.flow == "agendar_cita" and state.turns[-1].text == "greeting"


def test_turns_and_applied_ids_are_bounded() -> None:
    events: list[IntentDetected | ActionCompleted] = []
    for n in range(40):
        cause = user(f"m{n}", n)
        events += [cause, bot(cause, None)]
    state = fold(events, CUSTOMER)
    assert len(state.turns) == MAX_TURNS and state.turns[-1].role == "bot"
    assert state.turns[-2].text == "m39"
    assert len(state.applied) == MAX_APPLIED and state.applied[-1] == events[-1].event_id


def test_a_flow_expires_after_the_idle_time_measured_on_message_times() -> None:
    first = user("quiero agendar", 0, at=START)
    state = fold([first, bot(first, ASKING)], CUSTOMER)
    assert not is_expired(state, START + dt.timedelta(seconds=899), 900)
    assert is_expired(state, START + dt.timedelta(seconds=901), 900)
    idle = fold([first, bot(first, DialogueUpdate())], CUSTOMER)
    assert not is_expired(idle, START + dt.timedelta(days=3), 900), "nothing to expire when no flow is open"
    assert not is_expired(DialogueState.empty(CUSTOMER), START, 900)


def test_values_said_are_remembered_with_their_time_and_forgotten_after_the_idle_time() -> None:
    said = detected("¿qué clases hay el viernes?", at=START, sid="SMMENTION1", intent="consultar_horarios",
                    confidence=0.9, entities=[("fecha", "2026-11-27", "el viernes")])
    state = apply(DialogueState.empty(CUSTOMER), said)
    assert state.recalled("fecha", now=START + dt.timedelta(seconds=60), idle_s=900) == "2026-11-27"
    assert state.recalled("fecha", now=START + dt.timedelta(seconds=901), idle_s=900) is None
    assert state.recalled("paquete", now=START, idle_s=900) is None
    newer = detected("mejor el sábado", at=START + dt.timedelta(seconds=30), sid="SMMENTION2",
                     intent="agendar_cita", confidence=0.9, entities=[("fecha", "2026-11-28", "el sábado")])
    assert apply(state, newer).recalled("fecha", now=START + dt.timedelta(seconds=60), idle_s=900) == "2026-11-28"


def test_a_state_stored_by_the_previous_version_is_upcast_not_dropped() -> None:
    stored = json.loads((FIXTURES / "dialogue" / "state.v1.json").read_text())
    assert "version" not in stored and "mentioned" not in stored
    state = load_state(stored)
    assert state.version == STATE_VERSION and state.mentioned == {}
    assert state.interrupted_flow is not None and state.interrupted_flow.flow == "agendar_cita"
    assert state.interrupted_flow.slots == {"fecha": "2026-11-27"}
    assert len(state.turns) == len(stored["turns"]) and state.applied == tuple(stored["applied"])
    replayed = state.last_reply_event()
    assert replayed is not None and replayed.schema_version == 2 and replayed.payload.reply.kind == "packages"
    assert load_state(state.model_dump(mode="json")) == state


def test_a_state_from_newer_code_is_refused() -> None:
    with pytest.raises(UnknownStateVersion):
        load_state({"version": STATE_VERSION + 1, "conversation_id": CUSTOMER})
