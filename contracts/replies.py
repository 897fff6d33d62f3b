"""The replies actions asks responder to write: a closed set of kinds, each with a typed payload.

`action.completed` (schema v2) carries `reply: Reply`, a discriminated union on `kind`. Values are
raw and typed (ISO dates, `HH:MM` times, amounts with their currency), never words: the responder
formats them (templates or an LLM), so a renamed field fails validation at publish and at consume
instead of silently changing a sentence.

Adding a kind: a model here with `kind: Literal[...]`, its entry in `Reply`, its template in
`services/responder/templates.py` (a test fails when a kind has no template), then `make schemas`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

FlowName = Literal["agendar_cita", "cancelar_cita", "pagar_servicio", "actualizar_perfil"]
Register = Literal["tu", "vos", "usted"]
"""How the customer addresses the bot (tú, vos, usted): replies answer in the same register."""
ErrorKind = Literal["validation", "not_found", "conflict", "unauthorized", "unavailable"]
"""How a call to the business's API failed (the taxonomy of DESIGN.md section 5)."""

Time = Annotated[str, Field(pattern=r"^\d{2}:\d{2}$", description="Local time of day, HH:MM (24 h)")]
Ref = Annotated[str, BeforeValidator(lambda value: str(value) if isinstance(value, int) else value),
                Field(description="An id in the business's system (numbers are kept as text)")]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


# --- values shown in replies -------------------------------------------------------------------------


class SlotInfo(_Frozen):
    """A class on the schedule."""

    date: dt.date
    time: Time
    class_name: str = ""
    available: int = 0


class BookingInfo(_Frozen):
    """One of the customer's bookings."""

    code: str | None = None
    date: dt.date | None = None
    time: Time | None = None
    class_name: str = ""


class PackageInfo(_Frozen):
    """A package of the catalogue."""

    id: Ref
    name: str
    price: float
    currency: str = ""
    sessions: Annotated[int | None, Field(description="None: unlimited")] = None
    validity_days: int | None = None
    description: str = ""


class PurchaseInfo(_Frozen):
    """One of the customer's purchases; dates are the business's local days."""

    package: str
    amount: float | None = None
    currency: str = ""
    status: str = ""
    bought_on: dt.date | None = None
    paid_on: dt.date | None = None
    valid_until: dt.date | None = None
    payment_link: str | None = None


class CreditInfo(_Frozen):
    """One of the customer's packages: sessions left and until when."""

    name: str
    status: Literal["active", "expired", "used_up", "pending"]
    sessions_left: Annotated[int | None, Field(description="None: unlimited")] = None
    sessions_total: int | None = None
    valid_until: dt.date | None = None
    payment_link: str | None = None


class DaySchedule(_Frozen):
    date: dt.date
    slots: tuple[SlotInfo, ...] = ()


class _Question(_Frozen):
    not_understood: Annotated[bool, Field(description="The customer's last message was not understood")] = False
    again: Annotated[bool, Field(description="Asked again after answering something else in between")] = False


# --- conversation ------------------------------------------------------------------------------------


class Greeting(_Frozen):
    kind: Literal["greeting"] = "greeting"
    name: str | None = None
    options: tuple[str, ...] = ()


class Help(_Frozen):
    kind: Literal["help"] = "help"
    options: tuple[str, ...] = ()


class Goodbye(_Frozen):
    kind: Literal["goodbye"] = "goodbye"


class Acknowledged(_Frozen):
    kind: Literal["acknowledged"] = "acknowledged"


class Thanks(_Frozen):
    """The customer thanked the bot ("gracias", 🙏): a short, warm answer; the conversation goes on."""

    kind: Literal["thanks"] = "thanks"


class OutOfScope(_Frozen):
    """Something the bot cannot help with, said in the middle of a flow (its question follows)."""

    kind: Literal["out_of_scope"] = "out_of_scope"
    topic: str | None = None


class Clarification(_Frozen):
    kind: Literal["clarification"] = "clarification"
    reason: Literal["empty", "low_confidence", "out_of_scope", "not_supported"] = "low_confidence"
    options: tuple[str, ...] = ()


class MediaReceived(_Frozen):
    kind: Literal["media_received"] = "media_received"
    content_types: tuple[str, ...] = ()


class LocationReceived(_Frozen):
    kind: Literal["location_received"] = "location_received"


class ApiProblem(_Frozen):
    """A business API call failed in a way no flow-specific reply explains."""

    kind: Literal["api_error"] = "api_error"
    error: ErrorKind | None = None
    code: str | None = None
    operation: str | None = None


class HandedOff(_Frozen):
    """A person of the team takes the conversation; the bot stays silent until it is handed back."""

    kind: Literal["handed_off"] = "handed_off"
    reason: Literal["asked", "not_understood", "unknown_question", "payment_claim"] = "asked"
    response_time: Annotated[str, Field(description="When staff answer, as the business profile says it")] = ""
    open_now: bool = True
    opens_at: Annotated[dt.datetime | None, Field(description="The next opening, when closed now")] = None


