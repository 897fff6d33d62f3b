"""OpenTelemetry tracing with W3C trace context carried in Kafka headers."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

KafkaHeaders = list[tuple[str, bytes]]


def configure_tracing(service: str, exporter: str) -> None:
    """Install the SDK's tracer provider when spans are exported.

    With no exporter the API's no-op provider stays: trace context still propagates through
    Kafka headers, but nothing records spans (FastAPI and redis-py instrument themselves as soon
    as an SDK provider exists, which costs about a third of ingress's throughput).
    """
    if exporter == "none":
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)


def inject_headers(headers: KafkaHeaders | None = None) -> KafkaHeaders:
    """The current trace context as Kafka headers (`traceparent`, `tracestate`)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return [*(headers or []), *((k, v.encode()) for k, v in carrier.items())]


def extract_context(headers: Sequence[tuple[str, bytes]] | None) -> Context:
    carrier = {k: v.decode(errors="replace") for k, v in headers or () if k in ("traceparent", "tracestate")}
    return propagate.extract(carrier)
