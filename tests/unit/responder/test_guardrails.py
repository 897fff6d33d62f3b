"""The guardrails on LLM-written replies: realistic rewordings (Mexican, Argentine, Spanish, Chilean)
pass; an invented fact, a dropped link or code, a false success, Markdown, a long text or the
wrong register is caught, with its reason."""

from __future__ import annotations

import datetime as dt

import pytest

from contracts import replies as r
from contracts.replies import Register, Reply
from services.responder.guardrails import REASONS, Facts, check, facts_of, mentions
from services.responder.prompt import reply_data
from services.responder.templates import render
from tests.unit.test_responder_templates import SAMPLES

BUSINESS = "Estudio Sol Pilates"
FRIDAY = dt.date(2026, 12, 11)  # viernes 11 de diciembre
THURSDAY = dt.date(2026, 12, 3)  # jueves 3 de diciembre
LINK = "https://pay.example.com/p/123"

BOOKED = r.Booked(code="BK-4821", date=FRIDAY, time="19:00", class_name="Pilates Reformer", package="Pack 10 clases",
                  sessions_left=5)
PACKAGES = r.Packages(packages=(
    r.PackageInfo(id="1", name="Clase suelta", price=250, currency="MXN", sessions=1),
    r.PackageInfo(id="2", name="Pack 10 clases", price=2000, currency="MXN", sessions=10, validity_days=60),
))
SLOTS = r.OfferSlots(date=FRIDAY, slots=(r.SlotInfo(date=FRIDAY, time="07:00", available=5),
                                         r.SlotInfo(date=FRIDAY, time="09:00", available=2),
                                         r.SlotInfo(date=FRIDAY, time="19:00", available=8)))
CONFIRM = r.ConfirmBooking(date=THURSDAY, time="18:30", class_name="Pilates Mat", package="Bono 5 sesiones",
                           sessions_left=4)
PAYMENT_LINK = r.PaymentLink(package="Pack 10 clases", amount=2000, currency="MXN", payment_link=LINK,
                             purchase_id="77")
CANCELLED = r.Cancelled(booking=r.BookingInfo(code="BK-4821", date=FRIDAY, time="19:00"), session_returned=True,
                        package="Pack 10 clases", sessions_left=6)
CLARIFY = r.Clarification(options=("agendar una clase", "ver los paquetes", "cancelar una reserva"))
CLAIM = r.PaymentClaimNoted(response_time="en menos de 2 horas")


def facts(reply: Reply, register: Register = "tu", followup: Reply | None = None) -> Facts:
    draft = render(reply, business=BUSINESS, followup=followup, register=register)
    kinds = [reply.kind] + ([followup.kind] if followup is not None else [])
    return facts_of(reply_data(reply, followup), draft, kinds=kinds, extra=[BUSINESS])


