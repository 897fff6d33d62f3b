"""HTTP app speaking Twilio's Programmable Messaging REST wire format (API version 2010-04-01).

Only what the orchestrator and its tests use: create, fetch and list Messages, signed status
callbacks (posted to the exact StatusCallback URL given, query string included, and signed over
it), Twilio's error bodies, the Content API (``POST``/``GET /v1/Content``, ``GET
/v1/Content/{sid}``: see ``content.py``) and messages sent with ``ContentSid`` and
``ContentVariables`` (recorded with the rendered body and their buttons or list items), plus
``/_standin`` endpoints for tests and the demo:

- ``GET /_standin/messages`` (``?to=``): what was sent, oldest first, each with its
  ``content_sid``, ``content_type``, ``actions`` (quick-reply buttons: ``id``, ``title``),
  ``items`` (list picker: ``id``, ``item``, ``description``) and ``button``; ``DELETE`` forgets
  the messages (the Content stays, as at Twilio).
- ``POST /_standin/failures``: the next ``count`` creates answer a Twilio error (JSON ``code``:
  a Twilio code such as 21610, 63016, 63014, 21211, 20429, or an HTTP status such as 500;
  ``status`` when not the usual one; ``to``: only creates to that recipient; ``api``:
  ``messages`` or ``content``).
- ``POST /_standin/history``: record a message as if it had been sent earlier (JSON ``to``,
  ``from``, ``body``, ``date_sent``), e.g. yesterday's reply, which list filters and responder's
  "was this already sent?" lookup must then see. Dev only: real Twilio has no such thing.

A body over 1,600 characters (UTF-16 code units, as Twilio counts) is refused with 21617.

The list filter ``DateSent>``/``DateSent<``/``DateSent`` compares by day for a ``YYYY-MM-DD``
value, as Twilio documents, and by the exact time for a full timestamp.
"""

# No ``from __future__ import annotations``: FastAPI must resolve the route annotations, which
# refer to objects local to ``create_app``.
import asyncio
import operator
import re
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import FormData, QueryParams
from starlette.exceptions import HTTPException as StarletteHTTPException

from twilio_standin.callbacks import StatusCallbackSender
from twilio_standin.content import (
    LIST_PICKER,
    ContentStore,
    content_from_request,
    content_json,
    render,
    twilio_length,
)
from twilio_standin.errors import (
    AUTHENTICATE,
    BODY_REQUIRED,
    BODY_TOO_LONG,
    FROM_REQUIRED,
    INVALID_CALLBACK,
    INVALID_PARAMETER,
    INVALID_TO,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    TO_REQUIRED,
    TwilioError,
    injected_error,
)
from twilio_standin.settings import StandinSettings
from twilio_standin.store import API_VERSION, MessageRecord, MessageStore, new_message_sid, utc_now

ACCOUNT_PATH = f"/{API_VERSION}/Accounts/{{account_sid}}"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
PHONE_NUMBER = re.compile(r"^(whatsapp:)?\+[1-9]\d{6,14}$")
FILTER_PARAMS = ("To", "From", "DateSent", "DateSent<", "DateSent>")
DATE_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "DateSent": operator.eq,
    "DateSent<": operator.le,
    "DateSent>": operator.ge,
}
BODY_MAX = 1600


class HistoricMessage(BaseModel):
    """Body of ``POST /_standin/history``: a message recorded as sent at ``date_sent``."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    to: str
    from_: str = Field(alias="from")
    body: str
    date_sent: datetime


class FailureInjection(BaseModel):
    """Body of ``POST /_standin/failures``: the next ``count`` creates answer this error."""

    model_config = ConfigDict(frozen=True)

    count: int = Field(default=1, ge=1)
    code: int = Field(default=500, description="A Twilio error code, or an HTTP status (500 → 500 with 20500)")
    status: int | None = Field(default=None, ge=400, le=599, description="Unset: the code's usual status")
    message: str | None = None
    to: str | None = Field(default=None, description="Only creates to this recipient fail; unset: any")
    api: Literal["messages", "content"] = "messages"


class PendingFailures:
    """Injected errors, answered in the order injected to the creates they match."""

    def __init__(self) -> None:
        self._pending: list[tuple[str, str | None, TwilioError]] = []

    def add(self, injection: FailureInjection) -> int:
        error = injected_error(injection.code, injection.status, injection.message)
        self._pending.extend([(injection.api, injection.to, error)] * injection.count)
        return len(self._pending)

    def raise_next(self, api: str, to: str | None) -> None:
        for position, (target, recipient, error) in enumerate(self._pending):
            if target == api and (recipient is None or recipient == to):
                del self._pending[position]
                raise error


def recorded_json(record: MessageRecord) -> dict[str, Any]:
    """A message as ``GET /_standin/messages`` shows it: Twilio's resource and what Twilio keeps besides."""
    list_picker = record.content_type == LIST_PICKER
    return {
        **message_json(record),
        "status_callback": record.status_callback,
        "media_urls": list(record.media_urls),
        "content_sid": record.content_sid,
        "content_type": record.content_type,
        "actions": [] if list_picker else [{"id": c.id, "title": c.title} for c in record.choices],
        "items": [{"id": c.id, "item": c.title, "description": c.description} for c in record.choices]
        if list_picker else [],
        "button": record.button,
    }


