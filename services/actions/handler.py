"""The dialogue policy: a customer message, read in the context of the conversation, to one decision.

`handle(state, event, deps) -> (state, outputs)` is what the actions agent calls for every
`intent.detected`, with the conversation's state from its table. It

1. re-publishes the stored `action.completed` when the event was already handled (redelivery);
2. applies the user's turn (`contracts.dialogue.apply`) and drops a flow left idle longer than
   `deps.flow_idle_s`, measured on the message's own `received_at` (replays agree);
3. decides: answer a confirmation, fill the awaited slot whatever NLU called the message,
   correct a value, abandon, put the flow aside for another question, or start something new;
4. builds one `action.completed` whose `payload.dialogue` records the decision, applies it, and
   returns the new state with that event to publish.

All business calls go through `deps.business_api` (the `BusinessApi` port); mutating ones carry an
`Idempotency-Key` derived from the message's event id, so a replayed message never acts twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Literal, cast

from pydantic import JsonValue

from contracts import (
    ACTION_COMPLETED,
    ActionCompleted,
    ActionCompletedPayload,
    ActionOutcome,
    IntentDetected,
    NluOutcome,
)
from contracts.dialogue import DialogueUpdate, FlowSnapshot
from contracts.replies import (
    Abandoned,
    Acknowledged,
    Clarification,
    FlowExpired,
    FlowName,
    Goodbye,
    Greeting,
    Help,
    LocationReceived,
    MediaReceived,
    Reply,
    ResumeFlow,
)
from runtime.stage import Output
from services.actions import understanding
from services.actions.adapters.business_api import BusinessApiError
from services.actions.flows import FLOWS, ActionsDeps, Context, Decision, Flow, queries
from services.actions.flows.base import api_failure
from services.actions.flows.profile import FREE_TEXT
from services.actions.state import DialogueState, apply, is_expired, with_dialogue

STAGE = "actions"

CAPABILITIES = ("agendar una clase", "ver paquetes y precios", "consultar horarios", "cancelar una reserva",
                "pagar un paquete", "consultar tus reservas")
QUERIES = {
    "consultar_paquetes": queries.packages,
    "consulta_estado": queries.booking_status,
    "consultar_historial": queries.purchase_history,
    "consultar_horarios": queries.schedule,
}
ALIASES = {
    # Inside a flow, these intents continue it instead of interrupting it.
    "agendar_cita": frozenset({"consultar_horarios"}),
    "pagar_servicio": frozenset({"consultar_paquetes"}),
    "cancelar_cita": frozenset({"consulta_estado"}),
    "actualizar_perfil": frozenset(),
}
OUT_OF_SCOPE = "fuera_de_alcance"

__all__ = ["STAGE", "ActionsDeps", "decide", "handle"]


async def handle(state: DialogueState, event: IntentDetected, deps: ActionsDeps) -> tuple[DialogueState, list[Output]]:
    """The conversation's next state and the events to publish for one `intent.detected`."""
    if state.has_applied(event.event_id):
        return state, _redelivered(state, event)
    expired = is_expired(state, event.payload.received_at, deps.flow_idle_s)
    expired_flow = (state.flow or (state.interrupted_flow.flow if state.interrupted_flow else None)
                    if expired else None)
    state = apply(state, event)
    if event.payload.outcome is NluOutcome.THROTTLED:
        return state, []  # recorded upstream; ingress already told the sender to slow down
    if expired:
        state = with_dialogue(state, DialogueUpdate())
    ctx = Context(event, state, deps)
    try:
        decision = await decide(ctx, expired_flow=expired_flow)
    except BusinessApiError as error:  # an answer of the wrong shape, read outside a flow's own handling
        decision = api_failure("business_api", error, dialogue=state.dialogue)
    payload = ActionCompletedPayload(
        customer=event.payload.customer, business=event.payload.business,
        intent=decision.intent or event.payload.intent, action=decision.action, outcome=decision.outcome,
        reply=decision.reply, followup=decision.followup, user_text=event.payload.text,
        error=decision.error, dialogue=decision.dialogue,
    )
    completed = ActionCompleted.caused_by(event, stage=STAGE, payload=payload)
    return apply(state, completed), [Output(ACTION_COMPLETED, completed)]


def _redelivered(state: DialogueState, event: IntentDetected) -> list[Output]:
    """The same action.completed again (same id) if this event's was the last one; else nothing new."""
    last = state.last_reply
    if last is not None and last.cause_id == event.event_id:
        replayed = state.last_reply_event()
        return [Output(ACTION_COMPLETED, replayed)] if replayed is not None else []
    return []


