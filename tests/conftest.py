"""Session fixtures: a real broker, PostgreSQL and Redis, started by the project's own tooling.

The broker is a Tansu started for this session (or KAFKA_BOOTSTRAP_SERVERS when set);
PostgreSQL and Redis are the ones at DATABASE_URL / REDIS_URL when reachable, else embedded
ones. A fixture that cannot provide its dependency fails the run: it never skips.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from devstack import infra
from devstack.databases import create_database, drop_database
from runtime.kafka import all_topic_specs, ensure_topics

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="session")
def run_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="orchestrator-tests-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def processes() -> Iterator[infra.Processes]:
    procs = infra.Processes()
    yield procs
    procs.stop_all()


@pytest.fixture(scope="session")
def kafka_bootstrap(processes: infra.Processes, run_dir: Path) -> str:
    configured = os.environ.get("TEST_KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        return configured
    return infra.start_tansu(processes, port=infra.free_port(), log_dir=run_dir)


@pytest.fixture
async def own_broker(tmp_path: Path) -> AsyncIterator[str]:
    """A broker of the test's own with every topic, for a service that consumes under its fixed group
    (its consumers never see what other tests published, nor race them for a record)."""
    procs = infra.Processes()
    try:
        bootstrap = infra.start_tansu(procs, port=infra.free_port(), log_dir=tmp_path)
        await ensure_topics(bootstrap, all_topic_specs())
        yield bootstrap
    finally:
        procs.stop_all()


@pytest.fixture(scope="session")
def postgres_url(processes: infra.Processes, run_dir: Path) -> str:
    """A server-level DSN (database `postgres` or DATABASE_URL's) that can create databases."""
    configured = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    if infra.postgres_reachable(configured):
        return configured
    return infra.start_embedded_postgres(processes, data_dir=run_dir / "pg", port=infra.free_port(),
                                         log_dir=run_dir)


@pytest.fixture(scope="session")
def redis_url(processes: infra.Processes, run_dir: Path) -> str:
    configured = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    if infra.redis_reachable(configured):
        return configured
    return infra.start_embedded_redis(processes, port=infra.free_port(), log_dir=run_dir)


@pytest.fixture
async def fresh_database(postgres_url: str) -> AsyncIterator[str]:
    """An empty PostgreSQL database for one test, dropped after it."""
    dsn = await create_database(postgres_url)
    yield dsn
    await drop_database(dsn)


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Unique names for per-test topics, groups and keys."""
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def make_topics(kafka_bootstrap: str) -> Callable[..., Awaitable[None]]:
    async def _make(*names: str, partitions: int = 4) -> None:
        await ensure_topics(kafka_bootstrap, [(name, partitions) for name in names])

    return _make
