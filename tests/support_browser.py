"""Headless Chromium for tests: Debian's browser driven by Playwright, never a downloaded one.

A pytest plugin (loaded from tests/conftest.py), so any test can ask for `browser`, `page` and
`page_events`. Without /usr/bin/chromium (`apt-get install chromium`; `.ci/run` installs it) the
tests that use them are skipped with that reason, and fail under CI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support_ci import tool_unavailable

CHROMIUM = Path(os.environ.get("TASKAPI_TEST_CHROMIUM", "/usr/bin/chromium"))
# The machine has no network but loopback: keep Chromium from calling home at start-up.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
# Generous: CI machines are shared, and a timeout here is a failure, never a retry.
TIMEOUT_MS = 20_000
expect.set_options(timeout=TIMEOUT_MS)


@dataclass
class PageEvents:
    """What a page did: console errors, and the URLs it fetched or failed to fetch."""

    console_errors: list[str] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def fetched_elsewhere(self, origin: str) -> list[str]:
        """URLs fetched from anywhere but `origin` (blob: URLs the page made itself excepted)."""
        return [
            url for url in self.fetched if not url.startswith((origin + "/", f"blob:{origin}/"))
        ]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per test module (each test gets a fresh context from `page`)."""
    if not os.access(CHROMIUM, os.X_OK):
        tool_unavailable(f"no Chromium at {CHROMIUM}: install Debian's chromium package")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS), timeout=TIMEOUT_MS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh context: no cookies or storage shared with another test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page_events(page: Page) -> PageEvents:
    events = PageEvents()
    page.on(
        "console",
        lambda message: (
            events.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    page.on("requestfinished", lambda request: events.fetched.append(request.url))
    page.on("requestfailed", lambda request: events.failed.append(request.url))
    return events
