"""pagar_servicio (package → confirmation with the price → payment link) and actualizar_perfil."""

from __future__ import annotations

import pytest

from contracts import ActionOutcome, derive_event_id
from services.actions.adapters.business_api import BusinessApiError, client_phone_of
from services.actions.adapters.endpoints import Operation
from tests.unit.actions.conversation import CUSTOMER, Conversation, text_of
from tests.unit.actions.fake_studio import FakeStudio

# --- pagar_servicio ---------------------------------------------------------------------------------


async def test_a_named_package_is_confirmed_with_its_price_then_bought(chat: Conversation,
                                                                       studio: FakeStudio) -> None:
    asked = await chat.say("quiero pagar el pack de 10")
    assert (asked.payload.outcome, asked.payload.reply.kind) == (ActionOutcome.NEEDS_CONFIRMATION,
                                                                     "confirm_purchase")
    assert text_of(asked) == ("¿Confirmas la compra de Pack 10 clases por $2,000 MXN? Te enviaré el enlace para "
                              "pagar. Responde «sí» o «no».")
    assert chat.state.pending is not None and chat.state.pending.params["package_id"] == "pack-10"
    assert studio.calls_to(Operation.PURCHASE) == []

    paid = await chat.say("sí")
    assert (paid.payload.outcome, paid.payload.reply.kind) == (ActionOutcome.SUCCEEDED, "payment_link")
    assert paid.payload.reply.payment_link == "https://pay.example/1"
    assert "https://pay.example/1" in text_of(paid) and "Pack 10 clases ($2,000 MXN)" in text_of(paid)
    [call] = studio.calls_to(Operation.PURCHASE)
    assert call.params == {"package_id": "pack-10"} and call.client_phone == CUSTOMER
    assert call.idempotency_key == derive_event_id(chat.events[-2].event_id, "actions:purchase")
    assert chat.state.flow is None


async def test_the_package_is_asked_for_and_can_be_changed_before_saying_yes(chat: Conversation,
                                                                             studio: FakeStudio) -> None:
    listed = await chat.say("quiero comprar un paquete")
    assert listed.payload.reply.kind == "choose_package" and chat.state.awaiting == "paquete"
    assert [o.label for o in chat.state.offered] == ["Clase suelta", "Pack 5 clases", "Pack 10 clases",
                                                    "Mensualidad ilimitada"]
    first = await chat.say("el de 10")
    assert first.payload.reply.package.name == "Pack 10 clases"
    changed = await chat.say("mejor el pack de 5")
    assert changed.payload.reply.kind == "confirm_purchase"
    assert changed.payload.reply.package.name == "Pack 5 clases"
    await chat.say("dale")
    assert [p["package_id"] for p in studio.purchases] == ["pack-5"]


async def test_an_offered_package_by_position(chat: Conversation) -> None:
    await chat.say("quiero comprar un paquete")
    asked = await chat.say("la última")
    assert asked.payload.reply.package.name == "Mensualidad ilimitada"


@pytest.mark.parametrize("no", ["no", "mejor no", "olvídalo"])
async def test_saying_no_buys_nothing(chat: Conversation, studio: FakeStudio, no: str) -> None:
    await chat.say("quiero pagar la mensualidad")
    declined = await chat.say(no)
    assert (declined.payload.outcome, declined.payload.reply.kind) == (ActionOutcome.CANCELLED,
                                                                           "purchase_declined")
    assert studio.purchases == [] and chat.state.flow is None


async def test_a_purchase_that_fails_keeps_the_question(chat: Conversation, studio: FakeStudio) -> None:
    await chat.say("quiero pagar el pack de 5")
    studio.fail_once(Operation.PURCHASE, BusinessApiError("unavailable", "503", status=503,
                                                          code="database_unavailable"))
    failed = await chat.say("sí")
    assert failed.payload.outcome is ActionOutcome.FAILED and failed.payload.error is not None
    assert failed.payload.error.code == "database_unavailable" and chat.state.pending is not None
    await chat.say("sí")
    assert len(studio.purchases) == 1


# --- actualizar_perfil -----------------------------------------------------------------------------


