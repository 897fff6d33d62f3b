"""The dialogue decision that travels inside `action.completed` (its `payload.dialogue`).

These are the values actions tells the rest of the system about the conversation after a turn:
the active flow, its slots, what the bot waits for, the pending confirmation, the options it
offered and a flow put aside. The dialogue *state* (the fold over a conversation's events, with
its turns and applied ids) is actions' own projection: `services/actions/state.py`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue

from contracts.replies import Reply


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class PendingConfirmation(_Frozen):
    """A destructive or paying action waiting for the customer's yes or no."""

    action: Annotated[str, Field(description="What a yes does, e.g. cancel_booking or purchase_package")]
    params: dict[str, JsonValue] = Field(default_factory=dict)


class Offer(_Frozen):
    """One option the bot listed last (a class time, a booking, a package), for "la primera"."""

    kind: Literal["slot", "booking", "package"]
    ref: Annotated[str, Field(description="Slot id, booking code or package id")]
    label: str = ""
    data: dict[str, JsonValue] = Field(default_factory=dict)


class FlowSnapshot(_Frozen):
    """A flow put aside when the customer asked something else, to offer it again."""

    flow: str
    slots: dict[str, JsonValue] = Field(default_factory=dict)
    awaiting: str | None = None
    pending: PendingConfirmation | None = None
    offered: tuple[Offer, ...] = ()
    question: Reply | None = None


class DialogueUpdate(_Frozen):
    """What the actions stage decided the dialogue is now; it replaces the previous decision."""

    flow: Annotated[str | None, Field(description="The active intent's flow, None when idle")] = None
    slots: dict[str, JsonValue] = Field(default_factory=dict)
    awaiting: Annotated[str | None, Field(description="The slot or answer the bot asked for")] = None
    pending: PendingConfirmation | None = None
    offered: tuple[Offer, ...] = ()
    interrupted_flow: FlowSnapshot | None = None
    question: Annotated[
        Reply | None, Field(description="The flow's pending question, asked again after a question in between")
    ] = None
    after_payment: Annotated[
        dict[str, JsonValue] | None,
        Field(description="A booking waiting for a package being bought: its slots, offered again once paid"),
    ] = None
    handed_off_until: Annotated[
        AwareDatetime | None, Field(description="A person has the conversation until then: the bot is silent")
    ] = None
    handed_off_since: Annotated[AwareDatetime | None, Field(description="When the person took it")] = None
