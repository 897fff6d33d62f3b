"""The consumer loop against a real broker: outputs, commits, retries and the dead-letter topic."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts import MessageReceived, MessageReceivedPayload, Topic, dead_letter_topic, inbound_event_id
from runtime.kafka import Publisher, connect_consumer
from runtime.settings import ServiceSettings
from runtime.stage import Output, RecordProcessor, Stage

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def message(sid: str) -> MessageReceived:
    event_id = inbound_event_id(sid)
    return MessageReceived(
        event_id=event_id, type="message.received", occurred_at=NOW, conversation_id="whatsapp:+5215500000009",
        correlation_id=event_id,
        payload=MessageReceivedPayload(message_sid=sid, account_sid="AC1", customer="whatsapp:+5215500000009",
                                       business="whatsapp:+14155238886", body=sid, received_at=NOW),
    )


async def read_raw(bootstrap: str, topic: str, count: int,
                   timeout: float = 20.0) -> list[tuple[bytes, dict[str, bytes]]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or {0}]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        found: list[tuple[bytes, dict[str, bytes]]] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while len(found) < count and asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                found += [(r.value or b"", dict(r.headers)) for r in records]
        return found
    finally:
        await consumer.stop()


async def test_stage_publishes_commits_retries_and_dead_letters(
    kafka_bootstrap: str, unique: Callable[[str], str], make_topics: Callable[..., object]
) -> None:
    name = unique("stage")
    source: Topic[MessageReceived] = Topic(unique("in"), MessageReceived, partitions=1)
    sink: Topic[MessageReceived] = Topic(unique("out"), MessageReceived, partitions=1)
    await make_topics(source.name, sink.name, dead_letter_topic(name), partitions=1)  # type: ignore[operator]
    settings = ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap)
    attempts: dict[str, int] = {}

    async def handler(event: MessageReceived) -> list[Output]:
        sid = event.payload.message_sid
        attempts[sid] = attempts.get(sid, 0) + 1
        if sid == "flaky" and attempts[sid] < 4:  # transient: retried beyond max_attempts
            raise ConnectionError("business API hiccup")
        if sid == "broken":
            raise RuntimeError("always fails")
        if sid == "invalid":  # deterministic: never retried
            MessageReceivedPayload.model_validate({"message_sid": sid})
        return [Output(sink, event)]

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, max_batch_size=16)
    await producer.start()
    for sid in ("ok", "flaky", "broken", "invalid"):
        await producer.send_and_wait(source.name, source.encode(message(sid)), key=b"k")
    await producer.send_and_wait(source.name, b"{not json", key=b"k")
    await producer.send_and_wait(source.name, source.encode(message("after-poison")), key=b"k")
    await producer.stop()

    publisher = await Publisher.connect(settings, stage=name)
    consumer = await connect_consumer(settings, stage=name, group_id=name, topics=[source.name])
    processor = RecordProcessor(name=name, sources=[source], handler=handler, publisher=publisher,
                                max_attempts=3, retry_attempts=5, backoff_base_s=0.01)
    stage = Stage(processor, consumer=consumer)
    task = asyncio.create_task(stage.run())
    try:
        outputs = await read_raw(kafka_bootstrap, sink.name, 3)
        dead = await read_raw(kafka_bootstrap, dead_letter_topic(name), 3)
    finally:
        stage.stop()
        await task
        committed = await consumer.committed(TopicPartition(source.name, 0))
        await consumer.stop()
        await publisher.close()

    assert [sink.decode(v).payload.message_sid for v, _ in outputs] == ["ok", "flaky", "after-poison"]
    assert attempts == {"ok": 1, "flaky": 4, "broken": 3, "invalid": 1, "after-poison": 1}
    reasons = {h["dlq.reason"].decode(): h for _, h in dead}
    assert set(reasons) == {"exhausted", "poison", "undecodable"}
    assert b"always fails" in reasons["exhausted"]["dlq.error"]
    assert reasons["exhausted"]["dlq.topic"].decode() == source.name
    assert reasons["exhausted"]["dlq.offset"] == b"2"
    assert reasons["exhausted"]["dlq.attempts"] == b"3"
    assert b"ValidationError" in reasons["poison"]["dlq.error"]
    assert (reasons["poison"]["dlq.offset"], reasons["poison"]["dlq.attempts"]) == (b"3", b"1")
    assert reasons["undecodable"]["dlq.offset"] == b"4"
    assert committed == 6


async def test_conversations_are_processed_side_by_side_each_in_order(
    kafka_bootstrap: str, unique: Callable[[str], str], make_topics: Callable[..., object]
) -> None:
    name = unique("stage")
    source: Topic[MessageReceived] = Topic(unique("in"), MessageReceived, partitions=1)
    await make_topics(source.name, dead_letter_topic(name), partitions=1)  # type: ignore[operator]
    settings = ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap)
    started = {"a1": asyncio.Event(), "b1": asyncio.Event()}
    overlapped: dict[str, bool] = {}
    handled: list[str] = []

    async def handler(event: MessageReceived) -> list[Output]:
        sid = event.payload.message_sid
        if sid in started:  # each first record waits for the other conversation's: only side by side can both go on
            started[sid].set()
            other = started["b1" if sid == "a1" else "a1"]
            try:
                await asyncio.wait_for(other.wait(), timeout=5)
                overlapped[sid] = True
            except TimeoutError:
                overlapped[sid] = False
        handled.append(sid)
        return []

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, max_batch_size=16)
    await producer.start()
    for n in (1, 2, 3):  # two conversations interleaved in one partition
        for conversation in ("a", "b"):
            await producer.send_and_wait(source.name, source.encode(message(f"{conversation}{n}")),
                                         key=conversation.encode())
    await producer.stop()

    publisher = await Publisher.connect(settings, stage=name)
    consumer = await connect_consumer(settings, stage=name, group_id=name, topics=[source.name])
    stage = Stage(RecordProcessor(name=name, sources=[source], handler=handler, publisher=publisher),
                  consumer=consumer)
    task = asyncio.create_task(stage.run())
    try:
        for _ in range(200):
            if len(handled) == 6:
                break
            await asyncio.sleep(0.05)
    finally:
        stage.stop()
        await task
        await consumer.stop()
        await publisher.close()

    assert overlapped == {"a1": True, "b1": True}
    assert [sid for sid in handled if sid[0] == "a"] == ["a1", "a2", "a3"]
    assert [sid for sid in handled if sid[0] == "b"] == ["b1", "b2", "b3"]


Running = tuple[Stage[MessageReceived], AIOKafkaConsumer, Publisher, asyncio.Task[None]]


async def _run_stage(kafka_bootstrap: str, name: str, source: Topic[MessageReceived],
                     handler: Callable[[MessageReceived], object], *, concurrency: int) -> Running:
    settings = ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap)
    publisher = await Publisher.connect(settings, stage=name)
    consumer = await connect_consumer(settings, stage=name, group_id=name, topics=())
    stage = Stage(RecordProcessor(name=name, sources=[source], handler=handler,  # type: ignore[arg-type]
                                  publisher=publisher), consumer=consumer, concurrency=concurrency)
    consumer.subscribe(topics=[source.name], listener=stage.rebalance_listener())
    return stage, consumer, publisher, asyncio.create_task(stage.run())


async def _produce(kafka_bootstrap: str, source: Topic[MessageReceived], keyed: list[tuple[str, str]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, max_batch_size=16, linger_ms=0)
    await producer.start()
    try:
        await asyncio.gather(*(producer.send_and_wait(source.name, source.encode(message(sid)), key=key.encode())
                               for key, sid in keyed))
    finally:
        await producer.stop()


async def test_in_flight_records_are_bounded_by_concurrency_not_by_batches(
    kafka_bootstrap: str, unique: Callable[[str], str], make_topics: Callable[..., object]
) -> None:
    """Slow calls overlap up to `concurrency`: 120 conversations of a 0.3 s call each take ~0.3 s
    per 60, never more than 60 at once."""
    name = unique("stage")
    source: Topic[MessageReceived] = Topic(unique("in"), MessageReceived, partitions=2)
    await make_topics(source.name, dead_letter_topic(name), partitions=2)  # type: ignore[operator]
    await _produce(kafka_bootstrap, source, [(f"c{n}", f"m{n}") for n in range(120)])
    running, peak, handled = 0, 0, 0

    async def handler(event: MessageReceived) -> list[Output]:
        nonlocal running, peak, handled
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.3)
        running -= 1
        handled += 1
        return []

    loop = asyncio.get_running_loop()
    stage, consumer, publisher, task = await _run_stage(kafka_bootstrap, name, source, handler, concurrency=60)
    try:
        started = None
        deadline = loop.time() + 30
        while handled < 120 and loop.time() < deadline:
            if started is None and running:
                started = loop.time()
            await asyncio.sleep(0.01)
        elapsed = loop.time() - (started or loop.time())
    finally:
        stage.stop()
        await task
        committed = [await consumer.committed(TopicPartition(source.name, p)) for p in (0, 1)]
        await consumer.stop()
        await publisher.close()

    assert handled == 120
    assert 30 < peak <= 60  # overlapping, and never beyond the bound
    assert elapsed < 3.0  # one at a time would take 36 s; batch by batch of 60, ~0.6 s plus polling
    assert sum(c or 0 for c in committed) == 120


async def test_commit_waits_for_the_slowest_record_before_it(
    kafka_bootstrap: str, unique: Callable[[str], str], make_topics: Callable[..., object]
) -> None:
    """A fast record after a slow one (another conversation) is done first, but the committed
    position stays before the slow one until it finishes: a crash then redelivers it."""
    name = unique("stage")
    source: Topic[MessageReceived] = Topic(unique("in"), MessageReceived, partitions=1)
    await make_topics(source.name, dead_letter_topic(name), partitions=1)  # type: ignore[operator]
    await _produce(kafka_bootstrap, source, [("slow", "slow")])
    await _produce(kafka_bootstrap, source, [("fast", "fast")])
    release = asyncio.Event()
    done: list[str] = []

    async def handler(event: MessageReceived) -> list[Output]:
        if event.payload.message_sid == "slow":
            await release.wait()
        done.append(event.payload.message_sid)
        return []

    stage, consumer, publisher, task = await _run_stage(kafka_bootstrap, name, source, handler, concurrency=8)
    tp = TopicPartition(source.name, 0)
    try:
        for _ in range(600):  # joining the group takes a few seconds on Tansu
            if done == ["fast"]:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # a few loop turns: commits happen each turn
        while_slow = await consumer.committed(tp)
        release.set()
        for _ in range(200):
            if await consumer.committed(tp) == 2:
                break
            await asyncio.sleep(0.05)
        after = await consumer.committed(tp)
    finally:
        stage.stop()
        await task
        await consumer.stop()
        await publisher.close()

    assert done == ["fast", "slow"]
    assert while_slow in (None, 0)
    assert after == 2
