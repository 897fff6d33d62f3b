"""`action.completed` events carrying a given reply, for the LLM writer's tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from contracts import ActionCompleted, ActionCompletedPayload, ActionOutcome
from contracts.replies import Register, Reply

BUSINESS = "whatsapp:+14155238886"
BUSINESS_NAME = "Estudio Sol Pilates"


def new_customer() -> str:
    return "whatsapp:+52155" + str(uuid.uuid4().int)[:8]


def completed(reply: Reply, *, customer: str | None = None, user_text: str = "", register: Register = "tu",
              followup: Reply | None = None, outcome: ActionOutcome = ActionOutcome.ANSWERED) -> ActionCompleted:
    customer = customer or new_customer()
    now = datetime.now(UTC)
    return ActionCompleted(
        event_id=str(uuid.uuid4()), type=ActionCompleted.TYPE, occurred_at=now, conversation_id=customer,
        correlation_id=str(uuid.uuid4()), causation_id=str(uuid.uuid4()),
        payload=ActionCompletedPayload(customer=customer, business=BUSINESS, intent=None, action="test",
                                       outcome=outcome, reply=reply, followup=followup, user_text=user_text,
                                       form_of_address=register, received_at=now),
    )
