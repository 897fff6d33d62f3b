"""Prometheus metrics shared by every stage. Service-specific metrics live next to their service."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

STAGE_SECONDS = Histogram(
    "orchestrator_stage_processing_seconds", "Time to process one record, publish included",
    ["stage"], buckets=LATENCY_BUCKETS,
)
EVENTS_CONSUMED = Counter("orchestrator_events_consumed_total", "Records consumed", ["stage", "topic"])
EVENTS_PRODUCED = Counter("orchestrator_events_produced_total", "Events published", ["stage", "topic"])
STAGE_RETRIES = Counter("orchestrator_stage_retries_total", "Handler attempts that failed and were retried",
                        ["stage"])
DEAD_LETTERED = Counter("orchestrator_dead_lettered_total", "Records sent to the dead-letter topic",
                        ["stage", "reason"])
CONSUMER_LAG = Gauge("orchestrator_consumer_lag", "Records between the committed position and the high watermark",
                     ["stage", "topic", "partition"])
END_TO_END_SECONDS = Histogram(
    "orchestrator_end_to_end_seconds", "From Twilio's webhook to the event published by this stage",
    ["stage"], buckets=LATENCY_BUCKETS,
)
