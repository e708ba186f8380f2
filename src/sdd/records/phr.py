"""Prompt History Records: create, route, list, show and search them.

Ids are unique across the whole ``history/prompts`` tree (Spec-Kit Plus numbering), so
allocation scans every route folder and reserves numbers in one place (see ``ids``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdd.errors import RecordNotFoundError, SddError
from sdd.gitinfo import current_branch
from sdd.naming import require_feature_name, require_title, slugify
from sdd.project import Project
from sdd.records.frontmatter import parse_lenient, split
from sdd.records.ids import allocate, publish_file
from sdd.records.schema import LINK_KEYS, STAGES
from sdd.specs import feature_names
from sdd.templates import load_template, render

UNROUTED_STAGES = ("constitution", "general")
PHR_NAME = re.compile(r"^(\d+)-(.+?)\.([A-Za-z]+)\.prompt\.md$")
_NUMBERED = re.compile(r"^(\d+)-")
_FENCE_OPEN = re.compile(r"^(`{3,}|~{3,})")
NOT_RECORDED = "_Not recorded._"


def require_stage(stage: str) -> str:
    if stage not in STAGES:
        raise SddError(f"unknown stage {stage!r}; use one of: {', '.join(STAGES)}")
    return stage


def match_feature(project: Project, name: str) -> str | None:
    """The spec folder ``name`` refers to: exact, or ``NNN-name`` when it lacks its number."""
    names = feature_names(project)
    if name in names:
        return name
    prefixed = [folder for folder in names if folder.split("-", 1)[-1] == name]
    return prefixed[0] if len(prefixed) == 1 else None


def resolve_feature(
    project: Project, *, stage: str, explicit: str | None, environ: Mapping[str, str]
) -> str | None:
    """The feature a record belongs to: ``--feature``, ``SPECIFY_FEATURE``, then the branch.

    Records of the unrouted stages only carry a feature when one is given explicitly.
    """
    for value, source in ((explicit, "--feature"), (environ.get("SPECIFY_FEATURE"), "env")):
        if value:
            require_feature_name(value)
            matched = match_feature(project, value)
            if matched is None and stage not in UNROUTED_STAGES:
                print(
                    f"sdd: warning: no folder specs/{value} or specs/NNN-{value}; "
                    f"recording under {value!r} as given ({source})",
                    file=sys.stderr,
                )
            return matched or value
    if stage in UNROUTED_STAGES:
        return None
    branch = current_branch(project.root)
    if branch:
        names = set(feature_names(project))
        for candidate in (branch, branch.rsplit("/", 1)[-1]):
            if candidate in names:
                return candidate
    raise SddError(
        f"cannot tell which feature this {stage!r} record belongs to "
        f"(branch {branch or 'unknown'!r} matches no folder in specs/): pass --feature NNN-name, "
        "set SPECIFY_FEATURE, or use --stage general"
    )


def route_for(stage: str, feature: str | None) -> str:
    if stage in UNROUTED_STAGES:
        return stage
    if not feature:
        raise SddError(f"stage {stage!r} needs a feature")
    return feature


def fenced(text: str) -> str:
    """``text`` in a code fence longer than any backtick run inside it, so it stays verbatim."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") else text + "\n"
    return f"{fence}text\n{body}{fence}"


@dataclass
class PhrInput:
    title: str
    stage: str = "general"
    feature: str | None = None
    prompt: str | None = None
    response: str | None = None
    outcome: str | None = None
    evaluation: str | None = None
    model: str | None = None
    command: str | None = None
    surface: str | None = "agent"
    user: str | None = None
    branch: str | None = None
    labels: Sequence[str] = ()
    files: Sequence[str] = ()
    tests: Sequence[str] = ()
    links: Mapping[str, str | None] = field(default_factory=dict)
    date: dt.date | None = None


@dataclass(frozen=True)
class CreatedPhr:
    id: int
    path: Path
    relative_path: str
    stage: str
    feature: str | None
    route: str


def parse_links(values: Sequence[str]) -> dict[str, str | None]:
    """``key=value`` options into the four link slots; unknown or repeated keys are errors."""
    links: dict[str, str | None] = dict.fromkeys(LINK_KEYS)
    seen: set[str] = set()
    for item in values:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in LINK_KEYS or not value.strip():
            raise SddError(f"--link {item!r}: expected one of {', '.join(LINK_KEYS)}=VALUE")
        if key in seen:
            raise SddError(f"--link {key}= given twice")
        seen.add(key)
        links[key] = value.strip()
    return links


def _unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(value.strip() for value in values if value.strip()))


