"""Spanish reply templates: the voice of the bot when no LLM writes the reply (or it fails).

One function per reply kind of `contracts.replies`, taking that kind's typed model; `TEMPLATES`
maps every kind to its function (a test fails when a kind has none). Values arrive raw and are
put into words by `services/responder/spanish.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from contracts import replies as r
from contracts.replies import Register, Reply
from services.responder.register import in_register
from services.responder.spanish import count_label, day_label, money_label, time_label, when_label

Renderer = Callable[[Any, str], str]

_NOT_UNDERSTOOD = "Perdona, no te entendí. "
_YES_NO = "Responde «sí» o «no»."
_ANYTHING_ELSE = "¿Te ayudo con algo más?"

# What "¿Seguimos con …?" names for each flow.
_RESUME_LABELS = {
    "agendar_cita": "tu reserva",
    "cancelar_cita": "la cancelación de tu clase",
    "pagar_servicio": "la compra de tu paquete",
    "actualizar_perfil": "la actualización de tus datos",
}
_EXPIRED = {
    "agendar_cita": ("la reserva que estábamos armando", "quiero agendar una clase"),
    "cancelar_cita": ("la cancelación que estábamos haciendo", "quiero cancelar mi clase"),
    "pagar_servicio": ("la compra que estábamos preparando", "quiero comprar un paquete"),
    "actualizar_perfil": ("la actualización de tus datos", "quiero cambiar mi correo"),
}
_ABANDONED = {
    "agendar_cita": "Está bien, dejamos la reserva para otro momento. ¿Te ayudo con algo más?",
    "cancelar_cita": "Está bien, no cancelo nada: tus clases siguen igual. ¿Te ayudo con algo más?",
    "pagar_servicio": "Está bien, no hice ninguna compra. ¿Te ayudo con algo más?",
    "actualizar_perfil": "Está bien, tus datos se quedan como estaban. ¿Te ayudo con algo más?",
}
_API_ERRORS = {
    "unavailable": "No pude comunicarme con el sistema de reservas, inténtalo en unos minutos, por favor.",
    "validation": "No pude completar tu solicitud porque algún dato no es válido. ¿Me lo confirmas de nuevo?",
    "not_found": "No encontré lo que me pediste en el sistema. ¿Me das más detalles?",
    "conflict": "No pude completar tu solicitud porque choca con otra operación. ¿Intentamos con otra opción?",
    "unauthorized": "Por ahora no tengo acceso al sistema de reservas. Inténtalo más tarde, por favor.",
}
_EMAIL_PROBLEMS = {
    "empty": "está vacío",
    "spaces": "no debe llevar espacios",
    "too_long": "es demasiado largo",
    "missing_at": "le falta la arroba (@)",
    "several_at": "tiene más de una arroba (@)",
    "missing_user": "falta la parte antes de la arroba (@)",
    "missing_domain": "falta el dominio después de la arroba, como gmail.com",
    "missing_dot": "al dominio le falta la terminación, como .com o .mx",
    "invalid_characters": "tiene caracteres que no se usan en un correo",
    "rejected": "el sistema no lo aceptó",
}
_NAME_PROBLEMS = {
    "too_short": "es demasiado corto",
    "too_long": "es demasiado largo (máximo 80 caracteres)",
    "no_letters": "debe tener letras",
    "digits": "no debe llevar números",
    "rejected": "el sistema no lo aceptó",
}


# --- pieces ----------------------------------------------------------------------------------------


def _options(options: Sequence[str]) -> str:
    if not options:
        return ""
    if len(options) == 1:
        return options[0]
    return ", ".join(options[:-1]) + " o " + options[-1]


def _prefix(reply: r._Question) -> str:
    return _NOT_UNDERSTOOD if reply.not_understood else ""


def _opener(reply: r._Question, opener: str) -> str:
    """A question's friendly opener, unless the question is asked again or after a misunderstanding."""
    return _prefix(reply) or ("" if reply.again else opener)


