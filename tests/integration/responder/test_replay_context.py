"""`python -m services.responder.replay_context`: the conversation context rebuilt in Redis from the
`action.completed` and `reply.sent` topics of a real broker, without duplicating what is there."""

from __future__ import annotations

import datetime as dt

from redis.asyncio import Redis

from contracts import (
    ACTION_COMPLETED,
    CONVERSATION_OPTED_OUT,
    MESSAGE_RECEIVED,
    REPLY_SENT,
    ActionCompleted,
    ConversationOptedOut,
    OptOutPayload,
    ReplySent,
    ReplySentPayload,
)
from contracts import replies as r
from runtime.kafka import Publisher, all_topic_specs, ensure_topics
from services.responder.adapters.context import ConversationContext, user_turn
from services.responder.adapters.reach_store import ReachStore
from services.responder.handler import STAGE
from services.responder.replay_context import rebuild, replay
from services.responder.settings import ResponderSettings
from tests.integration.responder.events import message_received
from tests.unit.responder.events import BUSINESS, completed, new_customer


def reply_to(event: ActionCompleted, body: str) -> ReplySent:
    return ReplySent.caused_by(event, stage=STAGE, payload=ReplySentPayload(
        to=event.payload.customer, from_=BUSINESS, body=body, message_sid="SM" + event.event_id[:8],
        template=event.payload.reply.kind))


def aged(event: ActionCompleted, by: dt.timedelta) -> ActionCompleted:
    when = event.occurred_at - by
    return event.model_copy(update={"occurred_at": when,
                                    "payload": event.payload.model_copy(update={"received_at": when})})


async def test_the_context_is_rebuilt_from_the_topics(kafka_bootstrap: str, redis_url: str, redis: Redis) -> None:
    wanted = {ACTION_COMPLETED.name, REPLY_SENT.name, MESSAGE_RECEIVED.name, CONVERSATION_OPTED_OUT.name}
    await ensure_topics(kafka_bootstrap, [spec for spec in all_topic_specs() if spec[0] in wanted])
    customer = new_customer()
    asked = completed(r.Greeting(options=("agendar una clase",)), customer=customer, user_text="hola")
    sent = [reply_to(asked, "¡Hola! 👋 ¿En qué te ayudo?")]
    booked = completed(r.Acknowledged(), customer=customer, user_text="perfecto, gracias")
    sent.append(reply_to(booked, "¡Perfecto! ¿Algo más?"))
    paid = completed(r.PaymentConfirmed(package="Pack 10 clases"), customer=customer)  # nobody asked: no user turn
    sent.append(reply_to(paid, "¡Tu pago se acreditó! ✅"))
    yesterday = aged(completed(r.Thanks(), customer=customer, user_text="mensaje de anteayer"), dt.timedelta(days=2))
    staff = ReplySent.caused_by(new_staff_cause(customer), stage=STAGE, payload=ReplySentPayload(
        to=customer, from_=BUSINESS, body="Hola, soy Ana del estudio", message_sid="SMstaff", template="staff"))
    publisher = await Publisher.connect(ResponderSettings(kafka_bootstrap_servers=kafka_bootstrap), stage="test")
    try:
        for event in (yesterday, asked, booked, paid):
            await publisher.publish(ACTION_COMPLETED, event)
        for reply in (*sent, staff):
            await publisher.publish(REPLY_SENT, reply)
    finally:
        await publisher.close()
    context = ConversationContext(redis)
    await context.record(customer, [user_turn(asked)])  # recorded live before the crash that lost the rest

    settings = ResponderSettings(kafka_bootstrap_servers=kafka_bootstrap, redis_url=redis_url)
    assert await replay(settings, only=customer) == 0
    assert await replay(settings, only=customer) == 0  # again: nothing is added twice

    turns = await context.recent(customer)
    assert [(t.role, t.text) for t in turns] == [
        ("user", "hola"), ("bot", "¡Hola! 👋 ¿En qué te ayudo?"),
        ("user", "perfecto, gracias"), ("bot", "¡Perfecto! ¿Algo más?"),
        ("bot", "¡Tu pago se acreditó! ✅"),
    ]
    assert 0 < await redis.ttl(context.key(customer)) <= context.ttl_s


def new_staff_cause(customer: str) -> ActionCompleted:
    """A cause that never reached action.completed (as a staff message's does)."""
    return completed(r.Acknowledged(), customer=customer)


def test_rebuild_keeps_the_last_turns_of_the_ttl_per_conversation() -> None:
    customer = new_customer()
    events = [completed(r.Acknowledged(), customer=customer, user_text=f"mensaje {n}") for n in range(20)]
    turns = rebuild(events, [], max_turns=12)[customer]
    assert [t.text for t in turns] == [f"mensaje {n}" for n in range(8, 20)]
    late = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    assert rebuild(events, [], now=late) == {}


async def test_the_window_and_the_opt_out_are_rebuilt_from_the_topics(kafka_bootstrap: str, redis_url: str,
                                                                     redis: Redis) -> None:
    wanted = {ACTION_COMPLETED.name, REPLY_SENT.name, MESSAGE_RECEIVED.name, CONVERSATION_OPTED_OUT.name}
    await ensure_topics(kafka_bootstrap, [spec for spec in all_topic_specs() if spec[0] in wanted])
    now = dt.datetime.now(dt.UTC)
    customer, other = new_customer(), new_customer()
    earlier = message_received(customer, received_at=now - dt.timedelta(hours=3))
    later = message_received(customer, received_at=now - dt.timedelta(hours=1))
    stale = message_received(other, received_at=now - dt.timedelta(days=3))  # beyond the window: not kept
    out = ConversationOptedOut.caused_by(later, stage="actions", payload=OptOutPayload(
        customer=customer, source="customer", text="baja")).model_copy(update={"occurred_at": now})
    publisher = await Publisher.connect(ResponderSettings(kafka_bootstrap_servers=kafka_bootstrap), stage="test")
    try:
        for event in (later, earlier, stale):  # out of order: the later time wins
            await publisher.publish(MESSAGE_RECEIVED, event)
        await publisher.publish(CONVERSATION_OPTED_OUT, out)
    finally:
        await publisher.close()

    settings = ResponderSettings(kafka_bootstrap_servers=kafka_bootstrap, redis_url=redis_url)
    assert await replay(settings, only=customer) == 0
    assert await replay(settings, only=other) == 0

    inbound, opted_out = await ReachStore(redis).times(customer)
    assert inbound is not None and abs((inbound - later.payload.received_at).total_seconds()) < 0.01
    assert opted_out is not None and abs((opted_out - now).total_seconds()) < 0.01
    assert await ReachStore(redis).times(other) == (None, None)
