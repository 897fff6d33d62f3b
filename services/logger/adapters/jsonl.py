"""The JSONL copy of the event log: one event per line, appended and flushed."""

from __future__ import annotations

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

    def write(self, event: Event) -> None:
        self._file.write(topic_for(event.type).encode(event).decode() + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()
