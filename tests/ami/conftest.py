"""AMI fixtures: the fake AMI peer on a free port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.fake_ami import FakeAmi


@pytest.fixture
async def ami() -> AsyncIterator[FakeAmi]:
    server = await FakeAmi().start()
    yield server
    await server.stop()
