"""actions' liveness follows consumption: alive while consuming or idle, not when a record is stuck."""

from __future__ import annotations

from services.actions.agent import STALL_AFTER_S
from services.actions.main import bootstrap
from services.actions.settings import ActionsSettings
from tests.unit.actions.conversation import START
from tests.unit.actions.fake_studio import FakeStudio


def test_liveness_reflects_that_the_agent_consumes() -> None:
    worker = bootstrap(ActionsSettings(), business_api=FakeStudio(now=START))
    now = worker.last_progress
    assert worker.alive(now=now + 10 * STALL_AFTER_S), "idle with nothing to consume is alive"

    worker.in_handler[1] = now
    assert worker.alive(now=now + STALL_AFTER_S / 2)
    assert not worker.alive(now=now + STALL_AFTER_S + 1), "one record stuck in the handler"
    worker.in_handler.clear()

    worker.work_waiting = True
    assert worker.alive(now=now + STALL_AFTER_S / 2)
    assert not worker.alive(now=now + STALL_AFTER_S + 1), "records wait and none was processed"
    worker.last_progress = now + STALL_AFTER_S
    assert worker.alive(now=now + STALL_AFTER_S + 1), "progress again"

    worker.crashed = True
    assert not worker.alive(now=now)
