"""The JSONL copy: masked lines, rotation by size and by UTC day, gzip of rotated files, and repair
of what a crash mid-write leaves."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import uuid
from pathlib import Path

from contracts import MessageReceived, MessageReceivedPayload
from runtime.logs import mask_phone
from services.logger.adapters.jsonl import JsonlWriter

CUSTOMER = "whatsapp:+5215512345678"
NOW = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)


def message(body: str = "hola") -> MessageReceived:
    event_id = str(uuid.uuid4())
    return MessageReceived(
        event_id=event_id, occurred_at=NOW, conversation_id=CUSTOMER, correlation_id=event_id,
        payload=MessageReceivedPayload(message_sid=f"SM{uuid.uuid4().hex}", account_sid="AC1", customer=CUSTOMER,
                                       business="whatsapp:+14155238886", body=body, received_at=NOW))


def lines(path: Path) -> list[dict[str, object]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as file:
        return [json.loads(line) for line in file]


class Days:
    def __init__(self) -> None:
        self.day = dt.date(2026, 12, 1)

    def __call__(self) -> dt.date:
        return self.day


def test_lines_mask_the_customers_number_everywhere_but_keep_the_ids(tmp_path: Path) -> None:
    event = message("mi otro número es +52 1 55 8765 4321 y el fijo 5587654321")
    writer = JsonlWriter.open(tmp_path / "events.jsonl")
    writer.write_many([event])
    writer.close()

    [line] = lines(tmp_path / "events.jsonl")
    text = json.dumps(line)
    assert "12345678" not in text and "5587654321" not in text
    assert line["conversation_id"] == mask_phone(CUSTOMER) != CUSTOMER
    assert line["payload"]["customer"] == mask_phone(CUSTOMER)
    assert line["event_id"] == event.event_id and line["payload"]["message_sid"] == event.payload.message_sid


def test_a_file_past_its_size_is_rotated_and_gzipped_and_no_line_is_lost(tmp_path: Path) -> None:
    days = Days()
    writer = JsonlWriter.open(tmp_path / "events.jsonl", max_bytes=2000, today=days)
    events = [message() for _ in range(12)]
    for event in events:
        writer.write_many([event])
    writer.close()

    rotated = sorted(tmp_path.glob("events-2026-12-01-*.jsonl.gz"))
    assert len(rotated) >= 2
    assert not list(tmp_path.glob("events-*.jsonl"))  # every rotated file compressed
    assert all(p.stat().st_size > 0 for p in rotated)
    every = [line for p in [*rotated, tmp_path / "events.jsonl"] for line in lines(p)]
    assert [line["event_id"] for line in every] == [e.event_id for e in events]  # in order, each once
    assert all(len(p.read_bytes()) <= 2000 for p in [tmp_path / "events.jsonl"])


def test_a_new_utc_day_starts_a_new_file(tmp_path: Path) -> None:
    days = Days()
    writer = JsonlWriter.open(tmp_path / "events.jsonl", today=days)
    first = message()
    writer.write_many([first])
    days.day = dt.date(2026, 12, 2)
    second = message()
    writer.write_many([second])
    writer.close()

    assert [line["event_id"] for line in lines(tmp_path / "events-2026-12-01-0001.jsonl.gz")] == [first.event_id]
    assert [line["event_id"] for line in lines(tmp_path / "events.jsonl")] == [second.event_id]


def test_a_file_left_from_an_earlier_day_is_rotated_at_the_first_write(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    writer = JsonlWriter.open(path)
    old = message()
    writer.write_many([old])
    writer.close()
    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).timestamp()
    os.utime(path, (yesterday, yesterday))

    writer = JsonlWriter.open(path)
    writer.write_many([message()])
    writer.close()

    [rotated] = tmp_path.glob("events-*.jsonl.gz")
    assert [line["event_id"] for line in lines(rotated)] == [old.event_id]
    assert rotated.name.startswith(f"events-{dt.datetime.fromtimestamp(yesterday, dt.UTC).date().isoformat()}-")


def test_a_line_cut_by_a_crash_is_removed_and_what_a_crash_left_is_finished(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    kept = message()
    writer = JsonlWriter.open(path)
    writer.write_many([kept])
    writer.close()
    with path.open("ab") as file:  # the crash: half a line
        file.write(b'{"event_id": "half')
    (tmp_path / "events-2026-11-30-0001.jsonl").write_text('{"event_id": "rotated"}\n')  # renamed, not gzipped
    (tmp_path / "events-2026-11-30-0001.jsonl.gz.tmp").write_bytes(b"\x1f\x8b partial")

    writer = JsonlWriter.open(path)
    after = message()
    writer.write_many([after])
    writer.close()

    assert [line["event_id"] for line in lines(path)] == [kept.event_id, after.event_id]
    assert [line["event_id"] for line in lines(tmp_path / "events-2026-11-30-0001.jsonl.gz")] == ["rotated"]
    assert not list(tmp_path.glob("*.tmp")) and not (tmp_path / "events-2026-11-30-0001.jsonl").exists()