def _package_detail(package: r.PackageInfo) -> str:
    detail = "clases ilimitadas" if package.sessions is None else count_label(package.sessions, "clase", "clases")
    if package.validity_days:
        detail += f", vigencia de {package.validity_days} días"
    return detail


def _package_line(package: r.PackageInfo) -> str:
    return f"• {package.name}: {money_label(package.price, package.currency)} ({_package_detail(package)})"


def _places(available: int) -> str:
    if available <= 0:
        return " (lleno)"
    if available == 1:
        return " (queda 1 lugar)"
    if available <= 3:
        return f" (quedan {available} lugares)"
    return ""


def _slot_line(slot: r.SlotInfo) -> str:
    name = f" · {slot.class_name}" if slot.class_name else ""
    return f"• {slot.time}{name}{_places(slot.available)}"


def _slot_lines(slots: Sequence[r.SlotInfo]) -> str:
    return "\n".join(_slot_line(slot) for slot in slots)


def _booking_line(booking: r.BookingInfo) -> str:
    details = ", ".join(d for d in (booking.class_name, booking.code) if d)
    return f"• {when_label(booking.date, booking.time) or 'Clase'}" + (f" ({details})" if details else "")


def _of_booking(booking: r.BookingInfo) -> str:
    """" del viernes 27 de noviembre a las 07:00", or "" when the booking's time is unknown."""
    when = when_label(booking.date, booking.time)
    return f" del {when}" if when else ""


# --- conversation ----------------------------------------------------------------------------------


def greeting(reply: r.Greeting, business: str) -> str:
    hello = f"¡Hola, {reply.name}! 👋" if reply.name else "¡Hola! 👋"
    return f"{hello} Soy el asistente de {business}. Puedo ayudarte a {_options(reply.options)}. ¿En qué te ayudo?"


def help_(reply: r.Help, business: str) -> str:
    return (f"Con gusto te ayudo. Puedo {_options(reply.options)}. "
            "Escríbeme, por ejemplo, «quiero agendar una clase el viernes» o «¿qué paquetes tienen?».")


def goodbye(reply: r.Goodbye, business: str) -> str:
    return f"¡Gracias por escribir a {business}! Que tengas un excelente día. 🙌"


def acknowledged(reply: r.Acknowledged, business: str) -> str:
    return f"¡Perfecto! {_ANYTHING_ELSE}"


def thanks(reply: r.Thanks, business: str) -> str:
    return f"¡Con gusto! 😊 {_ANYTHING_ELSE}"


def clarification(reply: r.Clarification, business: str) -> str:
    if reply.reason == "out_of_scope":
        return (f"Con eso no te puedo ayudar, pero sí puedo ayudarte a {_options(reply.options)}. "
                "¿Te ayudo con alguna de estas?")
    return (f"Disculpa, no estoy seguro de haberte entendido. Puedo ayudarte a {_options(reply.options)}. "
            "¿Con cuál de estas opciones te ayudo?")


def out_of_scope(reply: r.OutOfScope, business: str) -> str:
    about = f" de {reply.topic}" if reply.topic else ""
    return f"Con eso{about} no te puedo ayudar, lo siento."


def media_received(reply: r.MediaReceived, business: str) -> str:
    types = reply.content_types
    if any(t.startswith("audio/") for t in types):
        what = "tu nota de voz"
    elif any(t.startswith("image/") for t in types):
        what = "tu imagen"
    else:
        what = "tu archivo"
    return (f"¡Gracias por {what}! Por ahora solo puedo leer mensajes de texto. "
            "¿Me cuentas por escrito en qué te puedo ayudar?")


def location_received(reply: r.LocationReceived, business: str) -> str:
    return ("¡Gracias por compartir tu ubicación! Por ahora solo puedo leer mensajes de texto. "
            "¿En qué te puedo ayudar?")


def api_error(reply: r.ApiProblem, business: str) -> str:
    known = _API_ERRORS.get(reply.error or "")
    if known:
        return known
    return ("Lo siento, en este momento no puedo consultar esa información. "
            "Por favor, inténtalo de nuevo en unos minutos.")


