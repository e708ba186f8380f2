"""Feature spec folders ``specs/NNN-slug/``: create them from templates, read and list them."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sdd.errors import SddError
from sdd.naming import require_slug, require_title
from sdd.project import Project
from sdd.records.ids import allocate, write_file
from sdd.templates import load_template, render

SPEC_FILES = ("spec.md", "plan.md", "tasks.md")
SPEC_STATUSES = ("Draft", "Approved", "Implemented")
_FOLDER = re.compile(r"^(\d+)-(.+)$")
_STATUS_LINE = re.compile(r"^\*\*Status\*\*:\s*(.*?)\s*$")
_OPERATIONS_LINE = re.compile(r"^\*\*Operations\*\*:(.*)$")
_FR_ID = re.compile(r"\*\*(FR-\d+)\*\*")
_OPERATIONS_AFTER = re.compile(r"Operations:(.*)$")
_BACKTICKED = re.compile(r"`([^`]+)`")
_TITLE = re.compile(r"^#\s+(?:Feature Specification:\s*)?(.+?)\s*$")
_CLARIFICATION = "[NEEDS CLARIFICATION"


@dataclass(frozen=True)
class Located:
    value: str
    line: int


@dataclass
class SpecDocument:
    """What ``sdd`` reads from a spec.md (the machine-read rules of the spec format)."""

    folder: Path
    number: int
    slug: str
    title: str | None = None
    status: str | None = None
    status_line: int | None = None
    operations_line: int | None = None
    operations: list[Located] = field(default_factory=list)
    requirements: list[Located] = field(default_factory=list)
    clarifications: list[int] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def spec_path(self) -> Path:
        return self.folder / "spec.md"

    def operation_ids(self) -> list[str]:
        return sorted({op.value for op in self.operations})


def _backticked_operations(text: str, line: int) -> list[Located]:
    found: list[Located] = []
    for quoted in _BACKTICKED.findall(text):
        name = quoted.strip()
        if name and name.lower() != "none" and name.isidentifier():
            found.append(Located(name, line))
    return found


def _prose_lines(text: str) -> Iterator[tuple[int, str, str]]:
    """``(number, raw, stripped)`` of every line outside fenced code blocks."""
    in_fence = False
    for index, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith(("```", "~~~")):
            in_fence = not in_fence
        if not in_fence:
            yield index, raw, line


def parse_spec_text(text: str, *, folder: Path, number: int, slug: str) -> SpecDocument:
    document = SpecDocument(folder=folder, number=number, slug=slug)
    for index, _, line in _prose_lines(text):
        if document.title is None and (title := _TITLE.match(line)):
            document.title = title.group(1)
        if document.status is None and (status := _STATUS_LINE.match(line)):
            document.status, document.status_line = status.group(1), index
        if document.operations_line is None and (operations := _OPERATIONS_LINE.match(line)):
            document.operations_line = index
            document.operations += _backticked_operations(operations.group(1), index)
        if _FR_ID.search(line):
            document.requirements += [Located(fr, index) for fr in _FR_ID.findall(line)]
            if after := _OPERATIONS_AFTER.search(line):
                document.operations += _backticked_operations(after.group(1), index)
        if _CLARIFICATION in line:
            document.clarifications.append(index)
    return document


def spec_folders(project: Project) -> list[tuple[int, str, Path]]:
    """``(number, slug, folder)`` of every ``NNN-slug`` folder, by number then name."""
    found: list[tuple[int, str, Path]] = []
    with contextlib.suppress(FileNotFoundError), os.scandir(project.specs_dir) as entries:
        for entry in entries:
            match = _FOLDER.match(entry.name)
            if match and entry.is_dir() and not entry.name.startswith("."):
                found.append((int(match.group(1)), match.group(2), Path(entry.path)))
    return sorted(found, key=lambda item: (item[0], item[2].name))


def read_spec(folder: Path, *, number: int, slug: str) -> SpecDocument:
    try:
        text = (folder / "spec.md").read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return SpecDocument(folder=folder, number=number, slug=slug)
    return parse_spec_text(text, folder=folder, number=number, slug=slug)


def list_specs(project: Project) -> list[SpecDocument]:
    return [read_spec(folder, number=n, slug=s) for n, s, folder in spec_folders(project)]


def feature_names(project: Project) -> list[str]:
    return [folder.name for _, _, folder in spec_folders(project)]


@dataclass(frozen=True)
class CreatedSpec:
    number: int
    slug: str
    folder: Path
    files: list[Path]


def create_spec(
    project: Project,
    *,
    title: str,
    short_name: str | None = None,
    number: int | None = None,
    today: dt.date | None = None,
) -> CreatedSpec:
    """Create ``specs/NNN-slug/{spec,plan,tasks}.md``; NNN is the next free number."""
    title = require_title(title)
    slug = (
        require_slug(short_name, option="--short-name")
        if short_name
        else require_slug(title, option="title")
    )
    if number is not None and number < 1:
        raise SddError("--number must be a positive integer")
    date = (today or dt.date.today()).isoformat()
    templates = {
        name: load_template(name, templates_dir=project.templates_dir) for name in SPEC_FILES
    }

    def render_all(allocated: int) -> dict[str, str]:
        values = {
            "TITLE": title,
            "FEATURE": f"{allocated:03d}-{slug}",
            "NUMBER": f"{allocated:03d}",
            "DATE": date,
        }
        return {name: render(text, values, source=src) for name, (text, src) in templates.items()}

    # Rendering once up front rejects a broken template before anything is reserved.
    render_all(0)

    def taken() -> set[int]:
        return {n for n, _, _ in spec_folders(project)}

    def publish(allocated: int) -> Path:
        feature = f"{allocated:03d}-{slug}"
        final = project.specs_dir / feature
        staging = project.specs_dir / f".{feature}.{os.getpid()}.tmp"
        project.specs_dir.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
        try:
            for name, text in render_all(allocated).items():
                write_file(staging / name, text)
            if final.exists():
                raise FileExistsError(final)
            os.rename(staging, final)  # the folder appears complete, never half-filled
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return final

    allocated, folder = allocate(
        state_dir=project.state_dir, kind="specs", taken=taken, publish=publish, requested=number
    )
    return CreatedSpec(allocated, slug, folder, [folder / name for name in SPEC_FILES])


@dataclass(frozen=True)
class Requirement:
    """One ``**FR-###**`` bullet of a spec: its text and the operationIds it names."""

    id: str
    line: int
    text: str
    operations: list[str]


def parse_requirements(text: str) -> list[Requirement]:
    """Every FR bullet, its continuation lines included, outside fenced code."""
    found: list[tuple[str, int, list[str]]] = []
    for index, raw, line in _prose_lines(text):
        if match := _FR_ID.search(line):
            found.append((match.group(1), index, [line[match.end() :].lstrip(":").strip()]))
        elif found and line and raw[:1].isspace() and not line.startswith(("- ", "* ")):
            found[-1][2].append(line)
        elif found and not raw[:1].isspace():
            found.append(("", 0, []))  # the bullet ended: later lines are not its continuation
    requirements: list[Requirement] = []
    for fr_id, line_no, parts in found:
        if not fr_id:
            continue
        body = " ".join(parts)
        operations = _OPERATIONS_AFTER.search(body)
        names = (
            [op.value for op in _backticked_operations(operations.group(1), line_no)]
            if operations
            else []
        )
        sentence = body[: operations.start()].strip() if operations else body
        requirements.append(Requirement(fr_id, line_no, sentence, names))
    return requirements
