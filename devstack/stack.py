"""The whole system on one machine: backing services, business API, Twilio stand-in, five services.

`make demo` runs it with the documented demo ports; the end-to-end tests run it on free ports.
Every variable production honours (TWILIO_*, DATABASE_URL, REDIS_URL, KAFKA_BOOTSTRAP_SERVERS,
OPENROUTER_API_KEY, ...) is passed through, so an operator can run it with their own values.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import httpx

from devstack import infra
from devstack.databases import create_database
from openrouter_standin.settings import DEMO_API_KEY as DEMO_OPENROUTER_KEY
from runtime.kafka import all_topic_specs, ensure_topics
from runtime.settings import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN

SERVICES = ("ingress", "nlu", "actions", "responder", "logger")
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEMO_BUSINESS_TOKEN = "demo-business-token"
DEMO_BUSINESS_WEBHOOK_SECRET = "demo-business-webhook-secret"
DEMO_BUSINESS_NUMBER = "whatsapp:+14155238886"


@dataclass(frozen=True)
class Ports:
    broker: int = 9092
    ingress: int = 8080
    nlu: int = 5005
    actions: int = 8081
    responder: int = 8082
    logger: int = 8083
    business_api: int = 8090
    twilio: int = 8091
    openrouter: int = 8092

    @classmethod
    def free(cls) -> Ports:
        return cls(*(infra.free_port() for _ in fields(cls)))


@dataclass(frozen=True)
class StackConfig:
    run_dir: Path
    ports: Ports = field(default_factory=Ports)
    kafka_bootstrap: str | None = None
    database_url: str = DEFAULT_DATABASE_URL
    fresh_database: bool = False
    redis_url: str = DEFAULT_REDIS_URL
    account_sid: str = DEMO_ACCOUNT_SID
    auth_token: str = DEMO_AUTH_TOKEN
    business_token: str = DEMO_BUSINESS_TOKEN
    partitions: int = 8
    extra_env: dict[str, str] = field(default_factory=dict)
    llm_standin: bool = False
    """Start the OpenRouter stand-in and let the responder's LLM writer use it (LLM_STANDIN=1, no key)."""

    @classmethod
    def from_environment(cls, run_dir: Path, *, ports: Ports | None = None) -> StackConfig:
        env = os.environ
        return cls(
            run_dir=run_dir,
            ports=ports or Ports(),
            kafka_bootstrap=env.get("KAFKA_BOOTSTRAP_SERVERS") or None,
            database_url=env.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            redis_url=env.get("REDIS_URL", DEFAULT_REDIS_URL),
            account_sid=env.get("TWILIO_ACCOUNT_SID", DEMO_ACCOUNT_SID),
            auth_token=env.get("TWILIO_AUTH_TOKEN", DEMO_AUTH_TOKEN),
            business_token=env.get("BUSINESS_API_TOKEN", DEMO_BUSINESS_TOKEN),
            llm_standin=env.get("LLM_STANDIN") == "1" and not env.get("OPENROUTER_API_KEY"),
        )


class StackError(RuntimeError):
    """The stack could not start: says which part and where its log is."""


APPROVED_TEMPLATES = {
    # What a studio would get WhatsApp to approve, for the messages that may go outside the 24-hour
    # window (services/responder/reach.py names the variables).
    "payment_confirmed": "¡Tu pago se acreditó! ✅ Tu {{1}} ya está activo{{2}}. Escríbenos cuando quieras "
                         "reservar tu próxima clase.",
    "payment_failed": "Tu pago de {{1}} no se pudo completar y no se hizo ningún cargo. Si quieres intentarlo de "
                      "nuevo, escríbenos y te mandamos otro enlace.",
}


def approve_templates(twilio_url: str, account_sid: str, auth_token: str) -> dict[str, str]:
    """Create `APPROVED_TEMPLATES` in the Twilio stand-in: reply kind → ContentSid."""
    sids = {}
    with httpx.Client(trust_env=False, timeout=10) as client:
        for kind, body in APPROVED_TEMPLATES.items():
            response = client.post(twilio_url + "/v1/Content", auth=(account_sid, auth_token), json={
                "friendly_name": f"orchestrator_{kind}", "language": "es", "types": {"twilio/text": {"body": body}}})
            response.raise_for_status()
            sids[kind] = str(response.json()["sid"])
    return sids