def handed_off(reply: r.HandedOff, business: str) -> str:
    opener = {"asked": "¡Claro! ", "not_understood": "Perdona, no logro entenderte bien. ",
              "unknown_question": "", "payment_claim": ""}[reply.reason]
    if not reply.open_now and reply.opens_at is not None:
        when = f"cuando abramos, el {day_label(reply.opens_at.date())} a {time_label(reply.opens_at.strftime('%H:%M'))}"
        return f"{opener}Le pasé tu conversación a una persona del equipo de {business}: te responderá por aquí {when}."
    when = reply.response_time or "en cuanto pueda"
    return f"{opener}Le pasé tu conversación a una persona del equipo de {business}: te responderá por aquí {when}."


def faq_answer(reply: r.FaqAnswer, business: str) -> str:
    return reply.answer


def opted_out(reply: r.OptedOut, business: str) -> str:
    return "Listo, no te vamos a escribir más. Si algún día quieres volver, nos escribes y seguimos desde aquí."


def unknown_question(reply: r.UnknownQuestion, business: str) -> str:
    return ("No tengo esa información y prefiero no adivinar. "
            "¿Quieres que le pase tu pregunta a una persona del equipo?")


def resume_flow(reply: r.ResumeFlow, business: str) -> str:
    return f"¿Seguimos con {_RESUME_LABELS.get(reply.flow, 'lo que estábamos haciendo')}?"


def flow_expired(reply: r.FlowExpired, business: str) -> str:
    what, example = _EXPIRED.get(reply.flow, ("lo que teníamos pendiente", ""))
    restart = f" Si quieres, empezamos de nuevo: dime, por ejemplo, «{example}»." if example else \
        " ¿En qué te puedo ayudar?"
    return f"Pasó un buen rato desde tu último mensaje, así que dejé sin terminar {what}.{restart}"


def abandoned(reply: r.Abandoned, business: str) -> str:
    if reply.flow is None:
        return "Está bien. Si necesitas algo más, aquí estoy. 🙂"
    return _ABANDONED[reply.flow]


# --- queries ---------------------------------------------------------------------------------------


def packages(reply: r.Packages, business: str) -> str:
    if not reply.packages:
        return f"Por ahora no tenemos paquetes disponibles. {_ANYTHING_ELSE}"
    asked = next((p for p in reply.packages if reply.asked and p.name.lower() == reply.asked.lower()), None)
    if asked is not None:
        return (f"{asked.name} cuesta {money_label(asked.price, asked.currency)}: {_package_detail(asked)}. "
                "¿Te interesa?")
    lines = "\n".join(_package_line(p) for p in reply.packages)
    return f"Estos son nuestros paquetes:\n{lines}\n\n¿Te gustaría comprar alguno o agendar una clase?"


def schedule(reply: r.Schedule, business: str) -> str:
    if reply.date is not None:
        slots = reply.days[0].slots if reply.days else ()
        if not slots:
            return f"El {day_label(reply.date)} no hay clases disponibles. ¿Quieres que revise otro día?"
        return f"Horarios del {day_label(reply.date)}:\n{_slot_lines(slots)}\n\n¿Quieres reservar alguno?"
    if not reply.days:
        return f"Por ahora no hay clases programadas. {_ANYTHING_ELSE}"
    lines = "\n".join(
        f"• {day_label(day.date).capitalize()}: "
        + ", ".join(f"{s.time}{' (lleno)' if s.available <= 0 else ''}" for s in day.slots)
        for day in reply.days
    )
    return f"Estos son los horarios de los próximos días:\n{lines}\n\n¿Quieres reservar alguna clase?"


def booking_status(reply: r.BookingStatus, business: str) -> str:
    if not reply.bookings:
        if reply.code:
            return f"No encontré la reserva {reply.code} entre tus próximas clases. ¿Quieres agendar una clase?"
        return "No tienes clases reservadas próximamente. ¿Quieres agendar una?"
    lines = "\n".join(_booking_line(b) for b in reply.bookings)
    if len(reply.bookings) == 1:
        return f"Tu próxima clase está confirmada:\n{lines}\n\n{_ANYTHING_ELSE}"
    return f"Estas son tus próximas clases, todas confirmadas:\n{lines}\n\n{_ANYTHING_ELSE}"


