"""Fuzz coverage per operation: from Schemathesis JUnit reports, or from the fuzzed contract.

``make fuzz`` writes a JUnit report whose test cases are named after the operation they
exercised (``POST /api/v1/tasks``); stateful scenarios name every operation of the chain. With
no report, an operation counts as covered by the fuzzed contract when the test suite runs
Schemathesis on the contract file and no ``[[operations]]`` table of a ``schemathesis.toml``
disables it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sdd.trace.sources import python_files

FuzzState = Literal["passed", "failed", "not in report", "in fuzzed contract", "disabled", "none"]
_OPERATION = re.compile(r"\b(GET|PUT|POST|PATCH|DELETE|HEAD|OPTIONS|TRACE) (/[^\s,\]\)>]*)")
_TEMPLATE = re.compile(r"\{[^}/]*\}")
_SCHEMATHESIS = re.compile(r"^\s*(import|from) schemathesis\b", re.MULTILINE)


@dataclass(frozen=True)
class FuzzResult:
    state: FuzzState
    detail: str = ""

    @property
    def gap(self) -> bool:
        return self.state in ("failed", "not in report", "disabled")


@dataclass
class FuzzEvidence:
    """What is known about fuzzing in this repository."""

    source: str
    reports: list[str] = field(default_factory=list)
    # (method, path template) -> (cases, failures, failure messages)
    outcomes: dict[tuple[str, str], tuple[int, int, list[str]]] = field(default_factory=dict)
    fuzzes_contract: bool = False
    disabled: dict[str, str] = field(default_factory=dict)

    def result(self, operation_id: str, method: str, path: str) -> FuzzResult:
        if self.reports:
            outcome = self.outcomes.get((method.upper(), _key(path)))
            if outcome is None:
                return FuzzResult("not in report", f"no test case in {', '.join(self.reports)}")
            cases, failures, messages = outcome
            if failures:
                return FuzzResult("failed", "; ".join(messages) or f"{failures} failed")
            return FuzzResult("passed", f"{cases} scenario(s) passed")
        if operation_id in self.disabled:
            return FuzzResult("disabled", self.disabled[operation_id])
        if self.fuzzes_contract:
            return FuzzResult("in fuzzed contract", "not run here: `make fuzz` writes a report")
        return FuzzResult("none", "this repository does not fuzz its contract")


def _key(path: str) -> str:
    return _TEMPLATE.sub("{}", path)


def read_junit(path: Path, evidence: FuzzEvidence, root: Path) -> None:
    from xml.etree import ElementTree

    try:
        tree = ElementTree.parse(path)  # noqa: S314 - a report this repository wrote itself
    except (OSError, ElementTree.ParseError):
        return
    evidence.reports.append(_relative(path, root))
    for case in tree.iter("testcase"):
        name = case.get("name") or ""
        failed = [
            (child.get("message") or child.tag)
            for child in case
            if child.tag in ("failure", "error")
        ]
        for method, raw_path in _OPERATION.findall(name):
            key = (method, _key(raw_path))
            cases, failures, messages = evidence.outcomes.get(key, (0, 0, []))
            evidence.outcomes[key] = (
                cases + 1,
                failures + (1 if failed else 0),
                messages + [f"{name}: {m}" for m in failed],
            )


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def gather_fuzz(
    root: Path, *, reports: list[Path], tests_dir: Path, operation_ids: list[str]
) -> FuzzEvidence:
    """Reports when there are any; otherwise whether the test suite fuzzes the contract."""
    evidence = FuzzEvidence(source="")
    for report in reports:
        read_junit(report, evidence, root)
    if evidence.reports:
        evidence.source = f"Schemathesis report {', '.join(evidence.reports)}"
        return evidence
    evidence.fuzzes_contract = any(True for _ in python_files(tests_dir, needle=_SCHEMATHESIS))
    if evidence.fuzzes_contract:
        for config in sorted(tests_dir.rglob("schemathesis.toml")):
            evidence.disabled.update(_disabled_operations(config, operation_ids, root))
        evidence.source = "the test suite fuzzes the contract (no report under var/fuzz/ yet)"
    else:
        evidence.source = "no fuzzing found"
    return evidence


def _disabled_operations(config: Path, operation_ids: list[str], root: Path) -> dict[str, str]:
    import tomllib

    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    disabled: dict[str, str] = {}
    for table in data.get("operations", []) if isinstance(data.get("operations"), list) else []:
        if not isinstance(table, dict) or table.get("enabled", True) is not False:
            continue
        exact = table.get("include-operation-id")
        pattern = table.get("include-operation-id-regex")
        for operation_id in operation_ids:
            if operation_id == exact or (
                isinstance(pattern, str) and re.search(pattern, operation_id)
            ):
                disabled[operation_id] = f"disabled in {_relative(config, root)}"
    return disabled


def default_reports(root: Path) -> list[Path]:
    return sorted((root / "var" / "fuzz").glob("*.xml"))
