"""Sends WhatsApp messages with the `twilio` library, retrying what Twilio says is transient.

The responder is the only process that talks to Twilio's Messages API. Each message's
StatusCallback URL names the chain it belongs to (`?correlation_id=<id>`): Twilio calls that
exact URL back and signs it, query included, so ingress reads the chain from it.

Error classes (https://www.twilio.com/docs/api/errors):

- retried with backoff: HTTP 429 and Twilio's 20429 (too many requests), 5xx, connection errors;
  after the last attempt the result says `gave_up`;
- final, returned at once with Twilio's code (`final`): every other 4xx, among them 21610 (the
  recipient opted out: STOP), 63016 (outside the 24-hour window: only an approved template may
  go), 63014 (the user blocked the business), 21211 (invalid To), 21617 (body over 1,600).

A 5xx or a dropped connection may hide a message Twilio accepted: the retry can then send it twice.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp
from prometheus_client import Counter
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

# `Client.messages` imports the whole REST API (~0.3 s of CPU) on first use: load it with the process,
# not while the first replies wait.
from twilio.rest.api.v2010.account import message as _messages_api  # noqa: F401

from runtime.resilience import backoff_delay

log = logging.getLogger(__name__)

T = TypeVar("T")

OPTED_OUT = 21610
OUTSIDE_WINDOW = 63016
BLOCKED_BY_USER = 63014
INVALID_TO = 21211
BODY_TOO_LONG = 21617
INVALID_CONTENT_SID = 21655
TOO_MANY_REQUESTS = 20429
KNOWN_CODES = frozenset({OPTED_OUT, OUTSIDE_WINDOW, BLOCKED_BY_USER, INVALID_TO, BODY_TOO_LONG, INVALID_CONTENT_SID,
                         TOO_MANY_REQUESTS})
CONNECTION_ERROR = "connection"

TWILIO_SENDS = Counter("responder_twilio_sends_total", "Twilio send attempts by result and Twilio error code",
                       ["result", "code"])
"""result: sent | retry | rejected (final code) | gave_up (retries exhausted); code: `code_label`."""
TIMEOUT_S = 15.0  # one Messages API call (Twilio answers in ~100-300 ms)
CORRELATION_PARAM = "correlation_id"  # read back by ingress from the signed callback URL
FIND_SENT_LIMIT = 50


def twilio_client(account_sid: str, auth_token: str, *, api_base_url: str | None,
                  http_client: AsyncTwilioHttpClient | None = None) -> Client:
    """The Twilio REST client, pointed at Twilio or (demo, tests) at a server speaking its wire format."""
    client = Client(account_sid, auth_token, http_client=http_client)
    if api_base_url:
        client.api.base_url = api_base_url.rstrip("/")
    return client


class _Connection:
    """The asynchronous Twilio client (aiohttp underneath), made on first use: aiohttp's session must be
    created inside the running event loop. Shared by a sender and its `for_chain` copies."""

    def __init__(self, account_sid: str, auth_token: str, api_base_url: str | None) -> None:
        self._args = (account_sid, auth_token, api_base_url)
        self._http: AsyncTwilioHttpClient | None = None
        self._client: Client | None = None

    def client(self) -> Client:
        if self._client is None:
            account_sid, auth_token, api_base_url = self._args
            self._http = AsyncTwilioHttpClient(timeout=TIMEOUT_S)
            self._client = twilio_client(account_sid, auth_token, api_base_url=api_base_url, http_client=self._http)
        return self._client

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = self._client = None


def callback_url(base: str, correlation_id: str | None) -> str:
    """`base` with `correlation_id=<id>` appended to its query (its own query kept as written)."""
    if not correlation_id:
        return base
    parts = urlsplit(base)
    added = urlencode({CORRELATION_PARAM: correlation_id})
    return urlunsplit(parts._replace(query=f"{parts.query}&{added}" if parts.query else added))


def code_label(code: int | None, *, connection: bool = False) -> str:
    """The metric label of an error: a known Twilio code, "connection", "none" (no error) or "other"."""
    if connection:
        return CONNECTION_ERROR
    if code is None:
        return "none"
    return str(code) if code in KNOWN_CODES else "other"


def retryable(status: int, code: int | None) -> bool:
    """Whether Twilio's answer is transient: 429/20429 and 5xx. Any other 4xx is final."""
    return status == 429 or status >= 500 or code == TOO_MANY_REQUESTS