async def decide(ctx: Context, *, expired_flow: str | None = None) -> Decision:
    payload, state = ctx.event.payload, ctx.state
    if payload.outcome is NluOutcome.MEDIA_ONLY:
        return Decision("acknowledge_media", ActionOutcome.ANSWERED,
                        MediaReceived(content_types=tuple(m.content_type for m in payload.media)), state.dialogue)
    if payload.outcome is NluOutcome.LOCATION:
        return Decision("acknowledge_location", ActionOutcome.ANSWERED, LocationReceived(), state.dialogue)
    if payload.outcome is NluOutcome.EMPTY or not payload.text.strip():
        return _clarify("empty", state.dialogue)
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
    merged = flow.merge(state.slots, found)
    if found and merged != state.slots and (_values_only(ctx, flow, found) or not _other_intent(ctx, flow)):
        return await _step(ctx, flow, merged)  # "mejor el pack de 5", "no, la del sábado"
    answer = understanding.yes_or_no(_without_entities(ctx), extra_yes=flow.extra_yes)
    if answer == "yes":
        return _served(await flow.confirmed(ctx, pending), flow, ctx)
    if answer == "no":
        return _served(flow.declined(ctx, pending), flow, ctx)
    if _other_intent(ctx, flow):
        return await _interrupt(ctx, flow)
    return _served(flow.reconfirm(ctx, pending), flow, ctx)


# --- a flow is collecting its slots ------------------------------------------------------------------


async def _in_flow(ctx: Context, flow: Flow) -> Decision:
    state = ctx.state
    found = flow.extract(ctx, state.slots, state.offered, state.awaiting)
    same = _continues(ctx, flow)
    if found and (_values_only(ctx, flow, found) or same or not _confident(ctx)):
        return await _step(ctx, flow, flow.merge(state.slots, found))
    if _abandons(ctx, flow):
        return _abandoned(flow.name, ctx)
    if same:
        return await _step(ctx, flow, dict(state.slots))
    if _confident(ctx):
        return await _interrupt(ctx, flow)
    return await _step(ctx, flow, dict(state.slots), not_understood=True)


async def _step(ctx: Context, flow: Flow, slots: dict[str, JsonValue], *, not_understood: bool = False) -> Decision:
    decision = await flow.step(ctx, slots, not_understood=not_understood)
    return _served(decision, flow, ctx)


def _served(decision: Decision, flow: Flow, ctx: Context) -> Decision:
    """Tag the decision with the flow's intent and keep a flow put aside earlier."""
    decision = replace(decision, intent=flow.name)
    return _carry(decision, ctx.state.interrupted_flow)


# --- another question in the middle of a flow --------------------------------------------------------


async def _interrupt(ctx: Context, flow: Flow) -> Decision:
    """Answer the other request and keep the current flow aside, to offer it again."""
    state = ctx.state
    aside = FlowSnapshot(flow=flow.name, slots=state.slots, awaiting=state.awaiting, pending=state.pending,
                         offered=state.offered)
    decision = await _fresh(ctx, carry=False)
    if decision.drops_interrupted:
        return decision
    return _carry(decision, aside)


async def _on_resume(ctx: Context, aside: FlowSnapshot) -> Decision:
    """The bot asked "¿Seguimos con…?": yes resumes, no drops it, a value for it resumes and fills."""
    flow = FLOWS[aside.flow]
    picked = _picks_offered_slot(ctx)
    if picked and aside.flow != "agendar_cita":  # a class from the schedule just shown, not the flow aside
        return _carry(await _step(ctx, FLOWS["agendar_cita"], picked), aside)
    found = flow.extract(ctx, aside.slots, aside.offered, aside.awaiting)
    if found and _values_only(ctx, flow, found, awaiting=aside.awaiting):
        return replace(await flow.step(ctx, flow.merge(aside.slots, found)), intent=flow.name)
    answer = understanding.yes_or_no(ctx.text)
    if answer == "yes" or (_continues(ctx, flow) and not found):
        return replace(await flow.step(ctx, dict(aside.slots)), intent=flow.name)
    if answer == "no" or understanding.is_abandon(ctx.text):
        return _abandoned(aside.flow, ctx)
    if _continues(ctx, flow):
        return replace(await flow.step(ctx, flow.merge(aside.slots, found)), intent=flow.name)
    decision = await _fresh(ctx, carry=False)
    return decision if decision.drops_interrupted else _carry(decision, aside)


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
    answer = understanding.yes_or_no(ctx.text)
    if expired_flow is not None and (not _confident(ctx) or answer is not None or _only_values(ctx)):
        return Decision("flow_expired", ActionOutcome.CLARIFICATION,
                        FlowExpired(flow=_flow_name(expired_flow), options=CAPABILITIES), DialogueUpdate(),
                        drops_interrupted=True)
    picked = _picks_offered_slot(ctx)
    if picked:
        return _carry(await _step(ctx, FLOWS["agendar_cita"], picked), aside)
    if not _confident(ctx):
        if answer == "yes":
            return _carry(Decision("acknowledge", ActionOutcome.ANSWERED, Acknowledged(), DialogueUpdate()), aside)
        if answer == "no" or understanding.is_abandon(ctx.text):
            return _abandoned(None, ctx)
        return _carry(_clarify("out_of_scope" if intent == OUT_OF_SCOPE else "low_confidence", DialogueUpdate()),
                      aside)
    assert intent is not None
    direct = _direct_reply(intent, payload.profile_name)
    if direct is not None:
        decision = Decision(intent, ActionOutcome.ANSWERED, direct, DialogueUpdate(),
                            drops_interrupted=intent == "despedida")
        return _carry(decision, aside)
    if intent in FLOWS:
        if intent == "cancelar_cita" and understanding.is_abandon(ctx.text) \
                and not understanding.mentions_booking(ctx.text, payload.entities):
            return _abandoned(None, ctx)  # "ya no" with nothing going on
        flow = FLOWS[intent]
        found = flow.extract(ctx, {}, state.offered, None)
        return _carry(await _step(ctx, flow, flow.merge({}, found)), aside)
    if intent in QUERIES:
        return _carry(await QUERIES[intent](ctx), aside)
    return _carry(_clarify("not_supported", DialogueUpdate()), aside)


