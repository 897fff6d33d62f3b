"""Long replies go as parts in order, each claimed and recorded on its own: a redelivery after a
crash sends only the parts that did not go out."""

from __future__ import annotations

import httpx
from redis.asyncio import Redis

from contracts import ReplyFailed, ReplySent, derive_event_id
from runtime.settings import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN
from runtime.stage import Output
from services.responder.adapters.content import ContentRegistry
from services.responder.adapters.ledger import ReplyLedger
from services.responder.adapters.twilio import TwilioSender
from services.responder.handler import STAGE, ResponderDeps, part_key, send_once
from services.responder.interactive import Choice, Interactive
from services.responder.split import split_body, twilio_length
from tests.integration.responder.events import BUSINESS, acknowledged, new_customer
from tests.integration.responder.standin import Standin
from tests.integration.responder.test_twilio_errors import inject

PARAGRAPH = ("¿Sabías que el pilates mejora la postura? ¡Sí! Nuestras clases de reformer son para todos los "
             "niveles, y las instructoras adaptan cada ejercicio a ti. ") * 4


def long_body(characters: int) -> str:
    paragraphs = []
    while sum(len(p) + 2 for p in paragraphs) < characters:
        paragraphs.append(f"{len(paragraphs) + 1}. {PARAGRAPH.strip()} 🧘‍♀️")
    return "\n\n".join(paragraphs)[:characters].rstrip() + " Fin."


def reply_sent(outputs: list[Output]) -> ReplySent:
    [output] = outputs
    assert isinstance(output.event, ReplySent), output.event
    return output.event


async def test_a_long_body_goes_as_parts_in_order(standin: Standin, sender: TwilioSender, redis: Redis) -> None:
    customer = new_customer()
    body = long_body(4000)
    assert len(body) >= 4000
    deps = ResponderDeps(sender=sender, ledger=ReplyLedger(redis), business_name="x")

    sent = reply_sent(await send_once(acknowledged(customer), to=customer, from_=BUSINESS, body=body,
                                      template="test", deps=deps))

    messages = await standin.messages(to=customer)
    assert [m["body"] for m in messages] == split_body(body) and len(messages) == 3
    assert all(twilio_length(m["body"]) <= 1600 for m in messages)
    assert sent.payload.message_sids == tuple(m["sid"] for m in messages)
    assert sent.payload.message_sid == messages[0]["sid"] and sent.payload.body == body


async def test_a_redelivery_after_part_one_sends_only_the_rest(standin: Standin, sender: TwilioSender,
                                                                redis: Redis) -> None:
    customer = new_customer()
    event = acknowledged(customer)
    body = long_body(2400)
    first, second = split_body(body)
    ledger = ReplyLedger(redis)
    reply_id = derive_event_id(event.event_id, STAGE)
    # The crashed delivery: part 1 claimed, sent and recorded; then the process died.
    assert await ledger.claim(part_key(reply_id, 0)) is None
    went_out = await sender.send(to=customer, from_=BUSINESS, body=first)
    assert went_out.sid is not None
    await ledger.record_sent(part_key(reply_id, 0), went_out.sid, event.correlation_id)

    sent = reply_sent(await send_once(event, to=customer, from_=BUSINESS, body=body, template="test",
                                      deps=ResponderDeps(sender=sender, ledger=ledger, business_name="x")))

    messages = await standin.messages(to=customer)
    assert [m["body"] for m in messages] == [first, second], "part 1 not sent again"
    assert sent.payload.message_sids == (went_out.sid, messages[1]["sid"])


async def test_a_part_that_went_out_unrecorded_is_found_not_resent(standin: Standin, sender: TwilioSender,
                                                                    redis: Redis) -> None:
    customer = new_customer()
    event = acknowledged(customer)
    body = long_body(2400)
    first, second = split_body(body)
    ledger = ReplyLedger(redis)
    reply_id = derive_event_id(event.event_id, STAGE)
    sids = []
    for index, part in enumerate((first, second)):  # both claimed and sent; part 2 never recorded
        assert await ledger.claim(part_key(reply_id, index)) is None
        result = await sender.send(to=customer, from_=BUSINESS, body=part)
        assert result.sid is not None
        sids.append(result.sid)
        if index == 0:
            await ledger.record_sent(part_key(reply_id, 0), result.sid, event.correlation_id)

    sent = reply_sent(await send_once(event, to=customer, from_=BUSINESS, body=body, template="test",
                                      deps=ResponderDeps(sender=sender, ledger=ledger, business_name="x")))

    assert len(await standin.messages(to=customer)) == 2, "Twilio had part 2: nothing sent again"
    assert sent.payload.message_sids == tuple(sids)


async def test_a_final_error_on_a_later_part_is_reported_once(standin: Standin, sender: TwilioSender,
                                                              redis: Redis) -> None:
    customer = new_customer()
    event = acknowledged(customer)
    body = long_body(2400)
    first, _ = split_body(body)
    ledger = ReplyLedger(redis)
    reply_id = derive_event_id(event.event_id, STAGE)
    assert await ledger.claim(part_key(reply_id, 0)) is None
    went_out = await sender.send(to=customer, from_=BUSINESS, body=first)
    assert went_out.sid is not None
    await ledger.record_sent(part_key(reply_id, 0), went_out.sid, event.correlation_id)
    await inject(standin, to=customer, code=63016)
    deps = ResponderDeps(sender=sender, ledger=ledger, business_name="x")

    [output] = await send_once(event, to=customer, from_=BUSINESS, body=body, template="test", deps=deps)

    assert isinstance(output.event, ReplyFailed) and output.event.payload.error_code == 63016
    assert output.event.payload.error_message.startswith(f"part 2 of 2 (sent before it: {went_out.sid}): ")
    [again] = await send_once(event, to=customer, from_=BUSINESS, body=body, template="test", deps=deps)
    assert again.event == output.event  # the same reply.failed, published again; nothing sent again
    assert len(await standin.messages(to=customer)) == 1


async def test_the_buttons_go_with_the_last_part_within_1024(standin: Standin, sender: TwilioSender,
                                                             redis: Redis) -> None:
    customer = new_customer()
    body = long_body(2000)
    choices = Interactive(kind="quick_reply", body=body, choices=(Choice("act:afirmar", "Sí"),
                                                                  Choice("act:negar", "No")))
    content = ContentRegistry(httpx.AsyncClient(trust_env=False), redis, account_sid=DEMO_ACCOUNT_SID,
                              auth_token=DEMO_AUTH_TOKEN, base_url=standin.url,
                              prefix=f"test:content:{customer}:")
    deps = ResponderDeps(sender=sender, ledger=ReplyLedger(redis), business_name="x", content=content)
    try:
        sent = reply_sent(await send_once(acknowledged(customer), to=customer, from_=BUSINESS, body=body,
                                          template="test", deps=deps, interactive=choices))
    finally:
        await content.aclose()

    messages = await standin.messages(to=customer)
    assert [m["body"] for m in messages] == split_body(body, last_limit=1024) and len(messages) >= 2
    assert [m["content_type"] for m in messages] == [None] * (len(messages) - 1) + ["twilio/quick-reply"]
    assert twilio_length(messages[-1]["body"]) <= 1024
    assert messages[-1]["actions"] == [{"id": "act:afirmar", "title": "Sí"}, {"id": "act:negar", "title": "No"}]
    assert sent.payload.content_sid == messages[-1]["content_sid"] is not None