def _purchase_line(purchase: r.PurchaseInfo) -> str:
    price = money_label(purchase.amount, purchase.currency)
    detail = ""
    if purchase.status == "paid":
        detail = f"pagado el {day_label(purchase.paid_on)}" if purchase.paid_on else "pagado"
        if purchase.valid_until:
            detail += f", vigente hasta el {day_label(purchase.valid_until)}"
    elif purchase.status == "pending":
        detail = "pendiente de pago"
    elif purchase.status == "cancelled":
        detail = "cancelado"
    return f"• {purchase.package or 'Compra'}" + (f" — {price}" if price else "") + (f" ({detail})" if detail else "")


def purchase_history(reply: r.PurchaseHistory, business: str) -> str:
    if not reply.purchases:
        return "Aún no tienes compras registradas. ¿Quieres ver nuestros paquetes?"
    lines = "\n".join(_purchase_line(p) for p in reply.purchases)
    return f"Estas son tus compras más recientes:\n{lines}\n\n{_ANYTHING_ELSE}"


# --- booking ---------------------------------------------------------------------------------------


def ask_date(reply: r.AskDate, business: str) -> str:
    what = f" a la clase de {time_label(reply.time)}" if reply.time else ""
    question = f"{_opener(reply, '¡Con gusto! ')}¿Qué día te gustaría venir{what}?"
    if reply.again:
        return question
    return f"{question} Puedes decirme, por ejemplo, «mañana», «el viernes» o «el 12 de diciembre»."


def date_in_past(reply: r.DateInPast, business: str) -> str:
    return f"El {day_label(reply.date)} ya pasó 😅. ¿Qué otro día te gustaría venir?"


def offer_slots(reply: r.OfferSlots, business: str) -> str:
    requested = reply.requested_time
    if reply.reason == "no_class_at" and requested:
        opener = f"El {day_label(reply.date)} no tenemos clase a {time_label(requested)}. "
    elif reply.reason == "started" and requested:
        opener = f"La clase de {time_label(requested)} ya no se puede reservar. "
    else:
        opener = _prefix(reply)
    if not reply.slots:
        return f"{opener}¿A qué hora te gustaría venir?"
    if reply.again:
        times = _options([s.time for s in reply.slots])
        return f"¿A qué hora te anoto el {day_label(reply.date)}? Hay lugar a las {times}."
    if reply.nearest:
        return (f"{opener}Los horarios más cercanos con lugar son:\n{_slot_lines(reply.slots)}"
                "\n\n¿Te anoto en alguno?")
    day = "Ese día" if reply.reason else f"Para el {day_label(reply.date)}"
    return f"{opener}{day} hay lugar en estos horarios:\n{_slot_lines(reply.slots)}\n\n¿Cuál prefieres?"


def slot_full(reply: r.SlotFull, business: str) -> str:
    which = (f": la clase del {day_label(reply.date)} a {time_label(reply.requested_time)} ya no tiene lugares"
             if reply.requested_time else "")
    if reply.slots:
        return (f"Ese horario ya se llenó 😕{which}. Todavía hay lugar en:\n{_slot_lines(reply.slots)}"
                "\n\n¿Cuál prefieres?")
    return f"Ese horario ya se llenó 😕{which}, y ese día ya no quedan lugares. ¿Te gustaría probar otro día?"


def no_slots(reply: r.NoSlots, business: str) -> str:
    if reply.closed and reply.opens_at is not None:
        opens = f"{day_label(reply.opens_at.date())} a {time_label(reply.opens_at.strftime('%H:%M'))}"
        return (f"El {day_label(reply.date)} estamos cerrados; volvemos a abrir el {opens}. "
                "¿Te gustaría otro día?")
    return f"El {day_label(reply.date)} no hay clases con lugares disponibles. ¿Te gustaría otro día?"


