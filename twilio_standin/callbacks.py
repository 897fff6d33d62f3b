"""Twilio-style message status callbacks: signed form POSTs, one per status, in order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import httpx
from twilio.request_validator import RequestValidator

from runtime.http import pooled_client
from twilio_standin.store import API_VERSION, MessageRecord, MessageStore

logger = logging.getLogger(__name__)

WHATSAPP_PREFIX = "whatsapp:"
# Callbacks in flight at once. httpcore scans its whole queue for every request it assigns, so a
# burst of thousands of queued callbacks costs quadratic CPU (31 ms per message at 800 messages);
# a short queue keeps it linear, and real Twilio paces its callbacks too.
MAX_CALLBACKS_IN_FLIGHT = 16


def callback_params(record: MessageRecord, status: str) -> dict[str, str]:
    """The form fields Twilio posts to a message's StatusCallback URL."""
    params = {
        "MessageSid": record.sid,
        "SmsSid": record.sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": record.account_sid,
        "From": record.from_,
        "To": record.to,
        "ApiVersion": API_VERSION,
    }
    if record.messaging_service_sid:
        params["MessagingServiceSid"] = record.messaging_service_sid
    if record.to.startswith(WHATSAPP_PREFIX):
        params["ChannelPrefix"] = "whatsapp"
        params["ChannelToAddress"] = record.to.removeprefix(WHATSAPP_PREFIX)
        params["StructuredMessage"] = "false"
    return params


def sign(auth_token: str, url: str, params: dict[str, str]) -> str:
    """The ``X-Twilio-Signature`` header value for a form POST of ``params`` to ``url``."""
    return str(RequestValidator(auth_token).compute_signature(url, params))


class StatusCallbackSender:
    """Walks created messages through the configured statuses in background tasks."""

    def __init__(self, store: MessageStore, auth_token: str, statuses: Sequence[str], delay_s: float) -> None:
        self._store = store
        self._auth_token = auth_token
        self._statuses = tuple(statuses)
        self._delay_s = delay_s
        # Kept-alive connections over aiohttp (no proxy from the environment: it calls local services).
        self._http = pooled_client(max_connections=MAX_CALLBACKS_IN_FLIGHT, timeout=5.0)
        self._in_flight = asyncio.Semaphore(MAX_CALLBACKS_IN_FLIGHT)
        self._tasks: set[asyncio.Task[None]] = set()

    def schedule(self, record: MessageRecord) -> None:
        task = asyncio.create_task(self._deliver(record), name=f"status-callbacks-{record.sid}")
        self._tasks.add(task)
        task.add_done_callback(self._forget)

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._http.aclose()

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.error("status callbacks task %s failed", task.get_name(), exc_info=error)

    async def _deliver(self, record: MessageRecord) -> None:
        url = record.status_callback
        if url is None:
            return
        for status in self._statuses:
            await asyncio.sleep(self._delay_s)
            updated = await self._store.set_status(record.sid, status)
            if updated is None:  # cleared by a test meanwhile
                return
            params = callback_params(updated, status)
            headers = {"X-Twilio-Signature": sign(self._auth_token, url, params)}
            try:
                async with self._in_flight:
                    response = await self._http.post(url, data=params, headers=headers)
            except httpx.HTTPError as error:
                logger.warning("status callback %s for %s to %s failed: %r", status, record.sid, url, error)
                continue
            if response.is_error:
                logger.warning(
                    "status callback %s for %s to %s answered HTTP %d",
                    status,
                    record.sid,
                    url,
                    response.status_code,
                )