class Stack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.procs = infra.Processes()
        self.bootstrap = config.kafka_bootstrap or f"127.0.0.1:{config.ports.broker}"
        self.database_url = config.database_url
        self.redis_url = config.redis_url
        self.log_dir = config.run_dir / "logs"
        self.embedded: list[str] = []
        self.approved_templates: dict[str, str] = {}

    # --- addresses -----------------------------------------------------------------------------
    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{getattr(self.config.ports, name)}"

    @property
    def ingress_url(self) -> str:
        return self.url("ingress")

    @property
    def webhook_url(self) -> str:
        return self.ingress_url + "/webhooks/twilio/whatsapp"

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self, *, progress: bool = False) -> None:
        say = print if progress else (lambda *_: None)
        self.config.run_dir.mkdir(parents=True, exist_ok=True)
        self.config.run_dir.chmod(0o755)
        try:
            self._start_backing(say)
            asyncio.run(ensure_topics(self.bootstrap, all_topic_specs(self.config.partitions)))
            say(f"  topics ready on {self.bootstrap}")
            self._start("business_api", ["-m", "business_api"])
            self._start("twilio", ["-m", "twilio_standin"])
            standins = ["business_api", "twilio"]
            if self.config.llm_standin:
                self._start("openrouter", ["-m", "openrouter_standin"])
                standins.append("openrouter")
            self.wait_ready(standins)
            own = {**os.environ, **self.config.extra_env}
            if "RESPONDER_APPROVED_TEMPLATES" not in own and "TWILIO_API_BASE_URL" not in own:
                self.approved_templates = approve_templates(self.url("twilio"), self.config.account_sid,
                                                            self.config.auth_token)
            say("  business API and Twilio stand-in ready")
            for service in SERVICES:
                self.start_service(service)
            self.wait_ready(list(SERVICES))
            say("  ingress, nlu, actions, responder and logger ready")
        except BaseException:
            self.stop()
            raise

    def _start_backing(self, say: object) -> None:
        log = print if say is print else (lambda *_: None)
        if self.config.kafka_bootstrap is None:
            infra.start_tansu(self.procs, port=self.config.ports.broker, log_dir=self.log_dir)
            self.embedded.append("Kafka (Tansu)")
            log(f"  broker: Tansu at {self.bootstrap} (memory only)")
        else:
            log(f"  broker: {self.bootstrap}")
        if not infra.postgres_reachable(self.database_url):
            self.database_url = infra.start_embedded_postgres(
                self.procs, data_dir=self.config.run_dir / "pgdata", port=infra.free_port(), log_dir=self.log_dir)
            self.embedded.append("PostgreSQL")
            log(f"  PostgreSQL: embedded at {self.database_url}")
        if self.config.fresh_database:
            self.database_url = asyncio.run(create_database(self.database_url))
        if not infra.redis_reachable(self.redis_url):
            self.redis_url = infra.start_embedded_redis(self.procs, port=infra.free_port(), log_dir=self.log_dir)
            self.embedded.append("Redis")
            log(f"  Redis: embedded at {self.redis_url}")

    def service_env(self) -> dict[str, str]:
        ports = self.config.ports
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "TWILIO_ACCOUNT_SID": self.config.account_sid,
            "TWILIO_AUTH_TOKEN": self.config.auth_token,
            "BUSINESS_API_URL": self.url("business_api"),
            "BUSINESS_API_TOKEN": self.config.business_token,
            "BUSINESS_API_PORT": str(ports.business_api),
            "BUSINESS_API_DATABASE_URL": self.database_url,
            # The business API notifies ingress of payments, signed with BUSINESS_WEBHOOK_SECRET (both read it).
            "BUSINESS_API_ORCHESTRATOR_WEBHOOK_URL": self.ingress_url + "/webhooks/business/payments",
            "TWILIO_STANDIN_PORT": str(ports.twilio),
            "INGRESS_HTTP_PORT": str(ports.ingress),
            "INGRESS_PUBLIC_URL": self.ingress_url,
            "NLU_HTTP_PORT": str(ports.nlu),
            "ACTIONS_HTTP_PORT": str(ports.actions),
            "RESPONDER_HTTP_PORT": str(ports.responder),
            "RESPONDER_STATUS_CALLBACK_URL": self.ingress_url + "/webhooks/twilio/status",
            "LOGGER_HTTP_PORT": str(ports.logger),
            "LOGGER_JSONL_PATH": str(self.config.run_dir / "events.jsonl"),
        }
        env.setdefault("TWILIO_API_BASE_URL", self.url("twilio"))
        env.setdefault("BUSINESS_WEBHOOK_SECRET", DEMO_BUSINESS_WEBHOOK_SECRET)
        env.setdefault("BUSINESS_API_PAYMENT_BASE_URL", self.url("business_api") + "/pay")  # links on its port
        if self.config.llm_standin:  # the responder's LLM writer talks to the local stand-in
            env["OPENROUTER_API_KEY"] = DEMO_OPENROUTER_KEY
            env["OPENROUTER_BASE_URL"] = self.url("openrouter")
            env["OPENROUTER_STANDIN_PORT"] = str(ports.openrouter)
        if self.approved_templates:
            env["RESPONDER_APPROVED_TEMPLATES"] = json.dumps(self.approved_templates)
        env.update(self.config.extra_env)
        return env

    def _start(self, name: str, argv: list[str]) -> None:
        self.procs.start(name, [sys.executable, *argv], log_path=self.log_dir / f"{name}.log",
                         env=self.service_env())

    def start_service(self, name: str) -> None:
        self._start(name, ["-m", f"services.{name}"])

    def stop_service(self, name: str, *, kill: bool = False) -> None:
        import signal

        self.procs.stop(name, sig=signal.SIGKILL if kill else signal.SIGTERM)

    def wait_ready(self, names: list[str], *, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        pending = list(names)
        with httpx.Client(timeout=2.0) as client:
            while pending:
                for name in list(pending):
                    path = "/healthz" if name in ("twilio", "openrouter") else "/readyz"
                    try:
                        if client.get(self.url(name) + path).status_code == 200:
                            pending.remove(name)
                    except httpx.HTTPError:
                        pass
                for dead, code in self.procs.failed():
                    raise StackError(f"{dead} exited with code {code} while starting: see {self.log_tail(dead)}")
                if pending and time.monotonic() > deadline:
                    raise StackError(f"not ready after {timeout:.0f} s: {', '.join(pending)} "
                                     f"(logs in {self.log_dir})")
                if pending:
                    time.sleep(0.2)

    def log_tail(self, name: str, lines: int = 15) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return str(path)
        tail = path.read_text(errors="replace").splitlines()[-lines:]
        return f"{path}:\n" + "\n".join(tail)

    def stop(self) -> None:
        self.procs.stop_all()
