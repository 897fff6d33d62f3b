"""The dialogue policy: a customer message, read in the context of the conversation, to one decision.

`handle(state, event, deps) -> (state, outputs)` is what the actions agent calls for every
`intent.detected`, with the conversation's state from its table. It

1. re-publishes the stored `action.completed` when the event was already handled (redelivery);
2. applies the user's turn (`services.actions.state.apply`) and drops a flow left idle longer
   than `deps.flow_idle_s`, measured on the message's own `received_at` (replays agree);
3. decides (`decide`): answer a pending confirmation, fill or correct the flow's values whatever
   NLU called the message, answer a question asked in the middle of a flow and ask the flow's
   question again, switch to another task (keeping the first one aside), or start something new;
4. builds one `action.completed` whose `payload.dialogue` records the decision, applies it, and
   returns the new state with that event to publish.

Yes and no come from NLU's learned dialogue acts (`Context.answer`), read together with the
context: a pending confirmation, the options on the table, a flow put aside. All business calls go
through `deps.business_api` (the `BusinessApi` port); mutating ones carry an `Idempotency-Key`
derived from the message's event id, so a replayed message never acts twice.

Opting out ("baja", "no me escriban más": NLU's `darse_de_baja`) drops whatever was going on,
publishes `conversation.opted_out` and confirms once (`opted_out`); nothing unprompted (a payment
told) goes to the customer while opted out. Their next message the bot answers publishes
`conversation.opted_in` first: writing again is consent. Every reply to a customer message carries
its `received_at` (responder's 24-hour window); an unprompted one has None.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace
from typing import Literal, cast

from pydantic import JsonValue

from contracts import (
    ACTION_COMPLETED,
    CONVERSATION_HANDED_OFF,
    CONVERSATION_OPTED_IN,
    CONVERSATION_OPTED_OUT,
    INTENT_DETECTED,
    PAYMENT_CLAIMED,
    PAYMENT_UPDATED,
    STAFF_ACTED,
    ActionCompleted,
    ActionCompletedPayload,
    ActionOutcome,
    ConversationHandedOff,
    ConversationOptedIn,
    ConversationOptedOut,
    HandedOffPayload,
    IntentDetected,
    NluOutcome,
    OptInPayload,
    OptOutPayload,
    PaymentClaimed,
    PaymentClaimedPayload,
    PaymentUpdated,
    StaffActed,
    Topic,
)
from contracts.dialogue import DialogueUpdate, FlowSnapshot
from contracts.replies import (
    Abandoned,
    Acknowledged,
    Clarification,
    FaqAnswer,
    FlowExpired,
    FlowName,
    Goodbye,
    Greeting,
    HandedOff,
    Help,
    LocationReceived,
    MediaReceived,
    OptedOut,
    OutOfScope,
    PaymentConfirmed,
    PaymentFailed,
    Reply,
    ResumeFlow,
    Thanks,
    UnknownQuestion,
)
from runtime.stage import Output
from services.actions import understanding
from services.actions.adapters.business_api import BusinessApiError
from services.actions.flows import FLOWS, ActionsDeps, Context, Decision, Flow, queries
from services.actions.flows.base import api_failure
from services.actions.flows.booking import booking_waiting_for_payment
from services.actions.flows.profile import FREE_TEXT
from services.actions.state import DialogueState, apply, is_expired, is_stale, with_dialogue

STAGE = "actions"

CAPABILITIES = ("agendar una clase", "ver paquetes y precios", "consultar horarios", "cancelar una reserva",
                "pagar un paquete", "consultar tus reservas")
QUERIES = {
    "consultar_paquetes": queries.packages,
    "consulta_estado": queries.booking_status,
    "consultar_historial": queries.purchase_history,
    "consultar_horarios": queries.schedule,
    "consultar_creditos": queries.credits,
}
ALIASES = {
    # Inside a flow, these intents continue it instead of interrupting it.
    "agendar_cita": frozenset({"consultar_horarios"}),
    "pagar_servicio": frozenset({"consultar_paquetes"}),
    "cancelar_cita": frozenset({"consulta_estado"}),
    "actualizar_perfil": frozenset(),
}
OUT_OF_SCOPE = "fuera_de_alcance"
ACT_INTENTS = frozenset(understanding.ACTS)

__all__ = ["STAGE", "ActionsDeps", "decide", "handle"]


ActionsInput = IntentDetected | PaymentUpdated | StaffActed
SOURCES: tuple[Topic[ActionsInput], ...] = (INTENT_DETECTED, PAYMENT_UPDATED, STAFF_ACTED)  # type: ignore[assignment]
"""The topics actions consumes, all keyed by conversation and co-partitioned with the dialogue Table."""
HANDOFF_INTENT = "hablar_con_humano"
OPT_OUT_INTENT = "darse_de_baja"
INFO_INTENT = "consultar_info"


async def handle(state: DialogueState, event: ActionsInput, deps: ActionsDeps) -> tuple[DialogueState, list[Output]]:
    """The conversation's next state and the events to publish for one event of `SOURCES`."""
    if state.has_applied(event.event_id):
        return state, _redelivered(state, event)
    if isinstance(event, StaffActed):
        return await _on_staff(apply(state, event), deps)
    if isinstance(event, PaymentUpdated):
        return _on_payment(apply(state, event), event, deps)
    if _asks_to_opt_out(event, deps):  # honoured whatever is going on, a person in the conversation included
        return _on_opt_out(state, event)
    if state.handed_off(event.payload.received_at):  # a person has the conversation: the bot stays silent
        silenced = event.model_dump(mode="json", by_alias=True)
        return apply(state, event).model_copy(update={"silenced": silenced}), []
    return await _on_message(state, event, deps)


