"""The actions entrypoint: a faust app with one agent over `intent.detected`, dialogue state in a Table.

The Table's changelog lives in Kafka (`actions-dialogue-changelog`, co-partitioned with
`intent.detected`), so a restarted or rescaled worker recovers every conversation from Kafka
alone. Per record the agent: reads the conversation's state, calls the pure-ish `handle`,
publishes `action.completed` and waits for the broker's acknowledgement, and only then writes
the new state and acknowledges the record to faust. A crash between the two replays the record:
the business call carries an idempotency key derived from the event id and the output has a
derived id, so nothing is done twice; a state that already applied the event skips it.

Conversations are processed side by side (`ACTIONS_CONCURRENCY` records in flight, in
`runtime.stage.Lanes`), each conversation's records strictly in order. The stream does not
acknowledge records itself: each is acknowledged when it is done, and faust commits a
partition's offset only up to the first record not yet acknowledged, so a commit never covers a
record whose effects and outputs are not done. On a rebalance faust waits for every record in
flight to be acknowledged before it gives a partition away.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import faust
from faust.types import EventT, StreamT

from contracts import INTENT_DETECTED
from contracts.topics import DIALOGUE_CHANGELOG
from runtime.kafka import KAFKA_MAX_BATCH_BYTES, TANSU_MAX_BATCH_BYTES, Publisher, fetch_wait_ms
from runtime.ops import http_server, ops_app
from runtime.stage import Lanes, Output, RecordProcessor, record_lag
from services.actions.handler import SOURCES, STAGE, ActionsDeps, ActionsInput, handle
from services.actions.settings import ActionsSettings
from services.actions.state import DialogueState, decode_state, encode_state

log = logging.getLogger(__name__)

APP_ID = "actions"
SOURCE_NAMES = frozenset(topic.name for topic in SOURCES)
TABLE = "dialogue"
assert DIALOGUE_CHANGELOG == f"{APP_ID}-{TABLE}-changelog"


def faust_settings(settings: ActionsSettings) -> dict[str, Any]:
    on_tansu = settings.kafka_profile == "tansu"
    brokers = ";".join(f"kafka://{b.strip()}" for b in settings.kafka_bootstrap_servers.split(","))
    return {
        "broker": brokers,
        "store": "memory://",
        "topic_partitions": INTENT_DETECTED.partitions,
        "topic_allow_declare": True,
        "producer_acks": -1,
        # DESIGN.md section 9: on Tansu one record per batch, or Table recovery reads wrong end offsets.
        "producer_max_batch_size": TANSU_MAX_BATCH_BYTES if on_tansu else KAFKA_MAX_BATCH_BYTES,
        "broker_session_timeout": settings.kafka_session_timeout_ms / 1000,
        "broker_rebalance_timeout": settings.kafka_rebalance_timeout_ms / 1000,
        "broker_heartbeat_interval": max(1.0, settings.kafka_session_timeout_ms / 5000),
        # Commit every second, or sooner after COMMIT_EVERY records: faust's fetcher commits inline
        # before it hands over the next record, so a commit per record caps the stage at one broker
        # round trip per record. A crash redelivers at most the records since (idempotently).
        "broker_commit_every": COMMIT_EVERY,
        "broker_commit_interval": 1.0,
        "consumer_auto_offset_reset": "earliest",
        "processing_guarantee": "at_least_once",
        "table_standby_replicas": 0,
        "web_enabled": False,
        "value_serializer": "json",
        "key_serializer": "json",
    }


COMMIT_EVERY = 200
STALL_AFTER_S = 60.0
"""Liveness fails when one record has been in the handler this long, or when records wait and none
was processed for this long."""


class DialogueWorker:
    """Everything the agent needs, built on faust's event loop once the worker starts."""

    def __init__(self, app: faust.App, settings: ActionsSettings, deps: ActionsDeps, *,
                 publisher: Publisher | None = None) -> None:
        self.app = app
        self.settings = settings
        self.deps = deps
        self.ready = asyncio.Event()
        self.processor: RecordProcessor[ActionsInput] | None = None
        self.publisher = publisher
        self.crashed = False
        self.last_progress = time.monotonic()
        self.work_waiting = False
        self.joined = False  # the consumer joined its group once (see `consuming`)
        self.in_handler: dict[int, float] = {}  # id of each record in the handler → monotonic time it started
        self._pending: dict[str, DialogueState] = {}  # conversation → state its record in flight leads to
        self._positions: dict[Any, int] = {}  # partition → offset after the last record processed
        self.source = app.topic(*(topic.name for topic in SOURCES), key_type=bytes, value_type=bytes,
                                key_serializer="raw", value_serializer="raw")
        # value_type bytes: the raw serializer; the value is state.encode_state's JSON, kept as bytes
        self.table = app.Table(TABLE, default=None, partitions=INTENT_DETECTED.partitions, value_type=bytes)
        app.agent(self.source, name="dialogue")(self.run)
        app.on_partitions_assigned.connect(self.fetch_promptly)
        app.task(self.start_side_services)
        app.timer(5.0)(self.watch)

    def alive(self, *, now: float | None = None) -> bool:
        """Liveness: the agent is consuming, or idle with nothing to consume.

        Not alive when the agent crashed, when one record has been in the handler longer than
        `STALL_AFTER_S`, or when records wait on an assigned partition and none was processed
        for that long (a stalled stream).
        """
        now = time.monotonic() if now is None else now
        if self.crashed:
            return False
        if self.busy_since is not None and now - self.busy_since > STALL_AFTER_S:
            return False
        return not (self.work_waiting and now - self.last_progress > STALL_AFTER_S)

    async def watch(self) -> None:
        """Every 5 s: consumer lag per partition, and whether records wait to be processed."""
        waiting = False
        assigned = self.app.consumer.assignment()
        for tp in list(self._positions):
            if tp not in assigned:
                del self._positions[tp]
        for tp in assigned:
            if tp.topic not in SOURCE_NAMES:
                continue
            highwater = self.app.consumer.highwater(tp)
            position = self._positions.get(tp)
            if position is None:
                position = await self.app.consumer.position(tp)
            if highwater is not None and position is not None:
                record_lag(STAGE, tp, highwater=highwater, position=position)
                waiting = waiting or highwater > position
        self.work_waiting = waiting

    async def start_side_services(self) -> None:
        if self.publisher is None:
            self.publisher = await Publisher.connect(self.settings, stage=STAGE)
        self.processor = RecordProcessor(name=STAGE, sources=list(SOURCES), handler=self.handle,
                                         publisher=self.publisher, max_attempts=self.settings.max_attempts,
                                         retry_attempts=self.settings.retry_attempts)
        self.ready.set()
        checks = {"kafka": self.publisher.ready, "consumer_group": self.consuming,
                  "business_api": self.deps.business_api.ready}
        server = http_server(ops_app(service=STAGE, ready_checks=checks, alive=self.alive),
                             host=self.settings.http_host, port=self.settings.http_port)
        log.info("actions serving http://%s:%d", self.settings.http_host, self.settings.http_port)
        await server.serve()

    async def consuming(self) -> bool:
        """Readiness: the worker joined its group and its Table is recovered (before, nothing it is sent
        would be processed: on Tansu a join takes seconds)."""
        return self.joined and not self.app.in_recovery

    async def fetch_promptly(self, *_: Any, **__: Any) -> None:
        """Give faust's consumer the fetch wait of `runtime.kafka.fetch_wait_ms` (on Tansu 50 ms instead
        of the 1,500 ms faust hard-codes, which Tansu waits out before it answers: ~400 ms per message
        at p50). faust has no setting for it, so the running aiokafka consumer's fetcher is told,
        once it exists (after the first assignment)."""
        self.joined = True
        consumer = getattr(getattr(self.app.consumer, "_thread", None), "_consumer", None)
        fetcher = getattr(consumer, "_fetcher", None)
        if fetcher is None or not hasattr(fetcher, "_fetch_max_wait_ms"):
            log.warning("faust's consumer has no fetcher to tune: fetches keep faust's 1.5 s wait")
            return
        fetcher._fetch_max_wait_ms = fetch_wait_ms(self.settings)

    def state_of(self, conversation_id: str) -> DialogueState:
        stored = self.table.get(conversation_id)
        if stored is None:
            return DialogueState.empty(conversation_id)
        return decode_state(stored)

    @property
    def busy_since(self) -> float | None:
        """Monotonic time the longest-running record in the handler started; None when none is."""
        return min(self.in_handler.values(), default=None)

    async def handle(self, event: ActionsInput) -> list[Output]:
        new_state, outputs = await handle(self.state_of(event.conversation_id), event, self.deps)
        self._pending[event.conversation_id] = new_state  # one record per conversation is in flight
        return outputs

    async def run(self, stream: StreamT[bytes]) -> None:
        await self.ready.wait()
        records: StreamT[bytes] = stream.noack()  # type: ignore[attr-defined]  # faust.Stream has it, StreamT lacks it
        lanes: Lanes[tuple[Any, bytes | None], EventT[bytes]] = Lanes(
            lambda event: self._process(records, event), on_failure=self._failed)
        try:
            event: EventT[bytes]
            async for event in records.events():
                await lanes.wait_for_room(self.settings.concurrency)
                if self.crashed:
                    raise RuntimeError("a record's processing failed outside the error policy")
                lanes.submit((event.message.tp, event.message.key), event)
        except BaseException:
            self.crashed = True
            raise
        finally:
            await lanes.close()

    async def _process(self, records: StreamT[bytes], event: EventT[bytes]) -> None:
        """One record: handle and publish, then write the state it leads to and acknowledge it."""
        assert self.processor is not None
        message = event.message
        self.in_handler[id(event)] = time.monotonic()
        try:
            done = await self.processor.process(message)
            if done is not None and (new_state := self._pending.pop(done.conversation_id, None)) is not None:
                self._store(message.partition, new_state)
        finally:
            del self.in_handler[id(event)]
        await records.ack(event)
        self._positions[message.tp] = max(self._positions.get(message.tp, 0), message.offset + 1)
        self.last_progress = time.monotonic()

    def _store(self, partition: int, state: DialogueState) -> None:
        """Write the conversation's state and its changelog record to `partition`: the source
        record's, as faust does for a write made inside the stream (the changelog is co-partitioned
        with the sources), named here because the write happens in the record's lane task."""
        value = encode_state(state)
        self.table.send_changelog(partition, state.conversation_id, value)
        self.table.data[state.conversation_id] = value

    def _failed(self, exc: BaseException) -> None:
        log.error("actions: a record's processing failed outside the error policy: %s", exc)
        self.crashed = True  # liveness fails and the agent stops at its next record


def create_worker(settings: ActionsSettings, deps: ActionsDeps, *,
                  publisher: Publisher | None = None) -> DialogueWorker:
    """The faust app and its dialogue agent; `main.bootstrap` builds `deps` from settings."""
    return DialogueWorker(faust.App(APP_ID, **faust_settings(settings)), settings, deps, publisher=publisher)
