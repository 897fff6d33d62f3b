"""The dialogue policy: from a detected intent to an action, a business call and a reply to write.

`handle` is what the stage loop calls; it takes its dependencies explicitly so that tests call it
without Kafka.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts import (
    ACTION_COMPLETED,
    ActionCompleted,
    ActionCompletedPayload,
    ActionOutcome,
    ApiError,
    IntentDetected,
    NluOutcome,
)
from runtime.stage import Output
from services.actions.business_api import BusinessApiClient, BusinessApiError

STAGE = "actions"

DIRECT_REPLIES = {"saludo": "greeting", "ayuda": "help", "despedida": "goodbye"}
CAPABILITIES = ["agendar una clase", "ver paquetes y precios", "cancelar una reserva",
                "pagar un paquete", "consultar tus reservas"]


@dataclass(frozen=True)
class Decision:
    action: str
    outcome: ActionOutcome
    template: str
    data: dict[str, Any]
    error: ApiError | None = None


@dataclass
class ActionsDeps:
    business_api: BusinessApiClient
    confidence_threshold: float


def _clarify(reason: str) -> Decision:
    return Decision("clarify", ActionOutcome.CLARIFICATION, "clarification",
                    {"reason": reason, "options": CAPABILITIES})


async def decide(event: IntentDetected, deps: ActionsDeps) -> Decision:
    payload = event.payload
    if payload.outcome is NluOutcome.MEDIA_ONLY:
        return Decision("acknowledge_media", ActionOutcome.ANSWERED, "media_received",
                        {"content_types": [m.content_type for m in payload.media]})
    if payload.outcome is NluOutcome.LOCATION:
        return Decision("acknowledge_location", ActionOutcome.ANSWERED, "location_received", {})
    if payload.outcome is NluOutcome.EMPTY or payload.intent is None:
        return _clarify("empty")
    if payload.intent == "fuera_de_alcance" or payload.confidence < deps.confidence_threshold:
        return _clarify("out_of_scope" if payload.intent == "fuera_de_alcance" else "low_confidence")
    if payload.intent in DIRECT_REPLIES:
        data: dict[str, Any] = {"name": payload.profile_name, "options": CAPABILITIES}
        return Decision(payload.intent, ActionOutcome.ANSWERED, DIRECT_REPLIES[payload.intent], data)
    if payload.intent == "consultar_paquetes":
        try:
            packages = await deps.business_api.list_packages()
        except BusinessApiError as exc:
            return Decision("list_packages", ActionOutcome.FAILED, "api_error", {"operation": "list_packages"},
                            error=ApiError(kind=exc.kind, message=exc.message, status=exc.status))
        return Decision("list_packages", ActionOutcome.SUCCEEDED, "packages", {"packages": packages})
    return _clarify("not_supported_yet")


async def handle(event: IntentDetected, deps: ActionsDeps) -> list[Output]:
    if event.payload.outcome is NluOutcome.THROTTLED:
        return []  # recorded upstream; ingress already told the sender to slow down
    decision = await decide(event, deps)
    payload = ActionCompletedPayload(
        customer=event.payload.customer, business=event.payload.business, intent=event.payload.intent,
        action=decision.action, outcome=decision.outcome, reply_template=decision.template,
        reply_data=decision.data, user_text=event.payload.text, error=decision.error,
    )
    return [Output(ACTION_COMPLETED, ActionCompleted.caused_by(event, stage=STAGE, payload=payload))]