@dataclass(frozen=True)
class SendResult:
    sid: str | None
    attempts: int
    error_code: int | None = None
    error_message: str | None = None
    final: bool = False
    """Twilio refused the message (a 4xx): retrying, now or on a redelivery, cannot help."""

    @property
    def ok(self) -> bool:
        return self.sid is not None

    @property
    def gave_up(self) -> bool:
        """Transient errors (429, 5xx, connection) until the attempts ran out: a later try may work."""
        return not self.ok and not self.final

    @property
    def opted_out(self) -> bool:
        """The recipient unsubscribed (21610): nothing may be sent until they opt back in."""
        return self.error_code == OPTED_OUT

    @property
    def outside_window(self) -> bool:
        """More than 24 h since the customer's last message (63016): only an approved template may go."""
        return self.error_code == OUTSIDE_WINDOW


class TwilioSender:
    """Sends with the `twilio` library's asynchronous calls (`create_async`, `list_async`): no thread
    per call, so the number of sends in flight is the stage's concurrency, not a thread pool's size."""

    def __init__(self, connection: _Connection, *, attempts: int, backoff_s: float,
                 status_callback: str | None) -> None:
        self._connection = connection
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._status_callback = status_callback
        self._correlation_id: str | None = None

    def for_chain(self, correlation_id: str) -> TwilioSender:
        """This sender (same client), its messages' delivery callbacks naming the chain.

        Close the original, not the copies: they share its client.
        """
        chained = copy.copy(self)
        chained._correlation_id = correlation_id
        return chained

    async def aclose(self) -> None:
        await self._connection.aclose()

    @classmethod
    def create(cls, account_sid: str, auth_token: str, *, api_base_url: str | None, attempts: int,
               backoff_s: float, status_callback: str | None) -> TwilioSender:
        return cls(_Connection(account_sid, auth_token, api_base_url), attempts=attempts, backoff_s=backoff_s,
                   status_callback=status_callback)

    async def send(self, *, to: str, from_: str, body: str | None = None, content_sid: str | None = None,
                   content_variables: str | None = None, correlation_id: str | None = None,
                   attempts: int | None = None) -> SendResult:
        """Send `body`, or the Content `content_sid` filled with `content_variables` (a JSON object as a
        string, `{"1": "..."}`), retrying 429, 5xx and connection errors up to `attempts` (default:
        the sender's); any other Twilio error is final and returned at once with its code."""
        if body is None and content_sid is None:
            raise ValueError("send needs a body or a content_sid")
        fields: dict[str, str] = {"to": to, "from_": from_}
        if content_sid is not None:
            fields["content_sid"] = content_sid
            if content_variables is not None:
                fields["content_variables"] = content_variables
        else:
            fields["body"] = body or ""
        if self._status_callback:
            fields["status_callback"] = callback_url(self._status_callback, correlation_id or self._correlation_id)
        error_code: int | None = None
        error_message = ""
        label = "none"
        attempts = attempts or self._attempts
        for attempt in range(1, attempts + 1):
            try:
                message = await self._connection.client().messages.create_async(**fields)
            except TwilioRestException as exc:
                error_code, error_message, label = exc.code, str(exc.msg), code_label(exc.code)
                if not retryable(exc.status, exc.code):
                    TWILIO_SENDS.labels("rejected", label).inc()
                    return SendResult(None, attempt, error_code, error_message, final=True)
            except (TwilioException, OSError, aiohttp.ClientError, TimeoutError) as exc:  # no answer
                error_code, error_message = None, f"{type(exc).__name__}: {exc}"
                label = code_label(None, connection=True)
            else:
                TWILIO_SENDS.labels("sent", "none").inc()
                return SendResult(str(message.sid), attempt)
            if attempt < attempts:
                TWILIO_SENDS.labels("retry", label).inc()
                await asyncio.sleep(backoff_delay(attempt, self._backoff_s, 30.0, "equal"))
        TWILIO_SENDS.labels("gave_up", label).inc()
        return SendResult(None, attempts, error_code, error_message)

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

        messages = await self._connection.client().messages.list_async(to=to, from_=from_, date_sent_after=day,
                                                                         limit=FIND_SENT_LIMIT)
        for message in messages:
            sent_at = message.date_sent or message.date_created  # a queued message has no date_sent yet
            if message.body == body and sent_at is not None and sent_at >= earliest:
                return str(message.sid)
        return None
