"""``sdd check``: every real defect in the records, specs and contract, with file and line.

Each record is judged by the rules of its own format: an adr-tools, MADR or log4brains
record is not asked for sdd's front matter. What any format counts as a defect is reported
everywhere: unreadable files, invalid YAML, records without a title or id, duplicate numbers
in one folder, dangling or one-sided links, leftover template text. ``--strict`` (or
``[tool.sdd] strict = true``) also demands sdd's own front matter, file names and routes.
The spec ↔ contract checks run where the project has a contract or opts in with
``[tool.sdd] traceability = true``.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdd.contract import ContractError, load_operations
from sdd.problems import Problem
from sdd.project import Project
from sdd.records.adr import AdrRecord, is_generated_index, render_index, scan_adrs
from sdd.records.adr_format import BOTH_SIDES
from sdd.records.common import read_text
from sdd.records.frontmatter import FrontMatter, FrontMatterError, parse, parse_repaired, split
from sdd.records.journal import JOURNAL_NAME
from sdd.records.phr import PHR_NAME, UNROUTED_STAGES, PhrRecord, scan_phrs
from sdd.records.schema import validate
from sdd.specs import SPEC_STATUSES, parse_spec_text

# Folders sdd only guessed (a usual place, the default, or [tool.sdd] history, which names
# both folders at once) may be absent: a project need not keep both kinds of record.
_GUESSED_SOURCES = ("usual place", "default", "[tool.sdd] history")

_PLACEHOLDER = re.compile(r"\{\{[^{}\n]*\}\}")
_INLINE_CODE = re.compile(r"(`+).*?\1")
_SPEC_FOLDER = re.compile(r"^(\d{3,})-[a-z0-9][a-z0-9-]*$")
_NUMBERED_FOLDER = re.compile(r"^(\d+)-")
_NUMBER_PREFIX = re.compile(r"^\d+-")
_STRICT_PHR_NAME = re.compile(r"^(\d+)-[a-z0-9][a-z0-9-]*\.([a-z]+)\.prompt\.md$")
# Sentences that the adr-tools, MADR and log4brains templates ship: left in, they mean the
# record was never filled in.
_TEMPLATE_TEXT = tuple(
    text.casefold()
    for text in (
        "Context here...",
        "Decision here...",
        "Consequences here...",
        "The issue motivating this decision, and any context that influences or constrains",
        "The change that we're proposing or have agreed to implement",
        "What becomes easier or more difficult to do and any risks or mitigations",
        "short title of solved problem and solution",
        "list everyone involved in the decision",
        "YYYY-MM-DD when the decision was last updated",
        "Describe the context and problem statement",
        "title of option 1",
        "decision driver 1",
        "example | description | pointer to more information",
    )
)


@dataclass
class CheckReport:
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: {"adrs": 0, "phrs": 0, "specs": 0, "operations": 0}
    )
    strict: bool = False
    traceability: bool = False

    @property
    def ok(self) -> bool:
        return not any(problem.severity == "error" for problem in self.problems)

    def to_json(self) -> dict[str, Any]:
        return {
            "checked": dict(self.counts),
            "strict": self.strict,
            "traceability": self.traceability,
        }


class _Checker:
    def __init__(self, project: Project, *, strict: bool) -> None:
        self.project = project
        self.strict = strict
        self.report = CheckReport(strict=strict, traceability=project.traceability)

    def add(self, path: Path | str, line: int, code: str, message: str) -> None:
        where = path if isinstance(path, str) else self.project.relative(path)
        self.report.problems.append(Problem(where, max(line, 1), code, message))

    def named_folders(self) -> None:
        """A folder someone named must exist, or check would pass having read nothing."""
        for kind, choice in (("ADR", self.project.adr), ("PHR", self.project.prompts)):
            if choice.source.startswith(_GUESSED_SOURCES) or choice.path.is_dir():
                continue
            shown = self.project.relative(choice.path)
            self.add(
                shown,
                1,
                "missing-folder",
                f"the {kind} folder {shown}, named by {choice.source}, does not exist",
            )

    def read(self, path: Path) -> str | None:
        text, why = read_text(path)
        if text is None:
            code = "encoding" if why and "UTF-8" in why else "unreadable"
            self.add(path, 1, code, str(why))
        return text

    def placeholders(self, path: Path | str, text: str, *, template_text: bool = False) -> None:
        folded = text.casefold()
        if "{{" not in text and not (
            template_text and any(sentence in folded for sentence in _TEMPLATE_TEXT)
        ):
            return  # nothing to look for: skip the line-by-line scan
        fence: str | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            stripped = line.lstrip()
            marker = re.match(r"(`{3,}|~{3,})", stripped)
            if marker and (fence is None or stripped.startswith(fence)):
                fence = marker.group(1) if fence is None else None
                continue
            if fence is not None:
                continue  # code blocks quote text verbatim, placeholders included
            outside = _INLINE_CODE.sub("", line)
            for found in _PLACEHOLDER.findall(outside):
                self.add(path, number, "placeholder", f"leftover template placeholder {found}")
            if template_text:
                folded = outside.casefold()
                for sentence in _TEMPLATE_TEXT:
                    if sentence in folded:
                        self.add(
                            path, number, "placeholder", f"leftover template text {line.strip()!r}"
                        )
                        break

    def schema(
        self, path: str, block: FrontMatter, kind: str, parsed: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Validate front matter against sdd's schema; ``parsed`` is a strict parse done already."""
        if parsed is not None:
            data = parsed
        else:
            try:
                data = parse(block)
            except FrontMatterError as exc:
                self.add(path, exc.line, "yaml", exc.message)
                return None
        for key, message in validate(kind, data):
            self.add(path, block.line_of(key), "schema", message)
        return data

    # PHRs ---------------------------------------------------------------------------------

    def phrs(self) -> None:
        scan = scan_phrs(self.project)
        self.report.problems += scan.problems
        self.report.counts["phrs"] = len(scan.records)
        seen: dict[tuple[str, int], list[PhrRecord]] = defaultdict(list)
        for record in scan.records:
            self.placeholders(record.relative_path, record.text)
            block = split(record.text)
            if record.id is not None:
                seen[(record.route, record.id)].append(record)
            if self.strict:
                self._strict_phr(record, block)
            elif (
                block is not None and record.yaml_error is not None and not self._repairable(block)
            ):
                self.add(
                    record.relative_path, record.yaml_error.line, "yaml", record.yaml_error.message
                )
            if record.title is None:
                self.add(
                    record.relative_path,
                    1,
                    "no-title",
                    "no title in its front matter and no H1 heading",
                )
            if block is not None:
                self._phr_consistency(record, block)
                if not self.strict:
                    self._phr_date(record, block)
        for (route, number), records in sorted(seen.items()):
            first = records[0]
            for record in records[1:]:
                where = f"history/prompts/{route}" if route else "the prompts folder"
                self.add(
                    record.relative_path,
                    1,
                    "duplicate-id",
                    f"PHR id {number} is also used by {first.relative_path} "
                    f"(ids are unique per folder: {where})",
                )

    @staticmethod
    def _repairable(block: FrontMatter) -> bool:
        try:
            parse_repaired(block)
        except FrontMatterError:
            return False
        return True

    def _phr_date(self, record: PhrRecord, block: FrontMatter) -> None:
        """A date that is given must be a date, in every PHR format."""
        from sdd.records.schema import ADR_FIELDS, Field, check_field

        if "date" not in record.front_matter:
            return
        date_field: Field = next(f for f in ADR_FIELDS if f.name == "date")
        message = check_field(date_field, record.front_matter["date"])
        if message:
            self.add(record.relative_path, block.line_of("date"), "schema", f"date {message}")

    def _phr_consistency(self, record: PhrRecord, block: FrontMatter) -> None:
        from sdd.records.common import record_id

        data = record.front_matter
        found = record_id(block.raw_value("id"), data.get("id"), "")
        if found is not None and record.name_id is not None and found != record.name_id:
            self.add(
                record.relative_path,
                block.line_of("id"),
                "id",
                f"id {found} does not match the file name ({record.name_id})",
            )
        name = PHR_NAME.match(record.path.name)
        stage = data.get("stage")
        if name and name.group("stage") and isinstance(stage, str) and stage != name.group("stage"):
            self.add(
                record.relative_path,
                block.line_of("stage"),
                "stage",
                f"stage {stage!r} does not match the file name ({name.group('stage')!r})",
            )

    def _strict_phr(self, record: PhrRecord, block: FrontMatter | None) -> None:
        path = record.relative_path
        if not _STRICT_PHR_NAME.match(record.path.name):
            self.add(path, 1, "file-name", "PHR file name must be NNNN-slug.<stage>.prompt.md")
        if block is None:
            self.add(
                path, 1, "front-matter", "no YAML front matter (the PHR format starts with ---)"
            )
            return
        strict_data = record.front_matter if record.yaml_error is None else None
        data = self.schema(path, block, "phr", strict_data)
        if data is None:
            return
        stage = data.get("stage")
        if not isinstance(stage, str):
            return
        line = block.line_of("stage")
        route = record.route
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
        scan = scan_adrs(self.project)
        self.report.problems += scan.problems
        self.report.counts["adrs"] = len(scan.records)
        numbers: dict[tuple[str, int], list[AdrRecord]] = defaultdict(list)
        by_ref = {record.ref: record for record in scan.records}
        for record in scan.records:
            parsed = record.parsed
            self.placeholders(record.relative_path, record.text, template_text=True)
            if record.number is not None:
                numbers[(record.folder, record.number)].append(record)
            if parsed.yaml_error is not None:
                self.add(
                    record.relative_path, parsed.yaml_error.line, "yaml", parsed.yaml_error.message
                )
            elif record.format == "sdd" and parsed.block is not None:
                self._sdd_adr(record, parsed.block)
            elif self.strict:
                self._strict_adr(record)
            self._links(record, by_ref)
        for (_folder, number), records in sorted(numbers.items()):
            first = records[0]
            for record in records[1:]:
                self.add(
                    record.relative_path,
                    1,
                    "duplicate-id",
                    f"ADR number {number} is also used by {first.relative_path}",
                )
        self._index(scan.records)

    def _sdd_adr(self, record: AdrRecord, block: FrontMatter) -> None:
        data = self.schema(record.relative_path, block, "adr", record.front_matter)
        if data is None:
            return
        if (
            isinstance(data.get("id"), int)
            and record.number is not None
            and data["id"] != record.number
        ):
            self.add(
                record.relative_path,
                block.line_of("id"),
                "id",
                f"id {data['id']} does not match the file name ({record.number})",
            )

    def _strict_adr(self, record: AdrRecord) -> None:
        block = record.parsed.block
        if block is None:
            self.add(
                record.relative_path,
                1,
                "front-matter",
                f"no sdd front matter (this is a {record.format} record; "
                "--strict demands sdd's format)",
            )
            return
        self.schema(record.relative_path, block, "adr", record.front_matter)

    def _links(self, record: AdrRecord, by_ref: dict[str, AdrRecord]) -> None:
        for link in record.links:
            if not link.resolved:
                self.add(
                    record.relative_path,
                    link.line,
                    "dangling-link",
                    f"{link.label} {link.target!r}, which is not an ADR in this folder",
                )
                continue
            other = by_ref[link.target]
            inverse = "in" if link.direction == "out" else "out"
            if not _states_both_sides(other, link.kind):
                continue
            if record.ref not in other.linked(link.kind, inverse):
                from sdd.records.common import forward_label, inverse_label

                missing = inverse_label(link.kind) if inverse == "in" else forward_label(link.kind)
                self.add(
                    record.relative_path,
                    link.line,
                    "one-sided-link",
                    f"{link.label} {other.ref}, but {other.relative_path} does not say "
                    f"{missing!r} {record.ref}",
                )
        if (
            record.status == "superseded"
            and not record.superseded_by
            and record.format not in ("speckit", "plain")
        ):
            self.add(
                record.relative_path,
                record.parsed.status_line,
                "one-sided-link",
                "status is superseded but the record names no successor",
            )

    def _index(self, records: list[AdrRecord]) -> None:
        """A generated index must match its ADRs; a hand-written one is not sdd's business."""
        index = self.project.adr_dir / "README.md"
        if not index.is_file():
            return
        text, _ = read_text(index)
        if text is None or not is_generated_index(text):
            return
        if text != render_index(records):
            self.add(
                index,
                1,
                "stale-index",
                "the ADR index does not match the ADRs; run `sdd adr index`",
            )

    # Specs and contract -------------------------------------------------------------------

    def specs(self) -> dict[str, list[tuple[Path, int]]]:
        named: dict[str, list[tuple[Path, int]]] = defaultdict(list)
        numbers: dict[int, list[Path]] = defaultdict(list)
        folders: list[Path] = []
        with (
            contextlib.suppress(FileNotFoundError, NotADirectoryError),
            os.scandir(self.project.specs_dir) as entries,
        ):
            folders = sorted(
                Path(e.path) for e in entries if e.is_dir() and not e.name.startswith(".")
            )
        sdd_rules = self.project.traceability or self.strict
        for folder in folders:
            numbered = _NUMBERED_FOLDER.match(folder.name)
            if numbered is None or not _SPEC_FOLDER.match(folder.name):
                if sdd_rules:
                    self.add(
                        folder,
                        1,
                        "spec-folder",
                        "spec folder name must be NNN-slug (lower-case slug)",
                    )
                if numbered is None:
                    continue
            self.report.counts["specs"] += 1
            numbers[int(numbered.group(1))].append(folder)
            for document in sorted(folder.glob("*.md")):
                text = self.read(document)
                if text is not None:
                    self.placeholders(document, text)
            self._spec_document(folder, int(numbered.group(1)), named, sdd_rules=sdd_rules)
        for number, same in sorted(numbers.items()):
            for folder in same[1:]:
                self.add(
                    folder,
                    1,
                    "duplicate-id",
                    f"spec number {number:03d} is also used by {self.project.relative(same[0])}",
                )
        return named

    def _spec_document(
        self,
        folder: Path,
        number: int,
        named: dict[str, list[tuple[Path, int]]],
        *,
        sdd_rules: bool,
    ) -> None:
        spec = folder / "spec.md"
        if not spec.is_file():
            if sdd_rules:
                self.add(spec, 1, "spec", "missing spec.md")
            return
        text, _ = read_text(spec)
        if text is None:
            return
        parsed = parse_spec_text(text, folder=folder, number=number, slug=folder.name)
        if sdd_rules and parsed.status is None:
            self.add(spec, 1, "spec-status", "missing **Status**: line")
        elif sdd_rules and parsed.status not in SPEC_STATUSES:
            self.add(
                spec,
                parsed.status_line or 1,
                "spec-status",
                f"status {parsed.status!r} is not one of {', '.join(SPEC_STATUSES)}",
            )
        if (
            parsed.status is not None
            and parsed.status in SPEC_STATUSES
            and parsed.status != "Draft"
        ):
            for line in parsed.clarifications:
                self.add(
                    spec,
                    line,
                    "clarification",
                    f"[NEEDS CLARIFICATION] left in a spec whose status is {parsed.status}",
                )
        if self.project.traceability and parsed.operations_line is None:
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
        if not self.project.traceability:
            return
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

    def journal(self) -> None:
        journal = self.project.state_dir / JOURNAL_NAME
        if journal.exists():
            self.add(
                journal,
                1,
                "interrupted",
                "an ADR update was interrupted; run `sdd adr list` to finish it",
            )


def _states_both_sides(record: AdrRecord, kind: str) -> bool:
    kinds = BOTH_SIDES.get(record.format, frozenset())
    return kinds is None or kind in kinds


def run_check(project: Project, *, strict: bool | None = None) -> CheckReport:
    """Run every check; the templates in ``.specify/`` are never read as records."""
    checker = _Checker(project, strict=project.strict if strict is None else strict)
    checker.journal()  # before the scans, which finish an interrupted update
    checker.named_folders()
    checker.phrs()
    checker.adrs()
    checker.contract(checker.specs())
    checker.report.problems.sort(key=Problem.sort_key)
    return checker.report
