"""Helpers shared by the sdd tests: CLI results, child processes, file listings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_sdd_process(
    *args: str, cwd: Path, input: bytes | None = None, env: dict[str, str] | None = None
) -> CliResult:
    """Run the real ``python -m sdd`` in a child process."""
    completed = subprocess.run(
        [sys.executable, "-m", "sdd", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        env={**os.environ, **(env or {})},
        check=False,
        timeout=60,
    )
    return CliResult(
        completed.returncode,
        completed.stdout.decode("utf-8"),
        completed.stderr.decode("utf-8"),
    )


def files_under(root: Path) -> set[str]:
    """Every file below ``root`` (POSIX, relative), private state excluded."""
    return {
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and ".sdd" not in path.parts
    }


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