async def _on_staff(state: DialogueState, deps: ActionsDeps) -> tuple[DialogueState, list[Output]]:
    """A staff message is sent by responder; a hand-back ends the silence, and a message the customer sent
    after it, read before it, is answered now."""
    silenced = INTENT_DETECTED.decode_dict(state.silenced) if state.silenced else None
    if state.handed_back_at is None or silenced is None or state.handed_off(silenced.payload.received_at):
        return state, []
    return await _on_message(state.model_copy(update={"silenced": None}), silenced, deps, already_applied=True)


async def _on_message(state: DialogueState, event: IntentDetected, deps: ActionsDeps, *,
                      already_applied: bool = False) -> tuple[DialogueState, list[Output]]:
    """The decision about one customer message (`already_applied`: its turn is in the state already)."""
    received = event.payload.received_at
    expired = is_expired(state, received, deps.flow_idle_s)
    expired_flow = (state.flow or (state.interrupted_flow.flow if state.interrupted_flow else None)
                    if expired else None)
    stale = is_stale(state, received, deps.flow_idle_s)
    if not already_applied:
        state = apply(state, event)
    if event.payload.outcome is NluOutcome.THROTTLED:
        return state, []  # recorded upstream; ingress already told the sender to slow down
    if expired:
        state = with_dialogue(state, DialogueUpdate())
    if stale and state.offered:
        state = state.model_copy(update={"offered": ()})  # a list shown long ago is not "la de las 7" now
    first, second = split_requests(event)
    try:
        decision = await decide(Context(first, state, deps), expired_flow=expired_flow)
        if second is not None:
            decision = await _with_second_request(Context(second, state, deps), decision)
    except BusinessApiError as error:  # an answer of the wrong shape, read outside a flow's own handling
        decision = api_failure("business_api", error, dialogue=state.dialogue)
    if _misunderstood_again(state, decision):
        decision = _hand_off(Context(first, state, deps), "not_understood")
    decision = _keeping_the_waiting_booking(state, decision)
    completed = _completed(event, state, decision, customer=event.payload.customer)
    outputs = [Output(ACTION_COMPLETED, completed)]
    if state.opted_out:  # they opted out and write again: consent to be written to (applying `completed` ends it)
        opted_in = ConversationOptedIn.caused_by(event, stage=f"{STAGE}:opt_in", payload=OptInPayload(
            customer=event.payload.customer, text=event.payload.text))
        outputs.insert(0, Output(CONVERSATION_OPTED_IN, opted_in))
    if decision.dialogue.handed_off_until is not None:
        outputs.append(Output(CONVERSATION_HANDED_OFF, _handed_off(event, decision)))
    if decision.claim is not None:
        claimed = PaymentClaimed.caused_by(event, stage=f"{STAGE}:claim", payload=PaymentClaimedPayload(
            customer=event.payload.customer, text=event.payload.text, media=event.payload.media,
            purchase_id=decision.claim))
        outputs.append(Output(PAYMENT_CLAIMED, claimed))
    return apply(state, completed), outputs


