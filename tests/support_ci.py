"""What tests know about CI and the build.

Tests that need a tool from outside Python are skipped with the reason on a user's machine and
failed under CI (CI set to anything but empty, 0 or false), where the tool must be there.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import NoReturn

import pytest

MAKEFILE = Path(__file__).resolve().parents[1] / "Makefile"
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


def tool_unavailable(reason: str) -> NoReturn:
    """Skip the test with `reason`, or fail it under CI."""
    if IN_CI:
        pytest.fail(f"{reason} (required under CI)", pytrace=False)
    pytest.skip(reason)


def make_targets() -> set[str]:
    """The targets the Makefile defines."""
    text = MAKEFILE.read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][a-z0-9-]*):", text, flags=re.MULTILINE))


def made_with(target: str) -> set[str]:
    """`target` and every target it depends on, directly or not."""
    text = MAKEFILE.read_text(encoding="utf-8")
    rules = {
        name: prerequisites.split("|")[0].split()
        for name, prerequisites in re.findall(
            r"^([a-z][a-z0-9-]*):([^=\n#]*)", text, flags=re.MULTILINE
        )
    }
    found: set[str] = set()
    pending = [target]
    while pending:
        name = pending.pop()
        if name not in found:
            found.add(name)
            pending.extend(p for p in rules.get(name, []) if p in rules)
    return found
