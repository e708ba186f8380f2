"""Fixtures for sdd tests: throwaway repositories and ways to run the CLI against them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sdd_helpers import CliResult
from typer.testing import CliRunner

from sdd.cli import app
from sdd.project import Project, load_project
from sdd.scaffold import init_project


@pytest.fixture(autouse=True)
def _isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # No test may read the developer's git identity or an inherited feature.
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.delenv("SPECIFY_FEATURE", raising=False)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.delenv("EDITOR", raising=False)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A freshly initialised project, also the working directory."""
    root = tmp_path / "repo"
    init_project(root)
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def project(repo: Path) -> Project:
    return load_project(repo)


@pytest.fixture
def cli() -> Callable[..., CliResult]:
    """Run ``sdd`` in-process through Typer's CliRunner (stdout and stderr kept apart)."""
    runner = CliRunner()

    def run(
        *args: str, input: str | bytes | None = None, env: dict[str, str] | None = None
    ) -> CliResult:
        result = runner.invoke(app, list(args), input=input, env=env, catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return run
