"""nlu delegating to a Rasa server over HTTP: Rasa's answer, the fallback, retries, the breaker."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client import REGISTRY

from contracts import INTENT_DETECTED, IntentDetected, MessageReceived, MessageReceivedPayload, NluOutcome
from contracts.events import Media
from contracts.ids import inbound_event_id
from devstack.infra import free_port
from runtime.resilience import CircuitBreaker, CircuitState
from services.nlu.adapters.rasa import RasaClient, RasaUnavailable
from services.nlu.engine import NluEngine
from services.nlu.handler import Parser, make_handler, record_circuit_change, record_rasa_failure, understand
from tests.integration.nlu.conftest import MODEL_FILE, TEXT, FakeClock, RasaStandIn

# Wednesday 25 November 2026, 15:00 in Mexico City: "mañana" is the 26th, "a las 5 de la tarde" 17:00.
RECEIVED = datetime(2026, 11, 25, 15, 0, tzinfo=timezone(timedelta(hours=-6)))

ClientFactory = Callable[..., RasaClient]


def message(text: str, *, sid: str = "SM00000000000000000000000000000001", media: bool = False) -> MessageReceived:
    event_id = inbound_event_id(sid)
    customer = "whatsapp:+5215500000009"
    return MessageReceived(
        event_id=event_id, type="message.received", occurred_at=RECEIVED, conversation_id=customer,
        correlation_id=event_id,
        payload=MessageReceivedPayload(
            message_sid=sid, account_sid="AC1", customer=customer, business="whatsapp:+14155238886", body=text,
            media=(Media(url="https://example.test/a.jpg", content_type="image/jpeg"),) if media else (),
            received_at=RECEIVED,
        ),
    )


def counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def rasa_client(rasa: RasaStandIn, clock: FakeClock) -> AsyncIterator[ClientFactory]:
    clients: list[RasaClient] = []

    def make(url: str | None = None, *, timeout_s: float = 1.0, retries: int = 1, threshold: int = 5,
             cooldown_s: float = 30.0) -> RasaClient:
        breaker = CircuitBreaker(name="rasa", failure_threshold=threshold, reset_after_s=cooldown_s, clock=clock,
                                 on_change=record_circuit_change)
        client = RasaClient(url or rasa.url, timeout_s=timeout_s, retries=retries, breaker=breaker,
                            backoff_base_s=0.01, backoff_max_s=0.02, on_failure=record_rasa_failure)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def test_rasa_answer_is_used_with_times_resolved_against_the_message(
    rasa: RasaStandIn, rasa_client: ClientFactory, engine: NluEngine
) -> None:
    rasa.answers["dame horarios"] = {"text": "dame horarios", "intent": {"name": "consultar_horarios",
                                     "confidence": 0.61}, "entities": [], "intent_ranking": []}
    parser = Parser(engine, rasa_client())
    before = counter("nlu_parses_total", source="rasa")

    detected = (await understand(parser, message(TEXT))).payload

    assert detected.source == "rasa"
    assert detected.model_version == MODEL_FILE.rsplit("/", 1)[-1]
    assert detected.intent == "agendar_cita"
    assert detected.confidence == pytest.approx(0.9996922016143799)
    assert [s.name for s in detected.ranking] == ["agendar_cita", "consultar_horarios", "pagar_servicio"]
    found = {(e.entity, e.value, e.start, e.end, e.extractor) for e in detected.entities}
    assert ("paquete", "Pack 10 clases", 10, 20, "DIETClassifier") in found, "Rasa's own entities are kept"
    by_type = {e.entity: e for e in detected.entities}
    assert by_type["fecha"].value == "2026-11-26", "Rasa's 'mañana' replaced by the resolved date"
    assert by_type["hora"].value == "17:00"
    assert (by_type["fecha"].extractor, by_type["hora"].extractor) == ("BuiltinDateExtractor", "BuiltinTimeExtractor")
    assert rasa.requests == [{"text": TEXT, "message_id": "SM00000000000000000000000000000001"}]
    assert counter("nlu_parses_total", source="rasa") == before + 1

    other = (await understand(parser, message("dame horarios", sid="SM2"))).payload
    assert (other.intent, other.confidence, other.source) == ("consultar_horarios", 0.61, "rasa")
    assert [s.name for s in other.ranking] == ["consultar_horarios"], "no ranking: the intent alone"


async def test_resolved_time_values_from_rasa_are_kept(
    rasa: RasaStandIn, rasa_client: ClientFactory, engine: NluEngine
) -> None:
    text = "agenda el 2026-12-01 a las 10"
    rasa.answers[text] = {
        "text": text, "intent": {"name": "agendar_cita", "confidence": 0.9},
        "entities": [{"entity": "fecha", "start": 10, "end": 20, "value": "2026-12-01", "extractor": "custom"}],
    }
    detected = (await understand(Parser(engine, rasa_client()), message(text))).payload
    by_type = {e.entity: e for e in detected.entities}
    assert (by_type["fecha"].value, by_type["fecha"].extractor) == ("2026-12-01", "custom")
    assert by_type["hora"].value == "10:00", "no hora from Rasa: the built-in one is added"


async def test_on_the_rasa_path_the_act_and_roles_come_through(
    rasa: RasaStandIn, rasa_client: ClientFactory, engine: NluEngine
) -> None:
    parser = Parser(engine, rasa_client())
    leading = "dale, y agéndame mañana a las 7"
    rasa.answers[leading] = {"text": leading, "intent": {"name": "agendar_cita", "confidence": 0.8}, "entities": []}
    yes = "órale pues"
    rasa.answers[yes] = {
        "text": yes, "intent": {"name": "afirmar", "confidence": 0.93},
        "entities": [{"entity": "momento", "start": 0, "end": 5, "value": "órale", "role": "inicio"}],
    }

    detected = (await understand(parser, message(leading))).payload
    assert (detected.source, detected.intent) == ("rasa", "agendar_cita")
    assert detected.act is not None and (detected.act.name, detected.act.end) == ("afirmar", 4), "the built-in act"
    assert {e.entity: e.role for e in detected.entities} == {"fecha": None, "hora": "bare"}

    detected = (await understand(parser, message(yes, sid="SM2"))).payload
    assert detected.act is not None
    assert (detected.act.name, detected.act.confidence, detected.act.end) == ("afirmar", 0.93, len(yes)), "Rasa's"
    assert [(e.entity, e.role) for e in detected.entities] == [("momento", "inicio")], "Rasa's role is kept"


@pytest.mark.parametrize(("mode", "hits", "reason"), [
    ("error500", 2, "http_500"),       # retried once
    ("no_model", 1, "http_409"),       # Rasa answered: no retry
    ("invalid_json", 1, "bad_response"),
])
async def test_rasa_failure_falls_back_to_the_builtin_model(
    rasa: RasaStandIn, rasa_client: ClientFactory, engine: NluEngine, mode: str, hits: int, reason: str
) -> None:
    rasa.mode = mode  # type: ignore[assignment]
    parser = Parser(engine, rasa_client(retries=1))
    failures = counter("nlu_rasa_failures_total", reason=reason)
    fallbacks = counter("nlu_parses_total", source="builtin-fallback")

    detected = (await understand(parser, message(TEXT))).payload

    assert detected.source == "builtin-fallback"
    assert detected.model_version == engine.model_version
    builtin = engine.parse(TEXT, reference_time=RECEIVED)
    assert detected.intent == builtin.intent.name
    assert {(e.entity, e.value) for e in detected.entities} == {(e.entity, e.value) for e in builtin.entities}
    assert rasa.hits == hits
    assert counter("nlu_rasa_failures_total", reason=reason) == failures + hits
    assert counter("nlu_parses_total", source="builtin-fallback") == fallbacks + 1


async def test_unreachable_rasa_falls_back(rasa_client: ClientFactory, engine: NluEngine) -> None:
    parser = Parser(engine, rasa_client(f"http://127.0.0.1:{free_port()}", retries=0))
    await parser.refresh_rasa_model()
    assert parser.rasa_model == "rasa", "no /status answer: the model is just 'rasa'"
    detected = (await understand(parser, message(TEXT))).payload
    assert (detected.source, detected.intent) == ("builtin-fallback", "agendar_cita")


async def test_timeout_is_respected(rasa: RasaStandIn, rasa_client: ClientFactory, engine: NluEngine) -> None:
    rasa.mode, rasa.slow_s = "slow", 5.0
    parser = Parser(engine, rasa_client(timeout_s=0.2, retries=1))

    started = time.monotonic()
    detected = (await understand(parser, message(TEXT))).payload
    elapsed = time.monotonic() - started

    assert detected.source == "builtin-fallback"
    assert rasa.hits == 2
    assert 0.4 <= elapsed < 1.0, f"two attempts of 0.2 s plus a short backoff, not {elapsed:.2f} s"

    rasa.slow_s = 0.05
    assert (await understand(parser, message(TEXT, sid="SM2"))).payload.source == "rasa", "slow but in time"


async def test_breaker_opens_after_n_failures_and_closes_after_the_cool_down(
    rasa: RasaStandIn, rasa_client: ClientFactory, engine: NluEngine, clock: FakeClock
) -> None:
    client = rasa_client(retries=0, threshold=3, cooldown_s=30.0)
    parser = Parser(engine, client)
    rasa.mode = "error500"
    refused = counter("nlu_rasa_failures_total", reason="circuit_open")

    for n in range(3):
        assert (await understand(parser, message(TEXT, sid=f"SMa{n}"))).payload.source == "builtin-fallback"
    assert rasa.hits == 3
    assert client.breaker.state is CircuitState.OPEN
    assert REGISTRY.get_sample_value("nlu_rasa_circuit_state") == 2

    for n in range(5):  # open: no request goes out, the built-in model answers at once
        assert (await understand(parser, message(TEXT, sid=f"SMb{n}"))).payload.source == "builtin-fallback"
    assert rasa.hits == 3
    assert counter("nlu_rasa_failures_total", reason="circuit_open") == refused + 5

    rasa.mode = "ok"  # Rasa recovers, but the cool-down is not over
    clock.advance(29.9)
    assert (await understand(parser, message(TEXT, sid="SMc"))).payload.source == "builtin-fallback"
    assert rasa.hits == 3

    clock.advance(0.1)  # half-open: one trial goes out, succeeds, closes the circuit
    assert (await understand(parser, message(TEXT, sid="SMd"))).payload.source == "rasa"
    assert rasa.hits == 4
    assert client.breaker.state.value == "closed"
    assert REGISTRY.get_sample_value("nlu_rasa_circuit_state") == 0
    assert (await understand(parser, message(TEXT, sid="SMe"))).payload.source == "rasa"
    assert rasa.hits == 5


async def test_failed_trial_reopens_the_circuit(
    rasa: RasaStandIn, rasa_client: ClientFactory, engine: NluEngine, clock: FakeClock
) -> None:
    client = rasa_client(retries=1, threshold=2, cooldown_s=10.0)
    parser = Parser(engine, client)
    rasa.mode = "error500"
    await understand(parser, message(TEXT))  # two failed attempts: open
    assert (rasa.hits, client.breaker.state) == (2, CircuitState.OPEN)
    clock.advance(10)
    await understand(parser, message(TEXT, sid="SM2"))  # the trial fails; the retry is refused
    assert (rasa.hits, client.breaker.state) == (3, CircuitState.OPEN)
    with pytest.raises(RasaUnavailable) as refused:
        await client.parse("hola")
    assert refused.value.reason == "circuit_open"


async def test_messages_without_text_never_reach_rasa(
    rasa: RasaStandIn, rasa_client: ClientFactory, engine: NluEngine
) -> None:
    parser = Parser(engine, rasa_client())
    detected = (await understand(parser, message("  ", media=True))).payload
    assert (detected.outcome, detected.intent) == (NluOutcome.MEDIA_ONLY, None)
    assert rasa.hits == 0


async def test_an_opt_out_keyword_is_the_rules_without_asking_rasa(
    rasa: RasaStandIn, rasa_client: ClientFactory, engine: NluEngine
) -> None:
    parser = Parser(engine, rasa_client())
    detected = (await understand(parser, message("STOP"))).payload
    assert (detected.intent, detected.confidence, detected.source) == ("darse_de_baja", 1.0, "builtin")
    assert rasa.hits == 0


async def test_handler_publishes_intent_detected_from_rasa(
    rasa: RasaStandIn, rasa_client: ClientFactory, engine: NluEngine
) -> None:
    handle = make_handler(Parser(engine, rasa_client()))
    [output] = await handle(message(TEXT))
    assert output.topic is INTENT_DETECTED
    assert isinstance(output.event, IntentDetected)
    assert output.event.payload.source == "rasa"
    assert output.event.payload.latency_ms > 0


async def test_model_name_is_refreshed_when_stale(
    rasa: RasaStandIn, rasa_client: ClientFactory, engine: NluEngine, clock: FakeClock
) -> None:
    rasa.status_available = False
    parser = Parser(engine, rasa_client(), status_ttl_s=60, clock=clock)
    assert (await understand(parser, message(TEXT))).payload.model_version == "rasa"
    rasa.status_available = True
    assert (await understand(parser, message(TEXT, sid="SM2"))).payload.model_version == "rasa", "checked < 60 s ago"
    clock.advance(60)
    assert (await understand(parser, message(TEXT, sid="SM3"))).payload.model_version == "nlu-20261125-diet.tar.gz"
