"""``sdd check``: every way the specs, records and contract disagree, with file and line."""

from __future__ import annotations

import contextlib
import os
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sdd.contract import ContractError, load_operations
from sdd.project import Project
from sdd.records.adr import INDEX_NAME, all_adrs, render_index
from sdd.records.frontmatter import FrontMatter, FrontMatterError, parse, split
from sdd.records.journal import JOURNAL_NAME
from sdd.records.phr import PHR_NAME, UNROUTED_STAGES, record_id
from sdd.records.schema import validate
from sdd.specs import SPEC_STATUSES, parse_spec_text

_PLACEHOLDER = re.compile(r"\{\{[^{}\n]*\}\}")
_INLINE_CODE = re.compile(r"(`+).*?\1")
_ADR_NAME = re.compile(r"^(\d+)-[a-z0-9][a-z0-9-]*\.md$")
_SPEC_FOLDER = re.compile(r"^(\d{3,})-[a-z0-9][a-z0-9-]*$")
_NUMBER_PREFIX = re.compile(r"^\d+-")


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.code}: {self.message}"


@dataclass
class CheckReport:
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "problems": [asdict(problem) for problem in sorted(self.problems)],
            "checked": dict(self.counts),
        }


class _Checker:
    def __init__(self, project: Project) -> None:
        self.project = project
        self.report = CheckReport()

    def add(self, path: Path, line: int, code: str, message: str) -> None:
        self.report.problems.append(
            Problem(self.project.relative(path), max(line, 1), code, message)
        )

    def read(self, path: Path) -> str | None:
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            self.add(path, 1, "encoding", f"not valid UTF-8 (byte {exc.start})")
        except OSError as exc:
            self.add(path, 1, "unreadable", exc.strerror or str(exc))
        return None

    def placeholders(self, path: Path, text: str) -> None:
        fence: str | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            stripped = line.lstrip()
            marker = re.match(r"(`{3,}|~{3,})", stripped)
            if marker and (fence is None or stripped.startswith(fence)):
                fence = marker.group(1) if fence is None else None
                continue
            if fence is not None:
                continue  # code blocks quote text verbatim, placeholders included
            for found in _PLACEHOLDER.findall(_INLINE_CODE.sub("", line)):
                self.add(path, number, "placeholder", f"leftover template placeholder {found}")

    def front_matter(
        self, path: Path, text: str, kind: str
    ) -> tuple[FrontMatter, dict[str, Any]] | None:
        block = split(text)
        if block is None:
            self.add(
                path,
                1,
                "front-matter",
                f"no YAML front matter (the {kind.upper()} format starts with ---)",
            )
            return None
        try:
            data = parse(block)
        except FrontMatterError as exc:
            self.add(path, exc.line, "yaml", exc.message)
            return None
        for key, message in validate(kind, data):
            self.add(path, block.line_of(key), "schema", message)
        return block, data

    # PHRs ---------------------------------------------------------------------------------

    def phrs(self) -> None:
        prompts = self.project.prompts_dir
        seen: dict[int, list[Path]] = defaultdict(list)
        for path in _markdown_files(prompts):
            self.report.counts["phrs"] += 1
            name = PHR_NAME.match(path.name)
            if name is None:
                self.add(path, 1, "file-name", "PHR file name must be NNNN-slug.<stage>.prompt.md")
            text = self.read(path)
            if text is None:
                continue
            self.placeholders(path, text)
            parsed = self.front_matter(path, text, "phr")
            if parsed is None or name is None:
                continue
            block, data = parsed
            number = int(name.group(1))
            seen[number].append(path)
            found = record_id(block.raw_value("id"), data.get("id"), path.name)
            if found is not None and found != number:
                self.add(
                    path,
                    block.line_of("id"),
                    "id",
                    f"id {found} does not match the file name ({number})",
                )
            self._phr_route(path, block, data, stage_in_name=name.group(3))
        self.duplicates(seen, "PHR")

    def _phr_route(
        self, path: Path, block: FrontMatter, data: dict[str, Any], *, stage_in_name: str
    ) -> None:
        stage = data.get("stage")
        line = block.line_of("stage")
        if isinstance(stage, str) and stage != stage_in_name:
            self.add(
                path,
                line,
                "stage",
                f"stage {stage!r} does not match the file name ({stage_in_name!r})",
            )
        relative = path.parent.relative_to(self.project.prompts_dir)
        route = relative.as_posix() if relative.parts else ""
        if not isinstance(stage, str):
            return
        if stage in UNROUTED_STAGES:
            if route != stage:
                self.add(
                    path, line, "route", f"a {stage!r} PHR belongs in history/prompts/{stage}/"
                )
            return
        feature = data.get("feature")
        if route in UNROUTED_STAGES or not route or "/" in route:
            self.add(path, line, "route", f"a {stage!r} PHR belongs in history/prompts/<feature>/")
        elif isinstance(feature, str) and feature not in (route, _NUMBER_PREFIX.sub("", route)):
            self.add(
                path,
                block.line_of("feature"),
                "route",
                f"feature {feature!r} does not match its folder {route!r}",
            )

    # ADRs ---------------------------------------------------------------------------------

    def adrs(self) -> None:
        adr_dir = self.project.adr_dir
        seen: dict[int, list[Path]] = defaultdict(list)
        records: dict[int, tuple[Path, FrontMatter, dict[str, Any]]] = {}
        for path in _markdown_files(adr_dir, recursive=False):
            if path.name == INDEX_NAME:
                continue
            self.report.counts["adrs"] += 1
            name = _ADR_NAME.match(path.name)
            if name is None:
                self.add(path, 1, "file-name", "ADR file name must be NNNN-slug.md")
            text = self.read(path)
            if text is None:
                continue
            self.placeholders(path, text)
            parsed = self.front_matter(path, text, "adr")
            if parsed is None or name is None:
                continue
            block, data = parsed
            number = int(name.group(1))
            seen[number].append(path)
            if isinstance(data.get("id"), int) and data["id"] != number:
                self.add(
                    path,
                    block.line_of("id"),
                    "id",
                    f"id {data['id']} does not match the file name ({number})",
                )
            records.setdefault(number, (path, block, data))
        self.duplicates(seen, "ADR")
        self._supersede_links(records)

    def _supersede_links(
        self, records: dict[int, tuple[Path, FrontMatter, dict[str, Any]]]
    ) -> None:
        def ids(data: dict[str, Any], key: str) -> list[int]:
            value = data.get(key)
            return (
                [item for item in value if isinstance(item, int)] if isinstance(value, list) else []
            )

        for number, (path, block, data) in sorted(records.items()):
            for key, inverse in (("supersedes", "superseded_by"), ("superseded_by", "supersedes")):
                for other in ids(data, key):
                    line = block.line_of(key)
                    if other not in records:
                        self.add(
                            path,
                            line,
                            "supersede",
                            f"{key} names ADR {other}, which does not exist",
                        )
                    elif number not in ids(records[other][2], inverse):
                        self.add(
                            path,
                            line,
                            "supersede",
                            f"{key} names ADR {other}, but ADR {other} {inverse} lacks {number}",
                        )
            if data.get("status") == "superseded" and not ids(data, "superseded_by"):
                self.add(
                    path,
                    block.line_of("status"),
                    "supersede",
                    "status is superseded but superseded_by is empty",
                )

    def duplicates(self, seen: dict[int, list[Path]], kind: str) -> None:
        for number, paths in sorted(seen.items()):
            for path in sorted(paths)[1:]:
                first = self.project.relative(sorted(paths)[0])
                self.add(path, 1, "duplicate-id", f"{kind} id {number} is also used by {first}")

    # Specs and contract -------------------------------------------------------------------

    def specs(self) -> dict[str, list[tuple[Path, int]]]:
        named: dict[str, list[tuple[Path, int]]] = defaultdict(list)
        numbers: dict[int, list[Path]] = defaultdict(list)
        folders: list[Path] = []
        with contextlib.suppress(FileNotFoundError), os.scandir(self.project.specs_dir) as entries:
            folders = sorted(
                Path(e.path) for e in entries if e.is_dir() and not e.name.startswith(".")
            )
        for folder in folders:
            self.report.counts["specs"] += 1
            match = _SPEC_FOLDER.match(folder.name)
            if match is None:
                self.add(
                    folder, 1, "spec-folder", "spec folder name must be NNN-slug (lower-case slug)"
                )
                continue
            numbers[int(match.group(1))].append(folder)
            for document in sorted(folder.glob("*.md")):
                text = self.read(document)
                if text is not None:
                    self.placeholders(document, text)
            self._spec_document(folder, int(match.group(1)), named)
        for number, folders in sorted(numbers.items()):
            for folder in folders[1:]:
                self.add(
                    folder,
                    1,
                    "duplicate-id",
                    f"spec number {number:03d} is also used by {self.project.relative(folders[0])}",
                )
        return named

    def _spec_document(
        self, folder: Path, number: int, named: dict[str, list[tuple[Path, int]]]
    ) -> None:
        spec = folder / "spec.md"
        if not spec.is_file():
            self.add(spec, 1, "spec", "missing spec.md")
            return
        text = self.read(spec)
        if text is None:
            return
        parsed = parse_spec_text(text, folder=folder, number=number, slug=folder.name)
        if parsed.status is None:
            self.add(spec, 1, "spec-status", "missing **Status**: line")
        elif parsed.status not in SPEC_STATUSES:
            self.add(
                spec,
                parsed.status_line or 1,
                "spec-status",
                f"status {parsed.status!r} is not one of {', '.join(SPEC_STATUSES)}",
            )
        elif parsed.status != "Draft":
            for line in parsed.clarifications:
                self.add(
                    spec,
                    line,
                    "clarification",
                    f"[NEEDS CLARIFICATION] left in a spec whose status is {parsed.status}",
                )
        if parsed.operations_line is None:
            self.add(
                spec,
                1,
                "spec-operations",
                "missing **Operations**: line (write `none` when there are none)",
            )
        first_seen: dict[str, int] = {}
        for requirement in parsed.requirements:
            if requirement.value in first_seen:
                self.add(
                    spec,
                    requirement.line,
                    "duplicate-fr",
                    f"{requirement.value} is already defined on line "
                    f"{first_seen[requirement.value]}",
                )
            else:
                first_seen[requirement.value] = requirement.line
        for operation in parsed.operations:
            named[operation.value].append((spec, operation.line))

    def contract(self, named: dict[str, list[tuple[Path, int]]]) -> None:
        contract = self.project.contract_path
        if not contract.is_file():
            if named:
                self.add(contract, 1, "contract", "contract not found, but specs name operations")
            return
        try:
            operations = load_operations(contract)
        except ContractError as exc:
            self.add(contract, exc.line, "contract", exc.message)
            return
        self.report.counts["operations"] = len(operations)
        declared: dict[str, int] = {}
        for operation in operations:
            where = f"{operation.method.upper()} {operation.path}"
            if not operation.operation_id:
                self.add(contract, operation.line, "contract", f"{where} has no operationId")
            elif operation.operation_id in declared:
                self.add(
                    contract,
                    operation.line,
                    "contract",
                    f"operationId {operation.operation_id} is declared twice",
                )
            else:
                declared[operation.operation_id] = operation.line
                if operation.operation_id not in named:
                    self.add(
                        contract,
                        operation.line,
                        "unclaimed-operation",
                        f"{operation.operation_id} ({where}) is claimed by no spec",
                    )
        for operation_id, places in sorted(named.items()):
            if operation_id not in declared:
                for spec, line in places:
                    self.add(
                        spec,
                        line,
                        "unknown-operation",
                        f"operationId {operation_id} is not in {self.project.relative(contract)}",
                    )

    def adr_index(self) -> None:
        """A committed index must match its ADRs; having none at all is fine."""
        index = self.project.adr_dir / INDEX_NAME
        if not index.is_file():
            return
        if self.read(index) != render_index(all_adrs(self.project)):
            self.add(
                index,
                1,
                "stale-index",
                "the ADR index does not match the ADRs; run `sdd adr index`",
            )

    def journal(self) -> None:
        journal = self.project.state_dir / JOURNAL_NAME
        if journal.exists():
            self.add(
                journal,
                1,
                "interrupted",
                "an ADR update was interrupted; run `sdd adr list` to finish it",
            )


def _markdown_files(folder: Path, *, recursive: bool = True) -> list[Path]:
    found: list[Path] = []
    with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir() and recursive:
                found += _markdown_files(Path(entry.path))
            elif entry.is_file() and entry.name.endswith(".md") and entry.name != "README.md":
                found.append(Path(entry.path))
    return sorted(found)


def run_check(project: Project) -> CheckReport:
    """Run every check; the templates in ``.specify/`` are never read as records."""
    checker = _Checker(project)
    checker.phrs()
    checker.adrs()
    checker.contract(checker.specs())
    checker.adr_index()
    checker.journal()
    checker.report.problems.sort()
    return checker.report
