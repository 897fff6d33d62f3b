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


def api_error(data: Mapping[str, Any], business: str) -> str:
    return ("Lo siento, en este momento no puedo consultar esa información. "
            "Por favor, inténtalo de nuevo en unos minutos.")


TEMPLATES: dict[str, Renderer] = {
    "greeting": greeting,
    "help": help_,
    "goodbye": goodbye,
    "packages": packages,
    "clarification": clarification,
    "media_received": media_received,
    "location_received": location_received,
    "api_error": api_error,
}


class UnknownTemplate(KeyError):
    """action.completed named a template this responder does not have."""


def render(template: str, data: Mapping[str, Any], *, business: str) -> str:
    try:
        renderer = TEMPLATES[template]
    except KeyError:
        raise UnknownTemplate(template) from None
    return renderer(data, business)
