"""Composition root of ingress: wires Kafka and Redis from settings and serves the webhook."""

from __future__ import annotations

import asyncio
import logging

from runtime.kafka import Publisher
from runtime.ops import add_ops_routes, http_server
from runtime.redis_client import connect_redis
from runtime.service import run_service, run_until_stopped
from runtime.settings import load_settings
from services.ingress.adapters.admission import Admission
from services.ingress.handler import IngressDeps
from services.ingress.http import create_app
from services.ingress.settings import IngressSettings

log = logging.getLogger("ingress")


async def serve(stop: asyncio.Event, settings: IngressSettings) -> None:
    redis = await connect_redis(settings.redis_url, service="ingress")
    publisher = await Publisher.connect(settings, stage="ingress")

    async def redis_ready() -> bool:
        return bool(await redis.ping())

    deps = IngressDeps(
        admission=Admission(redis, dedup_ttl_s=settings.dedup_ttl_s, capacity=settings.rate_capacity,
                            refill_per_s=settings.rate_refill_per_s, notice_window_s=settings.rate_notice_window_s),
        publisher=publisher, rate_notice_text=settings.rate_notice_text,
        instant_receipt_text=settings.instant_receipt_text,
    )
    app = add_ops_routes(create_app(settings, deps), service="ingress",
                         ready_checks={"kafka": publisher.ready, "redis": redis_ready})
    if settings.demo_credentials:
        log.warning("running with the DEMO Twilio credentials: not for real traffic")
    log.info("ingress listening on http://%s:%d, signatures checked against %s",
             settings.http_host, settings.http_port, settings.public_url or "the request's own URL")
    try:
        await run_until_stopped(stop, http_server(app, host=settings.http_host, port=settings.http_port).serve())
    finally:
        await publisher.close()
        await redis.aclose()


def main() -> None:
    settings = load_settings(IngressSettings, "ingress")
    run_service("ingress", settings, lambda stop: serve(stop, settings))


if __name__ == "__main__":
    main()
