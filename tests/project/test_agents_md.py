"""AGENTS.md stays true: every make target, sdd command and path it names exists.

CLAUDE.md points to it. When a target is renamed or a file moves, this fails until the
instructions follow.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support_ci import make_targets
from tests.support_server import REPO_ROOT

AGENTS = REPO_ROOT / "AGENTS.md"
TEXT = AGENTS.read_text(encoding="utf-8")
SDD = Path(sys.executable).with_name("sdd")


def inline_code(text: str) -> list[str]:
    """The `inline code` spans, outside fenced blocks."""
    prose = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return re.findall(r"`([^`\n]+)`", prose)


MAKE_TARGETS = sorted(set(re.findall(r"\bmake ([a-z][a-z0-9-]*)", TEXT)))
SDD_COMMANDS = sorted(
    set(re.findall(r"\bsdd ((?:spec|adr|phr|contract) [a-z]+|check|init|schema|trace)", TEXT))
)
PATHS = sorted(
    {
        span.split(":")[0]
        for span in inline_code(TEXT)
        if "/" in span and re.fullmatch(r"[\w.][\w./-]*", span.split(":")[0]) and "NNN" not in span
    }
)


@pytest.mark.fr("009-contract-product/FR-013")
def test_claude_md_points_to_agents_md() -> None:
    claude = (REPO_ROOT / "CLAUDE.md").read_text(encoding="utf-8")

    assert "@AGENTS.md" in claude
    assert "(AGENTS.md)" in claude


@pytest.mark.fr("009-contract-product/FR-013")
def test_it_names_the_commands_and_paths_it_is_about() -> None:
    assert {"run", "test", "check", "generate", "contract-lint", "fuzz"} <= set(MAKE_TARGETS)
    assert {"spec new", "adr new", "adr accept", "adr index", "phr new"} <= set(SDD_COMMANDS)
    assert "openapi/openapi.yaml" in PATHS


@pytest.mark.fr("009-contract-product/FR-013")
@pytest.mark.parametrize("target", MAKE_TARGETS)
def test_make_target_exists(target: str) -> None:
    assert target in make_targets(), f"AGENTS.md names `make {target}`, which the Makefile lacks"


@pytest.mark.fr("009-contract-product/FR-013")
@pytest.mark.parametrize("command", SDD_COMMANDS)
def test_sdd_command_exists(command: str) -> None:
    result = subprocess.run(
        [str(SDD), *command.split(), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, f"`sdd {command}`: {result.stderr}"


@pytest.mark.fr("009-contract-product/FR-013")
@pytest.mark.parametrize("path", PATHS)
def test_path_exists(path: str) -> None:
    assert (REPO_ROOT / path).exists(), f"AGENTS.md names {path}, which does not exist"