ACCEPTED: list[tuple[str, Reply, Register, str]] = [
    ("mx booked, 7 pm", BOOKED, "tu",
     "¡Listo! ✅ Ya quedó tu clase de Pilates Reformer el viernes 11 de diciembre a las 7 pm. Tu código es *BK-4821*. "
     "Te quedan 5 sesiones de tu Pack 10 clases. Si necesitas cancelar, solo escríbeme."),
    ("ar booked, 19 h and 11/12", BOOKED, "vos",
     "¡Listo! Te reservé Pilates Reformer para el viernes 11/12 a las 19 h. Código de reserva: BK-4821. Te quedan "
     "5 sesiones del Pack 10 clases. Si necesitás cancelar, escribime."),
    ("es booked, 19:00 h, lower-case code", BOOKED, "tu",
     "¡Hecho! Tienes plaza en Pilates Reformer el viernes 11 de diciembre a las 19:00 h. Código: bk-4821. "
     "Te quedan 5 sesiones de tu Pack 10 clases."),
    ("usted booked, siete de la tarde", BOOKED, "usted",
     "¡Listo! Le reservé su clase de Pilates Reformer para el viernes 11 de diciembre a las siete de la tarde. "
     "Su código es BK-4821. Le quedan 5 sesiones de su Pack 10 clases."),
    ("cl packages, $2.000 and 60 días", PACKAGES, "tu",
     "¡Claro! Estos son nuestros paquetes:\n• Clase suelta: $250 MXN\n• Pack 10 clases: $2.000 (vigencia de "
     "60 días)\n¿Te tinca comprar alguno o agendar una clase?"),
    ("es packages, 2.000,00 €-style amounts", PACKAGES, "tu",
     "Tenemos dos opciones:\n- Clase suelta: 250,00 MXN\n- Pack 10 clases: 2.000,00 MXN, válido 60 días\n"
     "¿Te interesa alguno?"),
    ("mx payment link", PAYMENT_LINK, "tu",
     f"¡Perfecto! Aquí está tu enlace para pagar el Pack 10 clases ($2,000 MXN):\n{LINK}\n\nEn cuanto se "
     "registre el pago, tu paquete queda activo."),
    ("ar offer slots, bare hours", SLOTS, "vos",
     "Para el viernes 11 de diciembre hay lugar a las 7, a las 9 y a las 19 hs. ¿Cuál preferís?"),
    ("mx offer slots, a. m. / p. m.", SLOTS, "tu",
     "El viernes 11 de diciembre tengo lugar a las 7:00 a. m., 9:00 a. m. y 7:00 p. m. ¿Cuál prefieres?"),
    ("es confirm booking, a question", CONFIRM, "tu",
     "Te apunto a Pilates Mat el jueves 3 de diciembre a las 18:30, con una sesión de tu Bono 5 sesiones "
     "(te quedarán 4). ¿Lo confirmas?"),
    ("ar confirm booking, reservada inside a question", CONFIRM, "vos",
     "¿Querés que te deje reservada Pilates Mat el jueves 3/12 a las 18:30 con tu Bono 5 sesiones? Te quedarían 4."),
    ("clarification with the options", CLARIFY, "tu",
     "Perdona, no te entendí bien 🙈 Puedo ayudarte a agendar una clase, ver los paquetes o cancelar una reserva. "
     "¿Qué necesitas?"),
    ("mx cancelled", CANCELLED, "tu",
     "Listo, cancelé tu clase del viernes 11 de diciembre a las 19:00 (BK-4821) y tu lugar quedó libre. Te devolví "
     "la sesión a tu Pack 10 clases: te quedan 6. ¿Quieres agendar otra?"),
    ("payment claim, negated success", CLAIM, "tu",
     "¡Gracias! No puedo verificar comprobantes, así que se lo pasé al equipo; te confirmamos por aquí en menos de "
     "2 horas. Por ahora tu compra no está pagada todavía, sigue pendiente."),
]


@pytest.mark.parametrize(("name", "reply", "register", "text"), ACCEPTED, ids=[case[0] for case in ACCEPTED])
def test_a_faithful_rewording_passes(name: str, reply: Reply, register: Register, text: str) -> None:
    assert check(text, facts(reply, register), register) is None


@pytest.mark.parametrize("register", ["tu", "vos", "usted"])
@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_the_template_of_every_kind_passes_its_own_guardrails(kind: str, register: Register) -> None:
    """No false alarm on the wording the templates use (register words, success claims, numbers)."""
    reply = SAMPLES[kind]
    draft = render(reply, business=BUSINESS, register=register)
    assert check(draft, facts(reply, register), register) is None, draft