def _session_note(package: str | None, sessions_left: int | None, unlimited: bool) -> str:
    """", con una sesión de tu Pack 10 clases (te quedarán 6)"."""
    if not package:
        return ""
    if unlimited or sessions_left is None:
        return f", con tu {package}"
    if sessions_left == 0:
        return f", con la última sesión de tu {package}"
    return f", con una sesión de tu {package} (te quedarán {sessions_left})"


def confirm_booking(reply: r.ConfirmBooking, business: str) -> str:
    klass = reply.class_name or "clase"
    package = _session_note(reply.package, reply.sessions_left, reply.unlimited)
    when = f"el {day_label(reply.date)} a {time_label(reply.time)}"
    if reply.asked and not reply.again:
        places = _places(reply.available) if reply.available is not None else ""
        return f"{_prefix(reply)}¡Sí hay lugar! {klass} {when}{places}. ¿Te reservo un lugar{package}?"
    opener = _prefix(reply) or ("Listo, lo cambio. " if reply.changed else "")
    return f"{opener}Te reservo {klass} {when}{package}. ¿Confirmas?"


def ask_change(reply: r.AskChange, business: str) -> str:
    return ("Va, no reservo nada todavía. ¿Qué cambiamos: el día o la hora? "
            "Dime, por ejemplo, «mejor el jueves a las 9».")


def booked(reply: r.Booked, business: str) -> str:
    klass = f"tu clase de {reply.class_name}" if reply.class_name else "tu clase"
    when = when_label(reply.date, reply.time)
    text = f"¡Listo! ✅ Reservé {klass}" + (f" para el {when}" if when else "") + "."
    if reply.code:
        text += f" Tu código de reserva es {reply.code}."
    if reply.package and reply.sessions_left is None:
        text += f" Quedó registrada con tu {reply.package}."
    elif reply.package and reply.sessions_left == 0:
        text += f" Usaste la última sesión de tu {reply.package}."
    elif reply.package:
        text += f" Te quedan {count_label(reply.sessions_left or 0, 'sesión', 'sesiones')} de tu {reply.package}."
    return text + " Si necesitas cancelar, solo escríbeme."


def no_credits(reply: r.NoCredits, business: str) -> str:
    expired = ""
    for package in reply.expired:
        if package.status == "expired" and package.valid_until:
            expired = f" Tu {package.name} venció el {day_label(package.valid_until)}."
        elif package.status == "used_up":
            expired = f" Ya usaste todas las sesiones de tu {package.name}."
    when = f" el {day_label(reply.date)} a {time_label(reply.time)}" if reply.date and reply.time else ""
    lines = "\n".join(_package_line(p) for p in reply.packages)
    listing = f"\n{lines}\n\n" if lines else " "
    return (f"{_prefix(reply)}Para reservar{when} necesitas un paquete activo.{expired} Estos son nuestros "
            f"paquetes:{listing}¿Cuál te gustaría? En cuanto se acredite tu pago te aparto la clase.")


def credits(reply: r.Credits, business: str) -> str:
    if not reply.packages:
        return "No tienes paquetes activos por ahora. ¿Quieres ver nuestros paquetes?"
    pending = next((p for p in reply.packages if p.status == "pending"), None)
    waiting = ""
    if pending is not None:
        link = f" Si todavía no pagas, este es tu enlace: {pending.payment_link}" if pending.payment_link else ""
        waiting = f"Todavía no veo el pago de tu {pending.name}; en cuanto se acredite te aviso por aquí.{link}\n\n"
    lines = []
    for package in reply.packages:
        if package is pending:
            continue
        until = f", vigente hasta el {day_label(package.valid_until)}" if package.valid_until else ""
        if package.status == "active" and package.sessions_left is None:
            lines.append(f"• {package.name}: clases ilimitadas{until}")
        elif package.status == "active":
            left = count_label(package.sessions_left or 0, "clase", "clases")
            lines.append(f"• {package.name}: te quedan {left}{until}")
        elif package.status == "pending":
            link = f": {package.payment_link}" if package.payment_link else ""
            lines.append(f"• {package.name}: pago pendiente{link}")
        elif package.status == "expired" and package.valid_until:
            lines.append(f"• {package.name}: venció el {day_label(package.valid_until)}")
        else:
            lines.append(f"• {package.name}: ya usaste todas sus sesiones")
    if not lines:
        return waiting.rstrip()
    return waiting + "Así van tus paquetes:\n" + "\n".join(lines) + f"\n\n{_ANYTHING_ELSE}"


