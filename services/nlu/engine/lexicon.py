"""Spanish words the entity rules need, all in folded form (lowercase, no accents)."""

from __future__ import annotations

from collections.abc import Iterable

NUMBER_WORDS: dict[str, int] = {
    "un": 1,
    "una": 1,
    "uno": 1,
    "primero": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    "diez": 10,
    "once": 11,
    "doce": 12,
    "trece": 13,
    "catorce": 14,
    "quince": 15,
    "dieciseis": 16,
    "diecisiete": 17,
    "dieciocho": 18,
    "diecinueve": 19,
    "veinte": 20,
    "veintiuno": 21,
    "veintidos": 22,
    "veintitres": 23,
    "veinticuatro": 24,
    "veinticinco": 25,
    "veintiseis": 26,
    "veintisiete": 27,
    "veintiocho": 28,
    "veintinueve": 29,
    "treinta": 30,
    "cuarenta": 40,
    "cincuenta": 50,
}

MONTHS: dict[str, int] = {
    "enero": 1,
    "ene": 1,
    "febrero": 2,
    "feb": 2,
    "marzo": 3,
    "mar": 3,
    "abril": 4,
    "abr": 4,
    "mayo": 5,
    "may": 5,
    "junio": 6,
    "jun": 6,
    "julio": 7,
    "jul": 7,
    "agosto": 8,
    "ago": 8,
    "septiembre": 9,
    "setiembre": 9,
    "sept": 9,
    "sep": 9,
    "set": 9,
    "octubre": 10,
    "oct": 10,
    "noviembre": 11,
    "nov": 11,
    "diciembre": 12,
    "dic": 12,
}

# Monday is 0, as in `date.weekday()`; a few frequent misspellings are included.
WEEKDAYS: dict[str, int] = {
    "lunes": 0,
    "martes": 1,
    "miercoles": 2,
    "miercole": 2,
    "mircoles": 2,
    "jueves": 3,
    "juebes": 3,
    "viernes": 4,
    "biernes": 4,
    "sabado": 5,
    "sabdo": 5,
    "domingo": 6,
}


def alternation(words: Iterable[str]) -> str:
    """A regex alternation of the given words, longest first so prefixes never win."""
    return "|".join(sorted(words, key=len, reverse=True))


def parse_number(token: str) -> int | None:
    """`"12"` or `"doce"` -> 12; anything else -> None."""
    if token.isdigit():
        return int(token)
    return NUMBER_WORDS.get(token)
