"""What each reply offers as taps (`interactive_for`): which kinds, which ids, titles within WhatsApp's limits."""

from __future__ import annotations

import datetime as dt

import pytest

from contracts import decode_tap
from contracts import replies as r
from contracts.replies import REPLY_KINDS, Register, Reply
from contracts.taps import TAP_ID_MAX
from services.responder.interactive import (
    BODY_MAX,
    LIST_DESCRIPTION_MAX,
    LIST_MAX,
    LIST_TITLE_MAX,
    QUICK_REPLY_MAX,
    QUICK_REPLY_TITLE_MAX,
    Interactive,
    fit,
    interactive_for,
    unique_titles,
)
from services.responder.split import twilio_length
from services.responder.templates import render

REGISTERS: tuple[Register, ...] = ("tu", "vos", "usted")
OPTIONS = ("agendar una clase", "ver paquetes y precios", "consultar horarios", "cancelar una reserva",
           "pagar un paquete", "consultar tus reservas")
FRIDAY = dt.date(2026, 11, 27)
SLOT = r.SlotInfo(date=FRIDAY, time="19:00", class_name="Pilates Reformer", available=2)
BOOKING = r.BookingInfo(code="BK-4821", date=FRIDAY, time="19:00", class_name="Pilates Reformer")
PACKAGE = r.PackageInfo(id="pack-10", name="Pack 10 clases", price=2000, currency="MXN", sessions=10,
                        validity_days=90)
UNLIMITED = r.PackageInfo(id="mensualidad-ilimitada", name="Mensualidad ilimitada", price=1800, currency="MXN",
                          validity_days=30)

SAMPLES: dict[str, Reply] = {reply.kind: reply for reply in (
    r.Greeting(name="Ana", options=OPTIONS), r.Help(options=OPTIONS), r.Goodbye(), r.Acknowledged(), r.Thanks(),
    r.Clarification(options=OPTIONS), r.OutOfScope(), r.MediaReceived(content_types=("image/png",)),
    r.LocationReceived(), r.ApiProblem(error="unavailable"), r.HandedOff(response_time="en menos de una hora"),
    r.OptedOut(),
    r.FaqAnswer(faq_id="estacionamiento", answer="Sí, hay estacionamiento en la calle."), r.UnknownQuestion(),
    r.ResumeFlow(flow="agendar_cita"), r.FlowExpired(flow="cancelar_cita", options=OPTIONS),
    r.Abandoned(flow="pagar_servicio"), r.Packages(packages=(PACKAGE,)),
    r.Schedule(days=(r.DaySchedule(date=FRIDAY, slots=(SLOT,)),)), r.BookingStatus(bookings=(BOOKING,)),
    r.PurchaseHistory(purchases=(r.PurchaseInfo(package="Pack 10 clases", amount=2000, currency="MXN",
                                                status="paid", paid_on=FRIDAY),)),
    r.AskDate(time="19:00"), r.DateInPast(date=FRIDAY), r.OfferSlots(date=FRIDAY, slots=(SLOT,)),
    r.SlotFull(date=FRIDAY, requested_time="18:00", slots=(SLOT,)), r.NoSlots(date=FRIDAY),
    r.ConfirmBooking(date=FRIDAY, time="19:00", class_name="Pilates Reformer", package="Pack 10 clases"),
    r.AskChange(date=FRIDAY, time="19:00"),
    r.NoCredits(date=FRIDAY, time="19:00", packages=(PACKAGE,)),
    r.Booked(code="BK-4821", date=FRIDAY, time="19:00"), r.AlreadyBooked(date=FRIDAY, time="19:00"),
    r.Credits(packages=(r.CreditInfo(name="Pack 10 clases", status="active", sessions_left=7),)),
    r.PaymentClaimNoted(), r.ChooseBooking(bookings=(BOOKING,)), r.NoBookings(), r.ConfirmCancel(booking=BOOKING),
    r.Cancelled(booking=BOOKING), r.CancelTooLate(booking=BOOKING), r.BookingNotFound(booking=BOOKING),
    r.Kept(booking=BOOKING), r.ChoosePackage(packages=(PACKAGE, UNLIMITED)), r.ConfirmPurchase(package=PACKAGE),
    r.PaymentLink(package="Pack 10 clases", payment_link="https://pay.example/1"),
    r.PaymentConfirmed(package="Pack 10 clases"), r.PaymentFailed(package="Pack 10 clases"),
    r.PurchaseDeclined(package="Pack 10 clases"), r.AskProfileField(), r.AskEmail(), r.AskName(),
    r.InvalidEmail(value="ana@"), r.InvalidName(value="A"), r.ConfirmProfile(field="email", value="ana@example.com"),
    r.ProfileUpdated(field="email", value="ana@example.com"),
)}

