from __future__ import annotations

import pytest

from tests.unit.actions.conversation import RECORDING, START, Conversation, write_recordings
from tests.unit.actions.fake_studio import FakeStudio


@pytest.fixture
def studio() -> FakeStudio:
    return FakeStudio(now=START)


@pytest.fixture
def chat(studio: FakeStudio) -> Conversation:
    return Conversation(studio)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With RECORD_NLU=1 (`make nlu-recordings`), write back the NLU readings the policy tests used."""
    if RECORDING:
        write_recordings(prune=exitstatus == 0)
