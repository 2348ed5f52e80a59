"""AGI fixtures: the scripted call desk the FastAGI server asks."""

from __future__ import annotations

import pytest

from tests.support.agi import FakeDesk


@pytest.fixture
def desk() -> FakeDesk:
    return FakeDesk()
