"""The reference business API as a FastAPI application: routes, bearer auth, error bodies, lifespan.

`create_app(settings)` builds it; its lifespan opens the asyncpg pool, applies the migrations and
seeds the demo studio (under an advisory lock, so concurrent starts are safe), starts the delivery
of payment notifications to the orchestrator when a URL is configured, and closes everything on
shutdown. Handlers stay thin: they parse, call the SQL modules and shape the JSON.
"""

# No ``from __future__ import annotations``: FastAPI resolves the route annotations at runtime.
import asyncio
import contextlib
import datetime as dt
import hmac
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any
from urllib.parse import parse_qsl

import asyncpg
import httpx
from fastapi import Depends, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from business_api import bookings, catalog, checkout, clients, database, idempotency, payments, purchases, seed
from business_api.errors import HttpError, InvalidRequest, NotFound, Unauthorized, Unavailable
from business_api.outbox import Outbox
from business_api.phones import normalize_phone, normalize_query_phone
from business_api.schemas import (
    AdminBookingsResponse,
    BookingRequest,
    BookingResponse,
    BookingsResponse,
    BookingStatus,
    CancelResponse,
    ClientPackagesResponse,
    ClientResponse,
    ErrorResponse,
    PackagesResponse,
    PaymentOutcome,
    PaymentWebhook,
    PaymentWebhookResponse,
    ProfileUpdate,
    PurchaseRequest,
    PurchaseResponse,
    PurchasesResponse,
    SlotsResponse,
)
from business_api.settings import BusinessApiSettings
from business_api.signing import verify

logger = logging.getLogger("business_api")

# The payment webhook is called by the payment provider: its signature is the credential.
PUBLIC_PATHS = frozenset(
    {"/healthz", "/readyz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json", checkout.WEBHOOK_PATH}
)
PROBE_PATHS = frozenset({"/healthz", "/readyz"})
PUBLIC_PREFIXES = ("/pay/",)  # the payment page is opened by the customer; its token is the credential
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_WEBHOOK_BYTES = 64 * 1024
WEBHOOK_BODY_SCHEMA = PaymentWebhook.model_json_schema()
MAX_FORM_BYTES = 1024

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {status: {"model": ErrorResponse} for status in (401, 404, 409, 422)}


