"""Which commit the contract is compared against, and reading a file as it was there.

Git is run as a child process with a fixed argument list; nothing here touches the network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sdd.errors import SddError

DEFAULT_BRANCHES = ("main", "origin/main")


class GitUnavailable(SddError):
    """No git executable, or the project is not inside a git work tree."""


@dataclass(frozen=True)
class Repository:
    top: Path
    git: str

    def run(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(  # noqa: S603 - a fixed git command line, no shell
            [self.git, *args],
            cwd=self.top,
            capture_output=True,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"},
        )

    def output(self, *args: str) -> str | None:
        completed = self.run(*args)
        return completed.stdout.decode("utf-8").strip() if completed.returncode == 0 else None

    def commit(self, ref: str) -> str | None:
        return self.output("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")

    def short(self, commit: str) -> str:
        return self.output("rev-parse", "--short", commit) or commit[:12]

    def is_shallow(self) -> bool:
        return self.output("rev-parse", "--is-shallow-repository") == "true"

    def read(self, commit: str, path: str) -> str:
        """The text of the repository-relative ``path`` at ``commit``."""
        completed = self.run("cat-file", "blob", f"{commit}:{path}")
        if completed.returncode != 0:
            raise FileNotFoundError(path)
        return completed.stdout.decode("utf-8")

    def relative(self, path: Path) -> str:
        return path.resolve().relative_to(self.top).as_posix()


def open_repository(start: Path) -> Repository:
    git = shutil.which("git")
    if git is None:
        raise GitUnavailable("git is not installed")
    completed = subprocess.run(  # noqa: S603 - a fixed git command line, no shell
        [git, "rev-parse", "--show-toplevel"], cwd=start, capture_output=True, check=False
    )
    if completed.returncode != 0:
        raise GitUnavailable(f"{start} is not inside a git work tree")
    return Repository(Path(completed.stdout.decode("utf-8").strip()).resolve(), git)


@dataclass(frozen=True)
class Base:
    """The commit to compare against, and a sentence saying why it was chosen."""

    commit: str | None
    description: str


def choose_base(repo: Repository, requested: str | None) -> Base:
    """``requested``, else the merge base with main, else the latest tag, else HEAD."""
    if requested is not None:
        commit = repo.commit(requested)
        if commit is None:
            raise SddError(f"--base {requested!r} is not a commit in this repository")
        return Base(commit, f"{requested} ({repo.short(commit)})")
    head = repo.commit("HEAD")
    if head is None:
        return Base(None, "nothing: the repository has no commit yet")
    unrelated: list[str] = []
    for branch in DEFAULT_BRANCHES:
        if repo.commit(branch) is None:
            continue
        merge_base = repo.output("merge-base", "HEAD", branch)
        if not merge_base:
            unrelated.append(branch)
            continue
        same = " (HEAD itself: only uncommitted changes count)" if merge_base == head else ""
        return Base(
            merge_base, f"the merge base of HEAD and {branch}, {repo.short(merge_base)}{same}"
        )
    missing = (
        f"{' and '.join(unrelated)} shares no history with HEAD here"
        if unrelated
        else "there is no main branch"
    )
    if repo.is_shallow():
        missing += " (a shallow clone: fetch with full history to compare with main)"
    tag = repo.output("describe", "--tags", "--abbrev=0", "HEAD")
    if tag:
        commit = repo.commit(tag) or head
        return Base(commit, f"the latest tag {tag} ({repo.short(commit)}), as {missing}")
    return Base(
        head,
        f"HEAD ({repo.short(head)}), as {missing} and no tag: only uncommitted changes count",
    )