def _asks_to_opt_out(event: IntentDetected, deps: ActionsDeps) -> bool:
    """NLU is confident the message (or a second request in it) asks for no more messages."""
    payload = event.payload
    if payload.outcome is not NluOutcome.CLASSIFIED:
        return False
    if payload.intent == OPT_OUT_INTENT and payload.confidence >= deps.confidence_threshold:
        return True
    also = payload.also
    return also is not None and also.name == OPT_OUT_INTENT and also.confidence >= deps.confidence_threshold


def _on_opt_out(state: DialogueState, event: IntentDetected) -> tuple[DialogueState, list[Output]]:
    """"baja", "no me escriban más": everything going on is dropped (a flow, a question, a person's
    handoff), `conversation.opted_out` is published and the opt-out confirmed once; asked again while
    opted out, nothing more is said. The bot writes again only when the customer writes first."""
    already = state.opted_out
    state = apply(state, event).model_copy(update={"silenced": None})
    if already:
        return state, []
    decision = Decision("opt_out", ActionOutcome.ANSWERED, OptedOut(), DialogueUpdate(), intent=OPT_OUT_INTENT,
                        drops_interrupted=True)
    completed = _completed(event, state, decision, customer=event.payload.customer)
    opted_out = ConversationOptedOut.caused_by(event, stage=f"{STAGE}:opt_out", payload=OptOutPayload(
        customer=event.payload.customer, source="customer", text=event.payload.text))
    return apply(state, completed), [Output(ACTION_COMPLETED, completed), Output(CONVERSATION_OPTED_OUT, opted_out)]


def _keeping_the_waiting_booking(state: DialogueState, decision: Decision) -> Decision:
    """A booking waiting for a package being bought (`after_payment`) stays through the purchase, until a
    new booking replaces it or the customer drops what was going on."""
    dialogue = decision.dialogue
    if state.after_payment is None or dialogue.after_payment is not None or decision.intent == "agendar_cita" \
            or decision.outcome is ActionOutcome.CANCELLED or decision.drops_interrupted:
        return decision
    return decision.with_dialogue(dialogue.model_copy(update={"after_payment": state.after_payment}))


def _completed(cause: IntentDetected | PaymentUpdated, state: DialogueState, decision: Decision, *,
               customer: str) -> ActionCompleted:
    user_text = cause.payload.text if isinstance(cause, IntentDetected) else ""
    intent = decision.intent or (cause.payload.intent if isinstance(cause, IntentDetected) else None)
    received_at = cause.payload.received_at if isinstance(cause, IntentDetected) else None  # None: unprompted
    payload = ActionCompletedPayload(
        customer=customer, business=state.business or "", intent=intent, action=decision.action,
        outcome=decision.outcome, reply=decision.reply, followup=decision.followup, user_text=user_text,
        form_of_address=state.form_of_address, error=decision.error, received_at=received_at,
        dialogue=decision.dialogue,
    )
    return ActionCompleted.caused_by(cause, stage=STAGE, payload=payload)


def _handed_off(cause: IntentDetected, decision: Decision) -> ConversationHandedOff:
    reply = decision.reply
    until = decision.dialogue.handed_off_until
    assert isinstance(reply, HandedOff) and until is not None
    payload = HandedOffPayload(customer=cause.payload.customer, reason=reply.reason, summary=cause.payload.text,
                               until=until)
    return ConversationHandedOff.caused_by(cause, stage=f"{STAGE}:handoff", payload=payload)


def _misunderstood_again(state: DialogueState, decision: Decision) -> bool:
    """The bot did not understand twice in a row: a person takes over rather than a third guess."""
    reply = decision.reply
    missed = bool(getattr(reply, "not_understood", False)) or getattr(reply, "reason", None) == "low_confidence"
    return missed and state.misunderstood >= 1


def _hand_off(ctx: Context, reason: Literal["asked", "not_understood", "unknown_question", "payment_claim"]
              ) -> Decision:
    """A person of the team takes the conversation; the bot is silent until it is handed back."""
    received = ctx.event.payload.received_at
    until = received + dt.timedelta(seconds=ctx.deps.handoff_s)
    profile = ctx.deps.profile
    open_now = profile.is_open(received)
    reply = HandedOff(reason=reason, response_time=profile.handoff.response_time, open_now=open_now,
                      opens_at=None if open_now else profile.next_opening(received))
    return Decision("hand_off", ActionOutcome.ANSWERED, reply,
                    DialogueUpdate(handed_off_until=until, handed_off_since=received), drops_interrupted=True)


