"""What a message means in the context of the dialogue, beyond the intent NLU gave it.

NLU classifies each message alone, including its dialogue act (a yes, `afirmar`, or a no,
`negar`, learned from examples, also when it opens a longer message: `payload.act`); "la
primera", "7" or an e-mail typed on its own only make sense next to the bot's last question.
These pure functions read the text (folded: lower case, no accents) for choices among the
options the bot offered, the hours a time can mean, and whether a message does nothing but
supply values.

What stays hand-written, because a model of single messages cannot learn it: `FILLERS` (words
that carry no request next to a value, to tell "mejor a las 9" from a new request), ordinals and
number words ("la segunda", "a las siete"), the words that make a "cancela" about a class rather
than about the task in progress (`mentions_booking`), and the names of profile fields.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Literal

from contracts.dialogue import Offer
from contracts.events import Entity
from contracts.replies import Register

Answer = Literal["yes", "no"]
ACTS: dict[str, Answer] = {"afirmar": "yes", "negar": "no"}
"""NLU's dialogue-act intents: a yes or a no is learned from examples, never listed here."""

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
    "hola buenas buenos tardes noches dias xfa xfavor okay vale claro dale por fa manana tarde noche madrugada "
    "am pm".split()
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


_VOS = re.compile(r"\b(vos|quer[eé]s|ten[eé]s|pod[eé]s|sab[eé]s|necesit[aá]s|hac[eé]s|dec[ií]s|sos|decime|contame"
                  r"|pasame|mandame|avisame|fijate|anotame|reservame|agendame|cancelame|vení|andá|che|decí|poné"
                  r"|tené|hacé|pedí|escribí|(?:anot|reserv|agend|cancel|confirm|pas|mand|avis|mir|esper|llam"
                  r"|cambi|fij|borr|apart)á)\b")
_USTED = re.compile(r"\b(usted|ustedes me|(?<!se )(me|nos) (puede|podria|podr[ií]a|ayuda|confirma|indica|dice|regala"
                    r"|hace el favor|informa|colabora|agenda|reserva|cancela|manda|envia|env[ií]a|actualiza|cambia"
                    r"|pasa|aparta|anota|apunta|explica|muestra|comparte|recuerda|avisa|inscribe|registra|borra)"
                    r"|disculpe|perdone|le agradezco|le escribo|le aviso|le confirmo|dejeme|d[eé]jeme|espere|d[ií]game"
                    r"|oiga|mire|f[ií]jese|disc[uú]lpeme|senor|senora|senorita|se[nñ]or|se[nñ]ora|se[nñ]orita|sumerce"
                    r"|su merced)\b")
_TU = re.compile(r"\b(tu|tú|puedes|quieres|tienes|sabes|necesitas|dime|cuentame|cuéntame)\b")


def register_of(text: str) -> Register | None:
    """How the customer addresses the bot in `text`, when the words give it away: vos ("¿me anotás?",
    "querés", "decime"), usted ("¿me puede agendar?", "disculpe", Colombia's "me regala"), tú
    ("¿puedes…?", "tienes"); None when they do not (most messages). Hand-written: a register is
    grammar, read from a few verb forms, not something the intent model sees."""
    lowered = text.lower()
    folded = fold(text)
    if _VOS.search(lowered) or _VOSEO_VERB.search(lowered):
        return "vos"
    if _USTED.search(folded) or _USTED.search(lowered):
        return "usted"
    if _TU.search(lowered):
        return "tu"
    return None


_VOSEO_VERB = re.compile(r"\b(anot|reserv|agend|cancel|confirm|pas|mand|necesit|tom|busc|quer|ten|pod|sab|pon)"
                         r"(ás|és|ís)\b")  # a present-tense voseo verb customers use: "¿me anotás?", "¿tenés?"


_CLAIM = re.compile(r"\b(comprobante|transferencia|transferi|deposito|deposite|recibo|voucher|captura|ticket"
                    r"|bizum|spei|oxxo)\b")


def claims_payment(text: str) -> bool:
    """"te mando el comprobante", "ya hice la transferencia": the customer says they paid another way."""
    return bool(_CLAIM.search(fold(text)))


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


def time_candidates(hora: str, *, bare: bool) -> tuple[str, ...]:
    """The times a customer's hour can mean, most likely first.

    An explicit time ("a las 8 de la mañana", "20:00", "7pm") means only itself. A bare hour ("a
    las 7") means NLU's reading first, then the other half of the day: this is the one place the
    "7 means 19:00" reasoning lives in actions, and it never applies to an explicit time.
    """
    hour, _, minute = hora.partition(":")
    exact = f"{int(hour):02d}:{minute or '00'}"
    if not bare:
        return (exact,)
    return exact, f"{(int(hour) + 12) % 24:02d}:{minute or '00'}"