YES_NO = {"confirm_booking", "confirm_cancel", "confirm_purchase", "confirm_profile", "resume_flow",
          "unknown_question"}
TAPPED = YES_NO | {"no_bookings", "flow_expired", "offer_slots", "slot_full", "choose_package", "no_credits",
                   "choose_booking", "greeting", "help", "clarification"}
"""The sample kinds that offer taps; every other kind (with these samples) offers none."""


def offered(reply: Reply, followup: Reply | None = None, register: Register = "tu") -> Interactive | None:
    body = render(reply, business="Estudio Sol", followup=followup, register=register)
    return interactive_for(reply, followup, body, register)


def slots(*times: str, available: int = 5) -> tuple[r.SlotInfo, ...]:
    return tuple(r.SlotInfo(date=FRIDAY, time=time, class_name="Mat Pilates", available=available) for time in times)


def titles(interactive: Interactive | None) -> list[str]:
    assert interactive is not None
    return [choice.title for choice in interactive.choices]


def ids(interactive: Interactive | None) -> list[str]:
    assert interactive is not None
    return [choice.id for choice in interactive.choices]


def test_the_samples_cover_every_reply_kind() -> None:
    assert set(SAMPLES) == set(REPLY_KINDS), "a new reply kind: decide whether it offers taps"


@pytest.mark.parametrize("register", REGISTERS)
@pytest.mark.parametrize("kind", sorted(REPLY_KINDS))
def test_only_the_kinds_that_ask_something_tappable_offer_taps(kind: str, register: Register) -> None:
    interactive = offered(SAMPLES[kind], register=register)
    assert (interactive is not None) == (kind in TAPPED)


@pytest.mark.parametrize("register", REGISTERS)
@pytest.mark.parametrize("kind", sorted(TAPPED))
def test_every_offer_fits_whatsapp_and_its_ids_decode(kind: str, register: Register) -> None:
    interactive = offered(SAMPLES[kind], register=register)
    assert interactive is not None
    assert interactive.body == render(SAMPLES[kind], business="Estudio Sol", register=register)
    choice_ids, choice_titles = ids(interactive), titles(interactive)
    assert len(set(choice_ids)) == len(choice_ids) and len({t.lower() for t in choice_titles}) == len(choice_titles)
    assert all(decode_tap(i) is not None and len(i) <= TAP_ID_MAX for i in choice_ids)
    if interactive.kind == "quick_reply":
        assert len(interactive.choices) <= QUICK_REPLY_MAX
        assert all(0 < len(t) <= QUICK_REPLY_TITLE_MAX for t in choice_titles)
    else:
        assert len(interactive.choices) <= LIST_MAX and len(interactive.button) <= QUICK_REPLY_TITLE_MAX
        assert all(0 < len(t) <= LIST_TITLE_MAX for t in choice_titles)
        assert all(0 < len(c.description) <= LIST_DESCRIPTION_MAX for c in interactive.choices)