def _about_the_business(ctx: Context) -> Decision:
    """A question about the studio, answered word for word from its profile; one the profile does not
    answer is said plainly and a person is offered (a yes hands the conversation off)."""
    match = ctx.deps.faq.match(ctx.event.payload.text)
    if match is None:
        return Decision("unknown_question", ActionOutcome.ANSWERED, UnknownQuestion(),
                        DialogueUpdate(awaiting="handoff"))
    return Decision("faq", ActionOutcome.ANSWERED, FaqAnswer(faq_id=match.faq_id, answer=match.answer),
                    DialogueUpdate(offered=ctx.state.offered))


def _on_payment(state: DialogueState, event: PaymentUpdated, deps: ActionsDeps) -> tuple[DialogueState, list[Output]]:
    """The business says a purchase was paid (or failed): the customer is told unprompted, and a booking
    that was waiting for that package is offered again, ready for a yes. A customer who opted out is told
    nothing: the payment is recorded (a paid one ends the wait of that booking, which nobody offers)."""
    payload = event.payload
    if state.opted_out:
        paid = payload.status == "paid"
        return (state.model_copy(update={"after_payment": None}) if paid else state), []
    if payload.status == "failed":
        decision = Decision("payment_failed", ActionOutcome.FAILED, PaymentFailed(package=payload.package),
                            state.dialogue)
    else:
        valid = payload.valid_until.astimezone(deps.zone).date() if payload.valid_until else None
        decision = Decision("payment_confirmed", ActionOutcome.SUCCEEDED,
                            PaymentConfirmed(package=payload.package, valid_until=valid), state.dialogue)
        if state.after_payment:
            offered = booking_waiting_for_payment(state.after_payment)
            decision = replace(decision, followup=offered.reply, dialogue=offered.dialogue, intent="agendar_cita")
    state = state if state.business else state.model_copy(update={"business": deps.business_number})
    completed = _completed(event, state, decision, customer=payload.customer)
    return apply(state, completed), [Output(ACTION_COMPLETED, completed)]


def split_requests(event: IntentDetected) -> tuple[IntentDetected, IntentDetected | None]:
    """The message as its first request and, when NLU found one, its second ("… y tb saber cuánto vale el
    bono"): each with its own part of the text and the entities said in it."""
    payload = event.payload
    also = payload.also
    if also is None:
        return event, None
    cut = also.start

    def part(start: int, end: int, **changes: object) -> IntentDetected:
        entities = tuple(e.model_copy(update={"start": e.start - start, "end": (e.end or e.start) - start})
                         for e in payload.entities if e.start is not None and start <= e.start < end)
        return event.model_copy(update={"payload": payload.model_copy(update={
            "text": payload.text[start:end], "entities": entities, "also": None, **changes})})

    return part(0, cut), part(cut, len(payload.text), intent=also.name, confidence=also.confidence, act=None)


async def _with_second_request(ctx: Context, first: Decision) -> Decision:
    """A second request in the same message is answered too: a question, help or a new flow when the
    first one did not start one. The answer comes first when the first request asks something back."""
    intent = ctx.event.payload.intent
    if not _confident(ctx) or (intent in FLOWS and first.dialogue.flow is not None):
        return first
    second = await _fresh(ctx, carry=False)
    if first.outcome in (ActionOutcome.NEEDS_INPUT, ActionOutcome.NEEDS_CONFIRMATION):
        return replace(first, reply=second.reply, followup=first.reply)
    dialogue = first.dialogue if first.dialogue.flow is not None else second.dialogue
    return replace(first, followup=second.reply, dialogue=dialogue)


def _redelivered(state: DialogueState, event: ActionsInput) -> list[Output]:
    """The same action.completed again (same id) if this event's was the last one; else nothing new."""
    last = state.last_reply
    if last is not None and last.cause_id == event.event_id:
        replayed = state.last_reply_event()
        return [Output(ACTION_COMPLETED, replayed)] if replayed is not None else []
    return []


