"""Play scripted conversations against a running stack and judge every turn.

Each conversation gets a fresh customer number, its `given` arranged through the business API,
then its steps in order: a signed webhook per message (or a button pressed on the payment page, or
a call to ingress's staff admin API), the reply awaited with bounded polling of the Twilio
stand-in's record, the reply and the business effects checked against the step's assertions.
Conversations run side by side (`concurrency`), each one's turns in order.

Replies are attributed by the chain responder names in each message's status callback URL
(`?correlation_id=<the id of the event that caused it>`): a customer's message by its
`message.received` id, a staff message by the `staff.acted` id the admin API answers, and the
bot's unprompted message after a payment as the first one of a chain the conversation did not
start. A stack whose messages carry no callback URL falls back to order (the next new message is
the reply). A silent step (a duplicate webhook, or a message the bot must not answer while a
person has the conversation) is proven at the next customer message the bot answers: once that
reply has arrived, no reply of the silent step's chain may be there (a conversation's messages are
processed in order, so such a reply would have come first). Staff and payment steps do not prove
it: their messages take another path, which can overtake a reply still on its way.
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
from devstack.conversations.payment import PaymentPageError, last_payment_link, press
from devstack.conversations.report import ConversationResult, Report, TurnResult
from devstack.conversations.staff import Staff

DEFAULT_CONCURRENCY = 8
DEFAULT_REPLY_TIMEOUT_S = 30.0
POLL_INTERVAL_S = 0.2
SETTLE_FACTOR = 2.0
MIN_SETTLE_S = 1.0

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
    paid = [p for p in bought if p["status"] == "paid"]
    if assertions.purchases_paid is not None and len(paid) != assertions.purchases_paid:
        failures.append(f"purchases_paid: expected {assertions.purchases_paid}, found {len(paid)} "
                        f"(purchases: {purchases})")
    held = [p for p in effects.packages or [] if p["status"] != "pending"]
    holding = "; ".join(f"{p['name']} {p['status']} {p['sessions_left']} left" for p in held) or "none"
    for wanted in assertions.sessions_left:
        if not any(p["name"].casefold() == wanted.package.casefold() and p["sessions_left"] == wanted.count
                   for p in held):
            failures.append(f"sessions_left {wanted}: no such package with {wanted.count} sessions left "
                            f"(packages: {holding})")
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
    staff: Staff
    numbers: Numbers
    today: dt.date
    reply_timeout: float
    cleanup: bool


@dataclass
class _Silent:
    """A step no reply may follow (a duplicate, or a message `no_reply`), waiting for its proof."""

    index: int
    said: str
    chain: str
    since: int  # the inbox's messages taken when it was posted: a reply to it can only come after
    duplicate: bool  # a re-delivered webhook (ingress drops it), not a new message
    failures: list[str] = field(default_factory=list)


@dataclass
class _Inbox:
    """What the bot sent the customer (oldest first) as last read, and how many of them turns took."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    taken: int = 0


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


