"""``sdd contract diff``: classify every change of the contract against an earlier version.

The rules live in :mod:`sdd.contract_diff.compare`, the ``$ref``-aware documents in
:mod:`sdd.contract_diff.documents`, and the choice of the base commit in
:mod:`sdd.contract_diff.git`. This module ties them to a project and decides the verdict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdd.contract_diff.compare import Change, Comparer
from sdd.contract_diff.documents import Contract, ContractLoadError, Reader
from sdd.errors import SddError

__all__ = ["Change", "Contract", "ContractLoadError", "DiffReport", "compare_contracts"]

_MAJOR = re.compile(r"^\s*v?(\d+)")


def major_version(version: Any) -> int | None:
    match = _MAJOR.match(str(version)) if version is not None else None
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class DiffReport:
    """The changes between two contracts, and whether they may be merged."""

    base: str
    head: str
    base_version: str | None = None
    head_version: str | None = None
    changes: list[Change] = field(default_factory=list)
    skipped: str | None = None

    @property
    def breaking(self) -> list[Change]:
        return [change for change in self.changes if change.breaking]

    @property
    def major_bumped(self) -> bool:
        before, after = major_version(self.base_version), major_version(self.head_version)
        return before is not None and after is not None and after > before

    @property
    def ok(self) -> bool:
        return not self.breaking or self.major_bumped

    def verdict(self) -> str:
        if self.skipped:
            return f"skipped: {self.skipped}"
        versions = f"info.version {self.base_version} → {self.head_version}"
        if not self.changes:
            return f"no changes ({versions})"
        counts = f"{len(self.breaking)} breaking, {len(self.changes) - len(self.breaking)} not"
        if not self.breaking:
            return f"{counts}; nothing breaks clients ({versions})"
        if self.major_bumped:
            return f"{counts}; allowed by the major version bump ({versions})"
        before = major_version(self.base_version)
        wanted = f" (to {before + 1}.0.0)" if before is not None else ""
        return f"{counts}; a breaking change needs a major version bump{wanted} ({versions})"

    def to_json(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "head": self.head,
            "base_version": self.base_version,
            "head_version": self.head_version,
            "major_bumped": self.major_bumped,
            "skipped": self.skipped,
            "verdict": self.verdict(),
            "breaking": len(self.breaking),
            "changes": [change.to_json() for change in self.changes],
        }


def compare_contracts(base: Contract, head: Contract) -> DiffReport:
    """Every change from ``base`` to ``head``, breaking ones included."""
    for side in (base, head):
        if not isinstance(side.root, dict):
            raise ContractLoadError(f"{side.label}: {side.main_file} is not a YAML mapping")
    changes = Comparer(base, head).run()
    return DiffReport(
        base=base.label,
        head=head.label,
        base_version=_version(base),
        head_version=_version(head),
        changes=changes,
    )


def _version(contract: Contract) -> str | None:
    info = contract.root.get("info")
    version = info.get("version") if isinstance(info, dict) else None
    return None if version is None else str(version)


def file_reader(folder: Path) -> Reader:
    def read(path: str) -> str:
        return (folder / path).read_text(encoding="utf-8")

    return read


def diff_project(
    contract_path: Path,
    *,
    base_ref: str | None = None,
    head_ref: str | None = None,
    base_file: Path | None = None,
) -> DiffReport:
    """Compare the contract at ``contract_path`` with the chosen base, as FR-001 describes."""
    from sdd.contract_diff.git import GitUnavailable, choose_base, open_repository

    if base_file is not None and base_ref is not None:
        raise SddError("give --base or --base-file, not both")
    try:
        repo = open_repository(contract_path.parent)
    except GitUnavailable as exc:
        if base_ref is not None or head_ref is not None:
            raise SddError(f"--base and --head need git: {exc.message}") from None
        if base_file is None:
            return DiffReport(
                base="nothing",
                head=contract_path.name,
                skipped=f"{exc.message}, so there is no earlier contract to compare with",
            )
        repo = None
    if repo is not None:
        relative = repo.relative(contract_path)
        head_reader: Reader = file_reader(repo.top)
        head_label = f"{relative} (working tree)"
        if head_ref is not None:
            head_commit = repo.commit(head_ref)
            if head_commit is None:
                raise SddError(f"--head {head_ref!r} is not a commit in this repository")
            head_reader = _commit_reader(repo, head_commit)
            head_label = f"{relative} at {head_ref} ({repo.short(head_commit)})"
    else:
        relative = contract_path.name
        head_reader = file_reader(contract_path.parent)
        head_label = f"{relative} (working tree)"
    head = Contract(relative, head_label, head_reader)
    if not _exists(head):
        raise SddError(f"{head_label}: the contract does not exist")
    if base_file is not None:
        folder = base_file.resolve().parent
        base = Contract(base_file.name, f"{base_file}", file_reader(folder))
        return compare_contracts(base, head)
    assert repo is not None
    chosen = choose_base(repo, base_ref)
    if chosen.commit is None:
        return DiffReport(base="nothing", head=head_label, skipped=chosen.description)
    base = Contract(
        relative, f"{relative} at {chosen.description}", _commit_reader(repo, chosen.commit)
    )
    if not _exists(base):
        return DiffReport(
            base=base.label,
            head=head_label,
            skipped=f"{relative} does not exist at {chosen.description}: nothing to compare",
        )
    return compare_contracts(base, head)


def _commit_reader(repo: Any, commit: str) -> Reader:
    def read(path: str) -> str:
        text: str = repo.read(commit, path)
        return text

    return read


def _exists(contract: Contract) -> bool:
    try:
        contract.reader(contract.main_file)
    except FileNotFoundError:
        return False
    return True


def render_text(report: DiffReport, *, breaking_only: bool = False) -> str:
    """Two lines per change: verdict, kind and wire pointer; then who, why and where written."""
    lines: list[str] = []
    for change in report.changes:
        if breaking_only and not change.breaking:
            continue
        lines.append(
            f"{'BREAKING' if change.breaking else 'ok      '}  {change.kind}  {change.pointer}"
        )
        who = ", ".join(part for part in (change.operation, change.direction) if part)
        written = change.head or change.base
        where = f" [written at {written}]" if written and written != change.pointer else ""
        lines.append(f"          {who + ': ' if who else ''}{change.reason}{where}")
    return "\n".join(lines)
