from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.stack import Ports, Stack, StackConfig


@pytest.fixture(scope="session")
def stack(kafka_bootstrap: str, postgres_url: str, redis_url: str, run_dir: Path) -> Iterator[Stack]:
    """The whole system as real processes on free ports, on the session's broker and databases."""
    config = StackConfig(run_dir=run_dir / "stack", ports=Ports.free(), kafka_bootstrap=kafka_bootstrap,
                         database_url=postgres_url, fresh_database=True, redis_url=redis_url)
    stack = Stack(config)
    stack.start()
    yield stack
    stack.stop()