_PART_OF_DAY = re.compile(r"\b(?:(?:de|en|por|a) la (manana|madrugada|tarde|noche)|(a\.? ?m|p\.? ?m)\b\.?)")


def with_part_of_day(hora: str, text: str) -> str | None:
    """`hora` moved to the half of the day `text` names on its own ("de la noche", "pm"), or None when it
    names none: "de la mañana" after a summary at 19:00 means 07:00."""
    match = _PART_OF_DAY.search(fold(text))
    if match is None:
        return None
    word = (match.group(1) or match.group(2) or "").replace(".", "").replace(" ", "")
    hour, _, minute = hora.partition(":")
    value = int(hour)
    if word in ("manana", "madrugada", "am") and value >= 12:
        value -= 12
    elif word in ("tarde", "noche", "pm") and value < 12:
        value += 12
    return f"{value:02d}:{minute or '00'}"


PartOfDay = Literal["manana", "tarde", "noche"]
_PARTS: dict[str, tuple[int, int]] = {"manana": (0, 12), "tarde": (12, 20), "noche": (19, 24)}


def part_of_day(text: str) -> PartOfDay | None:
    """"el jueves en la tarde" → tarde: the part of the day asked for when no hour is given."""
    match = _PART_OF_DAY.search(fold(text))
    word = match.group(1) if match else None
    if word in ("manana", "madrugada"):
        return "manana"
    return "tarde" if word == "tarde" else "noche" if word == "noche" else None


def in_part_of_day(time: str, part: object) -> bool:
    """Whether `time` (HH:MM) falls in `part` (any time when `part` is not a part of day)."""
    if part not in _PARTS:
        return True
    start, end = _PARTS[str(part)]
    return start <= int(time.split(":")[0]) < end


def at_time(times: Sequence[str], candidates: Sequence[str]) -> str | None:
    """The first of `candidates` found among `times` (HH:MM), or None."""
    present = {t.zfill(5) for t in times}
    return next((c for c in candidates if c in present), None)


def choose(offered: Sequence[Offer], text: str, *, kind: str, hora: str | None = None, bare: bool = False,
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
        on_day = [o for o in options if fecha is None or o.data.get("date") == fecha]
        if hora is None:
            return on_day[0] if len(on_day) == 1 else None
        time = at_time([str(o.data.get("time", "")) for o in on_day], time_candidates(hora, bare=bare))
        matches = [o for o in on_day if str(o.data.get("time", "")).zfill(5) == time]
        return matches[0] if len(matches) == 1 else None
    hour = bare_hour(text)
    if hour is not None and kind in ("slot", "booking"):
        by_hour = choose(offered, text, kind=kind, hora=f"{hour:02d}:00", bare=True)  # "7": 07:00 or 19:00
        if by_hour is not None:
            return by_hour
    position = ordinal(text)
    if position == -1:
        return options[-1]
    if position is not None and 1 <= position <= len(options):
        return options[position - 1]
    folded = fold(text)
    named = [o for o in options if o.label and fold(o.label) in folded]
    if len(named) == 1:
        return named[0]
    return options[0] if len(options) == 1 and _points_at_it(text) else None


_DEMONSTRATIVES = frozenset({"esa", "ese", "eso", "esta", "este", "la", "el", "mero", "mera", "misma", "mismo"})


_SAME = frozenset({"mismo", "misma", "igual", "renovar", "renuevo", "renueva", "renuevame", "renovarlo", "renovarla"})


def means_the_same(text: str) -> bool:
    """"el mismo", "la misma de siempre", "quiero renovar": the package already discussed or held."""
    return bool(_SAME & set(words(text)))


def _points_at_it(text: str) -> bool:
    """"esa", "ésa mera", "la misma": the one option on the table."""
    tokens = [t for t in words(text) if t not in FILLERS or t in _DEMONSTRATIVES]
    return bool(tokens) and all(t in _DEMONSTRATIVES for t in tokens)


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


_SPELLED_AT = re.compile(r"\s+arroba\s+", re.IGNORECASE)
_SPELLED_DOT = re.compile(r"\s+punto\s+", re.IGNORECASE)


def email_candidate(text: str) -> str | None:
    """What the customer typed as an e-mail when NLU found none: the word with an @ (also spelled out,
    "ana arroba gmail punto com"), or a lone word."""
    text = _SPELLED_DOT.sub(".", _SPELLED_AT.sub("@", text))
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