REJECTED: list[tuple[str, Reply, Register, str, str]] = [
    ("invented price", PACKAGES, "tu",
     "Estos son nuestros paquetes:\n• Clase suelta: $250 MXN\n• Pack 10 clases: $1,800 MXN\n¿Te interesa alguno?",
     "invented_price"),
    ("invented price in euros", PACKAGES, "tu", "El Pack 10 clases sale 180 euros. ¿Lo quieres?", "invented_price"),
    ("invented time", SLOTS, "vos", "El viernes 11 de diciembre hay lugar a las 7, a las 8 y a las 19 hs. ¿Cuál?",
     "invented_time"),
    ("invented time in words", BOOKED, "tu",
     "¡Listo! Reservé tu clase el viernes 11 de diciembre a las ocho de la noche. Código BK-4821.", "invented_time"),
    ("invented weekday", BOOKED, "tu",
     "¡Listo! Reservé tu clase el sábado 11 de diciembre a las 19:00. Código BK-4821. Te quedan 5 sesiones.",
     "invented_weekday"),
    ("invented date", BOOKED, "tu", "¡Listo! Reservé tu clase el 12 de diciembre a las 19:00. Código BK-4821.",
     "invented_date"),
    ("invented month", SLOTS, "tu", "En enero hay lugar a las 7:00, 9:00 y 19:00. ¿Cuál prefieres?",
     "invented_date"),
    ("invented code", BOOKED, "tu", "¡Listo! Reservé tu clase el viernes 11 de diciembre a las 19:00. Código BK-4812.",
     "invented_code"),
    ("wrong link", PAYMENT_LINK, "tu",
     "Aquí tienes el enlace para pagar el Pack 10 clases: https://pagos.example.com/checkout", "invented_link"),
    ("dropped payment link", PAYMENT_LINK, "tu",
     "¡Perfecto! Ya registré la compra del Pack 10 clases ($2,000 MXN). En cuanto pagues, queda activo.",
     "dropped_link"),
    ("dropped booking code", BOOKED, "tu",
     "¡Listo! Reservé tu clase de Pilates Reformer el viernes 11 de diciembre a las 19:00. Te quedan 5 sesiones.",
     "dropped_code"),
    ("false success on a question", CONFIRM, "tu",
     "¡Listo! Tu clase de Pilates Mat quedó reservada para el jueves 3 de diciembre a las 18:30.", "false_success"),
    ("false payment on a claim", CLAIM, "tu",
     "¡Gracias! Tu pago ya quedó acreditado; el equipo te escribe en menos de 2 horas.", "false_success"),
    ("false confirmation on a clarification", CLARIFY, "tu", "¡Confirmado! Puedo ayudarte a agendar una clase.",
     "false_success"),
    ("invented count", BOOKED, "tu",
     "¡Listo! Reservé tu clase el viernes 11 de diciembre a las 19:00 (BK-4821). Te quedan 3 sesiones.",
     "invented_number"),
    ("invented phone number", CLARIFY, "tu",
     "Puedo ayudarte a agendar una clase o ver los paquetes. También puedes llamar al 5512345678.",
     "invented_number"),
    ("markdown heading", PACKAGES, "tu",
     "# Paquetes\n• Clase suelta: $250 MXN\n• Pack 10 clases: $2,000 MXN", "markdown"),
    ("markdown table", PACKAGES, "tu",
     "| Paquete | Precio |\n|---|---|\n| Clase suelta | $250 MXN |\n| Pack 10 clases | $2,000 MXN |", "markdown"),
    ("double asterisks", PACKAGES, "tu", "El **Pack 10 clases** cuesta $2,000 MXN. ¿Te interesa?", "markdown"),
    ("too long", CLARIFY, "tu", "Puedo ayudarte a agendar una clase, ver los paquetes o cancelar una reserva. " * 6,
     "too_long"),
    ("tuteo to usted", CONFIRM, "usted",
     "¿Quieres que te reserve Pilates Mat el jueves 3 de diciembre a las 18:30 con tu Bono 5 sesiones?",
     "wrong_register"),
    ("usted to tú", CONFIRM, "tu",
     "¿Desea que le reserve Pilates Mat el jueves 3 de diciembre a las 18:30 con su Bono 5 sesiones?",
     "wrong_register"),
    ("voseo to tú", CLARIFY, "tu", "Perdón, no te entendí. ¿Querés agendar una clase, ver los paquetes o cancelar?",
     "wrong_register"),
    ("tuteo to vos", CLARIFY, "vos", "Perdón, no te entendí. ¿Quieres agendar una clase o ver los paquetes?",
     "wrong_register"),
    ("prompt echo", CLARIFY, "tu", "BORRADOR: Puedo ayudarte a agendar una clase.", "prompt_echo"),
    ("empty", CLARIFY, "tu", "  \n ", "empty"),
]


