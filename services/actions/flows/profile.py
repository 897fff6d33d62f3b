"""actualizar_perfil: which field (e-mail or name) → its new value (from the entity, or asked) →
checked here first (an invalid e-mail is asked again with the reason) → `PATCH /client/me`.

Slots: `campo` (`email` or `nombre`), `email`, `nombre`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from pydantic import JsonValue

from contracts.dialogue import DialogueUpdate, Offer, PendingConfirmation
from contracts.replies import (
    AskEmail,
    AskName,
    AskProfileField,
    ConfirmProfile,
    EmailProblem,
    InvalidEmail,
    InvalidName,
    NameProblem,
    ProfileField,
    ProfileUpdated,
)
from services.actions import understanding
from services.actions.adapters.business_api import BusinessApiError
from services.actions.adapters.endpoints import Operation
from services.actions.flows.base import Context, Decision, api_failure, asking, confirming, done, failed, without

FLOW = "actualizar_perfil"
ACTION = "update_profile"
FIELDS = {"email": "email", "nombre": "name"}  # slot → the API's field
FREE_TEXT = frozenset({"email", "nombre"})
"""Slots whose value is whatever the customer types when asked (NLU cannot label a bare name)."""


class ProfileFlow:
    name = FLOW
    verbs: tuple[str, ...] = ()

    def extract(self, ctx: Context, slots: Mapping[str, JsonValue], offered: Sequence[Offer],
                awaiting: str | None) -> dict[str, JsonValue]:
        entities = ctx.entities
        if "email" in entities:
            return {"campo": "email", "email": entities["email"]}
        if "nombre" in entities:
            return {"campo": "nombre", "nombre": entities["nombre"]}
        if awaiting == "email" and (typed := understanding.email_candidate(ctx.text)) is not None:
            return {"email": typed}
        if understanding.profile_field_in(ctx.text) == "email" and "@" in ctx.text.replace(" arroba ", "@") \
                and (typed := understanding.email_candidate(ctx.text)) is not None:
            return {"campo": "email", "email": typed}  # "cámbiame el correo a pepe@gmail": checked, then refused
        if awaiting == "nombre" and not _other_request(ctx) and ctx.answer is None \
                and (name := understanding.name_candidate(ctx.text)):
            return {"nombre": name}
        field = understanding.profile_field_in(ctx.text)
        if field is None and awaiting == "campo":
            field = {1: "email", 2: "nombre"}.get(understanding.ordinal(ctx.text) or 0)
        return {"campo": field} if field else {}

    def merge(self, slots: Mapping[str, JsonValue], found: Mapping[str, JsonValue], *,
              editing: bool = False) -> dict[str, JsonValue]:
        if "campo" in found and found["campo"] != slots.get("campo"):
            return dict(found)
        return {**slots, **found}

    async def step(self, ctx: Context, slots: dict[str, JsonValue], *, not_understood: bool = False,
                   edited: bool = False) -> Decision:
        asked = slots.get("campo")
        if asked != "email" and asked != "nombre":
            return asking("ask_profile_field", AskProfileField(not_understood=not_understood),
                          DialogueUpdate(flow=FLOW, slots={}, awaiting="campo"))
        field: ProfileField = "email" if asked == "email" else "nombre"
        value = slots.get(field)
        if value is None:
            return await self._ask(ctx, field, slots, not_understood=not_understood)
        value = " ".join(str(value).split()) if field == "nombre" else str(value).strip()
        problem = (understanding.email_problem(value) if field == "email" else understanding.name_problem(value))
        if problem is not None:
            return _invalid(field, value, problem, slots)
        pending = PendingConfirmation(action=ACTION, params={"campo": field, field: value})
        return _confirm(pending, not_understood=not_understood)

    async def _ask(self, ctx: Context, field: ProfileField, slots: Mapping[str, JsonValue], *,
                   not_understood: bool) -> Decision:
        current = None
        try:
            client = await ctx.call(Operation.GET_PROFILE)
            current = client.get(FIELDS[field]) if isinstance(client, dict) else None
        except BusinessApiError:
            pass  # asking works without the current value
        shown = str(current) if current else None
        reply = (AskEmail(current=shown, not_understood=not_understood) if field == "email"
                 else AskName(current=shown, not_understood=not_understood))
        return asking(reply.kind, reply, DialogueUpdate(flow=FLOW, slots=dict(slots), awaiting=field))

    async def confirmed(self, ctx: Context, pending: PendingConfirmation) -> Decision:
        field: ProfileField = "email" if pending.params.get("campo") == "email" else "nombre"
        value = str(pending.params.get(field))
        slots = dict(pending.params)
        try:
            client: dict[str, Any] = await ctx.call(Operation.UPDATE_PROFILE, {FIELDS[field]: value})
        except BusinessApiError as error:
            if error.code in ("invalid_email", "invalid_name"):
                return failed(ACTION, error, _invalid(field, value, "rejected", slots))
            return api_failure(ACTION, error, dialogue=DialogueUpdate(flow=FLOW, slots=slots, awaiting="confirmation",
                                                                      pending=pending))
        saved = client.get(FIELDS[field], value) if isinstance(client, dict) else value
        return done(ACTION, ProfileUpdated(field=field, value=str(saved)))

    def reconfirm(self, ctx: Context, pending: PendingConfirmation) -> Decision:
        return _confirm(pending, not_understood=True)

    def declined(self, ctx: Context, pending: PendingConfirmation) -> Decision:
        """A "no" to the new value asks for the right one (the field stays chosen)."""
        field = str(pending.params.get("campo"))
        reply = AskEmail() if field == "email" else AskName()
        return asking(reply.kind, reply, DialogueUpdate(flow=FLOW, slots={"campo": field}, awaiting=field))


def _confirm(pending: PendingConfirmation, *, not_understood: bool = False) -> Decision:
    field: ProfileField = "email" if pending.params.get("campo") == "email" else "nombre"
    reply = ConfirmProfile(field=field, value=str(pending.params.get(field)), not_understood=not_understood)
    return confirming("confirm_profile", reply, DialogueUpdate(flow=FLOW, slots=dict(pending.params),
                                                               awaiting="confirmation", pending=pending))


def _invalid(field: ProfileField, value: str, reason: str, slots: Mapping[str, JsonValue]) -> Decision:
    reply = (InvalidEmail(value=value, reason=cast(EmailProblem, reason)) if field == "email"
             else InvalidName(value=value, reason=cast(NameProblem, reason)))
    return asking(reply.kind, reply, DialogueUpdate(flow=FLOW, slots=without(slots, field), awaiting=field))


def _other_request(ctx: Context) -> bool:
    """A confident other intent ("¿qué paquetes tienen?") is not a name typed when asked for one."""
    intent = ctx.intent
    return (intent is not None and intent not in {"fuera_de_alcance", FLOW}
            and ctx.event.payload.confidence >= max(0.8, ctx.deps.confidence_threshold))
