"""Architectural Decision Records: create, read (sdd, MADR and adr-tools forms), change, index."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdd.errors import RecordNotFoundError, SddError
from sdd.naming import require_feature_name, require_title, slugify
from sdd.project import Project
from sdd.records.frontmatter import parse_lenient, replace_field, split
from sdd.records.ids import allocate, publish_file
from sdd.records.journal import complete_pending, write_together, writer_lock
from sdd.records.phr import NOT_RECORDED, jsonable, record_id
from sdd.records.schema import ADR_STATUSES, LINK_KEYS
from sdd.templates import load_template, render

INDEX_NAME = "README.md"
NEW_STATUSES = ("proposed", "accepted")
_ADR_FILE = re.compile(r"^(\d+)-.*\.md$")
_NYGARD_TITLE = re.compile(r"^#\s+(\d+)\.\s+(.+?)\s*$", re.MULTILINE)
_HEADING = re.compile(r"^#\s+(?:ADR-\d+:\s*)?(.+?)\s*$", re.MULTILINE)
_DATE_LINE = re.compile(r"^Date:\s*(\S+)", re.MULTILINE)
_LINKED_NUMBER = re.compile(r"\[(?:ADR-)?0*(\d+)")
_MADR_SUPERSEDED = re.compile(r"superseded by \[?(?:ADR-)?0*(\d+)", re.IGNORECASE)
# action -> (statuses it may start from, status it sets)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "accept": (frozenset({"proposed"}), "accepted"),
    "reject": (frozenset({"proposed"}), "rejected"),
    "deprecate": (frozenset({"accepted"}), "deprecated"),
}


@dataclass
class AdrRecord:
    """An ADR as read from disk; ``format`` is sdd, madr, nygard or unknown."""

    id: int | None
    title: str | None
    status: str | None
    date: str | None
    feature: str | None
    supersedes: list[int]
    superseded_by: list[int]
    links: dict[str, Any]
    format: str
    path: Path
    relative_path: str
    text: str
    front_matter: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "date": self.date,
            "feature": self.feature,
            "supersedes": self.supersedes,
            "superseded_by": self.superseded_by,
            "format": self.format,
            "path": self.relative_path,
        }


def _ids(value: object) -> list[int]:
    items = value if isinstance(value, list) else ([] if value is None else [value])
    found = []
    for item in items:
        with contextlib.suppress(ValueError):
            found.append(int(str(item).strip().removeprefix("ADR-")))
    return found


def _section(text: str, heading: str) -> list[str]:
    match = re.search(rf"^##\s+{heading}\s*$", text, re.MULTILINE | re.IGNORECASE)
    if match is None:
        return []
    rest = text[match.end() :]
    following = re.search(r"^#{1,2}\s", rest, re.MULTILINE)
    return [
        line.strip()
        for line in rest[: following.start() if following else None].splitlines()
        if line.strip()
    ]


def _read_nygard(text: str, path: Path) -> dict[str, Any]:
    title_match = _NYGARD_TITLE.search(text)
    status_lines = _section(text, "Status")
    status = status_lines[0].split()[0].lower().rstrip(".,") if status_lines else None
    supersedes: list[int] = []
    superseded_by: list[int] = []
    for line in status_lines:
        lowered = line.lower()
        numbers = [int(n) for n in _LINKED_NUMBER.findall(line)]
        if lowered.startswith("superseded by"):
            superseded_by += numbers
        elif lowered.startswith("supersedes"):
            supersedes += numbers
    date_match = _DATE_LINE.search(text)
    file_match = _ADR_FILE.match(path.name)
    return {
        "id": int(title_match.group(1))
        if title_match
        else (int(file_match.group(1)) if file_match else None),
        "title": title_match.group(2) if title_match else None,
        "status": status,
        "date": date_match.group(1) if date_match else None,
        "supersedes": supersedes,
        "superseded_by": superseded_by,
        "format": "nygard" if title_match or status_lines else "unknown",
    }


def read_adr(project: Project, path: Path) -> AdrRecord:
    text = path.read_text(encoding="utf-8", errors="replace")
    block = split(text)
    if block is None:
        info = _read_nygard(text, path)
        return AdrRecord(
            id=info["id"],
            title=info["title"],
            status=info["status"],
            date=info["date"],
            feature=None,
            supersedes=info["supersedes"],
            superseded_by=info["superseded_by"],
            links={},
            format=info["format"],
            path=path,
            relative_path=project.relative(path),
            text=text,
        )
    data = parse_lenient(block)
    status = str(data["status"]).strip() if data.get("status") is not None else None
    superseded_by = _ids(data.get("superseded_by"))
    if status and (madr := _MADR_SUPERSEDED.match(status)):
        superseded_by.append(int(madr.group(1)))
        status = "superseded"
    title = data.get("title")
    if title is None and (heading := _HEADING.search(block.body)):
        title = heading.group(1)
    links = data.get("links")
    return AdrRecord(
        id=record_id(block.raw_value("id"), data.get("id"), path.name),
        title=None if title is None else str(title),
        status=status.lower() if status else None,
        date=jsonable(data.get("date")),
        feature=None if data.get("feature") is None else str(data.get("feature")),
        supersedes=_ids(data.get("supersedes")),
        superseded_by=superseded_by,
        links=jsonable(links) if isinstance(links, dict) else {},
        format="sdd" if "id" in data else "madr",
        path=path,
        relative_path=project.relative(path),
        text=text,
        front_matter=data,
    )


def adr_files(project: Project) -> list[Path]:
    found = []
    with contextlib.suppress(FileNotFoundError), os.scandir(project.adr_dir) as entries:
        for entry in entries:
            if _ADR_FILE.match(entry.name) and entry.is_file():
                found.append(Path(entry.path))
    return sorted(found, key=lambda path: path.name)


def taken_adr_ids(project: Project) -> set[int]:
    return {int(path.name.split("-", 1)[0]) for path in adr_files(project)}


def finish_interrupted_update(project: Project) -> bool:
    """Complete a supersede or status change that a crash interrupted after its commit point."""
    return complete_pending(root=project.root, state_dir=project.state_dir)


def all_adrs(project: Project, *, status: str | None = None) -> list[AdrRecord]:
    if status is not None and status not in ADR_STATUSES:
        raise SddError(f"unknown status {status!r}; use one of: {', '.join(ADR_STATUSES)}")
    records = [read_adr(project, path) for path in adr_files(project)]
    if status is not None:
        records = [record for record in records if record.status == status]
    return sorted(records, key=lambda record: (record.id or 0, record.relative_path))


def get_adr(project: Project, number: int) -> AdrRecord:
    matches = [record for record in all_adrs(project) if record.id == number]
    if not matches:
        raise RecordNotFoundError(f"no ADR number {number} in {project.relative(project.adr_dir)}/")
    if len(matches) > 1:
        raise SddError(
            f"several ADRs have number {number}: " + ", ".join(m.relative_path for m in matches)
        )
    return matches[0]


def parse_adr_number(ref: str) -> int:
    cleaned = ref.strip().upper().removeprefix("ADR-").removeprefix("ADR")
    if not cleaned.isdigit() or int(cleaned) < 1:
        raise SddError(f"{ref!r} is not an ADR number")
    return int(cleaned)


@dataclass
class AdrInput:
    title: str
    status: str = "proposed"
    context: str | None = None
    decision: str | None = None
    consequences: str | None = None
    alternatives: str | None = None
    feature: str | None = None
    supersedes: Sequence[int] = ()
    links: Mapping[str, str | None] = field(default_factory=dict)
    date: dt.date | None = None


def _consequences(text: str | None) -> str:
    empty = f"### Positive\n\n{NOT_RECORDED}\n\n### Negative\n\n{NOT_RECORDED}"
    if text is None:
        return empty
    if re.search(r"^###\s+(Positive|Negative)", text, re.MULTILINE):
        return text
    return f"{text}\n\n{empty}"


def _references(
    feature: str | None, links: Mapping[str, str | None], supersedes: Sequence[int]
) -> str:
    lines = [f"- Feature: `{feature}`"] if feature else []
    lines += [f"- Supersedes ADR-{number:04d}" for number in supersedes]
    lines += [f"- {key.capitalize()}: {value}" for key, value in links.items() if value]
    return "\n".join(lines) or "- None."


def _editable(record: AdrRecord) -> None:
    if split(record.text) is None:
        raise SddError(
            f"{record.relative_path} has no YAML front matter ({record.format} form); "
            "sdd only changes ADRs with front matter"
        )


def _with_status(record: AdrRecord, status: str) -> str:
    return replace_field(record.text, "status", status)


def _add_ids(text: str, key: str, current: list[int], extra: int) -> str:
    return replace_field(text, key, sorted({*current, extra}))


def create_adr(project: Project, data: AdrInput) -> AdrRecord:
    title = require_title(data.title)
    if data.status not in NEW_STATUSES:
        raise SddError(f"unknown status {data.status!r} for a new ADR; use proposed or accepted")
    feature = require_feature_name(data.feature) if data.feature else None
    finish_interrupted_update(project)
    supersedes = sorted(set(data.supersedes))
    for number in supersedes:
        _editable(get_adr(project, number))
    links = dict.fromkeys(LINK_KEYS) | dict(data.links)
    template, source = load_template("adr.md", templates_dir=project.templates_dir)
    values: dict[str, object] = {
        "TITLE": title,
        "STATUS": data.status,
        "DATE": data.date or dt.date.today(),
        "FEATURE": feature,
        "SUPERSEDES": supersedes,
        "LINK_SPEC": links["spec"],
        "LINK_TICKET": links["ticket"],
        "LINK_ADR": links["adr"],
        "LINK_PR": links["pr"],
        "CONTEXT": data.context if data.context is not None else NOT_RECORDED,
        "DECISION": data.decision if data.decision is not None else NOT_RECORDED,
        "CONSEQUENCES": _consequences(data.consequences),
        "ALTERNATIVES": data.alternatives if data.alternatives is not None else NOT_RECORDED,
        "REFERENCES": _references(feature, links, supersedes),
    }
    render(template, values | {"ID": 1, "ID4": "0001"}, source=source)  # fail before reserving
    slug = slugify(title)

    def publish(number: int) -> Path:
        path = project.adr_dir / f"{number:04d}-{slug}.md"
        if path.exists():
            raise FileExistsError(path)
        text = render(template, values | {"ID": number, "ID4": f"{number:04d}"}, source=source)
        with writer_lock(project.state_dir):
            updates = [(path, text)]
            for old_number in supersedes:
                old = get_adr(project, old_number)
                updated = _add_ids(
                    _with_status(old, "superseded"), "superseded_by", old.superseded_by, number
                )
                updates.append((old.path, updated))
            if len(updates) == 1:
                publish_file(path, text)
            else:
                write_together(updates, root=project.root, state_dir=project.state_dir)
        return path

    _, path = allocate(
        state_dir=project.state_dir,
        kind="adr",
        taken=lambda: taken_adr_ids(project),
        publish=publish,
    )
    return read_adr(project, path)


@dataclass(frozen=True)
class StatusChange:
    record: AdrRecord
    previous: str | None
    changed: bool


def change_status(project: Project, number: int, *, action: str) -> StatusChange:
    """Apply ``accept``, ``reject`` or ``deprecate`` to ADR ``number``."""
    allowed, target = TRANSITIONS[action]
    finish_interrupted_update(project)
    with writer_lock(project.state_dir):
        record = get_adr(project, number)
        _editable(record)
        if record.status == target:
            return StatusChange(record, record.status, changed=False)
        if record.status not in allowed:
            raise SddError(
                f"ADR {number} is {record.status or 'without status'}; "
                f"only {' or '.join(sorted(allowed))} ADRs can be {target}"
            )
        write_together(
            [(record.path, _with_status(record, target))],
            root=project.root,
            state_dir=project.state_dir,
        )
    return StatusChange(read_adr(project, record.path), record.status, changed=True)


def supersede(project: Project, old_number: int, *, by: int) -> tuple[AdrRecord, AdrRecord, bool]:
    """Mark ``old_number`` superseded by ``by`` and record the link on both ADRs at once."""
    if old_number == by:
        raise SddError("an ADR cannot supersede itself")
    finish_interrupted_update(project)
    with writer_lock(project.state_dir):
        old, new = get_adr(project, old_number), get_adr(project, by)
        _editable(old)
        _editable(new)
        if old.status == "rejected":
            raise SddError(f"ADR {old_number} was rejected; a rejected ADR cannot be superseded")
        if by in old.superseded_by and old_number in new.supersedes and old.status == "superseded":
            return old, new, False
        old_text = _add_ids(_with_status(old, "superseded"), "superseded_by", old.superseded_by, by)
        new_text = _add_ids(new.text, "supersedes", new.supersedes, old_number)
        write_together(
            [(old.path, old_text), (new.path, new_text)],
            root=project.root,
            state_dir=project.state_dir,
        )
    return read_adr(project, old.path), read_adr(project, new.path), True


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ") if value not in (None, "") else "—"


def _node(record: AdrRecord) -> str:
    label = f"ADR-{record.id or 0:04d}: {record.title or record.path.name}".replace('"', "#quot;")
    return f'adr{record.id}["{label}"]'


def render_index(records: list[AdrRecord]) -> str:
    """The ``history/adr/README.md`` text: a table of every ADR and a supersede graph."""
    lines = [
        "# Architecture Decision Records",
        "",
        "<!-- Generated by `sdd adr index`; edit the ADRs, then run it again. -->",
        "",
        "| ADR | Title | Status | Date | Supersedes | Superseded by |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for record in records:
        number = f"{record.id:04d}" if record.id is not None else "?"
        lines.append(
            f"| [{number}]({record.path.name}) | {_cell(record.title)} | {_cell(record.status)} "
            f"| {_cell(record.date)} | {_cell(', '.join(map(str, record.supersedes)))} "
            f"| {_cell(', '.join(map(str, record.superseded_by)))} |"
        )
    lines += ["", "## Supersede graph", "", "```mermaid", "graph LR"]
    known = {record.id for record in records}
    lines += [f"  {_node(record)}" for record in records if record.id is not None]
    edges: set[tuple[int, int]] = set()
    for record in records:
        if record.id is None:
            continue
        edges |= {(record.id, old) for old in record.supersedes}
        edges |= {(newer, record.id) for newer in record.superseded_by}
    lines += [
        f"  adr{newer} -->|supersedes| adr{old}"
        for newer, old in sorted(edges)
        if newer in known and old in known
    ]
    lines += ["```", ""]
    return "\n".join(lines)


def write_index(project: Project) -> tuple[Path, int]:
    finish_interrupted_update(project)
    records = all_adrs(project)
    path = project.adr_dir / INDEX_NAME
    project.adr_dir.mkdir(parents=True, exist_ok=True)
    write_together([(path, render_index(records))], root=project.root, state_dir=project.state_dir)
    return path, len(records)
