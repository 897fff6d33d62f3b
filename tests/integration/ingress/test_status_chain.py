"""Delivery callbacks find their chain without shared Redis keys: responder puts the correlation id
in each message's StatusCallback URL, the Twilio stand-in calls that exact URL back (signed, query
included), and ingress publishes `reply.status` with that correlation id."""

from __future__ import annotations

import asyncio
import uuid

from contracts import REPLY_STATUS, ReplyStatus
from runtime.settings import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN
from services.responder.adapters.twilio import TwilioSender
from tests.integration.ingress.conftest import IngressFactory
from tests.integration.responder.standin import running_standin
from tests.topic_reader import read_all


async def statuses_of(bootstrap: str, sid: str) -> list[ReplyStatus]:
    return [e for e in await read_all(bootstrap, REPLY_STATUS) if e.payload.message_sid == sid]


async def test_a_replys_delivery_statuses_carry_its_chain(ingress: IngressFactory, kafka_bootstrap: str) -> None:
    chain = str(uuid.uuid4())
    async with ingress() as app, running_standin(callbacks=True, callback_delay_s=0.01) as standin:
        sender = TwilioSender.create(DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, api_base_url=standin.url, attempts=1,
                                     backoff_s=0.01, status_callback=app.url + "/webhooks/twilio/status")
        try:
            result = await sender.for_chain(chain).send(to="whatsapp:+5215500000150",
                                                        from_="whatsapp:+14155238886", body="¡Hola!")
        finally:
            await sender.aclose()
        assert result.sid is not None
        deadline = asyncio.get_running_loop().time() + 20
        statuses: list[ReplyStatus] = []
        while len(statuses) < 3:  # sent, delivered, read: bounded polling
            assert asyncio.get_running_loop().time() < deadline, f"statuses so far: {statuses}"
            await asyncio.sleep(0.1)
            statuses = await statuses_of(kafka_bootstrap, result.sid)
    assert sorted(s.payload.status for s in statuses) == ["delivered", "read", "sent"]
    assert {s.correlation_id for s in statuses} == {chain}
    assert {s.conversation_id for s in statuses} == {"whatsapp:+5215500000150"}
