"""The current branch and user name, read from git's files without spawning git."""

from __future__ import annotations

import os
import re
from pathlib import Path

_USER_SECTION = re.compile(r"^\s*\[user\]\s*$", re.IGNORECASE)
_SECTION = re.compile(r"^\s*\[")
_NAME = re.compile(r"^\s*name\s*=\s*(.+?)\s*$", re.IGNORECASE)


def find_git_dir(start: Path) -> Path | None:
    """The git directory for ``start``: ``.git/`` itself, or where a ``.git`` file points."""
    for folder in (start, *start.parents):
        dot_git = folder / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():
            # Worktrees and submodules: ".git" is a file holding "gitdir: <path>".
            try:
                text = dot_git.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError):
                return None
            if text.startswith("gitdir:"):
                target = Path(text[len("gitdir:") :].strip())
                return target if target.is_absolute() else (folder / target).resolve()
            return None
    return None


def current_branch(start: Path) -> str | None:
    """The checked-out branch name, or ``None`` when detached or not in a repository."""
    git_dir = find_git_dir(start)
    if git_dir is None:
        return None
    try:
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    prefix = "ref: refs/heads/"
    return head[len(prefix) :] if head.startswith(prefix) else None


def _user_name_from(config: Path) -> str | None:
    try:
        lines = config.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    in_user = False
    for line in lines:
        if _SECTION.match(line):
            in_user = bool(_USER_SECTION.match(line))
            continue
        match = _NAME.match(line) if in_user else None
        if match:
            return match.group(1).strip('"')
    return None


def user_name(start: Path) -> str | None:
    """``user.name`` from the repository's config, then the global one."""
    git_dir = find_git_dir(start)
    candidates: list[Path] = []
    if git_dir is not None:
        candidates.append(git_dir / "config")
        commondir = git_dir / "commondir"
        if commondir.is_file():
            candidates.append((git_dir / commondir.read_text().strip()).resolve() / "config")
    home = os.environ.get("HOME") or os.environ.get("USERPROFILE")
    if home:
        candidates.append(Path(home) / ".gitconfig")
    for config in candidates:
        name = _user_name_from(config)
        if name:
            return name
    return None


def create_branch(root: Path, name: str) -> None:
    """Create branch ``name`` at HEAD and switch to it (``git switch -c``)."""
    import shutil
    import subprocess

    from sdd.errors import SddError

    git = shutil.which("git")
    if git is None:
        raise SddError("--branch needs git on PATH")
    completed = subprocess.run(  # noqa: S603 - a fixed git command, no shell
        [git, "switch", "--quiet", "-c", name],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        detail = " ".join((completed.stderr or completed.stdout).split()) or "git switch failed"
        raise SddError(f"cannot create branch {name!r}: {detail}")


def require_repository(root: Path) -> None:
    """Fail before anything is written when ``root`` is not inside a git work tree."""
    from sdd.errors import SddError

    if find_git_dir(root) is None:
        raise SddError(f"--branch needs a git repository; {root} is not in one")