class BearerAuth:
    """ASGI middleware: every path but the public ones needs ``Authorization: Bearer <token>``.

    It runs before routing and body parsing, so an unauthenticated request never reaches a handler.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app, self.expected = app, f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"").strip()
        if not given:
            error = Unauthorized("missing_token", "send Authorization: Bearer <token>")
        elif not _same(given, self.expected):
            error = Unauthorized("invalid_token", "the bearer token is not valid")
        else:
            await self.app(scope, receive, send)
            return
        await _error_response(error)(scope, receive, send)


class AddedLatency:
    """ASGI middleware: waits ``latency_ms`` before every API call but the health probes, so that
    benchmarks see the latency of a remote business system (``BUSINESS_API_LATENCY_MS``)."""

    def __init__(self, app: ASGIApp, latency_ms: float) -> None:
        self.app, self.seconds = app, latency_ms / 1000

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path", "") not in PROBE_PATHS:
            await asyncio.sleep(self.seconds)
        await self.app(scope, receive, send)


def _same(given: bytes, expected: bytes) -> bool:
    scheme, _, token = given.partition(b" ")
    return scheme.lower() == b"bearer" and hmac.compare_digest(b"Bearer " + token.strip(), expected)


def _error_response(error: HttpError) -> JSONResponse:
    bearer = isinstance(error, Unauthorized) and error.code in ("missing_token", "invalid_token")
    headers = {"WWW-Authenticate": "Bearer"} if bearer else None
    return JSONResponse(error.body(), status_code=error.status_code, headers=headers)


def _from_validation(error: RequestValidationError | ValidationError) -> HttpError:
    """FastAPI's (or pydantic's) parsing errors as one of ours: ``missing_<field>`` / ``invalid_<field>``."""
    problems = list(error.errors())
    if not problems:
        return InvalidRequest("invalid_request", "the request is not valid")
    first = problems[0]
    if first.get("type") == "json_invalid":
        return InvalidRequest("malformed_json", "the body is not valid JSON", status=400)
    fields = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "header")]
    field = re.sub(r"[^a-z0-9]+", "_", fields[0].lower()).strip("_") if fields else "body"
    prefix = "missing" if first.get("type") == "missing" else "invalid"
    skip = 1 if isinstance(error, RequestValidationError) else 0  # FastAPI's locations start with body/query/...
    message = "; ".join(
        f"{'.'.join(str(part) for part in problem.get('loc', ())[skip:]) or 'body'}: {problem.get('msg', 'invalid')}"
        for problem in problems[:5]
    )
    return InvalidRequest(f"{prefix}_{field}", message)


def _unavailable() -> Unavailable:
    return Unavailable("database_unavailable", "the database is not answering; try again")


def _respond(outcome: idempotency.Outcome) -> JSONResponse:
    headers = {REPLAYED_HEADER: "true"} if outcome.replayed else None
    return JSONResponse(outcome.body, status_code=outcome.status_code, headers=headers)


async def _read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 ``body_too_large`` past `limit` bytes (also when Content-Length lies)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise InvalidRequest("body_too_large", f"the body is larger than {limit} bytes", status=413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise InvalidRequest("body_too_large", f"the body is larger than {limit} bytes", status=413)
    return bytes(body)


def _own_webhook_url(request: Request) -> str:
    """``POST /payments/webhook`` on the address this request arrived at (never its Host header)."""
    host, port = request.scope.get("server") or ("127.0.0.1", 80)
    host = f"[{host}]" if ":" in str(host) else host
    return f"http://{host}:{port}{checkout.WEBHOOK_PATH}"


def create_app(settings: BusinessApiSettings | None = None) -> FastAPI:
    settings = settings or BusinessApiSettings()
    zone = settings.zone

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await database.create_pool(settings)
        try:
            async with pool.acquire() as conn, database.startup_lock(conn, settings.db_schema):
                applied = await database.migrate(conn, settings.db_schema)
                if settings.seed:
                    await seed.seed(conn, zone, refund_hours=settings.cancel_refund_hours)
                purged = await idempotency.purge(conn, settings.idempotency_retention_days)
            logger.info(
                "business API ready on schema %s of %s (%d migrations applied, %d idempotency keys purged)",
                settings.db_schema,
                settings.database_address,
                len(applied),
                purged,
            )
        except BaseException:
            await pool.close()
            raise
        app.state.pool = pool
        app.state.http = httpx.AsyncClient(trust_env=False)
        app.state.outbox = None
        delivery: asyncio.Task[None] | None = None
        if settings.orchestrator_webhook_url:
            app.state.outbox = Outbox(pool, app.state.http, settings, settings.orchestrator_webhook_url)
            delivery = asyncio.create_task(app.state.outbox.run(), name="payment-notifications")
        try:
            yield
        finally:
            if delivery is not None:
                delivery.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await delivery
            await app.state.http.aclose()
            await pool.close()

    app = FastAPI(
        title="Reference business API",
        description="Bookings, packages, purchases and client profiles of a business that takes appointments.",
        version="1.0.0",
        lifespan=lifespan,
    )
    app.add_middleware(BearerAuth, token=settings.token.get_secret_value())
    if settings.latency_ms:
        app.add_middleware(AddedLatency, latency_ms=settings.latency_ms)

    @app.exception_handler(HttpError)
    async def _api_error(_: Request, error: HttpError) -> JSONResponse:
        return _error_response(error)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        return _error_response(_from_validation(error))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 404:
            return _error_response(NotFound("no_such_route", f"there is no endpoint {request.url.path}"))
        code = "method_not_allowed" if error.status_code == 405 else "bad_request"
        return _error_response(InvalidRequest(code, str(error.detail), status=error.status_code))

    @app.exception_handler(OSError)
    @app.exception_handler(asyncpg.PostgresConnectionError)
    @app.exception_handler(asyncpg.OperatorInterventionError)  # server shutting down, crash recovery
    @app.exception_handler(asyncpg.InterfaceError)
    async def _connection_lost(_: Request, error: Exception) -> JSONResponse:
        logger.warning("lost the database connection: %s", error)
        return _error_response(_unavailable())

    # Dependencies

    @asynccontextmanager
    async def pooled(request: Request) -> AsyncIterator[asyncpg.Connection]:
        pool = request.app.state.pool
        try:
            conn = await pool.acquire(timeout=settings.acquire_timeout_s)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            # Whatever stops us from getting a connection means the database is unavailable.
            logger.warning("no database connection: %s", error)
            raise _unavailable() from error
        try:
            yield conn
        finally:
            await pool.release(conn)

    async def connection(request: Request) -> AsyncIterator[asyncpg.Connection]:
        async with pooled(request) as conn:
            yield conn

    def client_phone(x_client_phone: Annotated[str | None, Header(description="E.164 WhatsApp number")] = None) -> str:
        return normalize_phone(x_client_phone)

    def idempotency_key(idempotency_key: Annotated[str | None, Header()] = None) -> str | None:
        return idempotency.check_key(idempotency_key)

    Conn = Annotated[asyncpg.Connection, Depends(connection)]
    Phone = Annotated[str, Depends(client_phone)]
    Key = Annotated[str | None, Depends(idempotency_key)]

    # Health

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    async def readyz(request: Request) -> JSONResponse:
        pool = getattr(request.app.state, "pool", None)
        try:
            if pool is None:
                raise RuntimeError("not started")
            async with pool.acquire(timeout=2.0) as conn:
                await conn.fetchval("SELECT 1", timeout=2.0)
        except Exception as error:  # any failure means not ready
            return JSONResponse({"status": "unavailable", "reason": str(error) or type(error).__name__}, 503)
        return JSONResponse({"status": "ready"})

    # Catalog

    @app.get("/packages", response_model=PackagesResponse, responses=ERROR_RESPONSES, tags=["catalog"])
    async def list_packages(conn: Conn) -> JSONResponse:
        return JSONResponse(PackagesResponse(packages=await catalog.list_packages(conn)).model_dump(mode="json"))

    @app.get("/schedule-slots", response_model=SlotsResponse, responses=ERROR_RESPONSES, tags=["catalog"])
    async def schedule_slots(
        conn: Conn,
        date: Annotated[dt.date | None, Query(description="Local date YYYY-MM-DD; default: the coming days")] = None,
        days: Annotated[int, Query(ge=1, le=31, description="Days listed when no date is given")] = 7,
        only_available: bool = False,
        include_started: bool = False,
    ) -> JSONResponse:
        first = date or catalog.today(zone)
        last = first if date else first + dt.timedelta(days=days - 1)
        slots = await catalog.list_slots(
            conn, zone, first, last, include_started=include_started, only_available=only_available
        )
        body = SlotsResponse(date=date, from_date=first, to_date=last, slots=slots)
        return JSONResponse(body.model_dump(mode="json"))

    # Bookings

    @app.post("/booking", status_code=201, response_model=BookingResponse, responses=ERROR_RESPONSES, tags=["bookings"])
    async def book(body: BookingRequest, conn: Conn, phone: Phone, key: Key) -> JSONResponse:
        at = None
        if body.slot_id is None:
            if body.date is None or body.time is None:
                missing = "time" if body.date else "date" if body.time else "slot"
                raise InvalidRequest(f"missing_{missing}", "give slot_id, or date (YYYY-MM-DD) and time (HH:MM)")
            at = catalog.parse_time(body.time)
        client = await clients.ensure_client(conn, phone)

        async def effect() -> tuple[int, dict[str, Any]]:
            if body.slot_id is not None:
                slot = await catalog.find_slot(conn, body.slot_id)
            else:
                assert body.date is not None and at is not None
                slot = await catalog.find_slot_at(conn, zone, body.date, at, body.class_name)
            package_id = None
            if body.package_id is not None:
                package_id = (await catalog.find_package(conn, body.package_id))["id"]
            booking = await bookings.create_booking(
                conn,
                zone,
                client_id=client["id"],
                slot=slot,
                package_id=package_id,
                require_package=settings.booking_requires_package,
            )
            return 201, BookingResponse(booking=booking).model_dump(mode="json")

        return _respond(
            await idempotency.run_once(
                conn,
                scope=f"booking {phone}",
                key=key,
                request_fingerprint=idempotency.fingerprint("POST", "/booking", body.model_dump(mode="json")),
                effect=effect,
            )
        )

    @app.get("/client/bookings", response_model=BookingsResponse, responses=ERROR_RESPONSES, tags=["bookings"])
    async def client_bookings(
        conn: Conn,
        phone: Phone,
        status: BookingStatus | None = None,
        upcoming: bool = False,
        limit: Annotated[int, Query(ge=1, le=bookings.MAX_LIST)] = 50,
    ) -> JSONResponse:
        client = await clients.ensure_client(conn, phone)
        rows = await bookings.list_bookings(conn, client_id=client["id"], status=status, upcoming=upcoming, limit=limit)
        body = BookingsResponse(bookings=[bookings.booking_view(row, zone) for row in rows])
        return JSONResponse(body.model_dump(mode="json"))

    @app.post(
        "/client/bookings/{code_or_id}/cancel",
        response_model=CancelResponse,
        responses=ERROR_RESPONSES,
        tags=["bookings"],
    )
    async def cancel(
        code_or_id: Annotated[str, Path(description="The booking code (BK-4821) or id")],
        conn: Conn,
        phone: Phone,
        key: Key,
    ) -> JSONResponse:
        client = await clients.ensure_client(conn, phone)

        async def effect() -> tuple[int, dict[str, Any]]:
            booking = await bookings.cancel_booking(
                conn, zone, client_id=client["id"], ref=code_or_id, refund_hours=settings.cancel_refund_hours
            )
            return 200, CancelResponse(booking=booking).model_dump(mode="json")

        return _respond(
            await idempotency.run_once(
                conn,
                scope=f"cancel {phone}",
                key=key,
                request_fingerprint=idempotency.fingerprint("POST", f"/client/bookings/{code_or_id}/cancel", None),
                effect=effect,
            )
        )

    @app.get("/admin/bookings", response_model=AdminBookingsResponse, responses=ERROR_RESPONSES, tags=["bookings"])
    async def admin_bookings(
        conn: Conn,
        phone: Annotated[str | None, Query(description="The client's number (URL-encode the +)")] = None,
        code: Annotated[str | None, Query(description="A booking code such as BK-4821")] = None,
        status: BookingStatus | None = None,
        upcoming: bool = False,
        limit: Annotated[int, Query(ge=1, le=bookings.MAX_LIST)] = 50,
    ) -> JSONResponse:
        if phone is None and code is None:
            raise InvalidRequest("missing_phone", "give phone (the client's number) or code (a booking code)")
        normalized = normalize_query_phone(phone, source="the phone query parameter") if phone is not None else None
        wanted_code = bookings.normalize_code(code) if code is not None else None
        rows: list[Any] = []
        if code is None or wanted_code is not None:
            rows = await bookings.list_bookings(
                conn, phone=normalized, code=wanted_code, status=status, upcoming=upcoming, limit=limit
            )
        body = AdminBookingsResponse(bookings=[bookings.admin_booking_view(row, zone) for row in rows])
        return JSONResponse(body.model_dump(mode="json"))

    # Purchases

    @app.post(
        "/client/purchase",
        status_code=201,
        response_model=PurchaseResponse,
        responses=ERROR_RESPONSES,
        tags=["purchases"],
    )
    async def purchase(body: PurchaseRequest, conn: Conn, phone: Phone, key: Key) -> JSONResponse:
        client = await clients.ensure_client(conn, phone)

        async def effect() -> tuple[int, dict[str, Any]]:
            package = await catalog.find_package(conn, body.package_id)
            row = await purchases.create_purchase(conn, client_id=client["id"], package=package)
            view = purchases.purchase_view(row, settings.payment_base_url)
            return 201, PurchaseResponse(purchase=view).model_dump(mode="json")

        return _respond(
            await idempotency.run_once(
                conn,
                scope=f"purchase {phone}",
                key=key,
                request_fingerprint=idempotency.fingerprint("POST", "/client/purchase", body.model_dump(mode="json")),
                effect=effect,
            )
        )

    @app.get(
        "/client/purchase-history", response_model=PurchasesResponse, responses=ERROR_RESPONSES, tags=["purchases"]
    )
    async def purchase_history(
        conn: Conn, phone: Phone, limit: Annotated[int, Query(ge=1, le=purchases.MAX_LIST)] = 50
    ) -> JSONResponse:
        client = await clients.ensure_client(conn, phone)
        rows = await purchases.history(conn, client["id"], limit)
        body = PurchasesResponse(purchases=[purchases.purchase_view(row, settings.payment_base_url) for row in rows])
        return JSONResponse(body.model_dump(mode="json"))

    @app.get("/client/packages", response_model=ClientPackagesResponse, responses=ERROR_RESPONSES, tags=["purchases"])
    async def client_packages(
        conn: Conn, phone: Phone, limit: Annotated[int, Query(ge=1, le=purchases.MAX_LIST)] = 50
    ) -> JSONResponse:
        """The client's packages (active, expired, used up) and pending purchases, newest first."""
        client = await clients.ensure_client(conn, phone)
        rows = await purchases.client_packages(conn, client["id"], limit)
        views = [purchases.client_package_view(row, settings.payment_base_url) for row in rows]
        return JSONResponse(ClientPackagesResponse(packages=views).model_dump(mode="json"))

    # Payments: the provider's webhook (public: the signature over the raw body is the credential)

    @app.post(
        checkout.WEBHOOK_PATH,
        response_model=PaymentWebhookResponse,
        responses={**ERROR_RESPONSES, 400: {"model": ErrorResponse}, 413: {"model": ErrorResponse}},
        tags=["payments"],
        # The body is read raw (its signature covers the exact bytes), so its schema is declared here.
        openapi_extra={
            "requestBody": {"required": True, "content": {"application/json": {"schema": WEBHOOK_BODY_SCHEMA}}}
        },
    )
    async def payment_webhook(
        request: Request,
        x_payment_signature: Annotated[
            str | None, Header(description="sha256=<hex HMAC-SHA256 of the raw body with the provider secret>")
        ] = None,
    ) -> JSONResponse:
        """A payment provider says a purchase was paid or failed. Idempotent: a replay changes nothing."""
        raw = await _read_body(request, MAX_WEBHOOK_BYTES)
        if not x_payment_signature:
            raise Unauthorized("missing_signature", "send X-Payment-Signature: sha256=<hex HMAC of the body>")
        if not verify(settings.payment_provider_secret.get_secret_value(), raw, x_payment_signature):
            raise Unauthorized("invalid_signature", "X-Payment-Signature does not sign this body")
        try:
            event = PaymentWebhook.model_validate_json(raw)
        except ValidationError as error:
            raise _from_validation(error) from None
        if event.purchase_id is None and not event.token:
            raise InvalidRequest("missing_purchase_id", "give purchase_id or token")
        notify = app.state.outbox is not None
        async with pooled(request) as conn, conn.transaction():
            row, changed = await payments.settle(
                conn,
                purchase_id=event.purchase_id,
                token=event.token,
                outcome=event.status,
                reference=event.payment_id,
                notify=notify,
            )
        if changed:
            logger.info("purchase %d is now %s", row["id"], row["status"])
            if notify:
                app.state.outbox.wake()
        view = purchases.purchase_view(row, settings.payment_base_url)
        return JSONResponse(PaymentWebhookResponse(purchase=view, changed=changed).model_dump(mode="json"))

    # Profile

    @app.get("/client/me", response_model=ClientResponse, responses=ERROR_RESPONSES, tags=["clients"])
    async def me(conn: Conn, phone: Phone) -> JSONResponse:
        client = await clients.ensure_client(conn, phone)
        return JSONResponse(ClientResponse(client=clients.client_view(client)).model_dump(mode="json"))

    @app.patch("/client/me", response_model=ClientResponse, responses=ERROR_RESPONSES, tags=["clients"])
    async def update_me(body: ProfileUpdate, conn: Conn, phone: Phone) -> JSONResponse:
        if body.name is None and body.email is None:
            raise InvalidRequest("nothing_to_update", "give name and/or email")
        name = clients.validate_name(body.name) if body.name is not None else None
        email = clients.validate_email(body.email) if body.email is not None else None
        client = await clients.ensure_client(conn, phone)
        updated = await clients.update_profile(conn, client["id"], name=name, email=email)
        return JSONResponse(ClientResponse(client=clients.client_view(updated)).model_dump(mode="json"))

    # The demo checkout: the page a payment link opens (public; the unguessable token is the credential)

    @app.get("/pay/{token}", response_class=HTMLResponse, include_in_schema=False)
    async def payment_page(token: str, conn: Conn) -> HTMLResponse:
        row = await purchases.find_by_token(conn, token)
        text, status = checkout.page(row, enabled=settings.demo_checkout_enabled)
        return HTMLResponse(text, status_code=status)

    @app.post("/pay/{token}", response_class=HTMLResponse, include_in_schema=False)
    async def pay(token: str, request: Request) -> HTMLResponse:
        """The page's buttons: act as the payment provider, calling this API's own payment webhook."""
        form = dict(parse_qsl((await _read_body(request, MAX_FORM_BYTES)).decode("utf-8", "replace")))
        outcome: PaymentOutcome | None = checkout.OUTCOMES.get(form.get(checkout.OUTCOME_FIELD, "paid"))
        async with pooled(request) as conn:  # released before the webhook, which needs a connection of its own
            row = await purchases.find_by_token(conn, token)
        payable = row is not None and row["status"] in ("pending", "failed") and settings.demo_checkout_enabled
        if payable and outcome is not None:
            try:
                await checkout.call_webhook(
                    request.app.state.http,
                    settings.payment_webhook_url or _own_webhook_url(request),
                    settings.payment_provider_secret.get_secret_value(),
                    token=token,
                    outcome=outcome,
                )
            except checkout.CheckoutFailed as error:
                logger.error("demo checkout: %s", error)
                text, status = checkout.failure_page(row)
                return HTMLResponse(text, status_code=status)
            async with pooled(request) as conn:
                row = await purchases.find_by_token(conn, token)
        text, status = checkout.page(row, outcome=outcome if payable else None, enabled=settings.demo_checkout_enabled)
        return HTMLResponse(text, status_code=status)

    return app
