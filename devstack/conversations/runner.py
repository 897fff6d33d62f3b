"""Play scripted conversations against a running stack and judge every turn.

Each conversation gets a fresh customer number, its `given` arranged through the business API,
then its steps in order: a signed webhook per message, the reply awaited with bounded polling of
the Twilio stand-in's record, the reply and the business effects checked against the step's
assertions. Conversations run side by side (`concurrency`), each one's turns in order.

Replies are attributed to the message that caused them by the chain responder names in each
message's status callback URL (`?correlation_id=<the message.received id>`); a stack whose
messages carry no callback URL falls back to order (the next new message is the reply). A
duplicate step (Twilio re-delivering the previous webhook) is proven silent at the next turn: once
that turn's reply has arrived, no other reply may have come for the re-delivered message (a
conversation is processed in order, so such a reply would already be there).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from devstack.conversations.business import (
    Arranged,
    ArrangeError,
    BusinessApi,
    Effects,
    Numbers,
    arrange,
    weekday_date,
)
from devstack.conversations.channel import Delivery, Target, WaitTimeout, WhatsApp, chain_of, wait_for
from devstack.conversations.format import Assertions, Conversation, Step
from devstack.conversations.report import ConversationResult, Report, TurnResult

DEFAULT_CONCURRENCY = 8
DEFAULT_REPLY_TIMEOUT_S = 30.0
POLL_INTERVAL_S = 0.2

_MESSAGE_TYPES = {"image": "image", "audio": "audio", "video": "video"}


def check_reply(assertions: Assertions, reply: str) -> list[str]:
    """The reply's failed expectations, one line each."""
    failures = [f"reply_matches /{pattern}/: not found" for pattern in assertions.reply_matches
                if not re.search(pattern, reply, re.IGNORECASE)]
    for pattern in assertions.reply_not_matches:
        found = re.search(pattern, reply, re.IGNORECASE)
        if found:
            failures.append(f"reply_not_matches /{pattern}/: found «{found.group(0)}»")
    if assertions.asks_question is True and "?" not in reply:
        failures.append("asks_question: the reply asks nothing (no «?»)")
    if assertions.asks_question is False and "?" in reply:
        failures.append("asks_question false: the reply asks a question")
    return failures


def _booking_label(booking: dict[str, Any]) -> str:
    return f"{booking['date']} {booking['time']} {booking['code']} {booking['status']}"


def check_effects(assertions: Assertions, effects: Effects, arranged: Arranged, today: dt.date) -> list[str]:
    """The business effects' failed expectations, counted from the start of the conversation."""
    failures: list[str] = []
    created = [b for b in effects.bookings if b["code"] not in arranged.booking_codes]
    cancelled = [b for b in effects.bookings if b["status"] == "cancelled"]
    bought = [p for p in effects.purchases if p["id"] not in arranged.purchase_ids]
    listing = "; ".join(_booking_label(b) for b in effects.bookings) or "none"

    if assertions.bookings_created is not None and len(created) != assertions.bookings_created:
        failures.append(f"bookings_created: expected {assertions.bookings_created}, found {len(created)} "
                        f"(bookings: {listing})")
    if assertions.nothing_booked and created:
        failures.append(f"nothing_booked: found {', '.join(_booking_label(b) for b in created)}")
    for slot in assertions.booking_exists:
        day = weekday_date(today, slot.day).isoformat()
        if not any(b["date"] == day and b["time"] == slot.time and b["status"] == "confirmed"
                   for b in effects.bookings):
            failures.append(f"booking_exists {slot} ({day}): no confirmed booking there (bookings: {listing})")
    if assertions.bookings_cancelled is not None and len(cancelled) != assertions.bookings_cancelled:
        failures.append(f"bookings_cancelled: expected {assertions.bookings_cancelled}, found {len(cancelled)} "
                        f"(bookings: {listing})")
    purchases = "; ".join(f"{p['package_name']} {p['status']}" for p in bought) or "none"
    if assertions.purchases_created is not None and len(bought) != assertions.purchases_created:
        failures.append(f"purchases_created: expected {assertions.purchases_created}, found {len(bought)} "
                        f"(purchases: {purchases})")
    if assertions.purchased is not None and not any(
            p["package_name"].casefold() == assertions.purchased.casefold() for p in bought):
        failures.append(f"purchased {assertions.purchased!r}: not among the purchases created ({purchases})")
    if assertions.profile is not None:
        profile = effects.profile or {}
        for key in ("name", "email"):
            wanted = getattr(assertions.profile, key)
            actual = profile.get(key)
            if wanted is not None and (actual or "").casefold() != wanted.casefold():
                failures.append(f"profile.{key}: expected {wanted!r}, found {actual!r}")
    return failures


