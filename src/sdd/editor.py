"""``--edit``: open a created file in $VISUAL or $EDITOR, and only when asked."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Mapping
from pathlib import Path

from sdd.errors import SddError


def editor_command(environ: Mapping[str, str] | None = None) -> list[str]:
    """The editor to run; checked before anything is created so a failure leaves no file."""
    env = os.environ if environ is None else environ
    command = env.get("VISUAL") or env.get("EDITOR")
    if not command:
        raise SddError("--edit needs $VISUAL or $EDITOR to be set")
    return shlex.split(command, posix=os.name != "nt")


def open_in_editor(command: list[str], path: Path) -> None:
    try:
        completed = subprocess.run([*command, str(path)], check=False)  # noqa: S603 - the user's editor
    except OSError as exc:
        raise SddError(f"cannot start editor {command[0]!r}: {exc.strerror}") from exc
    if completed.returncode != 0:
        raise SddError(f"editor exited with status {completed.returncode}; {path} was kept")
