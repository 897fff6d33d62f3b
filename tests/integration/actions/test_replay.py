"""`python -m services.actions.replay` against a real broker: the dialogue state rebuilt from the topics."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts import ACTION_COMPLETED, INTENT_DETECTED, ActionCompleted, IntentDetected
from contracts.topics import DIALOGUE_CHANGELOG
from runtime.kafka import all_topic_specs, ensure_topics
from services.actions.replay import replay
from services.actions.settings import ActionsSettings
from services.actions.state import load_state
from tests.unit.actions.conversation import START, Conversation
from tests.unit.actions.fake_studio import FakeStudio


async def test_replay_rebuilds_the_state_and_writes_the_changelog(
        kafka_bootstrap: str, unique: Callable[[str], str], capsys: pytest.CaptureFixture[str]) -> None:
    await ensure_topics(kafka_bootstrap, all_topic_specs())
    customer = f"whatsapp:+52155{abs(hash(unique('c'))) % 10**8:08d}"
    chat = Conversation(FakeStudio(now=START), customer=customer)
    for text in ("quiero agendar", "el viernes", "¿qué paquetes tienen?"):
        await chat.say(text)
    assert chat.state.flow == "agendar_cita" and chat.state.question is not None  # mid-flow: worth rebuilding

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, max_batch_size=16)
    await producer.start()
    for event in chat.events:
        topic = INTENT_DETECTED if isinstance(event, IntentDetected) else ACTION_COMPLETED
        assert isinstance(event, IntentDetected | ActionCompleted)
        await producer.send_and_wait(topic.name, topic.encode(event), key=topic.key(event))
    await producer.stop()

    settings = ActionsSettings(kafka_bootstrap_servers=kafka_bootstrap)
    assert await replay(settings, only=customer, write=True) == 0
    [printed] = capsys.readouterr().out.splitlines()
    assert load_state(json.loads(printed)) == chat.state

    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    try:
        tps = [TopicPartition(DIALOGUE_CHANGELOG, p) for p in consumer.partitions_for_topic(DIALOGUE_CHANGELOG) or ()]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        written = []
        for _ in range(20):
            for records in (await consumer.getmany(timeout_ms=300)).values():
                written += [r for r in records if r.key == json.dumps(customer).encode()]
            if written:
                break
    finally:
        await consumer.stop()
    assert written and load_state(json.loads(written[-1].value or b"{}")) == chat.state