async def test_an_invalid_email_is_asked_again_with_the_reason(chat: Conversation, studio: FakeStudio) -> None:
    asked = await chat.say("quiero cambiar mi correo")
    assert (asked.payload.reply.kind, chat.state.awaiting) == ("ask_email", "email")
    invalid = await chat.say("ana@example")
    assert invalid.payload.reply.kind == "invalid_email"
    assert invalid.payload.reply.reason == "missing_dot"
    assert text_of(invalid) == ("Mmm, «ana@example» no parece un correo válido: al dominio le falta la "
                                "terminación, como .com o .mx. ¿Me lo escribes de nuevo? Por ejemplo: "
                                "nombre@gmail.com")
    assert chat.state.awaiting == "email" and studio.calls_to(Operation.UPDATE_PROFILE) == []
    no_at = await chat.say("anaexample.com")
    assert no_at.payload.reply.reason == "missing_at"
    confirm = await chat.say("ana@example.com")
    assert text_of(confirm) == "¿Confirmas que cambio tu correo a ana@example.com?"
    assert studio.calls_to(Operation.UPDATE_PROFILE) == [], "nothing is written before the yes"
    updated = await chat.say("sí")
    assert (updated.payload.outcome, updated.payload.reply.kind) == (ActionOutcome.SUCCEEDED,
                                                                         "profile_updated")
    assert studio.clients[client_phone_of(CUSTOMER)]["email"] == "ana@example.com"
    assert text_of(updated).startswith("¡Listo! Actualicé tu correo a ana@example.com.")


async def test_the_email_in_the_request_is_confirmed_then_saved(chat: Conversation, studio: FakeStudio) -> None:
    confirm = await chat.say("mi correo es ana.lopez@gmail.com")
    assert confirm.payload.reply.kind == "confirm_profile"
    updated = await chat.say("dale")
    assert updated.payload.reply.kind == "profile_updated"
    assert studio.calls_to(Operation.UPDATE_PROFILE)[0].params == {"email": "ana.lopez@gmail.com"}


async def test_a_no_to_the_new_value_asks_for_it_again(chat: Conversation, studio: FakeStudio) -> None:
    await chat.say("mi correo es ana.lopez@gmail.com")
    again = await chat.say("no")
    assert again.payload.reply.kind == "ask_email" and chat.state.awaiting == "email"
    await chat.say("ana.lopez@hotmail.com")
    await chat.say("sí")
    assert studio.calls_to(Operation.UPDATE_PROFILE)[0].params == {"email": "ana.lopez@hotmail.com"}


async def test_a_name_with_its_spelling(chat: Conversation, studio: FakeStudio) -> None:
    confirm = await chat.say("ponle Ximena, con X")
    assert confirm.payload.reply.kind == "confirm_profile" and confirm.payload.reply.value == "Ximena"
    await chat.say("sí")
    assert studio.clients[client_phone_of(CUSTOMER)]["name"] == "Ximena"


async def test_which_field_then_the_name(chat: Conversation, studio: FakeStudio) -> None:
    studio.clients[client_phone_of(CUSTOMER)] = {"phone": "+5215500000001", "name": "Ana", "email": None}
    which = await chat.say("quiero actualizar mis datos")
    assert which.payload.reply.kind == "ask_profile_field" and chat.state.awaiting == "campo"
    asked = await chat.say("el nombre")
    assert asked.payload.reply.kind == "ask_name"
    assert text_of(asked) == "Tu nombre registrado es Ana. ¿Cómo quieres que aparezca?"
    invalid = await chat.say("A")
    assert invalid.payload.reply.kind == "invalid_name" and invalid.payload.reply.reason == "too_short"
    await chat.say("Ana López")
    await chat.say("sí")
    assert studio.clients[client_phone_of(CUSTOMER)]["name"] == "Ana López"


async def test_an_email_the_api_rejects_is_asked_again(chat: Conversation, studio: FakeStudio) -> None:
    studio.fail_once(Operation.UPDATE_PROFILE, BusinessApiError("validation", "bad", status=422,
                                                                code="invalid_email"))
    await chat.say("mi correo es ana@example.com")
    rejected = await chat.say("sí")
    assert (rejected.payload.outcome, rejected.payload.reply.kind) == (ActionOutcome.FAILED, "invalid_email")
    assert rejected.payload.reply.reason == "rejected" and chat.state.awaiting == "email"


@pytest.mark.parametrize("words", ["olvídalo", "no", "ya no"])
async def test_abandoning_while_a_name_is_asked_is_not_taken_for_a_name(chat: Conversation, studio: FakeStudio,
                                                                        words: str) -> None:
    await chat.say("quiero cambiar mi nombre")
    dropped = await chat.say(words)
    assert dropped.payload.reply.kind == "abandoned"
    assert text_of(dropped) == "Está bien, tus datos se quedan como estaban. ¿Te ayudo con algo más?"
    assert studio.calls_to(Operation.UPDATE_PROFILE) == []


async def test_an_invalid_email_in_the_request_is_refused_with_the_reason(chat: Conversation,
                                                                         studio: FakeStudio) -> None:
    invalid = await chat.say("quiero actualizar mi correo a pepe.rmz@gmail")
    assert invalid.payload.reply.kind == "invalid_email" and invalid.payload.reply.reason == "missing_dot"
    assert chat.state.awaiting == "email" and studio.calls_to(Operation.UPDATE_PROFILE) == []
