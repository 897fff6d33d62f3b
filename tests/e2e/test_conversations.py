"""The conversation tests (tests/conversations/*.yml) played against the running stack: every one must pass."""

from __future__ import annotations

from pathlib import Path

from devstack.conversations import Target, load_paths, run_suite
from devstack.stack import Stack

CONVERSATIONS = Path(__file__).resolve().parents[1] / "conversations"


async def test_every_conversation_passes(stack: Stack) -> None:
    report = await run_suite(load_paths([CONVERSATIONS]), Target.from_stack(stack))
    print(report.table(), report.summary(), sep="\n\n")  # pytest shows it when the test fails
    assert report.passed, "\n" + report.table(only_failed=True) + "\n\n" + report.summary()