async def decide(ctx: Context, *, expired_flow: str | None = None) -> Decision:
    payload, state = ctx.event.payload, ctx.state
    caption_asks = _confident(ctx) and (payload.intent in FLOWS or payload.intent in QUERIES)
    if payload.media and any(turn.text == "payment_link" for turn in state.turns) \
            and (purchase := await queries.pending_purchase(ctx)) is not None:
        return queries.payment_claim(ctx, purchase)  # a receipt sent while a payment is pending
    if payload.outcome is NluOutcome.MEDIA_ONLY or (payload.media and not caption_asks):
        media = MediaReceived(content_types=tuple(m.content_type for m in payload.media))
        return _keeping_the_flow(ctx, Decision("acknowledge_media", ActionOutcome.ANSWERED, media))
    if payload.outcome is NluOutcome.LOCATION:
        return _keeping_the_flow(ctx, Decision("acknowledge_location", ActionOutcome.ANSWERED, LocationReceived()))
    if payload.outcome is NluOutcome.EMPTY or not payload.text.strip():
        return _clarify("empty", state.dialogue)
    if payload.intent == HANDOFF_INTENT and _confident(ctx):
        return _hand_off(ctx, "asked")  # whatever was going on: a person takes it from here
    if state.flow in FLOWS and state.pending is not None:
        return await _on_pending(ctx, FLOWS[state.flow])
    if state.flow in FLOWS:
        return await _in_flow(ctx, FLOWS[state.flow])
    if state.interrupted_flow is not None and state.interrupted_flow.flow in FLOWS:
        return await _on_resume(ctx, state.interrupted_flow)
    return await _fresh(ctx, expired_flow=expired_flow)


# --- a confirmation is pending -----------------------------------------------------------------------


async def _on_pending(ctx: Context, flow: Flow) -> Decision:
    state = ctx.state
    pending = state.pending
    assert pending is not None
    found = flow.extract(ctx, state.slots, state.offered, "confirmation")
    edited = flow.merge(state.slots, found, editing=True)
    if found and edited != state.slots and (_values_only(ctx, flow, found) or ctx.answer == "no"
                                            or not _other_intent(ctx, flow)):
        return await _step(ctx, flow, edited, edited_summary=True)  # "mejor a las 9", "no, el jueves"
    if ctx.answer == "yes":
        return await _and_the_rest(ctx, _served(await flow.confirmed(ctx, pending), flow, ctx))
    if ctx.answer == "no":
        return _served(flow.declined(ctx, pending), flow, ctx)
    if _other_intent(ctx, flow) or _out_of_scope(ctx):
        return await _interrupt(ctx, flow)
    return _served(flow.reconfirm(ctx, pending), flow, ctx)


async def _and_the_rest(ctx: Context, decision: Decision) -> Decision:
    """"sí, y también quiero ver precios": the yes is served; the request after it is answered too."""
    payload = ctx.event.payload
    if payload.act is None or payload.intent in ACT_INTENTS or not _confident(ctx):
        return decision
    rest = await _fresh(ctx, carry=False)
    if decision.dialogue.flow is not None:  # the yes did not end the flow: the request waits
        return decision
    return replace(decision, followup=rest.reply, dialogue=rest.dialogue)


# --- a flow is collecting its values -----------------------------------------------------------------


async def _in_flow(ctx: Context, flow: Flow) -> Decision:
    state = ctx.state
    editing = state.awaiting == "change"
    found = flow.extract(ctx, state.slots, state.offered, state.awaiting)
    same = _continues(ctx, flow)
    if found and (_values_only(ctx, flow, found) or same or not _confident(ctx) or ctx.answer is not None):
        return await _step(ctx, flow, flow.merge(state.slots, found, editing=editing), edited_summary=editing)
    if ctx.answer == "no" or _abandons(ctx, flow):
        return _abandoned(flow.name)
    if editing and ctx.answer != "yes" and not same:
        # "¿Qué cambiamos?" answered with anything but a value or a yes ("ya, gracias"): nothing to
        # change, the booking is dropped and the message served on its own
        return await _fresh(ctx, carry=False) if _confident(ctx) else _abandoned(flow.name)
    if same or ctx.answer == "yes":  # "sí" to "¿cuál prefieres?": the question again, plainly
        return await _step(ctx, flow, dict(state.slots))
    if _confident(ctx) or _out_of_scope(ctx):
        return await _interrupt(ctx, flow)
    return await _step(ctx, flow, dict(state.slots), not_understood=True)


