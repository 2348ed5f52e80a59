"""The console for the browser tests: served by uvicorn in a thread, driven by the system
Chromium through Playwright. Screenshots of every page a test visits go to
``screenshots/`` at the repository root (git-ignored)."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn

from tests.support.environment import free_tcp_port, unavailable

CHROMIUM = os.environ.get("MASKING_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
TABLET = {"width": 800, "height": 1100}


class Server:
    def __init__(self, app: Any) -> None:
        self.port = free_tcp_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def launch_chromium() -> Iterator[Any]:
    """The system Chromium under Playwright, for as long as the caller iterates."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        unavailable(f"playwright is not installed: {exc}")
    if not Path(CHROMIUM).exists():
        unavailable(f"{CHROMIUM} not found: apt-get install chromium")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as exc:
            unavailable(f"Chromium does not start: {exc}")
        yield browser
        browser.close()


class Shots:
    """Saves ``screenshots/<test>-NN-<step>.png`` for each page visited."""

    def __init__(self, test_name: str) -> None:
        self.prefix = re.sub(r"[^A-Za-z0-9_-]+", "_", test_name.removeprefix("test_"))
        self.count = 0
        SCREENSHOTS.mkdir(exist_ok=True)

    def __call__(self, page: Any, step: str) -> Path:
        self.count += 1
        path = SCREENSHOTS / f"{self.prefix}-{self.count:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


def wait_live(
    page: Any,
    *,
    every: float,
    selector: str | None = None,
    function: str | None = None,
    timeout: float = 25.0,
) -> None:
    """Wait for ``selector`` (or the JavaScript ``function``) on a page that refreshes
    itself on a timer every ``every`` seconds, without waiting those seconds: the page's
    clock (``page.clock.install()`` before it loaded) is moved on by ``every`` on each try,
    so its own timer fires at once and it fetches itself as it would have later."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    deadline = time.monotonic() + timeout
    while True:
        page.clock.fast_forward(int(every * 1000))
        try:
            if selector is not None:
                page.wait_for_selector(selector, timeout=1_000)
            else:
                page.wait_for_function(function, timeout=1_000)
            return
        except PlaywrightTimeout:
            if time.monotonic() > deadline:
                raise


def sign_in(page: Any, login: str, password: str) -> None:
    page.goto("/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def sign_out(page: Any) -> None:
    page.click("#logout")
    page.wait_for_url("**/login")