def payment_claim_noted(reply: r.PaymentClaimNoted, business: str) -> str:
    when = reply.response_time or "en horario de atención"
    return ("¡Gracias! Yo no puedo verificar transferencias ni comprobantes, así que se lo pasé al equipo para que "
            f"lo revise; te confirmamos por aquí {when}. Mientras tanto tu compra sigue pendiente.")


def already_booked(reply: r.AlreadyBooked, business: str) -> str:
    when = when_label(reply.date, reply.time)
    of = f" del {when}" if when else ""
    return f"Ya tienes lugar en la clase{of} 🙌, no hace falta reservarla otra vez. {_ANYTHING_ELSE}"


# --- cancelling ------------------------------------------------------------------------------------


def choose_booking(reply: r.ChooseBooking, business: str) -> str:
    if reply.reason == "no_match":
        when = when_label(reply.date, reply.time)
        target = f"la reserva {reply.code}" if reply.code else (f"una reserva para el {when}" if when
                                                              else "esa reserva")
        opener = f"No encontré {target} entre tus próximas clases. "
    else:
        opener = _prefix(reply)
    if not reply.bookings:
        return f"{opener}¿Cuál de tus clases quieres cancelar? Dime el día, la hora o el código de la reserva."
    lines = "\n".join(_booking_line(b) for b in reply.bookings)
    return f"{opener}¿Cuál de tus clases quieres cancelar?\n{lines}\n\nDime el día, la hora o el código."


def no_bookings(reply: r.NoBookings, business: str) -> str:
    return "No tienes clases reservadas próximamente. ¿Quieres agendar una?"


def confirm_cancel(reply: r.ConfirmCancel, business: str) -> str:
    code = f" ({reply.booking.code})" if reply.booking.code else ""
    yes_no = "" if reply.again else f" {_YES_NO}"
    return f"{_prefix(reply)}¿Confirmas que cancelo tu clase{_of_booking(reply.booking)}{code}?{yes_no}"


def cancelled(reply: r.Cancelled, business: str) -> str:
    code = f" ({reply.booking.code})" if reply.booking.code else ""
    if reply.already:
        return f"Esa reserva{code} ya estaba cancelada. {_ANYTHING_ELSE}"
    session = ""
    if reply.session_returned and reply.package:
        left = f" (te quedan {reply.sessions_left})" if reply.sessions_left is not None else ""
        session = f" Te devolví la sesión a tu {reply.package}{left}."
    elif reply.session_returned is False:
        hours = f"{reply.refund_hours} horas" if reply.refund_hours else "el tiempo mínimo"
        session = f" Como faltaban menos de {hours} para la clase, la sesión no se devuelve a tu paquete."
    return (f"Listo, cancelé tu clase{_of_booking(reply.booking)}{code} y tu lugar quedó libre.{session} "
            "¿Quieres agendar otra?")


def cancel_too_late(reply: r.CancelTooLate, business: str) -> str:
    return f"La clase{_of_booking(reply.booking)} ya empezó, así que ya no se puede cancelar. {_ANYTHING_ELSE}"


def booking_not_found(reply: r.BookingNotFound, business: str) -> str:
    code = f" {reply.booking.code}" if reply.booking.code else ""
    return (f"No encontré la reserva{code} entre tus clases. "
            "Escríbeme «mis reservas» para ver tus próximas clases.")


def kept(reply: r.Kept, business: str) -> str:
    when = when_label(reply.booking.date, reply.booking.time)
    if when:
        return f"Perfecto, conservo tu clase del {when}. ¡Nos vemos en clase! 💪"
    return "Perfecto, tu clase sigue en pie. ¡Nos vemos en clase! 💪"


# --- buying ----------------------------------------------------------------------------------------


