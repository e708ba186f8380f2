"""``sdd trace``: one row per functional requirement, from spec to contract, code, tests and fuzz.

Specs give the requirements and the operationIds each one names; the contract says whether
those operations exist; :mod:`sdd.trace.sources` finds their handlers and the tests that name
each requirement; :mod:`sdd.trace.fuzz` says whether they are fuzzed. A row is ``traced`` when
nothing is missing, and ``gap`` with the list of what is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sdd.project import Project
from sdd.trace.fuzz import FuzzResult, default_reports, gather_fuzz
from sdd.trace.sources import Handler, TestRef, find_handlers, find_tests

Status = Literal["traced", "gap"]


@dataclass(frozen=True)
class OperationTrace:
    operation_id: str
    method: str | None
    path: str | None
    handlers: list[Handler]
    fuzz: FuzzResult

    @property
    def in_contract(self) -> bool:
        return self.method is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "operation_id": self.operation_id,
            "in_contract": self.in_contract,
            "method": self.method,
            "path": self.path,
            "handlers": [h.where for h in self.handlers],
            "fuzz": {"state": self.fuzz.state, "detail": self.fuzz.detail},
        }


@dataclass(frozen=True)
class Row:
    feature: str
    requirement: str
    text: str
    spec: str
    line: int
    operations: list[OperationTrace]
    tests: list[TestRef]
    gaps: list[str]

    @property
    def key(self) -> str:
        return f"{self.feature}/{self.requirement}"

    @property
    def status(self) -> Status:
        return "gap" if self.gaps else "traced"

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "feature": self.feature,
            "requirement": self.requirement,
            "text": self.text,
            "spec": f"{self.spec}:{self.line}",
            "operations": [op.to_json() for op in self.operations],
            "tests": [{"id": t.node_id, "where": t.where} for t in self.tests],
            "status": self.status,
            "gaps": self.gaps,
        }


@dataclass(frozen=True)
class SpecHeading:
    feature: str
    title: str
    status: str


@dataclass
class Trace:
    project: str
    generated_at: str
    specs: list[SpecHeading]
    rows: list[Row]
    fuzz_source: str
    unknown: list[tuple[TestRef, str]] = field(default_factory=list)
    unclaimed_operations: list[str] = field(default_factory=list)
    unmarked_tests: list[TestRef] = field(default_factory=list)
    test_count: int = 0

    @property
    def gaps(self) -> list[Row]:
        return [row for row in self.rows if row.gaps]

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "generated_at": self.generated_at,
            "fuzz_source": self.fuzz_source,
            "summary": {
                "requirements": len(self.rows),
                "traced": len(self.rows) - len(self.gaps),
                "gaps": len(self.gaps),
                "tests": self.test_count,
                "unmarked_tests": len(self.unmarked_tests),
                "unknown_requirements": len(self.unknown),
            },
            "rows": [row.to_json() for row in self.rows],
            "unknown_requirements": [
                {"test": test.node_id, "where": test.where, "requirement": key}
                for test, key in self.unknown
            ],
            "unclaimed_operations": self.unclaimed_operations,
            "unmarked_tests": [test.node_id for test in self.unmarked_tests],
        }


def build_trace(
    project: Project,
    *,
    source_dir: Path | None = None,
    tests_dir: Path | None = None,
    reports: list[Path] | None = None,
    now: dt.datetime | None = None,
) -> Trace:
    from sdd.contract import ContractError, load_operations
    from sdd.specs import list_specs, parse_requirements

    root = project.root
    source_dir = source_dir or root / "src"
    tests_dir = tests_dir or root / "tests"
    try:
        operations = {
            op.operation_id: op for op in load_operations(project.contract_path) if op.operation_id
        }
    except (ContractError, FileNotFoundError):
        operations = {}
    handlers = find_handlers(source_dir, root) if source_dir.is_dir() else {}
    tests = find_tests(tests_dir, root) if tests_dir.is_dir() else []
    fuzz = gather_fuzz(
        root,
        reports=default_reports(root) if reports is None else reports,
        tests_dir=tests_dir,
        operation_ids=sorted(operations),
    )
    by_key: dict[str, list[TestRef]] = {}
    for test in tests:
        for key in test.requirements:
            by_key.setdefault(key, []).append(test)

    headings: list[SpecHeading] = []
    rows: list[Row] = []
    claimed: set[str] = set()
    for spec in list_specs(project):
        headings.append(SpecHeading(spec.name, spec.title or spec.name, spec.status or "?"))
        try:
            text = spec.spec_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for requirement in parse_requirements(text):
            traced_ops = []
            for operation_id in requirement.operations:
                claimed.add(operation_id)
                op = operations.get(operation_id)
                traced_ops.append(
                    OperationTrace(
                        operation_id,
                        op.method.upper() if op else None,
                        op.path if op else None,
                        handlers.get(operation_id, []),
                        fuzz.result(operation_id, op.method, op.path)
                        if op
                        else FuzzResult("none", "not in the contract"),
                    )
                )
            key = f"{spec.name}/{requirement.id}"
            row_tests = by_key.get(key, [])
            rows.append(
                Row(
                    feature=spec.name,
                    requirement=requirement.id,
                    text=requirement.text,
                    spec=project.relative(spec.spec_path),
                    line=requirement.line,
                    operations=traced_ops,
                    tests=row_tests,
                    gaps=_gaps(traced_ops, row_tests),
                )
            )
    known = {row.key for row in rows}
    unknown = [(test, key) for test in tests for key in test.requirements if key not in known]
    return Trace(
        project=_title(project) or root.name,
        generated_at=(now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC"),
        specs=headings,
        rows=rows,
        fuzz_source=fuzz.source,
        unknown=unknown,
        unclaimed_operations=sorted(set(operations) - claimed),
        unmarked_tests=[test for test in tests if not test.requirements],
        test_count=len(tests),
    )


def _title(project: Project) -> str | None:
    """The contract's ``info.title``, which names the product better than a folder does."""
    import yaml

    try:
        document = yaml.safe_load(project.contract_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    info = document.get("info") if isinstance(document, dict) else None
    title = info.get("title") if isinstance(info, dict) else None
    return title if isinstance(title, str) and title.strip() else None


def _gaps(operations: list[OperationTrace], tests: list[TestRef]) -> list[str]:
    gaps = [] if tests else ["no test names this requirement"]
    for op in operations:
        if not op.in_contract:
            gaps.append(f"{op.operation_id} is not in the contract")
            continue
        if not op.handlers:
            gaps.append(f"no handler found for {op.operation_id}")
        if op.fuzz.gap:
            gaps.append(f"{op.operation_id}: fuzz {op.fuzz.state}")
    return gaps


def render_text(trace: Trace) -> str:
    lines = []
    for row in trace.rows:
        ops = ", ".join(op.operation_id for op in row.operations) or "-"
        detail = "; ".join(row.gaps)
        lines.append(
            f"{row.status:<6}  {row.key:<28}  {len(row.tests):>3} tests  {ops}"
            + (f"  ({detail})" if detail else "")
        )
    for test, key in trace.unknown:
        lines.append(f"unknown {key} named by {test.node_id} ({test.where})")
    return "\n".join(lines)


def summary(trace: Trace) -> str:
    return (
        f"{len(trace.rows)} requirements, {len(trace.rows) - len(trace.gaps)} traced, "
        f"{len(trace.gaps)} with gaps; {trace.test_count} tests, "
        f"{len(trace.unmarked_tests)} naming no requirement; fuzz: {trace.fuzz_source}"
    )
