"""The demo checkout: the page a payment link opens, standing in for a payment provider's.

It shows the package and amount with two buttons, pay and "simular un pago rechazado" (no real
money moves). Its form posts back to this API, which then behaves as a provider does: it calls
``POST /payments/webhook`` over HTTP, signed with the provider secret, and the webhook changes
the purchase. The page speaks Spanish: the customer sees it.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import secrets
from typing import Any

import httpx

from business_api.errors import ReferenceApiError
from business_api.schemas import PaymentOutcome
from business_api.signing import sign

PAYMENT_SIGNATURE_HEADER = "X-Payment-Signature"
WEBHOOK_PATH = "/payments/webhook"
OUTCOME_FIELD = "outcome"
OUTCOMES: dict[str, PaymentOutcome] = {"paid": "paid", "failed": "failed"}


class CheckoutFailed(ReferenceApiError):
    """The demo provider could not deliver its webhook."""


async def call_webhook(
    http: httpx.AsyncClient, url: str, secret: str, *, token: str, outcome: PaymentOutcome, timeout_s: float = 10.0
) -> None:
    """Post the provider's signed webhook for the purchase of `token`, as a provider would."""
    body = json.dumps(
        {
            "token": token,
            "status": outcome,
            "provider": "demo",
            "payment_id": f"demo-{secrets.token_hex(8)}",
            "occurred_at": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
        }
    ).encode()
    headers = {"Content-Type": "application/json", PAYMENT_SIGNATURE_HEADER: sign(secret, body)}
    try:
        response = await http.post(url, content=body, headers=headers, timeout=timeout_s)
    except httpx.HTTPError as error:
        raise CheckoutFailed(f"the payment webhook at {url} did not answer: {error}") from error
    if not response.is_success:
        raise CheckoutFailed(f"the payment webhook at {url} answered {response.status_code}: {response.text[:200]}")


def page(row: Any, *, outcome: PaymentOutcome | None = None, enabled: bool = True) -> tuple[str, int]:
    """The page for the purchase `row` (None: unknown token), after `outcome` when one was just posted."""
    if row is None:
        return _page("Enlace no válido", "<p>Este enlace de pago no existe.</p>"), 404
    amount = f"${row['amount']:,.2f} {row['currency'].strip()}"
    title = html.escape(f"{row['package_name']}: {amount}")
    status = row["status"]
    if status == "paid":
        note = (
            "¡Pago recibido, gracias! Tu paquete ya está activo."
            if outcome == "paid"
            else "Este pago ya fue realizado."
        )
        return _page(title, f"<p>{note}</p>"), 200
    if status == "cancelled":
        return _page(title, "<p>Esta compra fue cancelada.</p>"), 200
    if not enabled:
        return _page(title, "<p>Los pagos de demostración están desactivados.</p>"), 200
    note = ""
    if status == "failed":
        note = "<p>El pago fue rechazado (simulado): no se hizo ningún cargo. Puedes intentarlo de nuevo.</p>"
    buttons = (
        f'<form method="post">'
        f'<button type="submit" name="{OUTCOME_FIELD}" value="paid">Pagar {html.escape(amount)}</button> '
        f'<button type="submit" name="{OUTCOME_FIELD}" value="failed">Simular un pago rechazado</button>'
        f"</form>"
        "<p><small>Página de demostración: no se mueve dinero real.</small></p>"
    )
    return _page(title, note + buttons), 200


def failure_page(row: Any) -> tuple[str, int]:
    """The provider could not complete the payment: nothing changed, try again."""
    title = html.escape(f"{row['package_name']}") if row is not None else "Pago"
    return _page(title, "<p>No pudimos procesar el pago en este momento. Intenta de nuevo en unos minutos.</p>"), 502


def _page(title: str, content: str) -> str:
    return (
        '<!doctype html><html lang="es"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title></head><body><h1>{title}</h1>{content}</body></html>"
    )