@pytest.mark.parametrize("kind", sorted(YES_NO))
def test_a_yes_no_question_is_two_buttons_yes_first(kind: str) -> None:
    interactive = offered(SAMPLES[kind])
    assert interactive is not None and interactive.kind == "quick_reply"
    assert ids(interactive) == ["act:afirmar", "act:negar"]
    yes, no = titles(interactive)
    assert yes.startswith("Sí") and no.startswith("No")


@pytest.mark.parametrize(("kind", "tu", "vos", "usted"), [
    ("confirm_cancel", ["Sí, cancélala", "No, consérvala"], ["Sí, cancelala", "No, conservala"],
     ["Sí, cancélela", "No, consérvela"]),
    ("confirm_profile", ["Sí, cámbialo", "No, lo corrijo"], ["Sí, cambialo", "No, lo corrijo"],
     ["Sí, cámbielo", "No, lo corrijo"]),
    ("resume_flow", ["Sí, sigamos", "No, déjalo"], ["Sí, sigamos", "No, dejalo"], ["Sí, sigamos", "No, déjelo"]),
    ("confirm_booking", ["Sí, resérvame", "No, cambiar algo"], ["Sí, reservame", "No, cambiar algo"],
     ["Sí, resérveme", "No, cambiar algo"]),
    ("confirm_purchase", ["Sí, comprar", "No, gracias"], ["Sí, comprar", "No, gracias"],
     ["Sí, comprar", "No, gracias"]),
])
def test_titles_speak_the_customers_register_where_a_verb_is_conjugated(kind: str, tu: list[str], vos: list[str],
                                                                        usted: list[str]) -> None:
    assert [titles(offered(SAMPLES[kind], register=g)) for g in REGISTERS] == [tu, vos, usted]


def test_the_followup_is_the_question_when_there_is_one() -> None:
    summary = r.ConfirmBooking(date=FRIDAY, time="19:00", again=True)
    interactive = offered(SAMPLES["faq_answer"], summary)
    assert ids(interactive) == ["act:afirmar", "act:negar"]
    assert interactive is not None and interactive.body.startswith("Sí, hay estacionamiento")
    resume = offered(SAMPLES["booked"], r.ResumeFlow(flow="pagar_servicio"), register="usted")
    assert titles(resume) == ["Sí, sigamos", "No, déjelo"]
    # the answer to a second request comes last: its question, not the first reply's, is the one on the table
    assert offered(SAMPLES["confirm_booking"], SAMPLES["packages"]) is None


@pytest.mark.parametrize("count", [1, 2, 3])
def test_up_to_three_times_are_buttons_with_the_day_in_the_id(count: int) -> None:
    times = ("07:00", "09:00", "19:00")[:count]
    interactive = offered(r.OfferSlots(date=FRIDAY, slots=slots(*times)))
    assert interactive is not None and interactive.kind == "quick_reply"
    assert titles(interactive) == list(times)
    assert ids(interactive) == [f"slot:2026-11-27T{time}" for time in times]


@pytest.mark.parametrize("count", [4, 10])
def test_four_to_ten_times_are_a_list_with_class_and_places(count: int) -> None:
    times = tuple(f"{hour:02d}:00" for hour in range(8, 8 + count))
    interactive = offered(r.OfferSlots(date=FRIDAY, slots=slots(*times[:-1]) + slots(times[-1], available=2)))
    assert interactive is not None and interactive.kind == "list" and interactive.button == "Ver horarios"
    assert titles(interactive) == list(times)
    assert interactive.choices[0].description == "Mat Pilates"
    assert interactive.choices[-1].description == "Mat Pilates · quedan 2 lugares"


def test_more_than_ten_times_offer_no_taps_rather_than_hide_some() -> None:
    times = tuple(f"{hour:02d}:00" for hour in range(7, 18))
    assert len(times) == LIST_MAX + 1
    assert offered(r.OfferSlots(date=FRIDAY, slots=slots(*times))) is None


