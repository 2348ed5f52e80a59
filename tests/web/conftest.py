"""Web fixtures: the API on two seeded sites of the real service (Redis +
SQLite/PostgreSQL), and the console served to headless Chromium (SQLite + Redis)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from masking.service import MaskingService
from tests.support.browser import TABLET, Server, Shots
from tests.support.clock import FakeClock
from tests.support.services import make_settings, open_service
from tests.support.web import RecordingOriginator, Seeded, seed_world


# ---- the API ---------------------------------------------------------------------------
@pytest.fixture
def world(service: MaskingService) -> Seeded:
    return seed_world(service)


@pytest.fixture
def originator() -> RecordingOriginator:
    return RecordingOriginator()


@pytest.fixture
def client(
    service: MaskingService, world: Seeded, originator: RecordingOriginator
) -> Iterator[TestClient]:
    from masking.web import create_app

    with TestClient(create_app(service, originator)) as test_client:
        yield test_client


# ---- the console in Chromium -------------------------------------------------------------
@pytest.fixture
def browser_service(
    tmp_path: Path, sqlite_url: str, redis_prefix: str, clock: FakeClock
) -> Iterator[MaskingService]:
    with open_service(make_settings(tmp_path, sqlite_url, redis_prefix), clock) as service:
        yield service


@pytest.fixture
def seeded(browser_service: MaskingService) -> Seeded:
    return seed_world(browser_service)


@pytest.fixture
def console(browser_service: MaskingService, seeded: Seeded) -> Iterator[Server]:
    from masking.web import create_app

    with Server(create_app(browser_service, RecordingOriginator())) as server:
        yield server


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    return Shots(request.node.name)


@pytest.fixture
def new_page(chromium: Any, console: Server) -> Iterator[Callable[[], Any]]:
    contexts: list[Any] = []

    def make() -> Any:
        context = chromium.new_context(viewport=TABLET, base_url=console.url)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