def _picks_offered_slot(ctx: Context) -> dict[str, JsonValue] | None:
    """After a schedule was listed, "la de las 7" books that class whatever NLU called it."""
    slot_offers = [offer for offer in ctx.state.offered if offer.kind == "slot"]
    if not slot_offers or not _only_values(ctx):
        return None
    flow = FLOWS["agendar_cita"]
    found = flow.extract(ctx, {}, slot_offers, "hora")
    return dict(found) if "slot_id" in found else None


# --- reading the message ---------------------------------------------------------------------------


def _confident(ctx: Context) -> bool:
    payload = ctx.event.payload
    return payload.intent not in (None, OUT_OF_SCOPE) and payload.confidence >= ctx.deps.confidence_threshold


def _continues(ctx: Context, flow: Flow) -> bool:
    intent = ctx.event.payload.intent
    return intent == flow.name or intent in ALIASES.get(flow.name, frozenset())


def _other_intent(ctx: Context, flow: Flow) -> bool:
    return _confident(ctx) and not _continues(ctx, flow)


def _only_values(ctx: Context) -> bool:
    return understanding.value_only(ctx.text, ctx.event.payload.entities)


def _values_only(ctx: Context, flow: Flow, found: Mapping[str, JsonValue], *, awaiting: str | None = None) -> bool:
    """The message only supplies values: it fills the flow whatever NLU labelled it."""
    awaited = awaiting if awaiting is not None else ctx.state.awaiting
    if awaited in FREE_TEXT and awaited in found and flow.name == "actualizar_perfil":
        return True  # a typed e-mail or name is the value itself
    return bool(found) and understanding.value_only(ctx.text, ctx.event.payload.entities,
                                                    extra=flow.extra_yes)


def _abandons(ctx: Context, flow: Flow) -> bool:
    """"olvídalo", "ya no", "mejor no", or a bare "cancela" while doing something else than cancelling."""
    if understanding.is_abandon(ctx.text):
        return not (flow.name == "cancelar_cita" and understanding.words(ctx.text)[:1] == ["cancela"])
    return (ctx.event.payload.intent == "cancelar_cita" and flow.name != "cancelar_cita" and _confident(ctx)
            and not understanding.mentions_booking(ctx.text, ctx.event.payload.entities))


def _without_entities(ctx: Context) -> str:
    """The text with the entities' spans blanked, so "sí, el pack de 10" reads as a plain yes."""
    chars = list(ctx.text)
    for entity in ctx.event.payload.entities:
        if entity.start is not None and entity.end is not None:
            chars[entity.start:entity.end] = [" "] * (entity.end - entity.start)
    return "".join(chars)


# --- replies that end something --------------------------------------------------------------------


def _abandoned(flow: str | None, ctx: Context) -> Decision:
    return Decision("abandon", ActionOutcome.CANCELLED, Abandoned(flow=_flow_name(flow) if flow else None),
                    DialogueUpdate(), intent=flow, drops_interrupted=True)


ClarifyReason = Literal["empty", "low_confidence", "out_of_scope", "not_supported"]


def _clarify(reason: ClarifyReason, dialogue: DialogueUpdate) -> Decision:
    return Decision("clarify", ActionOutcome.CLARIFICATION, Clarification(reason=reason, options=CAPABILITIES),
                    dialogue)


def _direct_reply(intent: str, name: str | None) -> Reply | None:
    """Greetings, help and goodbyes need no business call."""
    if intent == "saludo":
        return Greeting(name=name or None, options=CAPABILITIES)
    if intent == "ayuda":
        return Help(options=CAPABILITIES)
    if intent == "despedida":
        return Goodbye()
    return None


def _flow_name(flow: str) -> FlowName:
    if flow not in FLOWS:
        raise ValueError(f"not a flow: {flow}")
    return cast(FlowName, flow)