class OptedOut(_Frozen):
    """The customer asked for no more messages ("baja", "STOP"): confirmed once; the bot writes again only
    when they write first."""

    kind: Literal["opted_out"] = "opted_out"


class FaqAnswer(_Frozen):
    """An answer from the business's profile, word for word as the business wrote it."""

    kind: Literal["faq_answer"] = "faq_answer"
    faq_id: str
    answer: str


class UnknownQuestion(_Frozen):
    """A question about the business its profile does not answer: said plainly, and a person offered."""

    kind: Literal["unknown_question"] = "unknown_question"


class ResumeFlow(_Frozen):
    kind: Literal["resume_flow"] = "resume_flow"
    flow: FlowName


class FlowExpired(_Frozen):
    kind: Literal["flow_expired"] = "flow_expired"
    flow: FlowName
    options: tuple[str, ...] = ()


class Abandoned(_Frozen):
    kind: Literal["abandoned"] = "abandoned"
    flow: FlowName | None = None


# --- queries ---------------------------------------------------------------------------------------


class Packages(_Frozen):
    kind: Literal["packages"] = "packages"
    packages: tuple[PackageInfo, ...] = ()
    asked: Annotated[str | None, Field(description="The package the customer asked about, by name")] = None


class Schedule(_Frozen):
    kind: Literal["schedule"] = "schedule"
    date: Annotated[dt.date | None, Field(description="The day asked about; None: the coming days")] = None
    days: tuple[DaySchedule, ...] = ()


class BookingStatus(_Frozen):
    kind: Literal["booking_status"] = "booking_status"
    bookings: tuple[BookingInfo, ...] = ()
    code: str | None = None


class PurchaseHistory(_Frozen):
    kind: Literal["purchase_history"] = "purchase_history"
    purchases: tuple[PurchaseInfo, ...] = ()


# --- booking ---------------------------------------------------------------------------------------


class AskDate(_Question):
    kind: Literal["ask_date"] = "ask_date"
    time: Time | None = None


class DateInPast(_Frozen):
    kind: Literal["date_in_past"] = "date_in_past"
    date: dt.date


class OfferSlots(_Question):
    kind: Literal["offer_slots"] = "offer_slots"
    date: dt.date
    slots: tuple[SlotInfo, ...] = ()
    reason: Literal["no_class_at", "started"] | None = None
    requested_time: Time | None = None
    nearest: Annotated[bool, Field(description="Only the times nearest to the one asked are listed")] = False


class SlotFull(_Frozen):
    kind: Literal["slot_full"] = "slot_full"
    date: dt.date
    requested_time: Time | None = None
    slots: tuple[SlotInfo, ...] = ()


class NoSlots(_Frozen):
    kind: Literal["no_slots"] = "no_slots"
    date: dt.date
    closed: Annotated[bool, Field(description="The studio is closed that day (its profile's hours)")] = False
    opens_at: Annotated[dt.datetime | None, Field(description="When it opens next, when closed")] = None


class ConfirmBooking(_Question):
    """The booking summarised before it is made: a yes books it, a change edits it."""

    kind: Literal["confirm_booking"] = "confirm_booking"
    date: dt.date
    time: Time
    class_name: str = ""
    package: Annotated[str | None, Field(description="The package whose session the booking uses")] = None
    changed: Annotated[bool, Field(description="The summary after the customer changed something")] = False
    asked: Annotated[bool, Field(description="The customer asked whether there is room: the summary says yes")] = False
    available: Annotated[int | None, Field(description="Places left in the class")] = None
    sessions_left: Annotated[int | None, Field(description="Sessions of the package left after this booking")] = None
    unlimited: bool = False


class NoCredits(_Question):
    """The customer has no package to book with: why (expired, used up), and the packages to buy."""

    kind: Literal["no_credits"] = "no_credits"
    date: dt.date | None = None
    time: Time | None = None
    expired: tuple[CreditInfo, ...] = ()
    packages: tuple[PackageInfo, ...] = ()


class AskChange(_Question):
    """The customer said no to a booking summary: what should change (day, time)?"""

    kind: Literal["ask_change"] = "ask_change"
    date: dt.date | None = None
    time: Time | None = None


class Booked(_Frozen):
    kind: Literal["booked"] = "booked"
    code: str | None = None
    date: dt.date | None = None
    time: Time | None = None
    class_name: str = ""
    package: str | None = None
    sessions_left: Annotated[int | None, Field(description="Sessions of the package left; None: unlimited")] = None


class AlreadyBooked(_Frozen):
    kind: Literal["already_booked"] = "already_booked"
    date: dt.date | None = None
    time: Time | None = None


# --- cancelling ------------------------------------------------------------------------------------


class ChooseBooking(_Question):
    kind: Literal["choose_booking"] = "choose_booking"
    bookings: tuple[BookingInfo, ...] = ()
    reason: Literal["no_match"] | None = None
    code: str | None = None
    date: dt.date | None = None
    time: Time | None = None


class NoBookings(_Frozen):
    kind: Literal["no_bookings"] = "no_bookings"


