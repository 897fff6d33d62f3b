"""Quick replies and list pickers as Twilio Content: one Content per set of choices, created once.

An `Interactive` becomes a Content resource (Twilio's Content API, `POST {base}/v1/Content`, JSON,
basic auth with the account SID and token): `twilio/quick-reply` (its `actions`, up to 3 buttons in
a WhatsApp session, titles up to 20 characters) or `twilio/list-picker` (its `items`, up to 10,
titles up to 24 characters, and the `button` that opens the list). The body is the variable `{{1}}`,
filled per message through `ContentVariables` (`body_variables`), and the choices are fixed: every
message offering the same choices reuses one Content. The registry keeps definition hash → Content
SID in memory and in Redis (no expiry), so a restart or another replica does not create it again.

Lengths are counted as Twilio counts them (`twilio_length`, UTF-16 code units). Choices over the
limits raise `InvalidInteractive` before any call; Twilio refusing or unreachable raises
`ContentApiError`. Both are `ContentError`, on which the responder sends plain text instead.

Content in session needs no approval. Outside the 24-hour window only a template WhatsApp approved
may go: `ApprovedTemplate` (its ContentSid from the Console and its variables) is sent the same way.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from runtime.resilience import retry
from services.responder.interactive import (
    LIST_DESCRIPTION_MAX,
    LIST_MAX,
    LIST_TITLE_MAX,
    QUICK_REPLY_MAX,
    QUICK_REPLY_TITLE_MAX,
    Interactive,
)
from services.responder.split import twilio_length

log = logging.getLogger(__name__)

CONTENT_BASE_URL = "https://content.twilio.com"
CHOICE_ID_MAX = 200
LIST_BUTTON_MAX = 20
BODY_VARIABLE = "1"
CACHE_PREFIX = "responder:content:"
QUICK_REPLY = "twilio/quick-reply"
LIST_PICKER = "twilio/list-picker"

CONTENT_LOOKUPS = Counter("responder_content_total", "Content SIDs looked up, by result",
                          ["result"])  # cached | created | invalid | failed


class ContentError(Exception):
    """Root of this module's errors: no Content SID for these choices (send plain text)."""


class InvalidInteractive(ContentError):
    """The choices break Twilio's limits (too many, titles too long): nothing was sent to Twilio."""


class ContentApiError(ContentError):
    """Twilio's Content API refused the definition, or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.status, self.code = status, code

    @property
    def transient(self) -> bool:
        return self.status is None or self.status == 429 or self.status >= 500


@dataclass(frozen=True)
class ApprovedTemplate:
    """A template WhatsApp approved (its ContentSid, `HX…`), and the values of its `{{1}}`, `{{2}}`, …"""

    sid: str
    variables: tuple[str, ...] = ()

    def content_variables(self) -> str | None:
        if not self.variables:
            return None
        return json.dumps({str(n): value for n, value in enumerate(self.variables, 1)}, ensure_ascii=False)


def body_variables(body: str) -> str:
    """`ContentVariables` filling a registry Content's body."""
    return json.dumps({BODY_VARIABLE: body}, ensure_ascii=False)


def content_types(interactive: Interactive) -> dict[str, Any]:
    """The Content `types` of `interactive`: its choices fixed, its body the variable `{{1}}`."""
    body = "{{" + BODY_VARIABLE + "}}"
    choices = interactive.choices
    ids = [choice.id for choice in choices]
    if len(set(ids)) != len(ids) or any(not 0 < twilio_length(i) <= CHOICE_ID_MAX for i in ids):
        raise InvalidInteractive(f"choice ids must be unique, 1-{CHOICE_ID_MAX} characters: {ids}")
    if interactive.kind == "quick_reply":
        _check(choices, QUICK_REPLY_MAX, QUICK_REPLY_TITLE_MAX, "quick reply")
        return {QUICK_REPLY: {"body": body, "actions": [{"title": c.title, "id": c.id} for c in choices]}}
    _check(choices, LIST_MAX, LIST_TITLE_MAX, "list")
    if not 0 < twilio_length(interactive.button) <= LIST_BUTTON_MAX:
        raise InvalidInteractive(f"list button {interactive.button!r}: 1-{LIST_BUTTON_MAX} characters")
    for choice in choices:
        if twilio_length(choice.description) > LIST_DESCRIPTION_MAX:
            raise InvalidInteractive(f"list item description over {LIST_DESCRIPTION_MAX}: {choice.description!r}")
    items = [{"item": c.title, "id": c.id, "description": c.description} for c in choices]
    return {LIST_PICKER: {"body": body, "button": interactive.button, "items": items}}


def _check(choices: tuple[Any, ...], most: int, title_max: int, what: str) -> None:
    if not 0 < len(choices) <= most:
        raise InvalidInteractive(f"a {what} takes 1-{most} choices, got {len(choices)}")
    for choice in choices:
        if not 0 < twilio_length(choice.title) <= title_max:
            raise InvalidInteractive(f"{what} title {choice.title!r}: 1-{title_max} characters")


