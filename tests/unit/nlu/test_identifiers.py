"""`email`, `referencia` and `nombre`."""

from __future__ import annotations

import pytest

from ._shared import REFERENCE_TIME, trained_engine, values


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mi correo es Ana.Perez@Gmail.com.", "ana.perez@gmail.com"),
        ("ahora es juan_92@hotmail.com porfa", "juan_92@hotmail.com"),
        ("correo: m.ruiz+gym@correo.com.mx", "m.ruiz+gym@correo.com.mx"),
    ],
)
def test_email(text: str, expected: str) -> None:
    assert values(text, "email") == [expected]


def test_not_an_email() -> None:
    assert values("escribime a ana arroba gmail", "email") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("BK-4821", "BK-4821"),
        ("bk4821", "BK-4821"),
        ("la BK 4821 sigue?", "BK-4821"),
        ("reserva 4821", "BK-4821"),
        ("mi reserva #004821", "BK-004821"),
        ("código: 12345", "BK-12345"),
        ("reserva n° 4821", "BK-4821"),
        ("mi número de reserva es 4821", "BK-4821"),
    ],
)
def test_booking_reference(text: str, expected: str) -> None:
    assert values(text, "referencia") == [expected]


@pytest.mark.parametrize("text", ["reserva para 2", "quiero reservar 3 clases", "mi cel 5512345678", "la reserva 12"])
def test_not_a_booking_reference(text: str) -> None:
    assert values(text, "referencia") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("me llamo Ana Pérez", "Ana Pérez"),
        ("me llamo ana pérez y quiero cambiar el correo", "Ana Pérez"),
        ("mi nombre es juan carlos", "Juan Carlos"),
        ("ponle Juan", "Juan"),
        ("cambia mi nombre a María José porfa", "María José"),
        ("quiero cambiar el nombre de mi cuenta a Lucía", "Lucía"),
        ("a nombre de pedro gomez", "Pedro Gomez"),
        ("hola soy Ana, quiero una cita", "Ana"),
        ("Soy María de los Ángeles", "María de los Ángeles"),
        # profile updates
        ("ponle Ximena, con X", "Ximena"),
        ("cámbialo a Ximena Ruiz", "Ximena Ruiz"),
        ("a nombre de Ximena", "Ximena"),
        ("mi nombre está mal, es Ximena", "Ximena"),
        ("me llamo ximena ruiz", "Ximena Ruiz"),
        ("mi nombre está mal escrito, es ximena ruiz", "Ximena Ruiz"),
        ("mi nombre no es Andrea, es Andrés", "Andrés"),
        ("corrígelo por Ximena porfa", "Ximena"),
        ("me llamo Abril Gómez", "Abril Gómez"),
        ("mi nombre no es Julián, es Julio", "Julio"),
    ],
)
def test_name(text: str, expected: str) -> None:
    assert values(text, "nombre") == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "soy nueva",
        "pon la cita a las 5",
        "me llamo",
        "soy cliente",
        "cámbialo a las 5",
        "cámbialo al viernes",
        "cambialo a yoga",
        "cámbialo a mañana",
        "ponme julio",
    ],
)
def test_not_a_name(text: str) -> None:
    assert values(text, "nombre") == []


def test_a_name_after_cambialo_a_counts_only_in_a_profile_update() -> None:
    """ "Cámbialo a Pilates" moves a booking; "cámbialo a Ximena Ruiz" renames the customer."""
    engine = trained_engine()
    profile = engine.parse("cámbialo a Ximena Ruiz", reference_time=REFERENCE_TIME)
    assert profile.intent.name == "actualizar_perfil"
    assert [(e.entity, e.value) for e in profile.entities] == [("nombre", "Ximena Ruiz")]
    booking = engine.parse("quiero mover mi clase del jueves, cámbialo a Pilates", reference_time=REFERENCE_TIME)
    assert booking.intent.name != "actualizar_perfil"
    assert "nombre" not in {e.entity for e in booking.entities}
