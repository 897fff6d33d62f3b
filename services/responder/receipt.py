"""The delayed receipt: «Mensaje recibido» when no reply to a message went out within N seconds.

With `RECEIPT_TEXT` set and `RECEIPT_AFTER_S` > 0, responder also consumes `message.received`.
For each admitted (not throttled) message it starts a timer that ends N seconds after ingress
received the message; then, unless the ledger says a reply of that chain went out, it claims the
chain's receipt in Redis and sends the text with Twilio (one attempt, its delivery callbacks
naming the chain). The receipt is not an event: nothing else depends on it.

Best effort, and exactly what that means:
- The timer lives in the process that consumed the message, and the record's offset is committed
  once the timer is started: a responder stopped or restarted during the wait loses that receipt.
- Never sent twice: the claim (`SET NX`, one per correlation id) comes before the one Twilio call,
  so a redelivered `message.received`, or a second replica, finds it claimed and sends nothing. A
  crash between the claim and the call, or a failed call, loses the receipt instead.
- A reply claimed but not yet recorded as sent when the wait ends does not stop the receipt: the
  customer then gets both, the receipt possibly just after the reply.
- A message whose receipt would be more than `MAX_LATE_S` late (a consumer far behind, or a new
  consumer group reading the topic from the beginning) gets none.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from prometheus_client import Counter
from redis.exceptions import RedisError

from contracts import MessageReceived
from runtime.stage import Output
from services.responder.adapters.ledger import ReplyLedger
from services.responder.adapters.twilio import TwilioSender

log = logging.getLogger(__name__)

MAX_LATE_S = 60.0

RECEIPTS = Counter("responder_receipts_total",
                   "Delayed receipts by result (sent, replied, claimed, late, failed)", ["result"])


class DelayedReceipts:
    """Starts one receipt timer per received message; `aclose` cancels the timers still waiting."""

    def __init__(self, *, text: str, after_s: float, sender: TwilioSender, ledger: ReplyLedger,
                 clock: Callable[[], float] = time.time) -> None:
        self._text = text
        self._after_s = after_s
        self._sender = sender
        self._ledger = ledger
        self._clock = clock
        self._waiting: set[asyncio.Task[None]] = set()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def handle(self, event: MessageReceived) -> list[Output]:
        """Start the message's receipt timer; no outputs (the stage commits the record at once)."""
        if event.payload.throttled:  # ingress already told a throttled sender, once per window
            return []
        due = event.payload.received_at.timestamp() + self._after_s
        if self._clock() > due + MAX_LATE_S:
            RECEIPTS.labels("late").inc()
            return []
        task = asyncio.create_task(self._when_due(event, due), name=f"receipt-{event.correlation_id}")
        self._waiting.add(task)
        task.add_done_callback(self._done)
        return []

    def _done(self, task: asyncio.Task[None]) -> None:
        self._waiting.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            RECEIPTS.labels("failed").inc()
            log.error("receipt task failed", exc_info=error)

    async def _when_due(self, event: MessageReceived, due: float) -> None:
        await asyncio.sleep(max(0.0, due - self._clock()))
        chain = event.correlation_id
        try:
            if await self._ledger.replied(chain):
                RECEIPTS.labels("replied").inc()
                return
            if not await self._ledger.claim_receipt(chain):
                RECEIPTS.labels("claimed").inc()  # a redelivery or another replica has it
                return
        except RedisError as exc:
            RECEIPTS.labels("failed").inc()
            log.warning("no receipt: Redis unavailable: %s", exc)
            return
        result = await self._sender.send(to=event.payload.customer, from_=event.payload.business,
                                         body=self._text, correlation_id=chain, attempts=1)
        if result.ok:
            RECEIPTS.labels("sent").inc()
        else:
            RECEIPTS.labels("failed").inc()
            log.warning("could not send the receipt: %s %s", result.error_code, result.error_message)

    async def aclose(self) -> None:
        for task in self._waiting:
            task.cancel()
        await asyncio.gather(*self._waiting, return_exceptions=True)