def choose_package(reply: r.ChoosePackage, business: str) -> str:
    opener = f"No encontré el paquete «{reply.unknown}». " if reply.unknown else _prefix(reply)
    if not reply.packages:
        return f"{opener}¿Qué paquete te gustaría comprar? Dime su nombre."
    lines = "\n".join(_package_line(p) for p in reply.packages)
    return (f"{opener}¿Qué paquete te gustaría comprar?\n{lines}\n\n"
            f"Dime su nombre, por ejemplo «{reply.packages[0].name}».")


def confirm_purchase(reply: r.ConfirmPurchase, business: str) -> str:
    package = reply.package
    price = money_label(package.price, package.currency)
    question = f"{_prefix(reply)}¿Confirmas la compra de {package.name} por {price}?"
    return question if reply.again else f"{question} Te enviaré el enlace para pagar. {_YES_NO}"


def payment_link(reply: r.PaymentLink, business: str) -> str:
    price = money_label(reply.amount, reply.currency)
    what = f" {reply.package}" + (f" ({price})" if price else "")
    if not reply.payment_link:
        return f"¡Listo! Registré la compra de{what}. En breve te comparto el enlace de pago."
    return (f"¡Perfecto! Aquí tienes el enlace para pagar{what}:\n{reply.payment_link}\n\n"
            "En cuanto se registre tu pago, tu paquete quedará activo.")


def payment_confirmed(reply: r.PaymentConfirmed, business: str) -> str:
    until = f", vigente hasta el {day_label(reply.valid_until)}" if reply.valid_until else ""
    what = f"Tu {reply.package}" if reply.package else "Tu paquete"
    return f"¡Tu pago se acreditó! ✅ {what} ya está activo{until}."


def payment_failed(reply: r.PaymentFailed, business: str) -> str:
    what = f" de {reply.package}" if reply.package else ""
    return (f"Tu pago{what} no se pudo completar y no se hizo ningún cargo. Si quieres intentarlo de nuevo, "
            "dime y te mando otro enlace.")


def purchase_declined(reply: r.PurchaseDeclined, business: str) -> str:
    return f"Sin problema, no hice ninguna compra. {_ANYTHING_ELSE}"


# --- profile ---------------------------------------------------------------------------------------


def ask_profile_field(reply: r.AskProfileField, business: str) -> str:
    return f"{_prefix(reply)}¿Qué dato quieres actualizar: tu correo electrónico o tu nombre?"


def ask_email(reply: r.AskEmail, business: str) -> str:
    current = f"Tu correo registrado es {reply.current}. " if reply.current else ""
    return f"{_prefix(reply)}{current}¿Cuál es tu nuevo correo electrónico?"


def ask_name(reply: r.AskName, business: str) -> str:
    if reply.current:
        return f"{_prefix(reply)}Tu nombre registrado es {reply.current}. ¿Cómo quieres que aparezca?"
    return f"{_prefix(reply)}¿Cuál es tu nombre completo?"


def invalid_email(reply: r.InvalidEmail, business: str) -> str:
    reason = _EMAIL_PROBLEMS.get(reply.reason or "")
    why = f": {reason}" if reason else ""
    opener = f"Mmm, «{reply.value}» no parece un correo válido{why}." if reply.value else \
        f"Ese correo no parece válido{why}."
    return f"{opener} ¿Me lo escribes de nuevo? Por ejemplo: nombre@gmail.com"


def invalid_name(reply: r.InvalidName, business: str) -> str:
    reason = _NAME_PROBLEMS.get(reply.reason or "")
    why = f": {reason}" if reason else ""
    return f"Ese nombre no lo puedo guardar{why}. ¿Me lo escribes de nuevo?"


def confirm_profile(reply: r.ConfirmProfile, business: str) -> str:
    field = {"email": "tu correo", "nombre": "tu nombre"}[reply.field]
    return f"{_prefix(reply)}¿Confirmas que cambio {field} a {reply.value}?"


def profile_updated(reply: r.ProfileUpdated, business: str) -> str:
    field = {"email": "tu correo", "nombre": "tu nombre"}[reply.field]
    return f"¡Listo! Actualicé {field} a {reply.value}. {_ANYTHING_ELSE}"