async def _step(ctx: Context, flow: Flow, slots: dict[str, JsonValue], *, not_understood: bool = False,
                edited_summary: bool = False) -> Decision:
    decision = await flow.step(ctx, slots, not_understood=not_understood, edited=edited_summary)
    return _served(decision, flow, ctx)


def _served(decision: Decision, flow: Flow, ctx: Context) -> Decision:
    """Tag the decision with the flow's intent, remember its question, keep a flow put aside earlier."""
    decision = replace(decision, intent=flow.name)
    dialogue = decision.dialogue
    if dialogue.flow is not None and decision.outcome in (ActionOutcome.NEEDS_INPUT,
                                                          ActionOutcome.NEEDS_CONFIRMATION):
        decision = decision.with_dialogue(dialogue.model_copy(update={"question": _plain(decision.reply)}))
    return _carry(decision, ctx.state.interrupted_flow)


def _plain(question: Reply) -> Reply:
    """The question as it is asked again later: without "Perdona, no te entendí"."""
    if getattr(question, "not_understood", False) or getattr(question, "again", False):
        return question.model_copy(update={"not_understood": False, "again": False})
    return question


# --- another request in the middle of a flow ---------------------------------------------------------


async def _interrupt(ctx: Context, flow: Flow) -> Decision:
    """A question is answered and the flow's question asked again; another task is started and the
    current one kept aside, to offer it again when that one ends; a goodbye closes everything."""
    state = ctx.state
    intent = ctx.event.payload.intent
    if intent in FLOWS or intent == "despedida":
        aside = FlowSnapshot(flow=flow.name, slots=state.slots, awaiting=state.awaiting, pending=state.pending,
                             offered=state.offered, question=state.question)
        decision = await _fresh(ctx, carry=False)
        return decision if decision.drops_interrupted else _carry(decision, aside)
    answer = OutOfScope() if not _confident(ctx) else (await _fresh(ctx, carry=False)).reply
    return _keeping_the_flow(ctx, Decision("answer_aside", ActionOutcome.ANSWERED, answer))


def _keeping_the_flow(ctx: Context, decision: Decision) -> Decision:
    """`decision`'s reply, then the flow's pending question again; the flow stays as it was."""
    state = ctx.state
    if state.flow is None and state.interrupted_flow is None:
        return decision.with_dialogue(state.dialogue)
    question = state.question if state.flow is not None else None
    followup = question.model_copy(update={"again": True}) if question is not None else None
    return replace(decision, dialogue=state.dialogue, followup=followup, intent=decision.intent)


async def _on_resume(ctx: Context, aside: FlowSnapshot) -> Decision:
    """The bot asked "¿Seguimos con…?": yes resumes, no drops it, a value for it resumes and fills."""
    flow = FLOWS[aside.flow]
    picked = _picks_offered_slot(ctx)
    if picked and aside.flow != "agendar_cita":  # a class from the schedule just shown, not the flow aside
        return _carry(await _step(ctx, FLOWS["agendar_cita"], picked), aside)
    found = flow.extract(ctx, aside.slots, aside.offered, aside.awaiting)
    if found and _values_only(ctx, flow, found, awaiting=aside.awaiting):
        return replace(await _step_aside(ctx, flow, flow.merge(aside.slots, found)), intent=flow.name)
    if ctx.answer == "yes" or (_continues(ctx, flow) and not found):
        return replace(await _step_aside(ctx, flow, dict(aside.slots)), intent=flow.name)
    if ctx.answer == "no":
        return _abandoned(aside.flow)
    if _continues(ctx, flow):
        return replace(await _step_aside(ctx, flow, flow.merge(aside.slots, found)), intent=flow.name)
    decision = await _fresh(ctx, carry=False)
    return decision if decision.drops_interrupted else _carry(decision, aside)


async def _step_aside(ctx: Context, flow: Flow, slots: dict[str, JsonValue]) -> Decision:
    """The flow put aside, taken up again (its step runs afresh: times and bookings may have changed)."""
    decision = await flow.step(ctx, slots)
    if decision.dialogue.flow is not None and decision.outcome in (ActionOutcome.NEEDS_INPUT,
                                                                   ActionOutcome.NEEDS_CONFIRMATION):
        decision = decision.with_dialogue(decision.dialogue.model_copy(update={"question": _plain(decision.reply)}))
    return decision


