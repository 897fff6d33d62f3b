"""`email`, `referencia` (booking codes) and `nombre` (a name given for the profile)."""

from __future__ import annotations

import re

from .lexicon import MONTHS, WEEKDAYS
from .text import FoldedText, Found

_EMAIL = re.compile(r"\b[a-z0-9][a-z0-9._%+\-]*@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,}\b")

# "BK-4821", "bk4821", "BK 4821": the prefix alone makes it a code.
_PREFIXED_CODE = re.compile(r"\bbk[\s\-_#:]*(?P<digits>\d{3,8})\b")
# "reserva 4821", "código: 4821", "folio #4821": a code word then 4-8 digits.
_KEYWORD_CODE = re.compile(
    r"\b(?:reserva|reservacion|booking|codigo|cod|ref|referencia|folio|localizador|confirmacion)"
    r"(?:\s+de\s+(?:la\s+)?reserva)?(?:\s+es(?:\s+el)?)?\s*(?:(?:nro|numero|num|no|n)\s*[.°º:]?\s*|#\s*|:\s*)?"
    r"(?P<digits>\d{4,8})\b",
)

_NAME_TRIGGER = re.compile(
    r"\b(?:me\s+llamo"
    r"|mi\s+nombre\s+(?:completo\s+|correcto\s+|nuevo\s+)?(?:es|seria|ahora\s+es)"
    # "mi nombre está mal, es Ximena", "mi nombre no es Andrea, es Andrés"
    r"|(?:mi\s+|el\s+)?nombre\s+(?:(?:esta|sale|aparece|quedo|lo\s+tienen)\s+(?:mal(?:\s+escrito)?|equivocado)"
    r"|no\s+es\s+[a-z'\-]+)\s*[,.;:]?\s*(?:es|seria|sino|el\s+correcto\s+es)"
    # "cámbialo a Ximena Ruiz", "corrígelo por Ximena": only a capitalised name, and a weak cue
    r"|(?P<pronoun>(?:cambia|cambie|cambien|corrige|corrija|corrijan|actualiza|actualice|deja|dejen)"
    r"(?:me|se)?l[oa])\s+(?:a|por|como)"
    r"|(?:ponle|ponme|poneme|ponele|pone|pon)(?:\s+(?:como\s+nombre|de\s+nombre|el\s+nombre(?:\s+de)?))?"
    r"|a\s+nombre\s+de"
    r"|(?:mi|el)\s+nombre(?:\s+de\s+mi\s+(?:cuenta|perfil|usuario))?\s+(?:a|por|como)"
    r"|nombre\s*:"
    r"|(?P<soy>soy))\s*:?\s+",
)
# "pon" on its own only introduces a name through "pon ... nombre"; "pon la cita" is not a name.
_WEAK_TRIGGERS = frozenset({"pon", "pone"})
# "Cámbialo a Pilates" is not a name: after "cámbialo a" the name is a weak cue, which the engine
# keeps only in a profile update.
WEAK_NAME_CONFIDENCE = 0.6
_NAME_WORD = re.compile(r"[a-z][a-z'\-]*")
_MAX_NAME_WORDS = 4
_CONNECTORS = frozenset({"de", "del", "la", "los", "las"})
_NOT_NAMES = (
    frozenset(
        (
            "y e o a al el en con por para que de del la los las un una mi me es no si ya pero porque "
            "porfa favor gracias quiero tengo soy ok vale hola buenas buenos bien tambien mas please "
            "pls xfa correo mail email numero telefono cel celular nuevo nueva cliente alumno alumna "
            "socio socia aca aqui hoy manana ayer este esta todo nombre cambiar mismo misma yo "
            "usuario usuaria persona q x pa so tu su ahora como bueno perdon disculpa sorry jaja "
            "jajaja"
        ).split()
    )
    | frozenset(WEEKDAYS)
)
# Julio, Abril and Mayo are names too: a month word is a name only when it is capitalised.
_MONTHS = frozenset(MONTHS)


def find_emails(text: FoldedText) -> list[Found]:
    return [Found(m.start(), m.end(), m.group(0)) for m in _EMAIL.finditer(text.folded)]


def find_references(text: FoldedText) -> list[Found]:
    found = [Found(m.start(), m.end(), f"BK-{m.group('digits')}") for m in _PREFIXED_CODE.finditer(text.folded)]
    found += [
        Found(m.start("digits"), m.end("digits"), f"BK-{m.group('digits')}")
        for m in _KEYWORD_CODE.finditer(text.folded)
    ]
    return found


def find_names(text: FoldedText) -> list[Found]:
    """Names introduced by "me llamo", "mi nombre es", "ponle", "a nombre de", "Soy ...", "cámbialo a ...".

    After "soy" and after "cámbialo a" (which also introduces times, days, classes) only
    capitalised words count as a name.
    """
    found = []
    for trigger in _NAME_TRIGGER.finditer(text.folded):
        if trigger.group(0).split()[0] in _WEAK_TRIGGERS and "nombre" not in trigger.group(0):
            continue
        capitalised_only = trigger.group("soy") is not None or trigger.group("pronoun") is not None
        words = _name_words(text, trigger.end(), capitalised_only=capitalised_only)
        if words:
            start, end = words[0][0], words[-1][1]
            value = " ".join(_display(text, word_start, word_end) for word_start, word_end in words)
            confidence = WEAK_NAME_CONFIDENCE if trigger.group("pronoun") is not None else 1.0
            found.append(Found(start, end, value, confidence))
    return found


def _name_words(text: FoldedText, position: int, *, capitalised_only: bool) -> list[tuple[int, int]]:
    """Spans of the name words starting at `position`: up to four, joined by single spaces."""
    words: list[tuple[int, int]] = []
    pending: list[tuple[int, int]] = []  # connectors ("de", "del") waiting for a name word
    while len(words) < _MAX_NAME_WORDS:
        match = _NAME_WORD.match(text.folded, position)
        if match is None:
            break
        word, capitalised = match.group(0), _is_capitalised(text, match.start())
        if word in _CONNECTORS and words:
            pending.append((match.start(), match.end()))
        elif word in _NOT_NAMES or len(word) < 2 or ((capitalised_only or word in _MONTHS) and not capitalised):
            break
        elif pending and not capitalised:
            break
        else:
            words += [*pending, (match.start(), match.end())]
            pending = []
        if text.folded[match.end() : match.end() + 1] != " ":
            break
        position = match.end() + 1
    return words


def _is_capitalised(text: FoldedText, folded_index: int) -> bool:
    return text.original[text.starts[folded_index]].isupper()


def _display(text: FoldedText, start: int, end: int) -> str:
    """The word as the user wrote it, capitalised unless it is a connector ("de")."""
    original_start, original_end = text.to_original(start, end)
    word = text.original[original_start:original_end]
    if text.folded[start:end] in _CONNECTORS:
        return word.lower()
    return word if any(char.isupper() for char in word) else word[:1].upper() + word[1:]
