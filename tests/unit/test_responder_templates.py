from __future__ import annotations

import datetime as dt
import re

import pytest

from contracts import replies as r
from contracts.replies import REPLY_KINDS, Register, Reply
from services.responder.register import TU_FORMS
from services.responder.templates import TEMPLATES, render

OPTIONS = ("agendar una clase", "ver paquetes y precios", "cancelar una reserva")
FRIDAY = dt.date(2026, 11, 27)
SLOT = r.SlotInfo(date=FRIDAY, time="19:00", class_name="Pilates Reformer", available=2)
BOOKING = r.BookingInfo(code="BK-4821", date=FRIDAY, time="19:00", class_name="Pilates Reformer")
PACKAGE = r.PackageInfo(id="pack-10", name="Pack 10 clases", price=2000, currency="MXN", sessions=10,
                        validity_days=90)

SAMPLES: dict[str, Reply] = {reply.kind: reply for reply in (
    r.Greeting(name="Ana", options=OPTIONS), r.Help(options=OPTIONS), r.Goodbye(), r.Acknowledged(),
    r.Clarification(options=OPTIONS), r.MediaReceived(content_types=("image/png",)), r.LocationReceived(),
    r.ApiProblem(error="unavailable"), r.ResumeFlow(flow="agendar_cita"),
    r.FlowExpired(flow="cancelar_cita", options=OPTIONS), r.Abandoned(flow="pagar_servicio"),
    r.Packages(packages=(PACKAGE,)), r.Schedule(days=(r.DaySchedule(date=FRIDAY, slots=(SLOT,)),)),
    r.BookingStatus(bookings=(BOOKING,)),
    r.PurchaseHistory(purchases=(r.PurchaseInfo(package="Pack 10 clases", amount=2000, currency="MXN",
                                                status="paid", paid_on=FRIDAY),)),
    r.AskDate(time="19:00"), r.DateInPast(date=FRIDAY), r.OfferSlots(date=FRIDAY, slots=(SLOT,)),
    r.ConfirmBooking(date=FRIDAY, time="19:00", class_name="Pilates Reformer", package="Pack 10 clases"),
    r.AskChange(date=FRIDAY, time="19:00"), r.Thanks(), r.OutOfScope(),
    r.HandedOff(response_time="en menos de una hora"), r.OptedOut(),
    r.PaymentConfirmed(package="Pack 10 clases", valid_until=FRIDAY),
    r.PaymentFailed(package="Pack 10 clases"),
    r.FaqAnswer(faq_id="estacionamiento", answer="Sí, hay estacionamiento en la calle."), r.UnknownQuestion(),
    r.NoCredits(date=FRIDAY, time="19:00", packages=(PACKAGE,),
                expired=(r.CreditInfo(name="Pack 5 clases", status="expired", valid_until=FRIDAY),)),
    r.Credits(packages=(r.CreditInfo(name="Pack 10 clases", status="active", sessions_left=7, valid_until=FRIDAY),
                        r.CreditInfo(name="Clase suelta", status="pending", payment_link="https://pay.example/1"))),
    r.PaymentClaimNoted(response_time="en menos de una hora"),
    r.SlotFull(date=FRIDAY, requested_time="19:00", slots=(SLOT,)), r.NoSlots(date=FRIDAY),
    r.Booked(code="BK-4821", date=FRIDAY, time="19:00", class_name="Pilates Reformer"),
    r.AlreadyBooked(date=FRIDAY, time="19:00"), r.ChooseBooking(bookings=(BOOKING,)), r.NoBookings(),
    r.ConfirmCancel(booking=BOOKING), r.Cancelled(booking=BOOKING), r.CancelTooLate(booking=BOOKING),
    r.BookingNotFound(booking=BOOKING), r.Kept(booking=BOOKING),
    r.ChoosePackage(packages=(PACKAGE,)), r.ConfirmPurchase(package=PACKAGE),
    r.PaymentLink(package="Pack 10 clases", amount=2000, currency="MXN", payment_link="https://pay.example/1"),
    r.PurchaseDeclined(package="Pack 10 clases"), r.AskProfileField(), r.AskEmail(current="ana@example.com"),
    r.AskName(), r.InvalidEmail(value="ana@", reason="missing_domain"), r.InvalidName(value="A", reason="too_short"),
    r.ProfileUpdated(field="email", value="ana@example.com"), r.ConfirmProfile(field="nombre", value="Ximena"),
)}


def test_every_reply_kind_has_a_template_and_a_sample() -> None:
    assert set(TEMPLATES) == set(REPLY_KINDS) == set(SAMPLES)


@pytest.mark.parametrize("kind", sorted(REPLY_KINDS))
def test_every_kind_renders_spanish(kind: str) -> None:
    text = render(SAMPLES[kind], business="Estudio Sol")
    assert text and text[0] in "¡¿ABCDEFGHIJKLMNOPQRSTUVWXYZÁÉÍÓÚ", text
    assert "None" not in text and "{" not in text
    assert not any("  " in line or " ." in line or " ?" in line for line in text.splitlines()), text


