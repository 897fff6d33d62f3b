from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack import infra
from devstack.stack import Ports, Stack, StackConfig


@pytest.fixture(scope="session")
def stack_bootstrap(kafka_bootstrap: str, processes: infra.Processes, run_dir: Path) -> str:
    """A broker of the stack's own, so that its consumers never see what integration tests publish
    on the session's broker (and those tests never race the stack's services for a record)."""
    if os.environ.get("TEST_KAFKA_BOOTSTRAP_SERVERS"):
        return kafka_bootstrap  # an external broker: shared, as configured
    log_dir = run_dir / "stack-broker"
    log_dir.mkdir(exist_ok=True)
    return infra.start_tansu(processes, port=infra.free_port(), log_dir=log_dir)


@pytest.fixture(scope="session")
def stack(stack_bootstrap: str, postgres_url: str, redis_url: str, run_dir: Path) -> Iterator[Stack]:
    """The whole system as real processes on free ports, on its own broker and the session's databases."""
    config = StackConfig(run_dir=run_dir / "stack", ports=Ports.free(), kafka_bootstrap=stack_bootstrap,
                         database_url=postgres_url, fresh_database=True, redis_url=redis_url)
    stack = Stack(config)
    stack.start()
    yield stack
    stack.stop()