@dataclass
class _Context:
    whatsapp: WhatsApp
    business: BusinessApi
    numbers: Numbers
    today: dt.date
    reply_timeout: float
    cleanup: bool


@dataclass
class _Duplicate:
    index: int
    said: str
    chain: str
    failures: list[str] = field(default_factory=list)


def _delivery(ctx: _Context, customer: str, step: Step) -> Delivery:
    if step.media is not None:
        kind = step.media.content_type.split("/")[0]
        return ctx.whatsapp.message(customer, step.media.caption, NumMedia="1", MediaUrl0=step.media.url,
                                    MediaContentType0=step.media.content_type,
                                    MessageType=_MESSAGE_TYPES.get(kind, "document"))
    if step.location is not None:
        place = step.location
        extra = {"Latitude": str(place.latitude), "Longitude": str(place.longitude), "MessageType": "location"}
        if place.label:
            extra["Label"] = place.label
        if place.address:
            extra["Address"] = place.address
        return ctx.whatsapp.message(customer, "", **extra)
    assert step.user is not None
    return ctx.whatsapp.message(customer, step.user)


async def _await_reply(ctx: _Context, customer: str, delivery: Delivery,
                       consumed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Wait for the reply to `delivery`; returns (its messages, other new messages since `consumed`)."""

    async def arrived() -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        new = (await ctx.whatsapp.sent_to(customer))[consumed:]
        ours = [m for m in new if chain_of(m) in (delivery.chain, None)]
        if not ours:
            return None
        if chain_of(ours[0]) is None:  # no chain named: by order, the first new message is the reply
            return new[:1], new[1:]
        return ours, [m for m in new if m not in ours]

    return await wait_for(arrived, timeout=ctx.reply_timeout, interval=POLL_INTERVAL_S)


async def play(conversation: Conversation, ctx: _Context) -> ConversationResult:
    started = time.monotonic()
    customer = ctx.numbers.customer(conversation.region)
    turns: list[TurnResult] = []

    def result(error: str | None = None) -> ConversationResult:
        played = {t.index for t in turns}
        skipped = [TurnResult(i, s.said, None) for i, s in enumerate(conversation.steps, 1) if i not in played]
        return ConversationResult(conversation.test_case, conversation.source, conversation.region,
                                  tuple(sorted([*turns, *skipped], key=lambda t: t.index)),
                                  time.monotonic() - started, error)

    arranged = Arranged()
    try:
        given = conversation.given
        arranged = await arrange(ctx.business, ctx.today, customer, list(given.bookings), given.package,
                                 list(given.full), ctx.numbers)
        return await _play_steps(conversation, ctx, customer, arranged, turns, result)
    except (ArrangeError, httpx.HTTPError) as error:
        return result(f"{type(error).__name__}: {error}")
    finally:
        if ctx.cleanup:
            for phone in (customer, *arranged.fillers):
                try:
                    await ctx.business.cancel_upcoming(phone)
                except (ArrangeError, httpx.HTTPError):
                    pass  # best effort: a class left booked only matters to a later run


async def _play_steps(conversation: Conversation, ctx: _Context, customer: str, arranged: Arranged,
                      turns: list[TurnResult],
                      result: Callable[[str | None], ConversationResult]) -> ConversationResult:
    consumed = len(await ctx.whatsapp.sent_to(customer))
    previous: Delivery | None = None
    duplicates: list[_Duplicate] = []
    for index, step in enumerate(conversation.steps, 1):
        if step.duplicate:
            assert previous is not None  # the format refuses a duplicate first
            response = await ctx.whatsapp.post(previous)
            duplicate = _Duplicate(index, step.said, previous.chain)
            if response.status_code != 200:
                duplicate.failures.append(f"the re-delivered webhook was answered {response.status_code}, not 200")
            duplicates.append(duplicate)
            continue

        delivery = _delivery(ctx, customer, step)
        response = await ctx.whatsapp.post(delivery)
        if response.status_code != 200:
            turns.append(TurnResult(index, step.said, False,
                                    (f"webhook answered {response.status_code}: {response.text[:200]}",)))
            return result(None)
        try:
            ours, others = await _await_reply(ctx, customer, delivery, consumed)
        except WaitTimeout:
            turns.append(TurnResult(index, step.said, False, (f"no reply within {ctx.reply_timeout:g} s",)))
            turns.extend(TurnResult(d.index, d.said, None, note="not proven: the next turn got no reply")
                         for d in duplicates)
            return result(None)
        consumed += len(ours) + len(others)
        reply = "\n".join(str(m["body"]) for m in ours)

        for duplicate in duplicates:
            if chain_of(ours[0]) is None:  # by order: one reply was due, any more answered the re-delivery
                if others:
                    replies = ", ".join(f"«{m['body']}»" for m in [*ours, *others])
                    duplicate.failures.append(f"no_reply: {len(others) + 1} replies came where one was due: {replies}")
            else:
                duplicate.failures.extend(f"no_reply: the re-delivered message got a reply «{m['body']}»"
                                          for m in others if chain_of(m) == duplicate.chain)
            turns.append(TurnResult(duplicate.index, duplicate.said, not duplicate.failures,
                                    tuple(duplicate.failures)))
        duplicates = []

        failures = check_reply(step.assertions, reply)
        if step.assertions.checks_effects:
            effects = await ctx.business.effects(customer, profile=step.assertions.profile is not None)
            failures += check_effects(step.assertions, effects, arranged, ctx.today)
        turns.append(TurnResult(index, step.said, not failures, tuple(failures), reply))
        previous = delivery
    return result(None)


async def run_suite(conversations: Sequence[Conversation], target: Target, *,
                    concurrency: int = DEFAULT_CONCURRENCY, reply_timeout: float = DEFAULT_REPLY_TIMEOUT_S,
                    cleanup: bool = True, on_result: Callable[[ConversationResult], None] | None = None,
                    transport: httpx.AsyncBaseTransport | None = None) -> Report:
    """Play `conversations` against the stack at `target`; `concurrency` of them side by side.

    `cleanup` cancels each conversation's remaining bookings (its customer's and those that filled
    a class for it) once it ends, so that reruns against a long-lived stack never fill a class.
    `transport` replaces the network (tests of the runner itself, with a fake stack)."""
    started = time.monotonic()
    limits = httpx.Limits(max_connections=max(16, concurrency * 4))
    async with httpx.AsyncClient(timeout=15.0, limits=limits, transport=transport) as http:
        business = BusinessApi(target, http)
        ctx = _Context(WhatsApp(target, http), business, Numbers(), await business.today(), reply_timeout,
                       cleanup)
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(conversation: Conversation) -> ConversationResult:
            async with gate:
                outcome = await play(conversation, ctx)
            if on_result is not None:
                on_result(outcome)
            return outcome

        results = await asyncio.gather(*(one(c) for c in conversations))
    return Report(tuple(results), time.monotonic() - started)
