"""Ingress throughput and latency: signed webhooks through ingress to a committed Kafka write.

Next to it, in the same run, a bare FastAPI endpoint that returns 200 under the same uvicorn
(the ceiling on this machine). Prints requests/s, p50/p99, and the ratio.

    .venv/bin/python bench/ingress_bench.py [--total 20000] [--connections 32] [--rate 500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loadgen import Request, Result, cpu_seconds, run_closed, run_open, signed_webhooks
from devstack import infra
from runtime.kafka import all_topic_specs, ensure_topics
from runtime.settings import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN

BARE_APP = """
from fastapi import FastAPI, Request, Response
app = FastAPI()
@app.post("/webhooks/twilio/whatsapp")
async def ok(request: Request) -> Response:
    await request.form()
    return Response('<?xml version="1.0" encoding="UTF-8"?><Response/>', media_type="application/xml")
"""


def signed_requests(public_url: str, count: int) -> list[Request]:
    return signed_webhooks(public_url, count, bodies=["hola, ¿qué paquetes tienen?"], senders=5000,
                           account_sid=DEMO_ACCOUNT_SID, auth_token=DEMO_AUTH_TOKEN)


def measure(url: str, requests: list[Request], *, total: int, connections: int,
            rate: float, seconds: float, pid: int) -> tuple[Result, Result]:
    before = cpu_seconds(pid)
    closed = asyncio.run(run_closed(url, lambda i: requests[i], total=total, connections=connections))
    closed.server_cpu_ms = (cpu_seconds(pid) - before) * 1000 / closed.count
    offset = total
    opened = asyncio.run(run_open(url, lambda i: requests[offset + i], rate=rate, seconds=seconds))
    return closed, opened


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--total", type=int, default=20000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    procs = infra.Processes()
    run_dir = Path(tempfile.mkdtemp(prefix="bench-ingress-"))
    try:
        bootstrap = infra.start_tansu(procs, port=infra.free_port(), log_dir=run_dir)
        asyncio.run(ensure_topics(bootstrap, all_topic_specs()))
        redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        if not infra.redis_reachable(redis_url):
            redis_url = infra.start_embedded_redis(procs, port=infra.free_port(), log_dir=run_dir)
        total_needed = args.total + int(args.rate * args.seconds)

        bare_port = infra.free_port()
        (run_dir / "bare_app.py").write_text(BARE_APP)
        # the same uvicorn settings as ingress's embedded server (runtime.ops.http_server)
        bare = procs.start("bare", [sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(bare_port),
                                    "--log-level", "warning", "--no-access-log", "--no-proxy-headers",
                                    "--lifespan", "off", "--app-dir", str(run_dir)],
                           log_path=run_dir / "bare.log")
        bare_url = f"http://127.0.0.1:{bare_port}"
        infra.wait_http_ok(bare_url + "/docs", what="the bare FastAPI app", procs=procs)

        port = infra.free_port()
        public = f"http://127.0.0.1:{port}"
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "REDIS_URL": redis_url,
               "INGRESS_HTTP_PORT": str(port), "INGRESS_PUBLIC_URL": public, "LOG_LEVEL": "WARNING",
               "INGRESS_RATE_CAPACITY": "1000000", "INGRESS_RATE_REFILL_PER_S": "1000000"}
        ingress = procs.start("ingress", [sys.executable, "-m", "services.ingress"],
                              log_path=run_dir / "ingress.log", env=env)
        infra.wait_http_ok(public + "/readyz", what="ingress", procs=procs)

        print(f"signing {total_needed} webhooks per target…", flush=True)
        bare_requests = signed_requests(bare_url, total_needed)
        ingress_requests = signed_requests(public, total_needed)
        # warm-up
        asyncio.run(run_closed(bare_url, lambda i: bare_requests[i], total=500, connections=8))
        warm = signed_requests(public, 500)
        asyncio.run(run_closed(public, lambda i: warm[i], total=500, connections=8))

        bare_closed, bare_open = measure(bare_url, bare_requests, total=args.total, connections=args.connections,
                                         rate=args.rate, seconds=args.seconds, pid=bare.pid)
        ing_closed, ing_open = measure(public, ingress_requests, total=args.total, connections=args.connections,
                                       rate=args.rate, seconds=args.seconds, pid=ingress.pid)
        print(f"\nclosed loop, {args.connections} connections, {args.total} requests each")
        print(bare_closed.line("bare FastAPI 200 (ceiling)"))
        print(ing_closed.line("ingress → Kafka (acks=all)"))
        print(f"ratio ingress / ceiling: {ing_closed.rps / bare_closed.rps:.2f}")
        print(f"server CPU per request: bare {bare_closed.server_cpu_ms:.3f} ms, "
              f"ingress {ing_closed.server_cpu_ms:.3f} ms")
        print(f"\nopen loop at {args.rate:.0f} req/s for {args.seconds:.0f} s")
        print(bare_open.line("bare FastAPI 200 (ceiling)"))
        print(ing_open.line("ingress → Kafka (acks=all)"))
        print(f"p99 ratio ingress / ceiling: {ing_open.pct(99) / bare_open.pct(99):.2f}")
        ok = ing_closed.statuses.get(200, 0) + ing_open.statuses.get(200, 0)
        print(f"\ningress answered 200 to {ok} of {ing_closed.count + ing_open.count} signed webhooks")
    finally:
        procs.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
