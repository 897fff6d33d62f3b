"""The channels staff are told through, and the Redis gate that keeps them from being flooded.

- `WebhookChannel`: a JSON POST to the business's URL, signed with HMAC-SHA256 over the exact body
  (`X-Orchestrator-Signature-256: sha256=<hex>`, GitHub's scheme), with a per-attempt timeout and a
  few retries with backoff (`runtime.resilience.retry`) on connection errors, timeouts, 429 and 5xx.
- `WhatsAppTemplateChannel`: an approved WhatsApp template (a Twilio ContentSid) sent to an admin
  number with the responder's `TwilioSender`; the notice is its variable `{{1}}`, on one line.
- `RedisNoticeGate`: once per event id and channel (`SET NX`), and at most N notices per minute per
  channel (a fixed one-minute window, `INCR` in a Lua script), shared by every responder process;
  what is held back is counted, and the next notice that goes out says how many.

Every delivery failure is a `StaffChannelError`; the stage's handler (`staff_alerts.handle`) logs it
and moves on, so a dead channel never holds up the pipeline.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable

import httpx
from redis.asyncio import Redis

from runtime.resilience import retry
from services.responder.adapters.twilio import TwilioSender
from services.responder.staff_alerts import StaffChannelError, StaffNotice, one_line

SIGNATURE_HEADER = "X-Orchestrator-Signature-256"
NOTICE_ID_HEADER = "X-Orchestrator-Notice-Id"
TEMPLATE_VARIABLE_MAX = 1000
"""WhatsApp caps a template's text near 1,024 characters; a notice longer than this is cut."""


def signature(secret: bytes, body: bytes) -> str:
    """The signature header's value for `body`: `sha256=` and the hex HMAC-SHA256 with `secret`."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class _RetryableStatus(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"webhook answered HTTP {status}")
        self.status = status


class WebhookChannel:
    """Notices as signed JSON POSTs to the business's own URL."""

    name = "webhook"

    def __init__(self, client: httpx.AsyncClient, url: str, secret: bytes, *, attempts: int = 3,
                 backoff_s: float = 0.5, backoff_max_s: float = 4.0) -> None:
        self._client = client
        self.url = url
        self._secret = secret
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._backoff_max_s = backoff_max_s

    @classmethod
    def create(cls, url: str, secret: str, *, timeout_s: float, attempts: int,
               backoff_s: float = 0.5) -> WebhookChannel:
        client = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), follow_redirects=False)
        return cls(client, url, secret.encode(), attempts=attempts, backoff_s=backoff_s)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def deliver(self, notice: StaffNotice, text: str, *, skipped: int) -> None:
        body = json.dumps(notice.as_json(text=text, skipped=skipped), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", SIGNATURE_HEADER: signature(self._secret, body),
                   NOTICE_ID_HEADER: notice.event_id}

        async def post() -> None:
            response = await self._client.post(self.url, content=body, headers=headers)
            if response.status_code == 429 or response.status_code >= 500:
                raise _RetryableStatus(response.status_code)
            if response.status_code >= 300:
                raise StaffChannelError(f"webhook answered HTTP {response.status_code}")

        try:
            await retry(post, attempts=self._attempts, retry_on=(httpx.TransportError, _RetryableStatus),
                        base_s=self._backoff_s, max_s=self._backoff_max_s)
        except (httpx.HTTPError, _RetryableStatus) as exc:
            raise StaffChannelError(f"webhook: {type(exc).__name__}: {exc}") from exc


class WhatsAppTemplateChannel:
    """Notices to an admin's WhatsApp through an approved template: outside the 24-hour window only
    a template may start a conversation."""

    name = "whatsapp"

    def __init__(self, sender: TwilioSender, *, to: str, from_: str, content_sid: str) -> None:
        self._sender = sender
        self.to = to
        self.from_ = from_
        self.content_sid = content_sid

    async def deliver(self, notice: StaffNotice, text: str, *, skipped: int) -> None:
        value = one_line(text)
        if len(value) > TEMPLATE_VARIABLE_MAX:
            value = value[: TEMPLATE_VARIABLE_MAX - 1] + "…"
        result = await self._sender.send(to=self.to, from_=self.from_, content_sid=self.content_sid,
                                         content_variables=json.dumps({"1": value}, ensure_ascii=False))
        if not result.ok:
            raise StaffChannelError(f"whatsapp: Twilio error {result.error_code}: {result.error_message}")


# KEYS: this minute's counter, the held-back counter. ARGV: the limit, the counter's lifetime (s).
# Over the limit: count the notice as held back, answer -1. Else answer (and reset) the held-back count.
_ADMIT = """
local sent = redis.call('INCR', KEYS[1])
if sent == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
if sent > tonumber(ARGV[1]) then
  redis.call('INCR', KEYS[2])
  return -1
end
local held = tonumber(redis.call('GET', KEYS[2]) or '0')
if held > 0 then redis.call('DEL', KEYS[2]) end
return held
"""


class RedisNoticeGate:
    """Idempotency and the per-channel rate limit of staff notices, in Redis (shared by every process)."""

    def __init__(self, redis: Redis, *, per_minute: int, prefix: str = "staff-notices",
                 seen_ttl_s: int = 7 * 24 * 3600, clock: Callable[[], float] = time.time) -> None:
        if per_minute < 1:
            raise ValueError(f"per_minute must be >= 1, got {per_minute}")
        self._redis = redis
        self.per_minute = per_minute
        self._prefix = prefix
        self._seen_ttl_s = seen_ttl_s
        self._clock = clock
        self._admit = redis.register_script(_ADMIT)

    async def claim(self, channel: str, event_id: str) -> bool:
        key = f"{self._prefix}:seen:{channel}:{event_id}"
        return bool(await self._redis.set(key, "1", nx=True, ex=self._seen_ttl_s))

    async def admit(self, channel: str) -> int | None:
        minute = int(self._clock() // 60)
        held = int(await self._admit(keys=[f"{self._prefix}:sent:{channel}:{minute}", self._held_key(channel)],
                                     args=[self.per_minute, 120]))
        return None if held < 0 else held

    async def hold_back(self, channel: str, count: int = 1) -> None:
        await self._redis.incrby(self._held_key(channel), count)

    def _held_key(self, channel: str) -> str:
        return f"{self._prefix}:held:{channel}"