async def _await_reply(ctx: _Context, customer: str, inbox: _Inbox,
                       claims: Callable[[str], bool]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Wait for the first new message of a chain `claims`; returns (the messages of that chain, the other
    new messages), all of them taken. Without chains (no callback URL), the first new message is the reply."""

    async def arrived() -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        inbox.messages = await ctx.whatsapp.sent_to(customer)
        new = inbox.messages[inbox.taken:]
        chained = [m for m in new if chain_of(m) is not None]
        first = next((m for m in chained if claims(str(chain_of(m)))), None)
        if first is not None:
            ours = [m for m in chained if chain_of(m) == chain_of(first)]
            return ours, [m for m in new if m not in ours]
        if new and chain_of(new[0]) is None:  # no chain named: by order, the first new message is the reply
            return new[:1], new[1:]
        return None

    ours, others = await wait_for(arrived, timeout=ctx.reply_timeout, interval=POLL_INTERVAL_S)
    inbox.taken += len(ours) + len(others)
    return ours, others


async def _await_given_payment(ctx: _Context, customer: str) -> list[dict[str, Any]]:
    """The messages sent to the customer once the bot has told them, unprompted, that the `given`
    package's payment went through (they never wrote: any message is that one)."""

    async def told() -> list[dict[str, Any]] | None:
        return await ctx.whatsapp.sent_to(customer) or None

    return await wait_for(told, timeout=ctx.reply_timeout, interval=POLL_INTERVAL_S)


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
        inbox = _Inbox()
        if given.package is not None:
            try:
                inbox.messages = await _await_given_payment(ctx, customer)
            except WaitTimeout:
                return result(f"given.package {given.package!r} was paid, but the bot did not tell the customer "
                              f"within {ctx.reply_timeout:g} s")
        else:
            inbox.messages = await ctx.whatsapp.sent_to(customer)
        inbox.taken = len(inbox.messages)
        return await _play_steps(conversation, ctx, customer, arranged, inbox, turns, result)
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
                      inbox: _Inbox, turns: list[TurnResult],
                      result: Callable[[str | None], ConversationResult]) -> ConversationResult:
    previous: Delivery | None = None
    silent: list[_Silent] = []
    own: set[str] = set()  # the chains this conversation started: its messages and its staff's
    slowest = 0.0  # the longest a message of this conversation waited for its reply, in seconds

    def unproven(why: str) -> None:
        turns.extend(TurnResult(s.index, s.said, None, note=f"not proven: {why}") for s in silent)

    for index, step in enumerate(conversation.steps, 1):
        failures: list[str] = []
        posted = time.monotonic()
        if step.duplicate:
            assert previous is not None  # the format refuses a duplicate that follows no message
            response = await ctx.whatsapp.post(previous)
            duplicate = _Silent(index, step.said, previous.chain, inbox.taken, duplicate=True)
            if response.status_code != 200:
                duplicate.failures.append(f"the re-delivered webhook was answered {response.status_code}, not 200")
            silent.append(duplicate)
            continue

        if step.staff is not None and step.staff.hand_back:
            if any(not s.duplicate for s in silent):
                await _settle(ctx, customer, inbox, slowest, {s.chain for s in silent})
            answer = await ctx.staff.hand_back(customer)
            if not answer.accepted:
                failures.append(f"staff hand_back: the admin API answered {answer.status}: {answer.text}")
            else:
                await _settle(ctx, customer, inbox, slowest)
            if step.assertions.checks_effects:
                failures += await _effects(ctx, customer, step.assertions, arranged)
            turns.append(TurnResult(index, step.said, not failures, tuple(failures)))
            continue

        claims: Callable[[str], bool]
        if step.is_message:
            delivery = _delivery(ctx, customer, step)
            response = await ctx.whatsapp.post(delivery)
            if response.status_code != 200:
                turns.append(TurnResult(index, step.said, False,
                                        (f"webhook answered {response.status_code}: {response.text[:200]}",)))
                unproven("a webhook was refused")
                return result(None)
            own.add(delivery.chain)
            previous = delivery
            if step.assertions.no_reply:
                silent.append(_Silent(index, step.said, delivery.chain, inbox.taken, duplicate=False))
                continue
            chain = delivery.chain
            claims = chain.__eq__
            waiting = f"no reply within {ctx.reply_timeout:g} s"
        elif step.staff is not None:
            assert step.staff.say is not None
            answer = await ctx.staff.say(customer, step.staff.say, name=step.staff.name)
            if not answer.accepted or answer.event_id is None:
                turns.append(TurnResult(index, step.said, False,
                                        (f"staff say: the admin API answered {answer.status}: {answer.text}",)))
                continue
            own.add(answer.event_id)
            claims = answer.event_id.__eq__
            waiting = f"the staff message did not reach the customer within {ctx.reply_timeout:g} s"
        else:
            assert step.pay is not None
            inbox.messages = await ctx.whatsapp.sent_to(customer)
            link = last_payment_link([str(m["body"]) for m in inbox.messages])
            if link is None:
                turns.append(TurnResult(index, step.said, False, ("pay: the bot sent this customer no payment link",)))
                continue
            try:
                await press(ctx.business.http, link, step.pay)
            except PaymentPageError as error:
                turns.append(TurnResult(index, step.said, False, (f"pay: {error}",)))
                continue

            def unprompted(chain: str) -> bool:
                return chain not in own

            claims = unprompted
            waiting = f"the bot said nothing within {ctx.reply_timeout:g} s of the payment"

        try:
            ours, others = await _await_reply(ctx, customer, inbox, claims)
        except WaitTimeout:
            turns.append(TurnResult(index, step.said, False, (waiting,)))
            unproven("the next turn got no reply" if step.proves_silence else "the conversation ended")
            return result(None)
        reply = "\n".join(str(m["body"]) for m in ours)
        if step.is_message:
            slowest = max(slowest, time.monotonic() - posted)

        if step.proves_silence:
            for pending in silent:
                _prove_silent(pending, inbox, ours, others)
                turns.append(TurnResult(pending.index, pending.said, not pending.failures, tuple(pending.failures)))
            silent = []

        if step.staff is not None and reply != step.staff.say:
            failures.append(f"staff say: the customer got «{reply}», not the message as written")
        failures += check_reply(step.assertions, reply)
        if step.assertions.checks_effects:
            failures += await _effects(ctx, customer, step.assertions, arranged)
        turns.append(TurnResult(index, step.said, not failures, tuple(failures), reply))
    return result(None)