def _carry(decision: Decision, aside: FlowSnapshot | None) -> Decision:
    """Keep `aside` in the dialogue; when nothing else is going on, ask whether to resume it."""
    dialogue = decision.dialogue
    if aside is None or decision.drops_interrupted or dialogue.flow == aside.flow:
        return decision
    if dialogue.flow is None and dialogue.awaiting is None and dialogue.pending is None:
        resumed = dialogue.model_copy(update={"interrupted_flow": aside, "awaiting": "resume"})
        return decision.with_dialogue(resumed).with_followup(ResumeFlow(flow=_flow_name(aside.flow)))
    return decision.with_dialogue(dialogue.model_copy(update={"interrupted_flow": aside}))


# --- nothing going on ------------------------------------------------------------------------------


async def _fresh(ctx: Context, *, expired_flow: str | None = None, carry: bool = True) -> Decision:
    """A message read on its own: a new flow, a query, a direct reply or a clarification."""
    payload, state = ctx.event.payload, ctx.state
    intent = payload.intent
    aside = state.interrupted_flow if carry else None
    answer = ctx.answer if intent in ACT_INTENTS or payload.act is not None else None
    if expired_flow is not None and (not _confident(ctx) or intent in ACT_INTENTS or _only_values(ctx)):
        return Decision("flow_expired", ActionOutcome.CLARIFICATION,
                        FlowExpired(flow=_flow_name(expired_flow), options=CAPABILITIES), DialogueUpdate(),
                        drops_interrupted=True)
    picked = _picks_offered_slot(ctx)
    if picked:
        return _carry(await _step(ctx, FLOWS["agendar_cita"], picked), aside)
    package = _picks_offered_package(ctx)
    if package:
        return _carry(await _step(ctx, FLOWS["pagar_servicio"], package), aside)
    if intent in ACT_INTENTS or not _confident(ctx):
        if answer == "yes" and state.awaiting == "handoff":
            return _hand_off(ctx, "unknown_question")
        if answer == "yes":
            return _carry(await _accept_the_offer(ctx), aside)
        if answer == "no":
            return _abandoned(None)
        reason: ClarifyReason = "out_of_scope" if _out_of_scope(ctx) else "low_confidence"
        return _carry(_clarify(reason, DialogueUpdate()), aside)
    assert intent is not None
    direct = _direct_reply(intent, payload.profile_name)
    if direct is not None:
        decision = Decision(intent, ActionOutcome.ANSWERED, direct, DialogueUpdate(offered=state.offered),
                            drops_interrupted=intent == "despedida")
        return _carry(decision, aside)
    if intent in ("pagar_servicio", "consultar_creditos") and understanding.claims_payment(ctx.text):
        return _carry(await queries.credits(ctx), aside)  # "te mando el comprobante": not a new purchase
    if intent in FLOWS:
        flow = FLOWS[intent]
        found = flow.extract(ctx, {}, state.offered, None)
        return _carry(await _step(ctx, flow, flow.merge({}, found)), aside)
    if intent == "consultar_horarios" and {"fecha", "hora"} <= ctx.entities.keys():
        booking = FLOWS["agendar_cita"]  # "¿hay lugar el jueves a las 7?": yes, and shall I book it?
        found = booking.extract(ctx, {}, state.offered, None)
        return _carry(await _step(ctx, booking, {**found, "pregunta": True}), aside)
    if intent in QUERIES:
        return _carry(await QUERIES[intent](ctx), aside)
    if intent == INFO_INTENT:
        return _carry(_about_the_business(ctx), aside)
    return _carry(_clarify("not_supported", DialogueUpdate()), aside)


async def _accept_the_offer(ctx: Context) -> Decision:
    """A yes with no question pending: the classes or packages just listed start their flow, so the
    customer is asked which one; otherwise it is acknowledged."""
    kinds = {offer.kind for offer in ctx.state.offered}
    if "slot" in kinds:
        day = next(str(o.data.get("date")) for o in ctx.state.offered if o.kind == "slot")
        booking = FLOWS["agendar_cita"]
        found = booking.extract(ctx, {}, ctx.state.offered, None)
        return await _step(ctx, booking, booking.merge({"fecha": day}, found))
    if "package" in kinds:
        purchase = FLOWS["pagar_servicio"]
        return await _step(ctx, purchase, purchase.extract(ctx, {}, ctx.state.offered, None))
    return Decision("acknowledge", ActionOutcome.ANSWERED, Acknowledged(), DialogueUpdate())