def test_greeting_uses_the_name_and_lists_options_in_spanish() -> None:
    text = render(r.Greeting(name="Ana", options=OPTIONS), business="Estudio Sol")
    assert text.startswith("¡Hola, Ana! 👋 Soy el asistente de Estudio Sol.")
    assert "agendar una clase, ver paquetes y precios o cancelar una reserva" in text
    assert render(r.Greeting(options=OPTIONS), business="X").startswith("¡Hola! 👋")


def test_packages_list_prices_sessions_and_validity() -> None:
    packages = (
        r.PackageInfo(id="p5", name="Pack 5 clases", price=1100, currency="MXN", sessions=5, validity_days=60),
        r.PackageInfo(id="m", name="Mensualidad ilimitada", price=1800.5, currency="MXN", validity_days=30),
        r.PackageInfo(id="c", name="Clase suelta", price=250, currency="MXN", sessions=1, validity_days=30),
    )
    text = render(r.Packages(packages=packages), business="X")
    assert "• Pack 5 clases: $1,100 MXN (5 clases, vigencia de 60 días)" in text
    assert "• Mensualidad ilimitada: $1,800.50 MXN (clases ilimitadas, vigencia de 30 días)" in text
    assert "• Clase suelta: $250 MXN (1 clase, vigencia de 30 días)" in text
    assert render(r.Packages(), business="X").startswith("Por ahora no tenemos paquetes")


def test_dates_times_and_amounts_are_put_into_words() -> None:
    assert "viernes 27 de noviembre a las 19:00" in render(SAMPLES["booked"], business="X")
    assert render(r.OfferSlots(date=FRIDAY, slots=(SLOT,), reason="no_class_at", requested_time="01:00"),
                  business="X").startswith("El viernes 27 de noviembre no tenemos clase a la 1:00. Ese día hay lugar")
    assert "por $2,000 MXN" in render(SAMPLES["confirm_purchase"], business="X")


def test_media_reply_names_what_was_received() -> None:
    assert "tu nota de voz" in render(r.MediaReceived(content_types=("audio/ogg",)), business="X")
    assert "tu imagen" in render(r.MediaReceived(content_types=("image/png",)), business="X")


def test_a_followup_comes_after_the_reply() -> None:
    text = render(r.Packages(packages=(PACKAGE,)), business="X", followup=r.ResumeFlow(flow="agendar_cita"))
    assert text.endswith("\n\n¿Seguimos con tu reserva?")


@pytest.mark.parametrize("register", ["vos", "usted"])
@pytest.mark.parametrize("kind", sorted(REPLY_KINDS))
def test_every_kind_follows_the_customers_register(kind: str, register: Register) -> None:
    text = render(SAMPLES[kind], business="Estudio Sol", register=register)
    left = {w for w in re.findall(r"\w+", text.lower()) if w in TU_FORMS}
    assert not left, f"tú forms in a {register} reply: {left}: {text}"
    if register == "usted":
        assert not re.search(r"\b(te|tu|tus)\b", text, re.IGNORECASE), text


def test_registers_read_naturally() -> None:
    ask = r.AskDate()
    assert render(ask, business="X", register="usted").startswith("¡Con gusto! ¿Qué día le gustaría venir?")
    summary = SAMPLES["confirm_booking"]
    assert render(summary, business="X", register="vos").endswith("¿Confirmás?")
    assert render(summary, business="X", register="usted").endswith("¿Confirma?")
    assert "Decime su nombre" in render(SAMPLES["choose_package"], business="X", register="vos")
    assert "Puedo ayudarle" in render(SAMPLES["greeting"], business="X", register="usted")


def test_sessions_are_told_plainly() -> None:
    summary = r.ConfirmBooking(date=FRIDAY, time="19:00", class_name="Mat", package="Pack 10 clases", sessions_left=6)
    assert "con una sesión de tu Pack 10 clases (te quedarán 6)" in render(summary, business="X")
    last = summary.model_copy(update={"sessions_left": 0})
    assert "con la última sesión de tu Pack 10 clases" in render(last, business="X")
    kept = r.Cancelled(booking=BOOKING, session_returned=False, refund_hours=12)
    assert "faltaban menos de 12 horas" in render(kept, business="X")
    returned = r.Cancelled(booking=BOOKING, session_returned=True, package="Pack 10 clases", sessions_left=8)
    assert "Te devolví la sesión a tu Pack 10 clases (te quedan 8)." in render(returned, business="X")


def test_the_opt_out_is_confirmed_in_the_customers_register() -> None:
    assert render(r.OptedOut(), business="X") == ("Listo, no te vamos a escribir más. Si algún día quieres volver, "
                                                  "nos escribes y seguimos desde aquí.")
    assert "querés volver, nos escribís" in render(r.OptedOut(), business="X", register="vos")
    assert render(r.OptedOut(), business="X", register="usted").startswith("Listo, no le vamos a escribir más. "
                                                                          "Si algún día quiere volver, nos escribe")
