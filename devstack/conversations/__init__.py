"""Conversation tests: scripted WhatsApp conversations in YAML, played through signed webhooks
against a running stack, each turn's reply and business effects checked (docs/conversations.md).

`python -m devstack.conversations` runs them from the command line; tests call
`await run_suite(load_paths([...]), Target.from_stack(stack))`.
"""

from devstack.conversations.channel import Target, WhatsApp, wait_for
from devstack.conversations.format import (
    Conversation,
    ConversationFormatError,
    load_file,
    load_paths,
    parse,
    suite_problems,
)
from devstack.conversations.report import ConversationResult, Report, TurnResult
from devstack.conversations.runner import run_suite

__all__ = [
    "Conversation",
    "ConversationFormatError",
    "ConversationResult",
    "Report",
    "Target",
    "TurnResult",
    "WhatsApp",
    "load_file",
    "load_paths",
    "parse",
    "run_suite",
    "suite_problems",
    "wait_for",
]
