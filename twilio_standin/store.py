"""In-memory record of the messages the stand-in accepted."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

API_VERSION = "2010-04-01"


@dataclass(frozen=True, slots=True)
class ContentChoice:
    """A button of a quick reply or an item of a list picker, as sent (variables filled)."""

    id: str
    title: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """One outbound message, with the fields Twilio keeps for it."""

    sid: str
    account_sid: str
    to: str
    from_: str
    body: str
    status: str
    date_created: datetime
    date_updated: datetime
    date_sent: datetime
    messaging_service_sid: str | None = None
    media_urls: tuple[str, ...] = ()
    status_callback: str | None = None
    content_sid: str | None = None
    content_type: str | None = None
    """``twilio/quick-reply``, ``twilio/list-picker`` or ``twilio/text`` when sent with a ContentSid."""
    choices: tuple[ContentChoice, ...] = ()
    button: str | None = None
    """The list picker's button label."""

    @property
    def uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}.json"

    @property
    def num_segments(self) -> int:
        if len(self.body) <= 160:
            return 1
        return -(-len(self.body) // 153)


def new_message_sid() -> str:
    return "SM" + secrets.token_hex(16)


def utc_now() -> datetime:
    """Twilio's timestamps have whole seconds."""
    return datetime.now(UTC).replace(microsecond=0)


class MessageStore:
    """Messages in creation order; safe to share between the tasks of one event loop."""

    def __init__(self) -> None:
        self._messages: list[MessageRecord] = []
        self._index: dict[str, int] = {}
        self._lock = asyncio.Lock()

    async def add(self, record: MessageRecord) -> None:
        async with self._lock:
            self._index[record.sid] = len(self._messages)
            self._messages.append(record)

    async def get(self, sid: str) -> MessageRecord | None:
        async with self._lock:
            position = self._index.get(sid)
            return None if position is None else self._messages[position]

    async def set_status(self, sid: str, status: str) -> MessageRecord | None:
        """Update a message's status; ``None`` when it was cleared meanwhile."""
        async with self._lock:
            position = self._index.get(sid)
            if position is None:
                return None
            updated = dataclasses.replace(self._messages[position], status=status, date_updated=utc_now())
            self._messages[position] = updated
            return updated

    async def select(self, predicate: Callable[[MessageRecord], bool]) -> list[MessageRecord]:
        """Matching messages, oldest first."""
        async with self._lock:
            return [record for record in self._messages if predicate(record)]

    async def clear(self) -> None:
        async with self._lock:
            self._messages.clear()
            self._index.clear()
