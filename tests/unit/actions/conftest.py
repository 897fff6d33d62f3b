from __future__ import annotations

import pytest

from tests.unit.actions.conversation import START, Conversation
from tests.unit.actions.fake_studio import FakeStudio


@pytest.fixture
def studio() -> FakeStudio:
    return FakeStudio(now=START)


@pytest.fixture
def chat(studio: FakeStudio) -> Conversation:
    return Conversation(studio)