def _outcome(data: PhrInput) -> str:
    if data.outcome is not None:
        return data.outcome
    files = ", ".join(data.files) or "none"
    tests = ", ".join(data.tests) or "none"
    return f"- Impact: not recorded\n- Files: {files}\n- Tests: {tests}"


def numbered_files(folder: Path) -> list[Path]:
    """Markdown files named ``N...-*.md`` anywhere below ``folder``, skipping dot-folders."""
    found: list[Path] = []
    with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                found += numbered_files(Path(entry.path))
            elif entry.name.endswith(".md") and _NUMBERED.match(entry.name):
                found.append(Path(entry.path))
    return found


def taken_ids(project: Project) -> set[int]:
    """Every PHR number in use, from file names alone (fast: no file is opened)."""
    return {int(path.name.split("-", 1)[0]) for path in numbered_files(project.prompts_dir)}


def create_phr(
    project: Project, data: PhrInput, *, environ: Mapping[str, str] | None = None
) -> CreatedPhr:
    """Validate everything, then reserve an id and publish the record in one go."""
    title = require_title(data.title)
    stage = require_stage(data.stage)
    feature = resolve_feature(
        project,
        stage=stage,
        explicit=data.feature,
        environ=environ if environ is not None else os.environ,
    )
    route = route_for(stage, feature)
    slug = slugify(title)
    links = dict.fromkeys(LINK_KEYS) | dict(data.links)
    template, source = load_template("phr.md", templates_dir=project.templates_dir)
    files, tests = _unique(data.files), _unique(data.tests)
    values: dict[str, object] = {
        "TITLE": title,
        "STAGE": stage,
        "DATE": data.date or dt.date.today(),
        "SURFACE": data.surface,
        "MODEL": data.model,
        "FEATURE": feature,
        "BRANCH": data.branch if data.branch is not None else current_branch(project.root),
        "USER": data.user,
        "COMMAND": data.command,
        "LABELS": _unique(data.labels),
        "LINK_SPEC": links["spec"],
        "LINK_TICKET": links["ticket"],
        "LINK_ADR": links["adr"],
        "LINK_PR": links["pr"],
        "FILES": files,
        "TESTS": tests,
        "PROMPT": fenced(data.prompt) if data.prompt is not None else NOT_RECORDED,
        "RESPONSE": fenced(data.response) if data.response is not None else NOT_RECORDED,
        "OUTCOME": _outcome(PhrInput(title=title, outcome=data.outcome, files=files, tests=tests)),
        "EVALUATION": data.evaluation if data.evaluation is not None else NOT_RECORDED,
    }
    render(template, values | {"ID": 1, "ID4": "0001"}, source=source)  # fail before reserving
    folder = project.prompts_dir / route

    def publish(number: int) -> Path:
        text = render(template, values | {"ID": number, "ID4": f"{number:04d}"}, source=source)
        return publish_file(folder / f"{number:04d}-{slug}.{stage}.prompt.md", text)

    number, path = allocate(
        state_dir=project.state_dir,
        kind="prompts",
        taken=lambda: taken_ids(project),
        publish=publish,
    )
    return CreatedPhr(number, path, project.relative(path), stage, feature, route)


@dataclass
class PhrRecord:
    """A PHR as read from disk, whichever tool wrote it."""

    id: int | None
    title: str | None
    stage: str | None
    date: str | None
    feature: str | None
    route: str
    path: Path
    relative_path: str
    labels: list[str]
    front_matter: dict[str, Any]
    text: str

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "stage": self.stage,
            "date": self.date,
            "feature": self.feature,
            "route": self.route,
            "labels": self.labels,
            "path": self.relative_path,
        }


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    # Spec-Kit Plus writes "- none" for an empty list.
    return [str(item) for item in items if item is not None and str(item).strip().lower() != "none"]


def record_id(raw: str | None, parsed: object, filename: str) -> int | None:
    """The id as written: ``0010`` stays 10 although YAML 1.1 would read it as octal 8."""
    if raw is not None:
        digits = raw.strip("\"' ")
        if digits.isdigit():
            return int(digits, 10)
    if isinstance(parsed, int) and not isinstance(parsed, bool):
        return parsed
    match = _NUMBERED.match(filename)
    return int(match.group(1)) if match else None


