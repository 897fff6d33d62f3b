from __future__ import annotations

import pytest

from services.responder.templates import TEMPLATES, UnknownTemplate, render

OPTIONS = ["agendar una clase", "ver paquetes y precios", "cancelar una reserva"]


def test_greeting_uses_the_name_and_lists_options_in_spanish() -> None:
    text = render("greeting", {"name": "Ana", "options": OPTIONS}, business="Estudio Sol")
    assert text.startswith("¡Hola, Ana! 👋 Soy el asistente de Estudio Sol.")
    assert "agendar una clase, ver paquetes y precios o cancelar una reserva" in text
    assert render("greeting", {"options": OPTIONS}, business="X").startswith("¡Hola! 👋")


def test_packages_list_prices_sessions_and_validity() -> None:
    packages = [
        {"name": "Pack 5 clases", "price": 1100, "currency": "MXN", "sessions": 5, "validity_days": 60},
        {"name": "Mensualidad ilimitada", "price": 1800.5, "currency": "MXN", "sessions": None,
         "validity_days": 30},
        {"name": "Clase suelta", "price": 250, "currency": "MXN", "sessions": 1, "validity_days": 30},
    ]
    text = render("packages", {"packages": packages}, business="X")
    assert "• Pack 5 clases: $1,100 MXN (5 clases, vigencia de 60 días)" in text
    assert "• Mensualidad ilimitada: $1,800.50 MXN (clases ilimitadas, vigencia de 30 días)" in text
    assert "• Clase suelta: $250 MXN (1 clase, vigencia de 30 días)" in text
    assert render("packages", {"packages": []}, business="X").startswith("Por ahora no tenemos paquetes")


def test_media_reply_names_what_was_received() -> None:
    assert "tu nota de voz" in render("media_received", {"content_types": ["audio/ogg"]}, business="X")
    assert "tu imagen" in render("media_received", {"content_types": ["image/png"]}, business="X")


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_template_renders_spanish_with_empty_data(name: str) -> None:
    text = render(name, {}, business="Estudio Sol")
    assert text and text[0] in "¡¿ABCDEFGHIJKLMNOPQRSTUVWXYZÁÉÍÓÚ"
    assert "None" not in text and "{" not in text


def test_unknown_template_is_an_error() -> None:
    with pytest.raises(UnknownTemplate):
        render("nope", {}, business="X")