def message_json(record: MessageRecord) -> dict[str, Any]:
    """A Message resource as Twilio renders it."""
    return {
        "account_sid": record.account_sid,
        "api_version": API_VERSION,
        "body": record.body,
        "date_created": format_datetime(record.date_created),
        "date_sent": format_datetime(record.date_sent),
        "date_updated": format_datetime(record.date_updated),
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": record.from_,
        "messaging_service_sid": record.messaging_service_sid,
        "num_media": str(len(record.media_urls)),
        "num_segments": str(record.num_segments),
        "price": None,
        "price_unit": "USD",
        "sid": record.sid,
        "status": record.status,
        "subresource_uris": {
            "media": record.uri.replace(".json", "/Media.json"),
            "feedback": record.uri.replace(".json", "/Feedback.json"),
        },
        "to": record.to,
        "uri": record.uri,
    }


def create_app(settings: StandinSettings) -> FastAPI:
    store = MessageStore()
    contents = ContentStore()
    pending_failures = PendingFailures()
    sender = StatusCallbackSender(
        store, settings.auth_token.get_secret_value(), settings.callback_statuses, settings.callback_delay_s
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await sender.aclose()

    app = FastAPI(title="Twilio stand-in", lifespan=lifespan)
    basic = HTTPBasic(auto_error=False)

    @app.exception_handler(TwilioError)
    async def _twilio_error(_: Request, error: TwilioError) -> JSONResponse:
        return error.response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 404:
            message = f"The requested resource {request.url.path} was not found"
            return TwilioError(404, NOT_FOUND, message).response()
        if error.status_code == 401:
            return TwilioError(401, AUTHENTICATE, "Authenticate").response()
        code = METHOD_NOT_ALLOWED if error.status_code == 405 else error.status_code
        return TwilioError(error.status_code, code, str(error.detail)).response()

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        return TwilioError(400, INVALID_PARAMETER, f"Invalid parameter: {error.errors()}").response()

    async def authenticate(
        account_sid: str, credentials: Annotated[HTTPBasicCredentials | None, Depends(basic)]
    ) -> None:
        token = settings.auth_token.get_secret_value()
        if credentials is None or not (
            secrets.compare_digest(credentials.username, settings.account_sid)
            and secrets.compare_digest(credentials.password, token)
        ):
            raise TwilioError(401, AUTHENTICATE, "Authenticate")
        if account_sid != credentials.username:
            raise TwilioError(403, AUTHENTICATE, f"Permission denied for account {account_sid}")

    authenticated = [Depends(authenticate)]

    @app.post(f"{ACCOUNT_PATH}/Messages.json", status_code=201, dependencies=authenticated)
    async def create_message(account_sid: str, request: Request) -> dict[str, Any]:
        if settings.latency_ms:
            await asyncio.sleep(settings.latency_ms / 1000)
        form = await request.form()
        to = form.get("To")
        pending_failures.raise_next("messages", to if isinstance(to, str) else None)
        record = _new_record(account_sid, form, contents)
        await store.add(record)
        if record.status_callback and settings.callbacks:
            sender.schedule(record)
        return message_json(record)

    @app.get(f"{ACCOUNT_PATH}/Messages/{{sid}}.json", dependencies=authenticated)
    async def fetch_message(account_sid: str, sid: str, request: Request) -> dict[str, Any]:
        record = await store.get(sid)
        if record is None or record.account_sid != account_sid:
            raise TwilioError(404, NOT_FOUND, f"The requested resource {request.url.path} was not found")
        return message_json(record)

    @app.get(f"{ACCOUNT_PATH}/Messages.json", dependencies=authenticated)
    async def list_messages(account_sid: str, request: Request) -> dict[str, Any]:
        query = request.query_params
        filters = {name: query[name] for name in FILTER_PARAMS if name in query}
        matches_filters = _filter(account_sid, filters)
        # Newest first, like Twilio: by date sent, then latest created (a backdated message sorts by its date).
        matches = sorted(reversed(await store.select(matches_filters)), key=lambda r: r.date_sent, reverse=True)
        page_size = _int_param(query, "PageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        page = _int_param(query, "Page", 0, 0, None)
        token = query.get("PageToken")
        start = _page_start(matches, token, page, page_size)
        records = matches[start : start + page_size]

        def page_uri(number: int, page_token: str | None) -> str:
            params = {**filters, "PageSize": str(page_size), "Page": str(number)}
            if page_token:
                params["PageToken"] = page_token
            return f"{request.url.path}?{urlencode(params)}"

        has_next = bool(records) and start + len(records) < len(matches)
        has_previous = bool(records) and start > 0
        return {
            "messages": [message_json(record) for record in records],
            "first_page_uri": page_uri(0, None),
            "next_page_uri": page_uri(page + 1, "PA" + records[-1].sid) if has_next else None,
            "previous_page_uri": page_uri(max(page - 1, 0), "PB" + records[0].sid) if has_previous else None,
            "page": page,
            "page_size": page_size,
            "start": start,
            "end": start + max(len(records) - 1, 0),
            "uri": page_uri(page, token),
        }

    async def authenticate_content(credentials: Annotated[HTTPBasicCredentials | None, Depends(basic)]) -> str:
        """The Content API's basic auth (no account in its path): the account SID authenticated."""
        token = settings.auth_token.get_secret_value()
        if credentials is None or not (
            secrets.compare_digest(credentials.username, settings.account_sid)
            and secrets.compare_digest(credentials.password, token)
        ):
            raise TwilioError(401, AUTHENTICATE, "Authenticate")
        return credentials.username

    content_account = Annotated[str, Depends(authenticate_content)]

    @app.post("/v1/Content", status_code=201)
    async def create_content(account_sid: content_account, request: Request) -> dict[str, Any]:
        if settings.latency_ms:
            await asyncio.sleep(settings.latency_ms / 1000)
        pending_failures.raise_next("content", None)
        try:
            payload = await request.json()
        except ValueError:
            raise TwilioError(400, INVALID_PARAMETER, "The request body must be JSON") from None
        record = content_from_request(account_sid, payload)
        contents.add(record)
        return content_json(record, str(request.base_url))

    @app.get("/v1/Content/{sid}")
    async def fetch_content(account_sid: content_account, sid: str, request: Request) -> dict[str, Any]:
        record = contents.get(sid)
        if record is None or record.account_sid != account_sid:
            raise TwilioError(404, NOT_FOUND, f"The requested resource {request.url.path} was not found")
        return content_json(record, str(request.base_url))

    @app.get("/v1/Content")
    async def list_content(account_sid: content_account, request: Request) -> dict[str, Any]:
        query = request.query_params
        page_size = _int_param(query, "PageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        page = _int_param(query, "Page", 0, 0, None)
        records = contents.all(account_sid)
        shown = records[page * page_size : (page + 1) * page_size]
        url = f"{str(request.base_url).rstrip('/')}/v1/Content"

        def page_url(number: int) -> str:
            return f"{url}?{urlencode({'PageSize': page_size, 'Page': number})}"

        has_next = (page + 1) * page_size < len(records)
        return {
            "contents": [content_json(record, str(request.base_url)) for record in shown],
            "meta": {
                "page": page,
                "page_size": page_size,
                "first_page_url": page_url(0),
                "previous_page_url": page_url(page - 1) if page > 0 else None,
                "url": page_url(page),
                "next_page_url": page_url(page + 1) if has_next else None,
                "key": "contents",
            },
        }

    @app.post("/_standin/failures", status_code=202)
    async def inject_failures(injection: FailureInjection) -> dict[str, int]:
        return {"pending": pending_failures.add(injection)}

    @app.post("/_standin/history", status_code=201)
    async def record_history(message: HistoricMessage) -> dict[str, Any]:
        sent = message.date_sent if message.date_sent.tzinfo else message.date_sent.replace(tzinfo=UTC)
        sent = sent.astimezone(UTC).replace(microsecond=0)  # Twilio's timestamps have whole seconds
        record = MessageRecord(
            sid=new_message_sid(), account_sid=settings.account_sid, to=message.to, from_=message.from_,
            body=message.body, status="delivered", date_created=sent, date_updated=sent, date_sent=sent,
        )
        await store.add(record)
        return message_json(record)

    @app.get("/_standin/messages")
    async def recorded_messages(to: str | None = None) -> list[dict[str, Any]]:
        records = await store.select(lambda record: to is None or record.to == to)
        return [recorded_json(record) for record in records]

    @app.delete("/_standin/messages", status_code=204)
    async def clear_messages() -> None:
        await store.clear()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _new_record(account_sid: str, form: FormData, contents: ContentStore) -> MessageRecord:
    """Validate a create request in Twilio's order and build the queued message (a Content rendered)."""

    def field(name: str) -> str | None:
        value = form.get(name)
        return value if isinstance(value, str) and value else None

    to, from_, body = field("To"), field("From"), field("Body")
    service_sid, callback = field("MessagingServiceSid"), field("StatusCallback")
    content_sid = field("ContentSid")
    media_urls = tuple(url for url in form.getlist("MediaUrl") if isinstance(url, str) and url)
    if to is None:
        raise TwilioError(400, TO_REQUIRED, "A 'To' phone number is required.")
    if not PHONE_NUMBER.match(to):
        raise TwilioError(400, INVALID_TO, f"Invalid 'To' Phone Number: {to}")
    if from_ is None and service_sid is None:
        raise TwilioError(400, FROM_REQUIRED, "A 'From' phone number is required.")
    if body is None and not media_urls and content_sid is None:
        raise TwilioError(400, BODY_REQUIRED, "Message body is required.")
    rendered = render(contents.get(content_sid), content_sid, field("ContentVariables")) if content_sid else None
    if rendered is not None:
        body = rendered.body  # a ContentSid wins over a Body
    if body is not None and twilio_length(body) > BODY_MAX:
        raise TwilioError(400, BODY_TOO_LONG, "The concatenated message body exceeds the 1600 character limit")
    if callback is not None and not callback.startswith(("http://", "https://")):
        raise TwilioError(400, INVALID_CALLBACK, f"Invalid StatusCallback url: {callback}")
    now = utc_now()
    return MessageRecord(
        sid=new_message_sid(),
        account_sid=account_sid,
        to=to,
        # Twilio picks a sender from the service's pool; the stand-in has no pool to pick from.
        from_=from_ or "",
        body=body or "",
        status="queued",
        date_created=now,
        date_updated=now,
        date_sent=now,
        messaging_service_sid=service_sid,
        media_urls=media_urls,
        status_callback=callback,
        content_sid=content_sid if rendered is not None else None,
        content_type=rendered.content_type if rendered is not None else None,
        choices=rendered.choices if rendered is not None else (),
        button=rendered.button if rendered is not None else None,
    )


def _filter(account_sid: str, filters: dict[str, str]) -> Callable[[MessageRecord], bool]:
    """A predicate for Twilio's list filters; dates compare by day when given as ``YYYY-MM-DD``."""
    checks: list[Callable[[MessageRecord], bool]] = [lambda r: r.account_sid == account_sid]
    if "To" in filters:
        checks.append(lambda r: r.to == filters["To"])
    if "From" in filters:
        checks.append(lambda r: r.from_ == filters["From"])
    checks.extend(_date_check(name, filters[name]) for name in DATE_OPERATORS if name in filters)
    return lambda record: all(check(record) for check in checks)


def _date_check(name: str, raw: str) -> Callable[[MessageRecord], bool]:
    compare = DATE_OPERATORS[name]
    try:
        bound = datetime.fromisoformat(raw)
    except ValueError:
        raise TwilioError(400, INVALID_PARAMETER, f"Invalid {name}: {raw}") from None
    if len(raw) == len("YYYY-MM-DD"):
        return lambda record: compare(record.date_sent.date(), bound.date())
    moment = bound if bound.tzinfo else bound.replace(tzinfo=UTC)
    return lambda record: compare(record.date_sent, moment)


def _int_param(query: QueryParams, name: str, default: int, low: int, high: int | None) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if value < low or (high is not None and value > high):
        raise TwilioError(400, INVALID_PARAMETER, f"Invalid {name}: {raw}")
    return value


def _page_start(matches: list[MessageRecord], token: str | None, page: int, page_size: int) -> int:
    """Index of a page's first record. ``PA<sid>`` pages start after ``sid``, ``PB<sid>`` end before it."""
    if token is None:
        return page * page_size
    positions = {record.sid: index for index, record in enumerate(matches)}
    direction, sid = token[:2], token[2:]
    if direction not in ("PA", "PB") or sid not in positions:
        raise TwilioError(400, INVALID_PARAMETER, f"Invalid PageToken: {token}")
    return positions[sid] + 1 if direction == "PA" else max(positions[sid] - page_size, 0)
