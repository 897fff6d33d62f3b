"""The JSONL copy of the event log: one event per line, phone numbers masked, in daily files rotated
by size too, the rotated ones gzipped.

    events.jsonl                       the file being written (LOGGER_JSONL_PATH)
    events-2026-12-01-0001.jsonl.gz    a rotated file: the UTC day of its lines, then a counter

Each batch is appended with one write and flushed. A file is rotated when the next batch would take
it past `max_bytes`, or when the UTC day changed since it was last written (at start too, from its
modification time). The rotated file is renamed, then gzipped in a background thread (to `.gz.tmp`,
renamed when complete) so that the stage never waits for compression.

Crash safety: a crash mid-write can leave the last line cut. At start the writer cuts the file back
to its last complete line (that event is in PostgreSQL, the log; the JSONL copy is a convenience),
compresses any rotated file left uncompressed and removes half-written `.gz.tmp` files. Every
complete line stays readable.
"""

from __future__ import annotations

import datetime as dt
import gzip
import logging
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson

from contracts import topic_for
from contracts.events import Event
from runtime.logs import mask_phone

log = logging.getLogger(__name__)

MAX_BYTES = 100 * 2**20
_PHONE_FIELDS = frozenset({"conversation_id", "customer", "to", "from", "wa_id"})
_FREE_TEXT_FIELDS = frozenset({"body", "text", "user_text", "summary"})


def masked(event: Event) -> bytes:
    """The event's JSON line with the customer's number masked wherever it appears (addresses and
    numbers typed into free text)."""
    document = orjson.loads(topic_for(event.type).encode(event))
    return orjson.dumps(_mask(document)) + b"\n"


def _mask(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _mask(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, key) for v in value]
    if isinstance(value, str) and (key in _PHONE_FIELDS or key in _FREE_TEXT_FIELDS):
        return mask_phone(value)
    return value


class JsonlWriter:
    def __init__(self, path: Path, *, max_bytes: int = MAX_BYTES,
                 today: Callable[[], dt.date] = lambda: dt.datetime.now(dt.UTC).date()) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be >= 1")
        self.path = path
        self.max_bytes = max_bytes
        self._today = today
        self._compressing: list[threading.Thread] = []
        self._file = path.open("ab")
        self._size = self._file.tell()
        self._day = _modified_day(path) if self._size else today()

    @classmethod
    def open(cls, path: Path, *, max_bytes: int = MAX_BYTES,
             today: Callable[[], dt.date] = lambda: dt.datetime.now(dt.UTC).date()) -> JsonlWriter:
        """The writer of `path`, after repairing what a crash left behind."""
        path.parent.mkdir(parents=True, exist_ok=True)
        _cut_partial_line(path)
        for leftover in path.parent.glob(f"{path.stem}-*{path.suffix}.gz.tmp"):
            leftover.unlink()
        writer = cls(path, max_bytes=max_bytes, today=today)
        for rotated in sorted(path.parent.glob(f"{path.stem}-*{path.suffix}")):
            writer._compress_later(rotated)
        return writer

    def write_many(self, events: Iterable[Event]) -> None:
        data = b"".join(masked(event) for event in events)
        if not data:
            return
        if self._size and (self._size + len(data) > self.max_bytes or self._today() != self._day):
            self.rotate()
        self._file.write(data)
        self._file.flush()
        self._size += len(data)

    def rotate(self) -> Path:
        """Close the current file, rename it after its day, start a new one; gzip the old one aside."""
        self._file.close()
        rotated = self._rotated_name(self._day)
        os.replace(self.path, rotated)
        self._file = self.path.open("ab")
        self._size = 0
        self._day = self._today()
        self._compress_later(rotated)
        return rotated

    def close(self, *, wait: bool = True) -> None:
        self._file.close()
        if wait:
            for thread in self._compressing:
                thread.join()

    def _rotated_name(self, day: dt.date) -> Path:
        taken = [int(m.group(1)) for p in self.path.parent.glob(f"{self.path.stem}-{day.isoformat()}-*")
                 if (m := re.search(r"-(\d{4})\.", p.name))]
        return self.path.with_name(f"{self.path.stem}-{day.isoformat()}-{max(taken, default=0) + 1:04d}"
                                   f"{self.path.suffix}")

    def _compress_later(self, rotated: Path) -> None:
        thread = threading.Thread(target=_gzip, args=(rotated,), name=f"gzip {rotated.name}", daemon=True)
        self._compressing = [t for t in self._compressing if t.is_alive()] + [thread]
        thread.start()


def _gzip(path: Path) -> None:
    target = path.with_name(path.name + ".gz")
    partial = path.with_name(path.name + ".gz.tmp")
    try:
        with path.open("rb") as source, gzip.open(partial, "wb") as sink:
            shutil.copyfileobj(source, sink, 1 << 20)
        os.replace(partial, target)
        path.unlink()
    except OSError as exc:  # the uncompressed file stays; the next start compresses it
        log.warning("could not compress %s: %s", path, exc)


def _modified_day(path: Path) -> dt.date:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).date()


def _cut_partial_line(path: Path) -> None:
    """Cut `path` back to its last complete line (a crash mid-write leaves the last one cut)."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb+") as file:
        size = file.seek(0, os.SEEK_END)
        file.seek(size - 1)
        if file.read(1) == b"\n":
            return
        keep = 0
        block = 1 << 16
        position = size
        while position > 0:  # find the last newline, reading backwards
            start = max(0, position - block)
            file.seek(start)
            chunk = file.read(position - start)
            if (index := chunk.rfind(b"\n")) >= 0:
                keep = start + index + 1
                break
            position = start
        file.truncate(keep)
        log.warning("%s ended in a cut line (a crash mid-write): cut back to %d bytes", path, keep)