def test_two_classes_at_one_time_are_one_choice() -> None:
    both = (r.SlotInfo(date=FRIDAY, time="19:00", class_name="Mat Pilates", available=4),
            r.SlotInfo(date=FRIDAY, time="19:00", class_name="Pilates Reformer", available=4),
            *slots("07:00", "09:00", "20:00"))
    interactive = offered(r.OfferSlots(date=FRIDAY, slots=both))
    assert titles(interactive) == ["19:00", "07:00", "09:00", "20:00"]
    assert interactive is not None and interactive.choices[0].description == "Mat Pilates / Pilates Reformer"


def test_times_of_several_days_say_the_day() -> None:
    saturday = r.SlotInfo(date=FRIDAY + dt.timedelta(days=1), time="09:00", available=3)
    interactive = offered(r.SlotFull(date=FRIDAY, requested_time="18:00", slots=(SLOT, saturday)))
    assert titles(interactive) == ["Vie 27 · 19:00", "Sáb 28 · 09:00"]
    assert ids(interactive) == ["slot:2026-11-27T19:00", "slot:2026-11-28T09:00"]


def test_a_days_schedule_offers_its_free_classes_and_the_week_offers_none() -> None:
    full = r.SlotInfo(date=FRIDAY, time="07:00", class_name="Mat Pilates", available=0)
    day = r.Schedule(date=FRIDAY, days=(r.DaySchedule(date=FRIDAY, slots=(full, SLOT)),))
    assert ids(offered(day)) == ["slot:2026-11-27T19:00"]
    assert offered(r.Schedule(date=FRIDAY, days=(r.DaySchedule(date=FRIDAY, slots=(full,)),))) is None
    assert offered(r.Schedule(days=day.days)) is None


def test_packages_are_a_list_with_their_price_and_names_trimmed_at_a_word() -> None:
    long_name = r.PackageInfo(id="anual", name="Membresía anual de clases ilimitadas", price=15000, currency="MXN")
    interactive = offered(r.ChoosePackage(packages=(PACKAGE, UNLIMITED, long_name)))
    assert interactive is not None and interactive.kind == "list" and interactive.button == "Ver paquetes"
    assert ids(interactive) == ["package:pack-10", "package:mensualidad-ilimitada", "package:anual"]
    assert titles(interactive) == ["Pack 10 clases", "Mensualidad ilimitada", "Membresía anual…"]
    assert [c.description for c in interactive.choices] == [
        "$2,000 MXN · 10 clases, vigencia de 90 días", "$1,800 MXN · clases ilimitadas, vigencia de 30 días",
        "$15,000 MXN · clases ilimitadas"]


def test_packages_named_alike_get_distinct_titles() -> None:
    first = r.PackageInfo(id="a", name="Paquete promocional de verano 2026", price=1)
    second = r.PackageInfo(id="b", name="Paquete promocional de verano 2027", price=2)
    assert titles(offered(r.ChoosePackage(packages=(first, second)))) == ["Paquete promocional…",
                                                                          "Paquete promocional… (2)"]


def test_no_credits_offers_the_packages_to_buy_and_nothing_without_them() -> None:
    assert ids(offered(r.NoCredits(packages=(PACKAGE, UNLIMITED)))) == ["package:pack-10",
                                                                         "package:mensualidad-ilimitada"]
    assert offered(r.NoCredits()) is None


def test_a_package_id_the_scheme_cannot_carry_offers_no_taps() -> None:
    odd = r.PackageInfo(id="pack 10", name="Pack 10", price=1)
    assert offered(r.ChoosePackage(packages=(PACKAGE, odd))) is None


