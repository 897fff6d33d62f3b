"""The dialogue's flows: one module per multi-turn task, plus the one-turn queries."""

from __future__ import annotations

from services.actions.flows.base import ActionsDeps, Context, Decision, Flow
from services.actions.flows.booking import BookingFlow
from services.actions.flows.cancellation import CancellationFlow
from services.actions.flows.profile import ProfileFlow
from services.actions.flows.purchase import PurchaseFlow

FLOWS: dict[str, Flow] = {
    flow.name: flow for flow in (BookingFlow(), CancellationFlow(), PurchaseFlow(), ProfileFlow())
}

__all__ = ["FLOWS", "ActionsDeps", "Context", "Decision", "Flow"]
