"""What a message means in the context of the dialogue, beyond the intent NLU gave it.

NLU classifies each message alone; "sí", "la primera", "7", "olvídalo" or an e-mail typed on its
own only make sense next to the bot's last question. These pure functions read the text
(folded: lower case, no accents) for yes/no answers, abandonment, choices among the options the
bot offered, and whether a message does nothing but supply values.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Literal

from contracts.dialogue import Offer
from contracts.events import Entity

Answer = Literal["yes", "no"]

_YES_WORDS = frozenset(
    "si sii sip sipi simon claro dale ok okay oki okey va vale sale confirmo confirmado confirmada correcto "
    "correcta exacto afirmativo adelante perfecto listo hazlo procede obvio seguro andale orale yes "
    "porfa porfavor favor por gracias bueno muy bien esta de acuerdo supuesto asi es eso mero que".split()
)
_YES_NEEDS = frozenset(
    "si sii sip sipi simon claro dale ok okay oki okey va vale sale confirmo confirmado confirmada correcto "
    "correcta exacto afirmativo adelante perfecto listo hazlo procede obvio seguro andale orale yes eso mero "
    "acuerdo supuesto bien".split()
)
_YES_EMOJI = ("👍", "👌", "✅", "🙌", "✔")
_NO_WORDS = frozenset({"no", "nop", "nope", "nel", "nah", "negativo", "tampoco", "nones", "nunca"})
_NO_EMOJI = ("👎", "❌", "🙅", "✖")
_NO_PHRASES = ("mejor no", "ya no", "todavia no", "aun no", "olvidalo", "olvidala", "dejalo", "dejala",
               "deja eso", "olvida eso", "ni modo")

_ABANDON_PHRASES = ("olvidalo", "olvidala", "olvida eso", "olvidate", "dejalo", "dejala", "deja eso", "ya no",
                    "mejor no", "no importa", "no quiero", "ya no quiero", "no gracias", "nada", "ninguno",
                    "ninguna", "cancela eso", "cancelalo", "mejor olvidalo", "asi dejalo", "salir", "stop",
                    "ya no gracias", "ninguna de esas", "ninguno de esos", "no ya no", "mejor dejalo")

_ORDINALS = {
    "primera": 1, "primero": 1, "primer": 1, "1a": 1, "1ra": 1, "1ero": 1, "1era": 1, "1ro": 1, "uno": 1, "una": 1,
    "segunda": 2, "segundo": 2, "2a": 2, "2da": 2, "2do": 2, "dos": 2,
    "tercera": 3, "tercero": 3, "tercer": 3, "3a": 3, "3ra": 3, "3ro": 3, "3era": 3, "tres": 3,
    "cuarta": 4, "cuarto": 4, "4a": 4, "4ta": 4, "4to": 4, "cuatro": 4,
    "quinta": 5, "quinto": 5, "5a": 5, "5ta": 5, "5to": 5, "cinco": 5,
    "sexta": 6, "sexto": 6, "6a": 6, "6ta": 6, "seis": 6,
    "ultima": -1, "ultimo": -1,
}
_ORDINAL_ONLY = frozenset(k for k in _ORDINALS if not k.isalpha() or k not in {"uno", "una", "dos", "tres",
                                                                                  "cuatro", "cinco", "seis"})
_NUMBER_WORDS = {"una": 1, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7,
                 "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12}

# Words that carry no request of their own next to a value: "mejor la de las 7, por favor".
FILLERS = frozenset(
    "a al el la las los lo le de del para por en y o u mejor entonces pues este esta ese esa eso esos esas "
    "dia dias hora horas clase clases favor porfa porfavor plis pls gracias ok va si bueno sale que sea otro "
    "otra mi mis me quiero quisiera queria seria puede puedes ser hrs hr h hs am pm opcion numero tal vez mas "
    "bien prefiero hmm mmm ah oh ya tambien igual perfecto listo pack paquete plan correo email mail nombre "
    "es soy seria cambia cambialo cambiala mejor pon ponme ponlo ponla dame reserva reservame agenda agendame "
    "apartame aparta la una mejor cambiar sera mero ahora nuevo nueva mi su tu con sin asi siempre porfis "
    "hola buenas buenos tardes noches dias xfa xfavor okay vale claro dale por fa".split()
)

_BOOKING_WORDS = frozenset({"clase", "clases", "reserva", "reservas", "reservacion", "cita", "citas", "booking",
                            "lugar", "sesion", "apartado"})
_EMAIL_WORDS = frozenset({"correo", "email", "mail", "e-mail", "gmail", "hotmail", "electronico", "emial"})
_NAME_WORDS = frozenset({"nombre", "llamo", "apellido"})
_WORD = re.compile(r"[a-z0-9ñ@._+\-]+|[^\sa-z0-9]", re.UNICODE)


def fold(text: str) -> str:
    """Lower case without accents ("Sí, cancélala" → "si, cancelala"); emoji are kept."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn"))


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9ñ]+", fold(text))