def test_bookings_are_a_list_by_code_and_only_when_every_one_has_a_code() -> None:
    monday = r.BookingInfo(code="BK-5000", date=dt.date(2026, 11, 30), time="07:00", class_name="Mat Pilates")
    interactive = offered(r.ChooseBooking(bookings=(BOOKING, monday)), register="usted")
    assert interactive is not None and interactive.kind == "list" and interactive.button == "Ver sus clases"
    assert ids(interactive) == ["booking:BK-4821", "booking:BK-5000"]
    assert titles(interactive) == ["Vie 27 nov · 19:00", "Lun 30 nov · 07:00"]
    assert interactive.choices[0].description == "Pilates Reformer · BK-4821"
    assert offered(r.ChooseBooking(bookings=(BOOKING, r.BookingInfo(date=FRIDAY, time="07:00")))) is None


def test_options_are_a_list_of_intents_in_the_customers_register() -> None:
    interactive = offered(SAMPLES["greeting"], register="usted")
    assert interactive is not None and interactive.kind == "list"
    assert ids(interactive) == ["intent:agendar_cita", "intent:consultar_paquetes", "intent:consultar_horarios",
                                "intent:cancelar_cita", "intent:pagar_servicio", "intent:consulta_estado"]
    assert titles(interactive)[-1] == "Consultar sus reservas"
    assert interactive.choices[-1].description == "Sus próximas clases"
    assert offered(r.Help()) is None
    assert ids(offered(r.Clarification(options=("agendar una clase", "volar")))) == ["intent:agendar_cita"]


def test_a_yes_that_means_a_request_taps_that_request() -> None:
    assert ids(offered(r.NoBookings())) == ["intent:agendar_cita", "act:negar"]
    assert titles(offered(r.NoBookings())) == ["Sí, agendar una", "No, gracias"]
    assert ids(offered(r.BookingStatus(code="BK-1"))) == ["intent:agendar_cita", "act:negar"]
    assert ids(offered(r.Credits())) == ["intent:consultar_paquetes", "act:negar"]
    assert ids(offered(r.PurchaseHistory())) == ["intent:consultar_paquetes", "act:negar"]
    assert ids(offered(r.FlowExpired(flow="agendar_cita"))) == ["intent:agendar_cita", "act:negar"]


def test_a_body_twilio_would_refuse_offers_no_taps() -> None:
    reply = SAMPLES["confirm_booking"]
    assert interactive_for(reply, None, "x" * BODY_MAX, "tu") is not None
    assert interactive_for(reply, None, "x" * (BODY_MAX + 1), "tu") is None
    assert interactive_for(reply, None, "  ", "tu") is None


@pytest.mark.parametrize(("text", "limit", "fitted"), [
    ("Pack 10 clases", 20, "Pack 10 clases"),
    ("Mensualidad ilimitada", 20, "Mensualidad…"),
    ("Paquete de clases de verano", 20, "Paquete de clases…"),
    ("Clases de yoga y meditación", 20, "Clases de yoga…"),
    ("Supercalifragilisticoespialidoso", 20, "Supercalifragilisti…"),
    ("  Pack   10  ", 20, "Pack 10"),
])
def test_fit_trims_after_a_whole_word_never_on_a_dangling_one(text: str, limit: int, fitted: str) -> None:
    assert fit(text, limit) == fitted
    assert len(fit(text, limit)) <= limit


def test_unique_titles_number_the_repeats_within_the_limit() -> None:
    assert unique_titles(["19:00", "19:00", "07:00", "19:00"], 20) == ["19:00", "19:00 (2)", "07:00", "19:00 (3)"]
    assert all(len(t) <= 20 for t in unique_titles(["Mensualidad ilimitada"] * 2, 20))


def test_titles_are_fitted_as_twilio_counts_them_an_emoji_being_two() -> None:
    """The Content API counts UTF-16 units: a title of 19 letters and an emoji is 21, over 20."""
    title = fit("Reservar la clase 🧘 ahora", QUICK_REPLY_TITLE_MAX)
    assert twilio_length(title) <= QUICK_REPLY_TITLE_MAX
    assert title.endswith("…")
    assert fit("🧘" * 30, QUICK_REPLY_TITLE_MAX) == "🧘" * 9 + "…"
