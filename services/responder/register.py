"""The customer's register: replies follow the way the customer addresses the bot (tú, vos, usted).

The templates are written with tú; `in_register` rewrites a reply for vos (Argentina, Uruguay,
parts of Central America: "¿Querés…?", "Decime") or usted ("¿Le gustaría…?", "Dígame"). The table
covers the second-person words the templates use, and a test renders every reply kind in every
register and finds no tú form left; a template that adds a new second-person word adds it here.
Templates avoid forms whose usted version would need the customer's gender ("te esperamos").
"""

from __future__ import annotations

import re

from contracts.replies import Register

# tú form → (vos form, usted form)
_FORMS: dict[str, tuple[str, str]] = {
    "te": ("te", "le"),
    "tu": ("tu", "su"),
    "tus": ("tus", "sus"),
    "quieres": ("querés", "quiere"),
    "puedes": ("podés", "puede"),
    "prefieres": ("preferís", "prefiere"),
    "necesitas": ("necesitás", "necesita"),
    "tienes": ("tenés", "tiene"),
    "confirmas": ("confirmás", "confirma"),
    "cuentas": ("contás", "cuenta"),
    "das": ("das", "da"),
    "escribes": ("escribís", "escribe"),
    "tengas": ("tengas", "tenga"),
    "dime": ("decime", "dígame"),
    "escríbeme": ("escribime", "escríbame"),
    "responde": ("respondé", "responda"),
    "cuéntame": ("contame", "cuénteme"),
    "elige": ("elegí", "elija"),
    "avísame": ("avisame", "avíseme"),
    "disculpa": ("disculpá", "disculpe"),
    "perdona": ("perdoná", "perdone"),
    "quieras": ("quieras", "quiera"),
    "puedas": ("puedas", "pueda"),
    "gustaría": ("gustaría", "gustaría"),
}
_WORD = re.compile(r"\b(" + "|".join(sorted(_FORMS, key=len, reverse=True)) + r")\b", re.IGNORECASE)
_ENCLITIC = re.compile(r"\b(ayudar|decir|enviar|mostrar|recordar|contar|avisar|anotar|reservar|confirmar|escribir"
                       r"|atender)te\b", re.IGNORECASE)  # "ayudarte": usted "ayudarle"
TU_FORMS = frozenset(_FORMS) - {"te", "tu", "tus", "das", "tengas", "quieras", "puedas", "gustaría"}
"""Forms that give tú away (a test checks none is left in a vos or usted reply)."""


def in_register(text: str, register: Register) -> str:
    """`text` (written with tú) as said to a customer who uses `register`."""
    if register == "tu":
        return text
    column = 0 if register == "vos" else 1

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        replacement = _FORMS[word.lower()][column]
        return replacement[0].upper() + replacement[1:] if word[0].isupper() else replacement

    swapped = _WORD.sub(swap, text)
    return _ENCLITIC.sub(r"\1le", swapped) if register == "usted" else swapped
