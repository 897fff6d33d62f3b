"""pagar_servicio: which package (the `paquete` entity, or asked with the catalogue) → "¿Confirmas
la compra del Pack 10 clases por $2,000 MXN?" → yes: `POST /client/purchase` → the payment link.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import JsonValue

from contracts import ActionOutcome
from contracts.dialogue import DialogueUpdate, Offer, PendingConfirmation
from contracts.replies import ChoosePackage, ConfirmPurchase, PackageInfo, PaymentLink, PurchaseDeclined
from services.actions import understanding
from services.actions.adapters.business_api import BusinessApiError
from services.actions.adapters.endpoints import Operation
from services.actions.flows.base import Context, Decision, api_failure, asking, confirming, done, failed, parsed

FLOW = "pagar_servicio"
ACTION = "purchase_package"
CURRENT = "__current__"
"""The `paquete` slot while it means "the package the customer has" ("el mismo", "renuévamelo")."""


def package_offer(package: Mapping[str, Any]) -> Offer:
    return Offer(kind="package", ref=str(package.get("id", "")), label=str(package.get("name", "")),
                 data={"price": package.get("price"), "currency": package.get("currency"),
                       "sessions": package.get("sessions")})


class PurchaseFlow:
    name = FLOW
    verbs: tuple[str, ...] = ("compralo", "comprar", "compro", "pagar", "pago", "pagalo", "quiero", "lo",
                                  "la", "comprarlo")

    def extract(self, ctx: Context, slots: Mapping[str, JsonValue], offered: Sequence[Offer],
                awaiting: str | None) -> dict[str, JsonValue]:
        if "paquete" in ctx.entities:
            return {"paquete": ctx.entities["paquete"]}
        packages = [o for o in offered if o.kind == "package"]
        picked = understanding.choose(packages, ctx.text, kind="package") if packages else None
        if picked is not None:
            return {"paquete": picked.label}
        if understanding.means_the_same(ctx.text):
            return {"paquete": ctx.recalled("paquete") or CURRENT}  # "el mismo": discussed, else the one held
        if not slots.get("paquete") and awaiting is None and (recalled := ctx.recalled("paquete")):
            return {"paquete": recalled}  # "¿y el mensual?" → "ese me lo llevo"
        return {}

    def merge(self, slots: Mapping[str, JsonValue], found: Mapping[str, JsonValue], *,
              editing: bool = False) -> dict[str, JsonValue]:
        return {**slots, **found}

    async def step(self, ctx: Context, slots: dict[str, JsonValue], *, not_understood: bool = False,
                   edited: bool = False) -> Decision:
        try:
            packages: list[dict[str, Any]] = await ctx.call(Operation.LIST_PACKAGES)
            if slots.get("paquete") == CURRENT:
                slots = {**slots, "paquete": await _current_package(ctx)}
        except BusinessApiError as error:
            return api_failure("list_packages", error,
                               dialogue=DialogueUpdate(flow=FLOW, slots=slots, awaiting="paquete"))
        wanted = slots.get("paquete")
        if wanted is not None:
            package = next((p for p in packages if str(p.get("name", "")).lower() == str(wanted).lower()
                            or str(p.get("id")) == str(wanted)), None)
            if package is not None:
                return _confirm(package, not_understood=not_understood)
        return _choose(packages, unknown=wanted, not_understood=not_understood)

    async def confirmed(self, ctx: Context, pending: PendingConfirmation) -> Decision:
        params = pending.params
        try:
            purchase: dict[str, Any] = await ctx.call(Operation.PURCHASE, {"package_id": params.get("package_id")},
                                                      idempotent_action="purchase")
        except BusinessApiError as error:
            if error.code == "no_such_package":
                try:
                    packages: list[dict[str, Any]] = await ctx.call(Operation.LIST_PACKAGES)
                except BusinessApiError:
                    packages = []
                return failed(ACTION, error, _choose(packages, unknown=params.get("package")))
            return api_failure(ACTION, error, dialogue=DialogueUpdate(
                flow=FLOW, slots={"paquete": params.get("package")}, awaiting="confirmation", pending=pending))
        amount = purchase.get("amount")
        return done(ACTION, PaymentLink(package=str(purchase.get("package_name") or params.get("package") or ""),
                                        amount=float(amount) if amount is not None else None,
                                        currency=str(purchase.get("currency") or ""),
                                        payment_link=purchase.get("payment_link"), purchase_id=purchase.get("id")))

    def reconfirm(self, ctx: Context, pending: PendingConfirmation) -> Decision:
        return _confirm_pending(pending, not_understood=True)

    def declined(self, ctx: Context, pending: PendingConfirmation) -> Decision:
        package = pending.params.get("package")
        return Decision("decline_purchase", ActionOutcome.CANCELLED,
                        PurchaseDeclined(package=str(package) if package else None), DialogueUpdate())


def package_info(package: Mapping[str, Any]) -> PackageInfo:
    return parsed(PackageInfo, package, operation=Operation.LIST_PACKAGES)


def _choose(packages: Sequence[Mapping[str, Any]], *, unknown: JsonValue = None,
            not_understood: bool = False) -> Decision:
    reply = ChoosePackage(packages=tuple(package_info(p) for p in packages),
                          unknown=str(unknown) if unknown else None, not_understood=not_understood)
    return asking("choose_package", reply, DialogueUpdate(flow=FLOW, slots={}, awaiting="paquete",
                                                          offered=tuple(package_offer(p) for p in packages)))


def _confirm(package: Mapping[str, Any], *, not_understood: bool = False) -> Decision:
    info = package_info(package)
    pending = PendingConfirmation(action=ACTION, params={
        "package_id": info.id, "package": info.name, **info.model_dump(mode="json", exclude={"id", "name"}),
    })
    return _confirm_pending(pending, not_understood=not_understood)


def _confirm_pending(pending: PendingConfirmation, *, not_understood: bool = False) -> Decision:
    params = pending.params
    info = PackageInfo.model_validate({**params, "id": params.get("package_id"), "name": params.get("package")})
    return confirming("confirm_purchase", ConfirmPurchase(package=info, not_understood=not_understood),
                      DialogueUpdate(flow=FLOW, slots={"paquete": params.get("package")}, awaiting="confirmation",
                                     pending=pending))


async def _current_package(ctx: Context) -> JsonValue:
    """The name of the customer's newest paid package, or None (then the catalogue is offered)."""
    purchases: list[dict[str, Any]] = await ctx.call(Operation.PURCHASE_HISTORY)
    paid = [p for p in purchases if p.get("status") == "paid"]
    return str(paid[0].get("package_name") or paid[0].get("package_id")) if paid else None