def jsonable(value: Any) -> Any:
    """Front matter values made JSON-safe (dates become ISO strings)."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [jsonable(item) for item in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def read_phr(project: Project, path: Path) -> PhrRecord:
    text = path.read_text(encoding="utf-8", errors="replace")
    block = split(text)
    data = parse_lenient(block) if block is not None else {}
    name_match = PHR_NAME.match(path.name)
    route = (
        path.parent.relative_to(project.prompts_dir).as_posix()
        if path.parent != project.prompts_dir
        else ""
    )
    title = _as_text(data.get("title"))
    if title is None:
        heading = re.search(r"^#\s+(.+)$", text, re.MULTILINE)
        title = heading.group(1).strip() if heading else None
    stage = _as_text(data.get("stage")) or (name_match.group(3) if name_match else None)
    feature = _as_text(data.get("feature"))
    if feature is not None and feature.strip().lower() in ("", "none"):
        feature = None  # Spec-Kit Plus writes "none" for general records
    if feature is None and route not in UNROUTED_STAGES and route:
        feature = route
    return PhrRecord(
        id=record_id(block.raw_value("id") if block else None, data.get("id"), path.name),
        title=title,
        stage=stage,
        date=_as_text(data.get("date")),
        feature=feature,
        route=route,
        path=path,
        relative_path=project.relative(path),
        labels=_as_list(data.get("labels")),
        front_matter=data,
        text=text,
    )


def all_phrs(project: Project) -> list[PhrRecord]:
    records = [read_phr(project, path) for path in numbered_files(project.prompts_dir)]
    return sorted(records, key=lambda record: (record.id or 0, record.relative_path))


def _same_feature(record: PhrRecord, wanted: str) -> bool:
    names = {record.feature or "", record.route}
    stripped = {name.split("-", 1)[1] for name in names if re.match(r"^\d+-", name)}
    wanted_stripped = wanted.split("-", 1)[1] if re.match(r"^\d+-", wanted) else wanted
    return wanted in names or wanted_stripped in names | stripped


def list_phrs(
    project: Project,
    *,
    feature: str | None = None,
    stage: str | None = None,
    labels: Sequence[str] = (),
    since: dt.date | None = None,
) -> list[PhrRecord]:
    if stage is not None:
        require_stage(stage)
    selected = []
    for record in all_phrs(project):
        if feature and not _same_feature(record, feature):
            continue
        if stage and record.stage != stage:
            continue
        if any(label not in record.labels for label in labels):
            continue
        if since and (record.date is None or record.date[:10] < since.isoformat()):
            continue
        selected.append(record)
    return selected


def find_phr(project: Project, ref: str, *, cwd: Path) -> PhrRecord:
    """The PHR ``ref`` names: an id, a path, a file name, or a slug."""
    ref = ref.strip()
    for candidate in (cwd / ref, project.root / ref):
        if ref.endswith(".md") and candidate.is_file():
            return read_phr(project, candidate.resolve())
    records = all_phrs(project)
    if ref.isdigit():
        matches = [record for record in records if record.id == int(ref)]
    else:
        matches = [
            record
            for record in records
            if ref in (record.path.name, record.path.name.removesuffix(".md"))
            or ((m := PHR_NAME.match(record.path.name)) is not None and m.group(2) == ref)
        ]
    if not matches:
        raise RecordNotFoundError(f"no PHR matches {ref!r}")
    if len(matches) > 1:
        paths = ", ".join(record.relative_path for record in matches)
        raise SddError(f"{ref!r} matches several PHRs: {paths}")
    return matches[0]


def sections(text: str) -> dict[str, str]:
    """Body sections by ``## `` heading; a section that is one code fence is unwrapped."""
    result: dict[str, str] = {}
    block = split(text)
    body = block.body if block is not None else text
    current: str | None = None
    lines: list[str] = []
    fence: str | None = None

    def flush() -> None:
        if current is not None:
            result[current] = _unfence("\n".join(lines).strip("\n"))

    for line in body.split("\n"):
        if fence is None and line.startswith("## "):
            flush()
            current, lines = line[3:].strip(), []
            continue
        opener = _FENCE_OPEN.match(line)
        if opener and fence is None:
            fence = opener.group(1)
        elif fence is not None and line.strip() == fence:
            fence = None
        lines.append(line)
    flush()
    return result


def _unfence(section: str) -> str:
    lines = section.split("\n")
    opener = _FENCE_OPEN.match(lines[0]) if lines else None
    if opener and len(lines) >= 2 and lines[-1].strip() == opener.group(1):
        return "\n".join(lines[1:-1])
    return section


def search_phrs(project: Project, needle: str) -> list[tuple[PhrRecord, list[tuple[int, str]]]]:
    """Records whose text contains ``needle`` (case-insensitive), with the matching lines."""
    if not needle:
        raise SddError("search text must not be empty")
    wanted = needle.casefold()
    hits = []
    for record in all_phrs(project):
        lines = [
            (number, line.strip())
            for number, line in enumerate(record.text.splitlines(), start=1)
            if wanted in line.casefold()
        ]
        if lines:
            hits.append((record, lines))
    return hits