@pytest.mark.parametrize(("name", "reply", "register", "text", "reason"), REJECTED,
                         ids=[case[0] for case in REJECTED])
def test_an_unfaithful_reply_is_rejected_with_its_reason(name: str, reply: Reply, register: Register, text: str,
                                                         reason: str) -> None:
    rejection = check(text, facts(reply, register), register)
    assert rejection is not None, f"{name} passed"
    assert (rejection.reason, name) == (reason, name), rejection.detail
    assert rejection.reason in REASONS


def test_the_followup_is_data_too() -> None:
    followup = r.OfferSlots(date=THURSDAY, slots=(r.SlotInfo(date=THURSDAY, time="18:30", available=3),), again=True)
    known = facts(PACKAGES, followup=followup)
    text = ("Paquetes: Clase suelta $250 MXN y Pack 10 clases $2,000 MXN.\n\nSigamos con tu reserva: el jueves "
            "3 de diciembre hay lugar a las 18:30. ¿Te anoto?")
    assert check(text, known, "tu") is None
    assert check(text.replace("18:30", "17:30"), known, "tu") is not None


@pytest.mark.parametrize(("text", "minutes"), [
    ("a las 19:00", {19 * 60}), ("7 pm", {19 * 60}), ("7:30 p. m.", {19 * 60 + 30}), ("7 de la tarde", {19 * 60}),
    ("19 h", {19 * 60}), ("a las 19 hs", {19 * 60}), ("19.00 h", {19 * 60}), ("a las siete y media de la tarde",
                                                                            {19 * 60 + 30}),
    ("a las 7", {7 * 60, 19 * 60}), ("a la una y media", {90, 13 * 60 + 30}), ("12 del mediodía", {12 * 60}),
    ("10 de la noche", {22 * 60}), ("8 am", {8 * 60}),
])
def test_spanish_times_are_read(text: str, minutes: set[int]) -> None:
    [read] = mentions(text).times
    assert read == minutes


@pytest.mark.parametrize(("text", "cents"), [
    ("$1.200", 120000), ("$1,200 MXN", 120000), ("1200 pesos", 120000), ("1.200,00 €", 120000),
    ("$1,800.50", 180050), ("ARS 35.000", 3500000), ("$ 250", 25000),
])
def test_spanish_amounts_are_read(text: str, cents: int) -> None:
    assert mentions(text).amounts == {cents}


@pytest.mark.parametrize(("text", "date"), [
    ("3 de diciembre", (12, 3)), ("el 3/12", (12, 3)), ("3/12/2026", (12, 3)), ("3 de dic.", (12, 3)),
    ("2026-12-03", (12, 3)), ("diciembre 3", (12, 3)),
])
def test_spanish_dates_are_read(text: str, date: tuple[int, int]) -> None:
    assert mentions(text).dates == {date}


def test_a_time_is_not_also_a_count_and_list_numbering_is_no_fact() -> None:
    read = mentions("1️⃣ a las 19:00\n2. 3 lugares")
    assert read.times == [frozenset({19 * 60})] and read.counts == {3} and read.numbers == set()


def test_an_impossible_date_or_time_is_rejected() -> None:
    assert (rejection := check("Te espero el 32/13.", facts(CLARIFY), "tu")) is not None
    assert rejection.reason == "invented_date"
    assert (rejection := check("Te espero a las 25:00.", facts(CLARIFY), "tu")) is not None
    assert rejection.reason == "invented_time"


def test_a_register_word_the_draft_uses_itself_is_allowed() -> None:
    known = facts_of({"respuesta": {}}, "¿Quieres saber más? «tú decides»", kinds=[])
    assert check("¿Quieres saber más?", known, "usted") is None  # the draft (e.g. the business's words) said it
    assert check("¿Puedes decirme más?", known, "usted") is not None
