"""Sends WhatsApp messages with the `twilio` library, retrying what Twilio says is transient."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from prometheus_client import Counter
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from runtime.resilience import backoff_delay
from runtime.twilio_rest import twilio_client

log = logging.getLogger(__name__)

TWILIO_SENDS = Counter("responder_twilio_sends_total", "Twilio send attempts by result", ["result"])

T = TypeVar("T")

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
# Twilio calls block (the library's HTTP client is synchronous), so they run on threads of their
# own: asyncio's default pool has 6 on 2 cores, far fewer than the conversations a responder
# processes side by side, and each call waits ~100-300 ms on Twilio's API.
MAX_CONCURRENT_CALLS = 32


@dataclass(frozen=True)
class SendResult:
    sid: str | None
    attempts: int
    error_code: int | None = None
    error_message: str | None = None

    @property
    def ok(self) -> bool:
        return self.sid is not None


class TwilioSender:
    def __init__(self, client: Client, *, attempts: int, backoff_s: float, status_callback: str | None) -> None:
        self._client = client
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._status_callback = status_callback
        self._threads = ThreadPoolExecutor(max_workers=MAX_CONCURRENT_CALLS, thread_name_prefix="twilio")

    async def _call(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, fn, *args)

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)

    @classmethod
    def create(cls, account_sid: str, auth_token: str, *, api_base_url: str | None, attempts: int,
               backoff_s: float, status_callback: str | None) -> TwilioSender:
        client = twilio_client(account_sid, auth_token, api_base_url=api_base_url)
        return cls(client, attempts=attempts, backoff_s=backoff_s, status_callback=status_callback)

    async def send(self, *, to: str, from_: str, body: str) -> SendResult:
        error_code: int | None = None
        error_message = ""
        for attempt in range(1, self._attempts + 1):
            try:
                message = await self._call(self._create, to, from_, body)
            except TwilioRestException as exc:
                error_code, error_message = exc.code, exc.msg
                if exc.status not in RETRYABLE_STATUS:
                    TWILIO_SENDS.labels("rejected").inc()
                    return SendResult(None, attempt, error_code, str(error_message))
            except (TwilioException, OSError) as exc:  # connection errors surface as requests' OSError
                error_code, error_message = None, f"{type(exc).__name__}: {exc}"
            else:
                TWILIO_SENDS.labels("sent").inc()
                return SendResult(message.sid, attempt)
            TWILIO_SENDS.labels("retry").inc()
            if attempt < self._attempts:
                await asyncio.sleep(backoff_delay(attempt, self._backoff_s, 30.0, "equal"))
        TWILIO_SENDS.labels("failed").inc()
        return SendResult(None, self._attempts, error_code, str(error_message))

    def _create(self, to: str, from_: str, body: str):  # type: ignore[no-untyped-def]
        kwargs = {"to": to, "from_": from_, "body": body}
        if self._status_callback:
            kwargs["status_callback"] = self._status_callback
        return self._client.messages.create(**kwargs)

    async def find_sent(self, *, to: str, from_: str, body: str, since: datetime) -> str | None:
        """The sid of a message already sent with this body since `since`, if Twilio has one."""
        day = (since - timedelta(days=1)).astimezone(UTC)

        def lookup() -> str | None:
            for message in self._client.messages.list(to=to, from_=from_, date_sent_after=day, limit=50):
                if message.body == body:
                    return str(message.sid)
            return None

        return await self._call(lookup)
