"""Spanish reply templates: the voice of the bot when no LLM writes the reply (or it fails)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

Renderer = Callable[[Mapping[str, Any], str], str]


def _options(data: Mapping[str, Any]) -> str:
    options: Sequence[str] = data.get("options") or []
    if not options:
        return ""
    if len(options) == 1:
        return options[0]
    return ", ".join(options[:-1]) + " o " + options[-1]


def _money(amount: Any, currency: str) -> str:
    value = float(amount)
    text = f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
    return f"${text} {currency}"


def _package_line(package: Mapping[str, Any]) -> str:
    sessions = package.get("sessions")
    if sessions is None:
        detail = "clases ilimitadas"
    else:
        detail = "1 clase" if sessions == 1 else f"{sessions} clases"
    validity = package.get("validity_days")
    if validity:
        detail += f", vigencia de {validity} días"
    return f"• {package['name']}: {_money(package['price'], package.get('currency', ''))} ({detail})"


def greeting(data: Mapping[str, Any], business: str) -> str:
    name = data.get("name")
    hello = f"¡Hola, {name}! 👋" if name else "¡Hola! 👋"
    return f"{hello} Soy el asistente de {business}. Puedo ayudarte a {_options(data)}. ¿En qué te ayudo?"


def help_(data: Mapping[str, Any], business: str) -> str:
    return (f"Con gusto te ayudo. Puedo {_options(data)}. "
            "Escríbeme, por ejemplo, «quiero agendar una clase el viernes» o «¿qué paquetes tienen?».")


def goodbye(data: Mapping[str, Any], business: str) -> str:
    return f"¡Gracias por escribir a {business}! Que tengas un excelente día. 🙌"


def packages(data: Mapping[str, Any], business: str) -> str:
    items: Sequence[Mapping[str, Any]] = data.get("packages") or []
    if not items:
        return "Por ahora no tenemos paquetes disponibles. ¿Te ayudo con algo más?"
    lines = "\n".join(_package_line(p) for p in items)
    return f"Estos son nuestros paquetes:\n{lines}\n\n¿Te gustaría comprar alguno o agendar una clase?"


def clarification(data: Mapping[str, Any], business: str) -> str:
    return (f"Disculpa, no estoy seguro de haberte entendido. Puedo ayudarte a {_options(data)}. "
            "¿Con cuál de estas opciones te ayudo?")


def media_received(data: Mapping[str, Any], business: str) -> str:
    types: Sequence[str] = data.get("content_types") or []
    if any(t.startswith("audio/") for t in types):
        what = "tu nota de voz"
    elif any(t.startswith("image/") for t in types):
        what = "tu imagen"
    else:
        what = "tu archivo"
    return (f"¡Gracias por {what}! Por ahora solo puedo leer mensajes de texto. "
            "¿Me cuentas por escrito en qué te puedo ayudar?")


def location_received(data: Mapping[str, Any], business: str) -> str:
    return ("¡Gracias por compartir tu ubicación! Por ahora solo puedo leer mensajes de texto. "
            "¿En qué te puedo ayudar?")


_API_ERRORS = {
    "unavailable": "No pude comunicarme con el sistema de reservas, inténtalo en unos minutos, por favor.",
    "validation": "No pude completar tu solicitud porque algún dato no es válido. ¿Me lo confirmas de nuevo?",
    "not_found": "No encontré lo que me pediste en el sistema. ¿Me das más detalles?",
    "conflict": "No pude completar tu solicitud porque choca con otra operación. ¿Intentamos con otra opción?",
    "unauthorized": "Por ahora no tengo acceso al sistema de reservas. Inténtalo más tarde, por favor.",
}


def api_error(data: Mapping[str, Any], business: str) -> str:
    known = _API_ERRORS.get(str(data.get("kind") or ""))
    if known:
        return known
    return ("Lo siento, en este momento no puedo consultar esa información. "
            "Por favor, inténtalo de nuevo en unos minutos.")


# --- dialogue flows --------------------------------------------------------------------------------

_NOT_UNDERSTOOD = "Perdona, no te entendí. "
_YES_NO = "Responde «sí» o «no»."

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


def _prefix(data: Mapping[str, Any]) -> str:
    return _NOT_UNDERSTOOD if data.get("not_understood") else ""


def _places(available: Any) -> str:
    try:
        count = int(available)
    except (TypeError, ValueError):
        return ""
    if count <= 0:
        return " (lleno)"
    if count == 1:
        return " (queda 1 lugar)"
    if count <= 3:
        return f" (quedan {count} lugares)"
    return ""


def _slot_line(slot: Mapping[str, Any]) -> str:
    name = f" · {slot['class_name']}" if slot.get("class_name") else ""
    return f"• {slot.get('time', '')}{name}{_places(slot.get('available'))}"


def _slot_lines(data: Mapping[str, Any]) -> str:
    slots: Sequence[Mapping[str, Any]] = data.get("slots") or []
    return "\n".join(_slot_line(slot) for slot in slots)


def _booking_line(booking: Mapping[str, Any]) -> str:
    details = ", ".join(d for d in (booking.get("class_name"), booking.get("code")) if d)
    return f"• {booking.get('when') or 'Clase'}" + (f" ({details})" if details else "")


def _on_day(data: Mapping[str, Any]) -> str:
    return f"el {data['day']}" if data.get("day") else "ese día"


def ask_date(data: Mapping[str, Any], business: str) -> str:
    opener = _prefix(data) or "¡Con gusto! "
    what = f"a la clase de las {data['time']}" if data.get("time") else ""
    question = f"¿Qué día te gustaría venir {what}?".replace(" ?", "?")
    return f"{opener}{question} Puedes decirme, por ejemplo, «mañana», «el viernes» o «el 12 de diciembre»."


def date_in_past(data: Mapping[str, Any], business: str) -> str:
    day = f"El {data['day']}" if data.get("day") else "Esa fecha"
    return f"{day} ya pasó 😅. ¿Qué otro día te gustaría venir?"


def offer_slots(data: Mapping[str, Any], business: str) -> str:
    requested = data.get("requested_time")
    reason = data.get("reason")
    if reason == "no_class_at" and requested:
        opener = f"No tenemos clase a las {requested} {_on_day(data)}. "
    elif reason == "started" and requested:
        opener = f"La clase de las {requested} ya no se puede reservar. "
    else:
        opener = _prefix(data)
    lines = _slot_lines(data)
    if not lines:
        return f"{opener}¿A qué hora te gustaría venir?"
    day = f"Para el {data['day']}" if data.get("day") else "Ese día"
    return f"{opener}{day} hay lugar en estos horarios:\n{lines}\n\n¿Cuál prefieres?"


def slot_full(data: Mapping[str, Any], business: str) -> str:
    requested = data.get("requested_time")
    day = f" del {data['day']}" if data.get("day") else ""
    which = f": la clase{day} a las {requested} ya no tiene lugares" if requested else ""
    lines = _slot_lines(data)
    if lines:
        return f"Ese horario ya se llenó 😕{which}. Todavía hay lugar en:\n{lines}\n\n¿Cuál prefieres?"
    return f"Ese horario ya se llenó 😕{which}, y ese día ya no quedan lugares. ¿Te gustaría probar otro día?"


def no_slots(data: Mapping[str, Any], business: str) -> str:
    day = f"El {data['day']}" if data.get("day") else "Ese día"
    return f"{day} no hay clases con lugares disponibles. ¿Te gustaría otro día?"


def booked(data: Mapping[str, Any], business: str) -> str:
    klass = f"tu clase de {data['class_name']}" if data.get("class_name") else "tu clase"
    when = f" para el {data['when']}" if data.get("when") else ""
    text = f"¡Listo! ✅ Reservé {klass}{when}."
    if data.get("code"):
        text += f" Tu código de reserva es {data['code']}."
    if data.get("package"):
        text += f" Quedó registrada con el paquete {data['package']}."
    return text + " Si necesitas cancelar, solo escríbeme."


def already_booked(data: Mapping[str, Any], business: str) -> str:
    when = f" del {data['when']}" if data.get("when") else ""
    return f"Ya tienes lugar en la clase{when} 🙌, no hace falta reservarla otra vez. ¿Te ayudo con algo más?"


def choose_booking(data: Mapping[str, Any], business: str) -> str:
    if data.get("reason") == "no_match":
        target = f"la reserva {data['code']}" if data.get("code") else (
            f"una reserva para el {data['when']}" if data.get("when") else "esa reserva")
        opener = f"No encontré {target} entre tus próximas clases. "
    else:
        opener = _prefix(data)
    bookings: Sequence[Mapping[str, Any]] = data.get("bookings") or []
    if not bookings:
        return f"{opener}¿Cuál de tus clases quieres cancelar? Dime el día, la hora o el código de la reserva."
    lines = "\n".join(_booking_line(b) for b in bookings)
    return f"{opener}¿Cuál de tus clases quieres cancelar?\n{lines}\n\nDime el día, la hora o el código."


def no_bookings(data: Mapping[str, Any], business: str) -> str:
    return "No tienes clases reservadas próximamente. ¿Quieres agendar una?"


def confirm_cancel(data: Mapping[str, Any], business: str) -> str:
    when = f" del {data['when']}" if data.get("when") else ""
    code = f" ({data['code']})" if data.get("code") else ""
    return f"{_prefix(data)}¿Confirmas que cancelo tu clase{when}{code}? {_YES_NO}"


def cancelled(data: Mapping[str, Any], business: str) -> str:
    code = f" ({data['code']})" if data.get("code") else ""
    if data.get("already"):
        return f"Esa reserva{code} ya estaba cancelada. ¿Te ayudo con algo más?"
    when = f" del {data['when']}" if data.get("when") else ""
    return f"Listo, cancelé tu clase{when}{code} y tu lugar quedó libre. ¿Quieres agendar otra?"


def cancel_too_late(data: Mapping[str, Any], business: str) -> str:
    when = f" del {data['when']}" if data.get("when") else ""
    return f"La clase{when} ya empezó, así que ya no se puede cancelar. ¿Te ayudo con algo más?"


def booking_not_found(data: Mapping[str, Any], business: str) -> str:
    code = f" {data['code']}" if data.get("code") else ""
    return (f"No encontré la reserva{code} entre tus clases. "
            "Escríbeme «mis reservas» para ver tus próximas clases.")


def kept(data: Mapping[str, Any], business: str) -> str:
    if data.get("when"):
        return f"Perfecto, conservo tu clase del {data['when']}. ¡Te esperamos! 💪"
    return "Perfecto, tu clase sigue en pie. ¡Te esperamos! 💪"


def choose_package(data: Mapping[str, Any], business: str) -> str:
    opener = f"No encontré el paquete «{data['unknown']}». " if data.get("unknown") else _prefix(data)
    items: Sequence[Mapping[str, Any]] = data.get("packages") or []
    if not items:
        return f"{opener}¿Qué paquete te gustaría comprar? Dime su nombre."
    lines = "\n".join(_package_line(p) for p in items)
    return f"{opener}¿Qué paquete te gustaría comprar?\n{lines}\n\nDime su nombre, por ejemplo «{items[0]['name']}»."


def confirm_purchase(data: Mapping[str, Any], business: str) -> str:
    package = f" de {data['package']}" if data.get("package") else ""
    price = f" por {data['price']}" if data.get("price") else ""
    return (f"{_prefix(data)}¿Confirmas la compra{package}{price}? "
            f"Te enviaré el enlace para pagar. {_YES_NO}")


def payment_link(data: Mapping[str, Any], business: str) -> str:
    package = f" {data['package']}" if data.get("package") else " tu paquete"
    price = f" ({data['price']})" if data.get("price") else ""
    if not data.get("payment_link"):
        return f"¡Listo! Registré la compra de{package}{price}. En breve te comparto el enlace de pago."
    return (f"¡Perfecto! Aquí tienes el enlace para pagar{package}{price}:\n{data['payment_link']}\n\n"
            "En cuanto se registre tu pago, tu paquete quedará activo.")


def purchase_declined(data: Mapping[str, Any], business: str) -> str:
    return "Sin problema, no hice ninguna compra. ¿Te ayudo con algo más?"


def booking_status(data: Mapping[str, Any], business: str) -> str:
    bookings: Sequence[Mapping[str, Any]] = data.get("bookings") or []
    if not bookings:
        if data.get("code"):
            return f"No encontré la reserva {data['code']} entre tus próximas clases. ¿Quieres agendar una clase?"
        return "No tienes clases reservadas próximamente. ¿Quieres agendar una?"
    lines = "\n".join(_booking_line(b) for b in bookings)
    if len(bookings) == 1:
        return f"Tu próxima clase está confirmada:\n{lines}\n\n¿Te ayudo con algo más?"
    return f"Estas son tus próximas clases, todas confirmadas:\n{lines}\n\n¿Te ayudo con algo más?"


def _purchase_line(purchase: Mapping[str, Any]) -> str:
    price = f" — {purchase['price']}" if purchase.get("price") else ""
    status = purchase.get("status")
    if status == "paid":
        detail = f"pagado el {purchase['paid_on']}" if purchase.get("paid_on") else "pagado"
        if purchase.get("valid_until"):
            detail += f", vigente hasta el {purchase['valid_until']}"
    elif status == "pending":
        detail = "pendiente de pago"
    elif status == "cancelled":
        detail = "cancelado"
    else:
        detail = ""
    return f"• {purchase.get('package') or 'Compra'}{price}" + (f" ({detail})" if detail else "")


def purchase_history(data: Mapping[str, Any], business: str) -> str:
    purchases: Sequence[Mapping[str, Any]] = data.get("purchases") or []
    if not purchases:
        return "Aún no tienes compras registradas. ¿Quieres ver nuestros paquetes?"
    lines = "\n".join(_purchase_line(p) for p in purchases)
    return f"Estas son tus compras más recientes:\n{lines}\n\n¿Te ayudo con algo más?"


def schedule(data: Mapping[str, Any], business: str) -> str:
    days: Sequence[Mapping[str, Any]] = data.get("days") or []
    if data.get("day"):
        slots = days[0].get("slots", []) if days else []
        if not slots:
            return f"El {data['day']} no hay clases disponibles. ¿Quieres que revise otro día?"
        lines = "\n".join(_slot_line(slot) for slot in slots)
        return f"Horarios del {data['day']}:\n{lines}\n\n¿Quieres reservar alguno?"
    if not days:
        return "Por ahora no hay clases programadas. ¿Te ayudo con algo más?"
    lines = "\n".join(
        f"• {str(day.get('day', '')).capitalize()}: "
        + ", ".join(f"{s.get('time', '')}{' (lleno)' if _places(s.get('available')) == ' (lleno)' else ''}"
                    for s in day.get("slots", []))
        for day in days
    )
    return f"Estos son los horarios de los próximos días:\n{lines}\n\n¿Quieres reservar alguna clase?"


def ask_profile_field(data: Mapping[str, Any], business: str) -> str:
    return f"{_prefix(data)}¿Qué dato quieres actualizar: tu correo electrónico o tu nombre?"


def ask_email(data: Mapping[str, Any], business: str) -> str:
    current = f"Tu correo registrado es {data['current']}. " if data.get("current") else ""
    return f"{_prefix(data)}{current}¿Cuál es tu nuevo correo electrónico?"


def invalid_email(data: Mapping[str, Any], business: str) -> str:
    reason = _EMAIL_PROBLEMS.get(str(data.get("reason") or ""))
    value = f"«{data['value']}»" if data.get("value") else "Ese correo"
    why = f": {reason}" if reason else ""
    opener = f"Mmm, {value} no parece un correo válido{why}." if data.get("value") else \
        f"Ese correo no parece válido{why}."
    return f"{opener} ¿Me lo escribes de nuevo? Por ejemplo: nombre@gmail.com"


def ask_name(data: Mapping[str, Any], business: str) -> str:
    if data.get("current"):
        return f"{_prefix(data)}Tu nombre registrado es {data['current']}. ¿Cómo quieres que aparezca?"
    return f"{_prefix(data)}¿Cuál es tu nombre completo?"


def invalid_name(data: Mapping[str, Any], business: str) -> str:
    reason = _NAME_PROBLEMS.get(str(data.get("reason") or ""))
    why = f": {reason}" if reason else ""
    return f"Ese nombre no lo puedo guardar{why}. ¿Me lo escribes de nuevo?"


def profile_updated(data: Mapping[str, Any], business: str) -> str:
    field = {"email": "tu correo", "nombre": "tu nombre"}.get(str(data.get("field") or ""))
    if field and data.get("value"):
        return f"¡Listo! Actualicé {field} a {data['value']}. ¿Te ayudo con algo más?"
    return "¡Listo! Actualicé tus datos. ¿Te ayudo con algo más?"


def resume_flow(data: Mapping[str, Any], business: str) -> str:
    label = _RESUME_LABELS.get(str(data.get("flow") or ""), "lo que estábamos haciendo")
    return f"¿Seguimos con {label}?"


def flow_expired(data: Mapping[str, Any], business: str) -> str:
    what, example = _EXPIRED.get(str(data.get("flow") or ""), ("lo que teníamos pendiente", ""))
    restart = f" Si quieres, empezamos de nuevo: dime, por ejemplo, «{example}»." if example else \
        " ¿En qué te puedo ayudar?"
    return f"Pasó un buen rato desde tu último mensaje, así que dejé sin terminar {what}.{restart}"


def abandoned(data: Mapping[str, Any], business: str) -> str:
    return _ABANDONED.get(str(data.get("flow") or ""), "Está bien. Si necesitas algo más, aquí estoy. 🙂")


def acknowledged(data: Mapping[str, Any], business: str) -> str:
    return "¡Perfecto! ¿Te ayudo con algo más?"


TEMPLATES: dict[str, Renderer] = {
    "greeting": greeting,
    "help": help_,
    "goodbye": goodbye,
    "packages": packages,
    "clarification": clarification,
    "media_received": media_received,
    "location_received": location_received,
    "api_error": api_error,
    "acknowledged": acknowledged,
    "ask_date": ask_date,
    "date_in_past": date_in_past,
    "offer_slots": offer_slots,
    "slot_full": slot_full,
    "no_slots": no_slots,
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
    "purchase_declined": purchase_declined,
    "booking_status": booking_status,
    "purchase_history": purchase_history,
    "schedule": schedule,
    "ask_profile_field": ask_profile_field,
    "ask_email": ask_email,
    "invalid_email": invalid_email,
    "ask_name": ask_name,
    "invalid_name": invalid_name,
    "profile_updated": profile_updated,
    "resume_flow": resume_flow,
    "flow_expired": flow_expired,
    "abandoned": abandoned,
}


class UnknownTemplate(KeyError):
    """action.completed named a template this responder does not have."""


def render(template: str, data: Mapping[str, Any], *, business: str) -> str:
    """The reply; when actions put a flow aside (`data["resume"]`), it ends asking to resume it."""
    try:
        renderer = TEMPLATES[template]
    except KeyError:
        raise UnknownTemplate(template) from None
    text = renderer(data, business)
    if data.get("resume") and template != "resume_flow":
        text += "\n\n" + resume_flow({"flow": data["resume"]}, business)
    return text
