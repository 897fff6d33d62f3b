"""Sends WhatsApp messages with the `twilio` library, retrying what Twilio says is transient.

The responder is the only process that talks to Twilio's Messages API. Each message's
StatusCallback URL names the chain it belongs to (`?correlation_id=<id>`): Twilio calls that
exact URL back and signs it, query included, so ingress reads the chain from it.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

from prometheus_client import Counter
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from runtime.resilience import backoff_delay

log = logging.getLogger(__name__)

TWILIO_SENDS = Counter("responder_twilio_sends_total", "Twilio send attempts by result", ["result"])

T = TypeVar("T")

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
# Twilio calls block (the library's HTTP client is synchronous), so they run on threads of their
# own: asyncio's default pool has 6 on 2 cores, far fewer than the conversations a responder
# processes side by side, and each call waits ~100-300 ms on Twilio's API.
MAX_CONCURRENT_CALLS = 32
CORRELATION_PARAM = "correlation_id"  # read back by ingress from the signed callback URL
FIND_SENT_LIMIT = 50


def twilio_client(account_sid: str, auth_token: str, *, api_base_url: str | None) -> Client:
    """The Twilio REST client, pointed at Twilio or (demo, tests) at a server speaking its wire format."""
    client = Client(account_sid, auth_token)
    if api_base_url:
        client.api.base_url = api_base_url.rstrip("/")
    return client


def callback_url(base: str, correlation_id: str | None) -> str:
    """`base` with `correlation_id=<id>` appended to its query (its own query kept as written)."""
    if not correlation_id:
        return base
    parts = urlsplit(base)
    added = urlencode({CORRELATION_PARAM: correlation_id})
    return urlunsplit(parts._replace(query=f"{parts.query}&{added}" if parts.query else added))


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
        self._correlation_id: str | None = None
        self._threads = ThreadPoolExecutor(max_workers=MAX_CONCURRENT_CALLS, thread_name_prefix="twilio")

    def for_chain(self, correlation_id: str) -> TwilioSender:
        """This sender (same client and threads), its messages' delivery callbacks naming the chain.

        Close the original, not the copies: they share its threads.
        """
        chained = copy.copy(self)
        chained._correlation_id = correlation_id
        return chained

    async def _call(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, fn, *args)

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)

    @classmethod
    def create(cls, account_sid: str, auth_token: str, *, api_base_url: str | None, attempts: int,
               backoff_s: float, status_callback: str | None) -> TwilioSender:
        client = twilio_client(account_sid, auth_token, api_base_url=api_base_url)
        return cls(client, attempts=attempts, backoff_s=backoff_s, status_callback=status_callback)

    async def send(self, *, to: str, from_: str, body: str, correlation_id: str | None = None,
                   attempts: int | None = None) -> SendResult:
        """Send `body`, retrying 429, 5xx and connection errors up to `attempts` (default: the sender's)."""
        error_code: int | None = None
        error_message = ""
        attempts = attempts or self._attempts
        callback = callback_url(self._status_callback, correlation_id or self._correlation_id) \
            if self._status_callback else None
        for attempt in range(1, attempts + 1):
            try:
                message = await self._call(self._create, to, from_, body, callback)
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
            if attempt < attempts:
                await asyncio.sleep(backoff_delay(attempt, self._backoff_s, 30.0, "equal"))
        TWILIO_SENDS.labels("failed").inc()
        return SendResult(None, attempts, error_code, str(error_message))

    def _create(self, to: str, from_: str, body: str, callback: str | None):  # type: ignore[no-untyped-def]
        kwargs = {"to": to, "from_": from_, "body": body}
        if callback:
            kwargs["status_callback"] = callback
        return self._client.messages.create(**kwargs)

    async def find_sent(self, *, to: str, from_: str, body: str, since: datetime) -> str | None:
        """The sid of a message with this body that went to `to` at or after `since`, if Twilio has one.

        Twilio's `DateSent>` filter takes a day (`YYYY-MM-DD`, GMT), so the list starts at midnight
        of `since`'s day and each message's `date_sent` is compared with `since` itself: a message
        with the same text sent earlier (the same fixed reply yesterday, or this morning) does not
        count. `date_sent` has whole seconds, so `since` is truncated to its second: a message sent
        in the claim's own second counts (one sent in that second before the claim would too).
        """
        since = since.astimezone(UTC)
        earliest = since.replace(microsecond=0)
        day = since.date().isoformat()

        def lookup() -> str | None:
            for message in self._client.messages.list(to=to, from_=from_, date_sent_after=day,
                                                      limit=FIND_SENT_LIMIT):
                sent_at = message.date_sent or message.date_created  # a queued message has no date_sent yet
                if message.body == body and sent_at is not None and sent_at >= earliest:
                    return str(message.sid)
            return None

        return await self._call(lookup)
