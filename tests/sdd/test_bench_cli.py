"""``make bench-cli`` times sdd the way an installed copy runs: with its bytecode cached."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from tests.benchmarks.bench_cli import run_once

SAYS_IF_BYTECODE_IS_OFF = (
    "import os, sys; sys.exit(3 if os.environ.get('PYTHONDONTWRITEBYTECODE') else 0)"
)


@pytest.mark.fr("004-sdd-cli/FR-018")
def test_timed_commands_write_and_reuse_their_bytecode(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Without a bytecode cache every timed run compiles sdd's modules again, which no
    # installed copy does; the warm-up round writes the cache the timed rounds then read.
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    wall, cpu = run_once([sys.executable, "-c", SAYS_IF_BYTECODE_IS_OFF], cwd=tmp_path)
    assert wall > 0 and cpu >= 0
