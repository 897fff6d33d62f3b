"""The opt-out keywords: a whole message that is one of them asks for no more messages, by rule.

A documented exception to "understanding is learned" (DESIGN.md section 10): SMS and WhatsApp
senders have long honoured a few keywords sent as the whole message (Twilio's STOP family), and a
customer who writes one expects it to work every time, whatever a model makes of a single word.
The learned intent `darse_de_baja` covers everything else ("no me escriban más", "dame de baja").

A message matches when, folded (lowercase, no accents) with its spaces squeezed and the
punctuation around it dropped, it is exactly one keyword: "STOP", "Baja.", "cancelar
suscripción!" do; "stop por favor", "baja de la clase del sábado" do not (the model reads those).
"""

from __future__ import annotations

import re

from .text import fold

OPT_OUT_INTENT = "darse_de_baja"
OPT_OUT_KEYWORDS: frozenset[str] = frozenset({"stop", "baja", "unsubscribe", "cancelar suscripcion"})
_AROUND = re.compile(r"^[\s.,;:!¡?¿…\"'«»()*_~-]+|[\s.,;:!¡?¿…\"'«»()*_~-]+$")


def is_opt_out_keyword(text: str) -> bool:
    """Whether the whole message is an opt-out keyword (case, accents and surrounding punctuation aside)."""
    folded = " ".join(_AROUND.sub("", fold(text).folded).split())
    return folded in OPT_OUT_KEYWORDS