class ConfirmCancel(_Question):
    kind: Literal["confirm_cancel"] = "confirm_cancel"
    booking: BookingInfo


class Cancelled(_Frozen):
    kind: Literal["cancelled"] = "cancelled"
    booking: BookingInfo
    already: Annotated[bool, Field(description="It had been cancelled before")] = False
    session_returned: Annotated[bool | None, Field(description="The session went back to the package")] = None
    refund_hours: Annotated[int | None, Field(description="The policy: hours before the class to get it back")] = None
    package: str | None = None
    sessions_left: int | None = None


class Credits(_Frozen):
    """The customer's packages: sessions left, expiry, a payment still pending."""

    kind: Literal["credits"] = "credits"
    packages: tuple[CreditInfo, ...] = ()


class PaymentClaimNoted(_Frozen):
    """The customer says they paid another way or sent a receipt: staff will check it; nothing is marked paid."""

    kind: Literal["payment_claim_noted"] = "payment_claim_noted"
    response_time: str = ""


class CancelTooLate(_Frozen):
    kind: Literal["cancel_too_late"] = "cancel_too_late"
    booking: BookingInfo


class BookingNotFound(_Frozen):
    kind: Literal["booking_not_found"] = "booking_not_found"
    booking: BookingInfo


class Kept(_Frozen):
    kind: Literal["kept"] = "kept"
    booking: BookingInfo


# --- buying ----------------------------------------------------------------------------------------


class ChoosePackage(_Question):
    kind: Literal["choose_package"] = "choose_package"
    packages: tuple[PackageInfo, ...] = ()
    unknown: Annotated[str | None, Field(description="A package the customer named that does not exist")] = None


class ConfirmPurchase(_Question):
    kind: Literal["confirm_purchase"] = "confirm_purchase"
    package: PackageInfo


class PaymentLink(_Frozen):
    kind: Literal["payment_link"] = "payment_link"
    package: str
    amount: float | None = None
    currency: str = ""
    payment_link: str | None = None
    purchase_id: Ref | None = None


class PaymentConfirmed(_Frozen):
    """The business says the purchase was paid: told to the customer unprompted."""

    kind: Literal["payment_confirmed"] = "payment_confirmed"
    package: str = ""
    valid_until: dt.date | None = None


class PaymentFailed(_Frozen):
    kind: Literal["payment_failed"] = "payment_failed"
    package: str = ""


class PurchaseDeclined(_Frozen):
    kind: Literal["purchase_declined"] = "purchase_declined"
    package: str | None = None


# --- profile ---------------------------------------------------------------------------------------

ProfileField = Literal["email", "nombre"]
EmailProblem = Literal["empty", "spaces", "too_long", "missing_at", "several_at", "missing_user", "missing_domain",
                       "missing_dot", "invalid_characters", "rejected"]
NameProblem = Literal["too_short", "too_long", "no_letters", "digits", "rejected"]


class AskProfileField(_Question):
    kind: Literal["ask_profile_field"] = "ask_profile_field"


class AskEmail(_Question):
    kind: Literal["ask_email"] = "ask_email"
    current: str | None = None


class AskName(_Question):
    kind: Literal["ask_name"] = "ask_name"
    current: str | None = None


class InvalidEmail(_Frozen):
    kind: Literal["invalid_email"] = "invalid_email"
    value: str = ""
    reason: EmailProblem | None = None


class InvalidName(_Frozen):
    kind: Literal["invalid_name"] = "invalid_name"
    value: str = ""
    reason: NameProblem | None = None


class ConfirmProfile(_Question):
    """The new value read back before it is saved."""

    kind: Literal["confirm_profile"] = "confirm_profile"
    field: ProfileField
    value: str


class ProfileUpdated(_Frozen):
    kind: Literal["profile_updated"] = "profile_updated"
    field: ProfileField
    value: str


Reply = Annotated[
    Greeting | Help | Goodbye | Acknowledged | Thanks | Clarification | OutOfScope | MediaReceived
    | LocationReceived | ApiProblem | HandedOff | OptedOut | FaqAnswer | UnknownQuestion | ResumeFlow
    | FlowExpired | Abandoned
    | Packages | Schedule | BookingStatus | PurchaseHistory
    | AskDate | DateInPast | OfferSlots | SlotFull | NoSlots | ConfirmBooking | AskChange | NoCredits | Booked
    | AlreadyBooked | Credits | PaymentClaimNoted
    | ChooseBooking | NoBookings | ConfirmCancel | Cancelled | CancelTooLate | BookingNotFound | Kept
    | ChoosePackage | ConfirmPurchase | PaymentLink | PaymentConfirmed | PaymentFailed | PurchaseDeclined
    | AskProfileField | AskEmail | AskName | InvalidEmail | InvalidName | ConfirmProfile | ProfileUpdated,
    Field(discriminator="kind"),
]

REPLY_MODELS: tuple[type[BaseModel], ...] = get_args(get_args(Reply)[0])
REPLY_KINDS: tuple[str, ...] = tuple(str(model.model_fields["kind"].default) for model in REPLY_MODELS)
"""Every reply kind, the closed set responder must know how to write."""