def _picks_offered_slot(ctx: Context) -> dict[str, JsonValue] | None:
    """After a schedule was listed, "la de las 7" books that class whatever NLU called it."""
    slot_offers = [offer for offer in ctx.state.offered if offer.kind == "slot"]
    if not slot_offers or not _only_values(ctx):
        return None
    found = FLOWS["agendar_cita"].extract(ctx, {}, slot_offers, "hora")
    return dict(found) if "slot_id" in found else None


def _picks_offered_package(ctx: Context) -> dict[str, JsonValue] | None:
    """After packages were listed, "dale, pásame el de 5" buys that one whatever NLU called it, unless
    it asks about it ("¿y el de 5 cuánto cuesta?" is a price question)."""
    if not any(offer.kind == "package" for offer in ctx.state.offered) or "paquete" not in ctx.entities:
        return None
    if _confident(ctx) and ctx.event.payload.intent not in (*ACT_INTENTS, "pagar_servicio"):
        return None
    return {"paquete": ctx.entities["paquete"]}


# --- reading the message ---------------------------------------------------------------------------


def _confident(ctx: Context) -> bool:
    payload = ctx.event.payload
    return payload.intent not in (None, OUT_OF_SCOPE) and payload.confidence >= ctx.deps.confidence_threshold


def _out_of_scope(ctx: Context) -> bool:
    """NLU is sure the message is about something the bot does not do, and it reads as a question or a
    request ("¿venden proteína?"), not as a murmur ("mmm a ver", which only asks for the question again)."""
    payload = ctx.event.payload
    asks = "?" in payload.text or len(understanding.words(payload.text)) > 3
    return payload.intent == OUT_OF_SCOPE and payload.confidence >= ctx.deps.confidence_threshold and asks


def _continues(ctx: Context, flow: Flow) -> bool:
    intent = ctx.event.payload.intent
    return intent == flow.name or intent in ALIASES.get(flow.name, frozenset())


def _other_intent(ctx: Context, flow: Flow) -> bool:
    return _confident(ctx) and not _continues(ctx, flow) and ctx.event.payload.intent not in ACT_INTENTS


def _only_values(ctx: Context) -> bool:
    return understanding.value_only(ctx.text, ctx.event.payload.entities)


def _values_only(ctx: Context, flow: Flow, found: Mapping[str, JsonValue], *, awaiting: str | None = None) -> bool:
    """The message only supplies values: it fills the flow whatever NLU labelled it."""
    awaited = awaiting if awaiting is not None else ctx.state.awaiting
    if awaited in FREE_TEXT and awaited in found and flow.name == "actualizar_perfil":
        return True  # a typed e-mail or name is the value itself
    return bool(found) and understanding.value_only(ctx.text, ctx.event.payload.entities, extra=flow.verbs)


def _abandons(ctx: Context, flow: Flow) -> bool:
    """"cancela" while doing something else than cancelling, with no class, day or code in it."""
    return (ctx.event.payload.intent == "cancelar_cita" and flow.name != "cancelar_cita" and _confident(ctx)
            and not understanding.mentions_booking(ctx.text, ctx.event.payload.entities))


# --- replies that need no flow ---------------------------------------------------------------------


def _abandoned(flow: str | None) -> Decision:
    return Decision("abandon", ActionOutcome.CANCELLED, Abandoned(flow=_flow_name(flow) if flow else None),
                    DialogueUpdate(), intent=flow, drops_interrupted=True)


ClarifyReason = Literal["empty", "low_confidence", "out_of_scope", "not_supported"]


def _clarify(reason: ClarifyReason, dialogue: DialogueUpdate) -> Decision:
    return Decision("clarify", ActionOutcome.CLARIFICATION, Clarification(reason=reason, options=CAPABILITIES),
                    dialogue)


def _direct_reply(intent: str, name: str | None) -> Reply | None:
    """Greetings, help, thanks and goodbyes need no business call."""
    if intent == "saludo":
        return Greeting(name=name or None, options=CAPABILITIES)
    if intent == "ayuda":
        return Help(options=CAPABILITIES)
    if intent == "agradecer":
        return Thanks()
    if intent == "despedida":
        return Goodbye()
    return None


def _flow_name(flow: str) -> FlowName:
    if flow not in FLOWS:
        raise ValueError(f"not a flow: {flow}")
    return cast(FlowName, flow)
