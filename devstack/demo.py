"""`make demo`: start the whole system locally, print where to click, stop everything on Ctrl-C."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from pydantic_settings import BaseSettings

from business_api.settings import BusinessApiSettings
from devstack.infra import InfraError
from devstack.stack import DEMO_BUSINESS_NUMBER, Stack, StackConfig, StackError
from openrouter_standin.settings import StandinSettings as OpenRouterStandinSettings
from runtime.settings import EXIT_CONFIG, settings_errors
from services.actions.settings import ActionsSettings
from services.ingress.settings import IngressSettings
from services.logger.settings import LoggerSettings
from services.nlu.settings import NluSettings
from services.responder.settings import ResponderSettings
from twilio_standin.settings import StandinSettings

SETTINGS: dict[str, type[BaseSettings]] = {
    "business-api": BusinessApiSettings,
    "twilio-standin": StandinSettings,
    "openrouter-standin": OpenRouterStandinSettings,
    "ingress": IngressSettings,
    "nlu": NluSettings,
    "actions": ActionsSettings,
    "responder": ResponderSettings,
    "logger": LoggerSettings,
}


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def settings_problems(stack: Stack) -> list[str]:
    """Every process's settings checked against the environment the stack gives it: one line per problem."""
    env = stack.service_env()
    return [line for name, cls in SETTINGS.items() for line in settings_errors(cls, name, env)]


def main() -> int:
    run_dir = Path(".run/demo").resolve()
    config = StackConfig.from_environment(run_dir)
    stack = Stack(config)
    problems = settings_problems(stack)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return EXIT_CONFIG
    for sig in (signal.SIGINT, signal.SIGTERM):  # explicit: a backgrounded demo inherits SIGINT ignored
        signal.signal(sig, _interrupt)
    print("Starting the WhatsApp orchestrator demo…")
    try:
        stack.start(progress=True)
    except (StackError, InfraError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopped")
        return 130
    ports = config.ports
    writer = (f"an LLM: the OpenRouter stand-in, http://127.0.0.1:{ports.openrouter}/_standin/requests (prompts)"
              if config.llm_standin else "an LLM through OpenRouter (OPENROUTER_API_KEY)"
              if stack.service_env().get("OPENROUTER_API_KEY") else "templates (LLM_STANDIN=1: a local LLM stand-in)")
    print(f"""
Ready. Everything below runs on this machine; Ctrl-C stops all of it.

  ingress (Twilio webhook)  POST {stack.webhook_url}
                            public URL for signatures: {stack.ingress_url}
  nlu (Rasa-compatible)     POST http://127.0.0.1:{ports.nlu}/model/parse
  business API              http://127.0.0.1:{ports.business_api}   (Bearer {config.business_token})
  Twilio stand-in           http://127.0.0.1:{ports.twilio}/_standin/messages  (replies the bot sent)
  replies written by        {writer}
  metrics                   http://127.0.0.1:{{8080,5005,8081,8082,8083}}/metrics
  broker                    {stack.bootstrap}
  event log                 {stack.database_url}  (schema orchestrator, table events)
  logs                      {stack.log_dir}

  Twilio account SID        {config.account_sid}
  Twilio auth token         {config.auth_token}
  business WhatsApp number  {DEMO_BUSINESS_NUMBER}

Try it:  .venv/bin/python -m devstack.say "hola"     (signs and posts a webhook, prints the reply)
""")
    try:
        while True:
            for name, code in stack.procs.failed():
                print(f"error: {name} stopped with code {code}: {stack.log_tail(name)}", file=sys.stderr)
                return 1
            time.sleep(1.0)
    except KeyboardInterrupt:
        print("\nstopping…")
        return 0
    finally:
        stack.stop()
        print("stopped everything the demo started")


if __name__ == "__main__":
    sys.exit(main())
