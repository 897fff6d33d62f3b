"""The messages the LLM writer sends: the studio's persona, the rules, the reply's typed data, the
template's draft to rewrite, the customer's register and the last turns of the conversation.

The data is the only source of facts; the draft (the template's text) already says every fact
right, so the LLM's job is the wording. The draft sits between `DRAFT_OPEN` and `DRAFT_CLOSE`
lines, which the local OpenRouter stand-in reads to answer with it. The instructions themselves
hold no number, date or price: whatever fact the answer states comes from the data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from contracts.replies import Register, Reply
from services.responder.adapters.context import Turn

DRAFT_OPEN = "<<<BORRADOR"
DRAFT_CLOSE = "BORRADOR>>>"

DEFAULT_PERSONA = (
    "Hablas como alguien del equipo que atiende el WhatsApp del estudio: cálido, cercano y profesional, "
    "con frases cortas y naturales. Usas algún emoji con moderación y nunca suenas a robot ni a publicidad."
)

_REGISTERS: dict[Register, str] = {
    "tu": "El cliente te trata de tú: tutéalo («¿quieres…?», «puedes», «tienes», «dime», «tu clase»). "
          "No uses voseo («querés», «podés») ni usted.",
    "vos": "El cliente usa voseo: respóndele con vos, con las formas rioplatenses del verbo («¿querés…?», «podés», "
           "«tenés», «preferís», «confirmás», «decime», «escribime», «tu clase»). Nunca uses «tú» ni «quieres», "
           "«puedes», «tienes», ni usted.",
    "usted": "El cliente te trata de usted: respóndele de usted («¿quiere…?», «puede», «tiene», «dígame», "
             "«su clase», «le confirmo»). Nunca tutees: nada de «tú», «te», «tu», «quieres», ni voseo.",
}

_RULES = """Reglas:
- Escribe un solo mensaje de WhatsApp para el cliente, listo para enviar: solo el texto, sin comillas, sin \
explicaciones y sin repetir estas instrucciones.
- Los hechos salen únicamente de los DATOS y del BORRADOR. No agregues precios, montos, fechas, días, meses, \
horarios, códigos, enlaces, cantidades ni promesas que no estén ahí; si algo no está, no lo menciones ni lo supongas.
- Conserva todos los datos del borrador: el enlace de pago y el código de reserva tal cual, y los precios, \
fechas y horarios que muestra.
- No digas que algo quedó hecho (reservado, confirmado, cancelado, pagado, actualizado) si el borrador no lo dice: \
si el borrador pregunta o avisa de un problema, tu mensaje también.
- Si el borrador ofrece opciones o hace una pregunta, ofrécelas y pregunta igual.
- Formato de WhatsApp: *negrita* con un solo asterisco y solo si ayuda, listas cortas con • o -, sin títulos \
con #, sin tablas, sin **, sin enlaces en formato Markdown.
- Breve: pocas líneas, no más largo que el borrador.
- Español correcto y natural, con ¡ ¿ y tildes.
- La conversación reciente es solo contexto: responde a lo último que escribió el cliente, sin volver a saludar \
si ya se saludaron."""


def reply_data(reply: Reply, followup: Reply | None) -> dict[str, Any]:
    """The typed facts of a reply as JSON values: the only facts the LLM may state."""
    data: dict[str, Any] = {"respuesta": reply.model_dump(mode="json")}
    if followup is not None:
        data["seguimiento"] = followup.model_dump(mode="json")
    return data


def system_message(*, business: str, persona: str, register: Register) -> str:
    return f"Eres el asistente de WhatsApp de {business}. {persona.strip()}\n\n{_RULES}\n- {_REGISTERS[register]}"


def user_message(*, kind: str, followup_kind: str | None, data: Mapping[str, Any], draft: str,
                 register: Register, turns: Sequence[Turn]) -> str:
    parts = []
    if turns:
        lines = "\n".join(f"{'Cliente' if turn.role == 'user' else 'Asistente'}: {_one_line(turn.text)}"
                          for turn in turns)
        parts.append(f"Conversación reciente (lo más nuevo al final):\n{lines}")
    what = f"«{kind}»" + (f", seguido de «{followup_kind}»" if followup_kind else "")
    parts.append(f"Tipo de respuesta: {what}.")
    parts.append("DATOS (la única fuente de hechos, en JSON):\n"
                 + json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True))
    parts.append(f"Registro del cliente: {register}.")
    parts.append("BORRADOR (dice todos los hechos correctamente; reescríbelo con naturalidad, sin quitar ni "
                 f"agregar hechos):\n{DRAFT_OPEN}\n{draft}\n{DRAFT_CLOSE}")
    parts.append("Escribe ahora el mensaje final para el cliente.")
    return "\n\n".join(parts)


def build_messages(*, reply: Reply, followup: Reply | None, draft: str, register: Register, business: str,
                   persona: str, turns: Sequence[Turn] = ()) -> list[dict[str, str]]:
    """The chat messages for OpenRouter: the system's persona and rules, then the reply to write."""
    return [
        {"role": "system", "content": system_message(business=business, persona=persona, register=register)},
        {"role": "user", "content": user_message(
            kind=reply.kind, followup_kind=followup.kind if followup is not None else None,
            data=reply_data(reply, followup), draft=draft, register=register, turns=turns)},
    ]


def _one_line(text: str) -> str:
    return " / ".join(line.strip() for line in text.splitlines() if line.strip())