class ContentRegistry:
    """Content SIDs for interactive messages, created through the Content API once per definition."""

    def __init__(self, http: httpx.AsyncClient, redis: Redis, *, account_sid: str, auth_token: str,
                 base_url: str = CONTENT_BASE_URL, language: str = "es", attempts: int = 2,
                 backoff_s: float = 0.2, prefix: str = CACHE_PREFIX) -> None:
        self._http = http
        self._redis = redis
        self._auth = httpx.BasicAuth(account_sid, auth_token)
        self._url = base_url.rstrip("/") + "/v1/Content"
        self._language = language
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._prefix = prefix
        self._known: dict[str, str] = {}
        self._creating: dict[str, asyncio.Lock] = {}

    @classmethod
    def create(cls, redis: Redis, *, account_sid: str, auth_token: str, base_url: str = CONTENT_BASE_URL,
               language: str = "es", timeout_s: float = 5.0) -> ContentRegistry:
        """A registry with an HTTP client of its own (closed by `aclose`)."""
        http = httpx.AsyncClient(timeout=timeout_s)
        return cls(http, redis, account_sid=account_sid, auth_token=auth_token, base_url=base_url,
                   language=language)

    async def aclose(self) -> None:
        await self._http.aclose()

    def definition(self, interactive: Interactive) -> dict[str, Any]:
        """The Content API request body for `interactive` (its friendly name names its hash)."""
        types = content_types(interactive)
        kind = "quick_reply" if QUICK_REPLY in types else "list"
        return {"friendly_name": f"orchestrator_{kind}_{self._key(types)[:16]}", "language": self._language,
                "variables": {BODY_VARIABLE: "Hola"}, "types": types}

    async def sid_for(self, interactive: Interactive) -> str:
        """The Content SID for these choices, created the first time they are offered."""
        try:
            types = content_types(interactive)
        except InvalidInteractive:
            CONTENT_LOOKUPS.labels("invalid").inc()
            raise
        key = self._key(types)
        known = await self._cached(key)
        if known is not None:
            return known
        async with self._creating.setdefault(key, asyncio.Lock()):
            known = await self._cached(key)  # created by a concurrent call meanwhile
            if known is not None:
                return known
            try:
                sid = await retry(lambda: self._post(self.definition(interactive)), attempts=self._attempts,
                                  retry_on=lambda exc: isinstance(exc, ContentApiError) and exc.transient,
                                  base_s=self._backoff_s, max_s=2.0)
            except ContentApiError:
                CONTENT_LOOKUPS.labels("failed").inc()
                raise
            CONTENT_LOOKUPS.labels("created").inc()
            return await self._remember(key, sid)

    async def known_sid(self, interactive: Interactive) -> str | None:
        """The Content SID for these choices if one was created, without creating it."""
        try:
            return await self._cached(self._key(content_types(interactive)))
        except ContentError:
            return None

    async def forget(self, interactive: Interactive, sid: str) -> None:
        """Drop `sid` for these choices (Twilio no longer knows it, e.g. deleted in the Console: 21655):
        the next offer creates a new Content."""
        key = self._key(content_types(interactive))
        if self._known.get(key) == sid:
            del self._known[key]
        try:
            if await self._redis.get(self._prefix + key) in (sid, sid.encode()):
                await self._redis.delete(self._prefix + key)
        except RedisError as exc:
            log.warning("content %s not forgotten in Redis: %s", sid, exc)
        CONTENT_LOOKUPS.labels("forgotten").inc()

    def _key(self, types: dict[str, Any]) -> str:
        canonical = json.dumps({"language": self._language, "types": types}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()

    async def _cached(self, key: str) -> str | None:
        if key in self._known:
            CONTENT_LOOKUPS.labels("cached").inc()
            return self._known[key]
        try:
            stored = await self._redis.get(self._prefix + key)
        except RedisError as exc:
            raise ContentApiError(f"content cache unavailable: {exc}") from exc
        if stored is None:
            return None
        sid = stored.decode() if isinstance(stored, bytes) else str(stored)
        self._known[key] = sid
        CONTENT_LOOKUPS.labels("cached").inc()
        return sid

    async def _remember(self, key: str, sid: str) -> str:
        """Keep `sid` unless another replica stored one first (then theirs, so all reuse one Content)."""
        try:
            if not await self._redis.set(self._prefix + key, sid, nx=True):
                stored = await self._redis.get(self._prefix + key)
                if stored is not None:
                    sid = stored.decode() if isinstance(stored, bytes) else str(stored)
        except RedisError as exc:
            log.warning("content %s created but not cached in Redis: %s", sid, exc)
        self._known[key] = sid
        return sid

    async def _post(self, definition: dict[str, Any]) -> str:
        try:
            response = await self._http.post(self._url, json=definition, auth=self._auth)
        except httpx.HTTPError as exc:
            raise ContentApiError(f"Content API unreachable: {type(exc).__name__}: {exc}") from exc
        if response.status_code != 201:
            code, message = _error(response)
            raise ContentApiError(f"Content API answered {response.status_code} {code}: {message}",
                                  status=response.status_code, code=code)
        sid = response.json().get("sid")
        if not isinstance(sid, str):
            raise ContentApiError("Content API answered without a sid", status=response.status_code)
        log.info("created content %s (%s)", sid, definition["friendly_name"])
        return sid


def _error(response: httpx.Response) -> tuple[int | None, str]:
    """Twilio's error body (`code`, `message`), or the raw text when it is not one."""
    try:
        body = response.json()
    except ValueError:
        return None, response.text[:200]
    if not isinstance(body, dict):
        return None, response.text[:200]
    code = body.get("code")
    return (code if isinstance(code, int) else None), str(body.get("message", ""))
