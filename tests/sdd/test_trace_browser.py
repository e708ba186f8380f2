"""The traceability page in headless Chromium: it renders its table, highlights gaps, loads nothing.

The page is written by the real ``sdd trace --html`` for this repository, opened from disk in
Debian's Chromium (the shared fixtures of ``tests/support_browser.py``), and screenshotted to
``var/trace.png`` so a reviewer (or a CI artefact) can look at it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sdd_helpers import run_sdd_process
from tests.support_browser import PageEvents

from sdd.project import load_project
from sdd.trace import build_trace

pytestmark = pytest.mark.fr("010-contract-gates/FR-012")

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO_ROOT / "var" / "trace.png"


@pytest.fixture
def trace_page(tmp_path: Path) -> Path:
    target = tmp_path / "trace.html"
    result = run_sdd_process("trace", "--html", str(target), cwd=REPO_ROOT)
    assert result.exit_code == 0, result.stderr
    return target


def test_the_page_renders_one_row_per_requirement(
    page: Page, page_events: PageEvents, trace_page: Path
) -> None:
    expected = build_trace(load_project(REPO_ROOT))
    url = trace_page.as_uri()
    page.goto(url)

    table = page.locator("table#trace")
    expect(table).to_be_visible()
    rows = table.locator("tbody tr.traced, tbody tr.gap")
    expect(rows).to_have_count(len(expected.rows))
    expect(table.locator("tbody tr.gap")).to_have_count(len(expected.gaps))
    expect(table.locator("thead th")).to_have_text(
        ["Requirement", "Operations", "Handler", "Tests", "Fuzzing", "Status"], ignore_case=True
    )
    expect(page.locator("#req-002-tasks-FR-013")).to_contain_text("updateTask")
    expect(page.locator("#req-002-tasks-FR-013")).to_contain_text("src/taskapi/tasks/router.py:")

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shot = page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert shot.startswith(b"\x89PNG\r\n\x1a\n")
    assert page_events.console_errors == []
    assert page_events.failed == []
    assert set(page_events.fetched) <= {url}


def test_gaps_are_highlighted_and_can_be_shown_alone(page: Page, trace_page: Path) -> None:
    expected = build_trace(load_project(REPO_ROOT))
    page.goto(trace_page.as_uri())
    gap_cell = page.locator("tbody tr.gap td").first
    traced_cell = page.locator("tbody tr.traced td").first
    if expected.gaps:
        gap_background = gap_cell.evaluate("cell => getComputedStyle(cell).backgroundColor")
        traced_background = traced_cell.evaluate("cell => getComputedStyle(cell).backgroundColor")
        assert gap_background != traced_background
        expect(gap_cell.locator("xpath=..").locator(".badge.gap")).to_have_text("gap")

    page.get_by_label("Show only requirements with gaps").check()
    expect(page.locator("tbody tr.traced").first).to_be_hidden()
    visible = page.locator("tbody tr.gap:visible, tbody tr.traced:visible")
    expect(visible).to_have_count(len(expected.gaps))