def _has_phrase(folded_words: Sequence[str], phrases: Iterable[str]) -> bool:
    joined = f" {' '.join(folded_words)} "
    return any(f" {phrase} " in joined for phrase in phrases)


def yes_or_no(text: str, *, extra_yes: Iterable[str] = ()) -> Answer | None:
    """"sí", "dale", "👍", "sí, cancélala" → yes; "no", "mejor no", "nel", "cancela eso no" → no.

    A no word anywhere wins (the safe reading for a destructive action); a yes needs every word
    to be a yes word or politeness, so "sí pero el sábado" is not a plain yes.
    """
    tokens = words(text)
    if any(emoji in text for emoji in _NO_EMOJI) or _NO_WORDS & set(tokens) or _has_phrase(tokens, _NO_PHRASES):
        return "no"
    extra = frozenset(fold(word) for word in extra_yes)
    if any(emoji in text for emoji in _YES_EMOJI) and all(t in _YES_WORDS | extra for t in tokens):
        return "yes"
    if tokens and all(t in _YES_WORDS | extra for t in tokens) and any(t in _YES_NEEDS | extra for t in tokens):
        return "yes"
    return None


def is_abandon(text: str) -> bool:
    """"olvídalo", "ya no", "mejor no", "no, gracias", "ninguna": the customer drops what was going on."""
    tokens = words(text)
    if not tokens:
        return False
    if _has_phrase(tokens, _ABANDON_PHRASES):
        rest = [t for t in tokens if t not in FILLERS and t not in _NO_WORDS
                and not _has_phrase([t], _ABANDON_PHRASES)]
        return len(rest) <= 2
    return tokens in (["no"], ["nel"], ["nop"], ["nah"], ["cancelar"], ["cancela"], ["cancelalo"], ["cancelala"])


def mentions_booking(text: str, entities: Sequence[Entity]) -> bool:
    """Whether a "cancela" is about a class ("cancela mi clase del viernes") rather than the current task."""
    if any(e.entity in {"referencia", "fecha", "hora"} for e in entities):
        return True
    return bool(_BOOKING_WORDS & set(words(text)))


def profile_field_in(text: str) -> str | None:
    """"quiero cambiar mi correo" → email; "mi nombre" → nombre."""
    tokens = set(words(text))
    if _EMAIL_WORDS & tokens or "@" in text:
        return "email"
    if _NAME_WORDS & tokens:
        return "nombre"
    return None


def ordinal(text: str) -> int | None:
    """"la primera" → 1, "la segunda opción" → 2, "la última" → -1, "2" → 2 (a short message only)."""
    tokens = [t for t in words(text) if t not in FILLERS or t in _ORDINALS]
    if not tokens or len(tokens) > 2:
        return None
    for token in tokens:
        if token in _ORDINAL_ONLY:
            return _ORDINALS[token]
    if len(tokens) == 1 and tokens[0].isdigit() and 1 <= int(tokens[0]) <= 9:
        return int(tokens[0])
    return None


def bare_hour(text: str) -> int | None:
    """"7", "las 7", "a las siete" → 7 when the message is only an hour NLU did not resolve."""
    tokens = [t for t in words(text) if t not in FILLERS]
    if len(tokens) != 1:
        return None
    token = tokens[0]
    if token.isdigit() and 1 <= int(token) <= 23:
        return int(token)
    return _NUMBER_WORDS.get(token) if token != "una" else None


