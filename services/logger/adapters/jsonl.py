"""The JSONL copy of the event log: one event per line, each batch appended with one write and flushed."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from contracts import topic_for
from contracts.events import Event


class JsonlWriter:
    def __init__(self, file: TextIO) -> None:
        self._file = file

    @classmethod
    def open(cls, path: Path) -> JsonlWriter:
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(path.open("a", encoding="utf-8"))

    def write_many(self, events: Iterable[Event]) -> None:
        lines = "".join(topic_for(event.type).encode(event).decode() + "\n" for event in events)
        if lines:
            self._file.write(lines)
            self._file.flush()

    def close(self) -> None:
        self._file.close()