TEMPLATES: dict[str, Renderer] = {
    "greeting": greeting,
    "help": help_,
    "goodbye": goodbye,
    "acknowledged": acknowledged,
    "thanks": thanks,
    "clarification": clarification,
    "out_of_scope": out_of_scope,
    "media_received": media_received,
    "location_received": location_received,
    "api_error": api_error,
    "handed_off": handed_off,
    "opted_out": opted_out,
    "faq_answer": faq_answer,
    "unknown_question": unknown_question,
    "resume_flow": resume_flow,
    "flow_expired": flow_expired,
    "abandoned": abandoned,
    "packages": packages,
    "schedule": schedule,
    "booking_status": booking_status,
    "purchase_history": purchase_history,
    "ask_date": ask_date,
    "date_in_past": date_in_past,
    "offer_slots": offer_slots,
    "slot_full": slot_full,
    "no_slots": no_slots,
    "confirm_booking": confirm_booking,
    "ask_change": ask_change,
    "no_credits": no_credits,
    "credits": credits,
    "payment_claim_noted": payment_claim_noted,
    "booked": booked,
    "already_booked": already_booked,
    "choose_booking": choose_booking,
    "no_bookings": no_bookings,
    "confirm_cancel": confirm_cancel,
    "cancelled": cancelled,
    "cancel_too_late": cancel_too_late,
    "booking_not_found": booking_not_found,
    "kept": kept,
    "choose_package": choose_package,
    "confirm_purchase": confirm_purchase,
    "payment_link": payment_link,
    "payment_confirmed": payment_confirmed,
    "payment_failed": payment_failed,
    "purchase_declined": purchase_declined,
    "ask_profile_field": ask_profile_field,
    "ask_email": ask_email,
    "ask_name": ask_name,
    "invalid_email": invalid_email,
    "invalid_name": invalid_name,
    "confirm_profile": confirm_profile,
    "profile_updated": profile_updated,
}


_AGAIN_LABELS = {
    "agendar_cita": "Sigamos con tu reserva.",
    "cancelar_cita": "Sigamos con la cancelación.",
    "pagar_servicio": "Sigamos con tu compra.",
    "actualizar_perfil": "Sigamos con tus datos.",
}
_FLOW_OF_KIND = {
    **dict.fromkeys(("ask_date", "date_in_past", "offer_slots", "slot_full", "no_slots", "confirm_booking",
                     "ask_change"), "agendar_cita"),
    **dict.fromkeys(("no_credits",), "pagar_servicio"),
    **dict.fromkeys(("choose_booking", "confirm_cancel"), "cancelar_cita"),
    **dict.fromkeys(("choose_package", "confirm_purchase"), "pagar_servicio"),
    **dict.fromkeys(("ask_profile_field", "ask_email", "ask_name", "invalid_email", "invalid_name",
                     "confirm_profile"), "actualizar_perfil"),
}
_CLOSING_QUESTION = re.compile(r"\s*¿[^¿?]*\?\s*$")


def render(reply: Reply, *, business: str, followup: Reply | None = None, register: Register = "tu") -> str:
    """The reply's text in the customer's register. A followup (a question of the conversation: the
    flow's question asked again, "¿Seguimos con…?", or the answer to a second request) comes after a
    blank line, and then the reply drops its own closing question: a message asks one thing."""
    return in_register(_compose(reply, business, followup), register)


def _compose(reply: Reply, business: str, followup: Reply | None) -> str:
    text = TEMPLATES[reply.kind](reply, business)
    if followup is None:
        return text
    then = TEMPLATES[followup.kind](followup, business)
    if getattr(followup, "again", False) and followup.kind in _FLOW_OF_KIND:
        then = f"{_AGAIN_LABELS[_FLOW_OF_KIND[followup.kind]]} {then}"
    asks = "?" in then
    main = _CLOSING_QUESTION.sub("", text) if asks and _CLOSING_QUESTION.sub("", text) else text
    return f"{main}\n\n{then}"