def choose(offered: Sequence[Offer], text: str, *, kind: str, hora: str | None = None,
           fecha: str | None = None, ref: str | None = None, name: str | None = None) -> Offer | None:
    """The offered option the customer picked, by reference, time, date, name, ordinal or bare hour."""
    options = [offer for offer in offered if offer.kind == kind]
    if not options:
        return None
    if ref is not None:
        return next((o for o in options if o.ref.upper() == ref.upper()), None)
    if name is not None:
        return next((o for o in options if o.label.lower() == name.lower() or o.ref == name), None)
    if hora is not None or fecha is not None:
        matches = [o for o in options
                   if (fecha is None or o.data.get("date") == fecha) and (hora is None or _same_time(o, hora))]
        if hora is not None and not matches:
            other = _other_half_of_day(hora)
            matches = [o for o in options if (fecha is None or o.data.get("date") == fecha) and _same_time(o, other)]
        return matches[0] if len(matches) == 1 else None
    hour = bare_hour(text)
    if hour is not None and kind in ("slot", "booking"):
        by_hour = _by_bare_hour(options, hour)  # "7" among the times offered is 07:00 or 19:00
        if by_hour is not None:
            return by_hour
    position = ordinal(text)
    if position == -1:
        return options[-1]
    if position is not None and 1 <= position <= len(options):
        return options[position - 1]
    folded = fold(text)
    named = [o for o in options if o.label and fold(o.label) in folded]
    return named[0] if len(named) == 1 else None


def _same_time(offer: Offer, hora: str) -> bool:
    return str(offer.data.get("time", "")).zfill(5) == hora.zfill(5)


def _other_half_of_day(hora: str) -> str:
    hour, _, minute = hora.partition(":")
    return f"{(int(hour) + 12) % 24:02d}:{minute or '00'}"


def _by_bare_hour(options: Sequence[Offer], hour: int) -> Offer | None:
    """"7" among 07:00 and 19:00 offered: 07:00 as written, else the afternoon reading."""
    for candidate in (hour, hour + 12):
        matches = [o for o in options if str(o.data.get("time", "")).startswith(f"{candidate:02d}:")]
        if len(matches) == 1:
            return matches[0]
    return None


def value_only(text: str, entities: Sequence[Entity], *, extra: Iterable[str] = ()) -> bool:
    """Whether the message does nothing but give values: "el viernes", "mejor a las 7", "la primera".

    Everything outside the entities' spans must be filler words, ordinals, numbers or `extra`.
    """
    kept = list(text)
    for entity in entities:
        if entity.start is not None and entity.end is not None:
            kept[entity.start:entity.end] = [" "] * (entity.end - entity.start)
    extra_words = frozenset(fold(word) for word in extra)
    rest = [t for t in words("".join(kept))
            if t not in FILLERS and t not in _ORDINALS and t not in extra_words and not t.isdigit()
            and t not in _NUMBER_WORDS]
    return not rest


# --- values typed where a value was asked -----------------------------------------------------------

_EMAIL_CANDIDATE = re.compile(r"\S+@\S*|\S*@\S+")
_EMAIL_SHAPE = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")
EMAIL_MAX = 254


def email_candidate(text: str) -> str | None:
    """What the customer typed as an e-mail when NLU found none: the word with an @, or a lone word."""
    match = _EMAIL_CANDIDATE.search(text)
    if match:
        return match.group(0).strip(".,;:!?¡¿()<>\"'")
    tokens = text.split()
    if len(tokens) == 1 and ("." in tokens[0] or "@" in tokens[0]):
        return tokens[0].strip(".,;:!?¡¿()<>\"'")
    return None


def email_problem(value: str) -> str | None:
    """Why `value` is not a usable e-mail address (a reason code the reply explains), or None."""
    if not value:
        return "empty"
    if any(c.isspace() for c in value):
        return "spaces"
    if len(value) > EMAIL_MAX:
        return "too_long"
    if "@" not in value:
        return "missing_at"
    if value.count("@") > 1:
        return "several_at"
    local, _, domain = value.partition("@")
    if not local:
        return "missing_user"
    if not domain:
        return "missing_domain"
    if "." not in domain or domain.endswith(".") or domain.startswith("."):
        return "missing_dot"
    if not _EMAIL_SHAPE.match(value):
        return "invalid_characters"
    return None


NAME_MIN, NAME_MAX = 2, 80


def name_candidate(text: str) -> str | None:
    """A name typed on its own ("Ana López"): letters, a few words, not a question."""
    cleaned = " ".join(text.strip().strip(".!¡").split())
    if not cleaned or "?" in cleaned or "¿" in cleaned or len(cleaned.split()) > 6:
        return None
    return cleaned


def name_problem(value: str) -> str | None:
    if len(value) < NAME_MIN:
        return "too_short"
    if len(value) > NAME_MAX:
        return "too_long"
    if not any(c.isalpha() for c in value):
        return "no_letters"
    if any(c.isdigit() for c in value):
        return "digits"
    return None