async def _settle(ctx: _Context, customer: str, inbox: _Inbox, slowest: float,
                  chains: frozenset[str] | set[str] = frozenset()) -> None:
    """Around a hand-back, let the bot catch up: actions reads the staff's events and the customer's
    messages from different topics and applies them in the order it fetches them, not the order they
    were sent, and a hand-back travels straight to it while a message first goes through NLU. Before the
    hand-back, a silent message still on its way would be answered once handed back; right after it, a
    message could be applied before the hand-back and never be answered. Waits twice the slowest reply
    of the conversation (at least `MIN_SETTLE_S`, at most the reply timeout), and stops early when a
    reply of one of `chains` (the silent messages) arrives: its proof then fails."""
    deadline = time.monotonic() + min(ctx.reply_timeout, max(MIN_SETTLE_S, SETTLE_FACTOR * slowest))
    while time.monotonic() < deadline:
        inbox.messages = await ctx.whatsapp.sent_to(customer)
        if any(chain_of(m) in chains for m in inbox.messages[inbox.taken:]):
            return
        await asyncio.sleep(POLL_INTERVAL_S)


def _prove_silent(pending: _Silent, inbox: _Inbox, ours: list[dict[str, Any]], others: list[dict[str, Any]]) -> None:
    """Once a later message's reply has arrived: no reply of the silent step's chain may be there."""
    if chain_of(ours[0]) is None:  # by order: one reply was due, any more answered the silent step
        if others:
            replies = ", ".join(f"«{m['body']}»" for m in [*ours, *others])
            pending.failures.append(f"no_reply: {len(others) + 1} replies came where one was due: {replies}")
        return
    pending.failures.extend(f"no_reply: it got a reply «{m['body']}»"
                            for m in inbox.messages[pending.since:] if chain_of(m) == pending.chain)


async def _effects(ctx: _Context, customer: str, assertions: Assertions, arranged: Arranged) -> list[str]:
    effects = await ctx.business.effects(customer, profile=assertions.profile is not None,
                                         packages=bool(assertions.sessions_left))
    return check_effects(assertions, effects, arranged, ctx.today)


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
        ctx = _Context(WhatsApp(target, http), business, Staff(target, http), Numbers(), await business.today(),
                       reply_timeout, cleanup)
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(conversation: Conversation) -> ConversationResult:
            async with gate:
                outcome = await play(conversation, ctx)
            if on_result is not None:
                on_result(outcome)
            return outcome

        # The longest conversations start first, so that none of them is left running alone at the end;
        # the report keeps the files' order.
        longest_first = sorted(range(len(conversations)), key=lambda i: -len(conversations[i].steps))
        played = dict(zip(longest_first, await asyncio.gather(*(one(conversations[i]) for i in longest_first)),
                          strict=True))
    return Report(tuple(played[i] for i in range(len(conversations))), time.monotonic() - started)
