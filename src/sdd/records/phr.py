"""Prompt History Records: create, route, find, list, show and search them.

As in Spec-Kit Plus, a PHR's id is unique within its route folder (``constitution/``,
``general/`` or the feature's folder), not across the whole tree: ``history/prompts/001-a/0003``
and ``history/prompts/002-b/0003`` are two records. ``FEATURE/ID`` names one; a bare id names one
only where it is unique. File names may be ``NNNN-slug.stage.prompt.md``, ``NNN-...`` or
``PHR-NNNN-...``; ``scan_phrs`` is the one function that finds them.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdd.errors import RecordNotFoundError, SddError
from sdd.gitinfo import current_branch
from sdd.naming import require_feature_name, require_title, slugify
from sdd.problems import Problem
from sdd.project import Project
from sdd.records.common import (
    NOT_RECORDED,
    as_list,
    as_text,
    fenced,
    first_heading,
    matching_lines,
    read_text,
    record_id,
)
from sdd.records.frontmatter import FrontMatterError, parse, parse_lenient, split
from sdd.records.ids import allocate, publish_file
from sdd.records.schema import LINK_KEYS, STAGES
from sdd.specs import feature_names, spec_folders
from sdd.templates import load_template, render

UNROUTED_STAGES = ("constitution", "general")
PHR_NAME = re.compile(
    r"^(?P<prefix>PHR[-_])?(?P<id>\d+)-(?P<slug>.+?)(?:\.(?P<stage>[A-Za-z]+))?(?:\.prompt)?\.md$",
    re.IGNORECASE,
)
_SKIPPED = frozenset({"readme.md", "index.md"})


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


@dataclass(frozen=True)
class FeatureChoice:
    feature: str | None
    source: str  # --feature | SPECIFY_FEATURE | branch | highest-numbered spec | none
    note: str | None = None


def resolve_feature(
    project: Project, *, stage: str, explicit: str | None, environ: Mapping[str, str]
) -> FeatureChoice:
    """The feature a record belongs to, as Spec-Kit Plus decides it.

    ``--feature``, then ``SPECIFY_FEATURE``, then the git branch when it names a spec, then
    the highest-numbered spec. Records of the unrouted stages only carry a feature when one
    is given explicitly.
    """
    for value, source in (
        (explicit, "--feature"),
        (environ.get("SPECIFY_FEATURE"), "SPECIFY_FEATURE"),
    ):
        if value:
            require_feature_name(value)
            matched = match_feature(project, value)
            note = None
            if matched is None and stage not in UNROUTED_STAGES:
                note = (
                    f"no folder specs/{value} or specs/NNN-{value}; "
                    f"recording under {value!r} as given ({source})"
                )
            return FeatureChoice(matched or value, source, note)
    if stage in UNROUTED_STAGES:
        return FeatureChoice(None, "none")
    branch = current_branch(project.root)
    names = feature_names(project)
    if branch:
        for candidate in (branch, branch.rsplit("/", 1)[-1]):
            if candidate in names:
                return FeatureChoice(candidate, "branch")
    folders = spec_folders(project)
    if folders:
        chosen = folders[-1][2].name
        why = f"branch {branch!r} names no spec" if branch else "no branch"
        note = f"feature {chosen}: the highest-numbered spec ({why}); pass --feature to choose"
        return FeatureChoice(chosen, "highest-numbered spec", note)
    raise SddError(
        f"cannot tell which feature this {stage!r} record belongs to: there is no spec in "
        f"{project.relative(project.specs_dir)}/ and the branch {branch or 'unknown'!r} names "
        "none; pass --feature NNN-name, set SPECIFY_FEATURE, or use --stage general"
    )


def route_for(stage: str, feature: str | None) -> str:
    if stage in UNROUTED_STAGES:
        return stage
    if not feature:
        raise SddError(f"stage {stage!r} needs a feature")
    return feature


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
    feature_source: str = "none"
    note: str | None = None
    title: str = ""
    date: str = ""
    labels: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        """The same summary ``phr list`` gives, built without reading the file back."""
        return {
            "ref": f"{self.route}/{self.id}",
            "id": self.id,
            "title": self.title,
            "stage": self.stage,
            "date": self.date,
            "feature": self.feature,
            "route": self.route,
            "labels": list(self.labels),
            "path": self.relative_path,
        }


def _unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(value.strip() for value in values if value.strip()))


def _outcome(data: PhrInput) -> str:
    if data.outcome is not None:
        return data.outcome
    files = ", ".join(data.files) or "none"
    tests = ", ".join(data.tests) or "none"
    return f"- Impact: not recorded\n- Files: {files}\n- Tests: {tests}"


def phr_files(folder: Path) -> list[Path]:
    """Every Markdown file below ``folder`` (READMEs and dot-folders aside), sorted."""
    found: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return found
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            found += phr_files(Path(entry.path))
        elif entry.name.lower().endswith(".md") and entry.name.lower() not in _SKIPPED:
            found.append(Path(entry.path))
    return sorted(found)


def _taken_in(folder: Path) -> set[int]:
    """Ids used in one route folder, from file names alone (fast: no file is opened)."""
    taken: set[int] = set()
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return taken
    for entry in entries:
        match = PHR_NAME.match(entry.name)
        if match and entry.is_file():
            taken.add(int(match.group("id")))
    return taken


@dataclass(frozen=True)
class NameStyle:
    prefix: str = ""
    width: int = 4


def name_style(project: Project, folder: Path) -> NameStyle:
    """The file-name convention of the folder's records, else of the whole tree."""
    for place in (folder, project.prompts_dir):
        names = [path.name for path in (phr_files(place) if place != folder else _files_in(folder))]
        matches = [m for m in map(PHR_NAME.match, names) if m is not None]
        if matches:
            prefix = Counter(m.group("prefix") or "" for m in matches).most_common(1)[0][0]
            width = Counter(len(m.group("id")) for m in matches).most_common(1)[0][0]
            return NameStyle(prefix, width)
    return NameStyle()


def _files_in(folder: Path) -> list[Path]:
    try:
        return [Path(e.path) for e in os.scandir(folder) if e.is_file() and e.name.endswith(".md")]
    except FileNotFoundError:
        return []


def create_phr(
    project: Project, data: PhrInput, *, environ: Mapping[str, str] | None = None
) -> CreatedPhr:
    """Validate everything, then reserve an id in the route folder and publish the record."""
    title = require_title(data.title)
    stage = require_stage(data.stage)
    choice = resolve_feature(
        project,
        stage=stage,
        explicit=data.feature,
        environ=environ if environ is not None else os.environ,
    )
    feature = choice.feature
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
    style = name_style(project, folder)

    def publish(number: int) -> Path:
        text = render(template, values | {"ID": number, "ID4": f"{number:04d}"}, source=source)
        name = f"{style.prefix}{number:0{style.width}d}-{slug}.{stage}.prompt.md"
        return publish_file(folder / name, text)

    number, path = allocate(
        state_dir=project.state_dir,
        kind=f"prompts-{route}",
        taken=lambda: _taken_in(folder),
        publish=publish,
    )
    return CreatedPhr(
        number,
        path,
        project.relative(path),
        stage,
        feature,
        route,
        choice.source,
        choice.note,
        title,
        str(values["DATE"]),
        tuple(values["LABELS"]),  # type: ignore[arg-type]
    )


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
    yaml_error: FrontMatterError | None = None
    name_id: int | None = None

    @property
    def ref(self) -> str:
        local = str(self.id) if self.id is not None else self.path.stem
        return f"{self.route}/{local}" if self.route else local

    def summary(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "id": self.id,
            "title": self.title,
            "stage": self.stage,
            "date": self.date,
            "feature": self.feature,
            "route": self.route,
            "labels": self.labels,
            "path": self.relative_path,
        }


def _route_of(path: Path, prompts_dir: Path) -> str:
    """The folder of ``path`` below the prompts folder, POSIX style ("" at the top)."""
    parent, top = os.path.dirname(str(path)), str(prompts_dir)
    if parent == top:
        return ""
    if parent.startswith(top + os.sep):
        return parent[len(top) + 1 :].replace(os.sep, "/")
    return ""


def read_phr(project: Project, path: Path) -> PhrRecord | Problem:
    relative = project.relative(path)
    text, why = read_text(path)
    if text is None:
        code = "encoding" if why and "UTF-8" in why else "unreadable"
        return Problem(relative, 1, code, str(why))
    block = split(text)
    data: dict[str, Any] = {}
    yaml_error: FrontMatterError | None = None
    if block is not None:
        try:
            data = parse(block)
        except FrontMatterError as exc:
            yaml_error = exc
            data = parse_lenient(block)
    name = PHR_NAME.match(path.name)
    route = _route_of(path, project.prompts_dir)
    title = as_text(data.get("title"))
    if title is None:
        title = first_heading(text)[0]
    stage = as_text(data.get("stage")) or (
        name.group("stage") if name and name.group("stage") else None
    )
    feature = as_text(data.get("feature"))
    if feature is not None and feature.strip().lower() in ("", "none"):
        feature = None  # Spec-Kit Plus writes "none" for general records
    if feature is None and route and route not in UNROUTED_STAGES:
        feature = route
    name_id = int(name.group("id")) if name else None
    found_id = record_id(block.raw_value("id") if block else None, data.get("id"), "")
    if found_id is None:
        found_id = name_id
    if found_id is None:
        return Problem(
            relative,
            1,
            "no-id",
            "cannot tell this PHR's id: name it NNNN-slug.<stage>.prompt.md or give it an id",
        )
    return PhrRecord(
        id=name_id if name_id is not None else found_id,
        title=title,
        stage=stage,
        date=as_text(data.get("date") or data.get("date_iso")),
        feature=feature,
        route=route,
        path=path,
        relative_path=relative,
        labels=as_list(data.get("labels")),
        front_matter=data,
        text=text,
        yaml_error=yaml_error,
        name_id=name_id,
    )


@dataclass
class PhrScan:
    records: list[PhrRecord]
    problems: list[Problem]


def scan_phrs(project: Project) -> PhrScan:
    """Every PHR below the prompts folder, and every file there that is not readable as one."""
    records: list[PhrRecord] = []
    problems: list[Problem] = []
    for path in phr_files(project.prompts_dir):
        result = read_phr(project, path)
        if isinstance(result, Problem):
            problems.append(result)
        else:
            records.append(result)
    records.sort(key=lambda record: (record.route, record.id or 0, record.relative_path))
    return PhrScan(records, problems)


def all_phrs(project: Project) -> list[PhrRecord]:
    return scan_phrs(project).records


def _same_feature(record: PhrRecord, wanted: str) -> bool:
    names = {record.feature or "", record.route}
    stripped = {name.split("-", 1)[1] for name in names if re.match(r"^\d+-", name)}
    wanted_stripped = wanted.split("-", 1)[1] if re.match(r"^\d+-", wanted) else wanted
    return wanted in names or wanted_stripped in names | stripped


def filter_phrs(
    records: Sequence[PhrRecord],
    *,
    feature: str | None = None,
    stage: str | None = None,
    labels: Sequence[str] = (),
    since: dt.date | None = None,
) -> list[PhrRecord]:
    if stage is not None:
        require_stage(stage)
    selected = []
    for record in records:
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


def list_phrs(
    project: Project,
    *,
    feature: str | None = None,
    stage: str | None = None,
    labels: Sequence[str] = (),
    since: dt.date | None = None,
) -> list[PhrRecord]:
    return filter_phrs(all_phrs(project), feature=feature, stage=stage, labels=labels, since=since)


def find_phr(
    project: Project, ref: str, *, cwd: Path, records: Sequence[PhrRecord] | None = None
) -> PhrRecord:
    """The PHR ``ref`` names: ``FEATURE/ID``, a path, a file name, a slug, or a unique bare id."""
    ref = ref.strip()
    if not ref:
        raise SddError("a PHR reference must not be empty")
    for candidate in (cwd / ref, project.root / ref):
        if ref.endswith(".md") and candidate.is_file():
            result = read_phr(project, candidate.resolve())
            if isinstance(result, Problem):
                raise SddError(f"{result.path}: {result.message}")
            return result
    pool = list(records) if records is not None else all_phrs(project)
    route, _, local = ref.rpartition("/")
    if local.isdigit():
        matches = [
            record
            for record in pool
            if record.id == int(local) and (not route or _route_matches(record, route))
        ]
    else:
        matches = [
            record
            for record in pool
            if local in (record.path.name, record.path.name.removesuffix(".md"))
            or ((m := PHR_NAME.match(record.path.name)) is not None and m.group("slug") == local)
        ]
        if route:
            matches = [record for record in matches if _route_matches(record, route)]
    if not matches:
        raise RecordNotFoundError(f"no PHR matches {ref!r}")
    if len(matches) > 1:
        refs = ", ".join(f"{record.ref} ({record.relative_path})" for record in matches)
        raise SddError(f"{ref!r} matches several PHRs: {refs}; name one as FEATURE/ID or by path")
    return matches[0]


def _route_matches(record: PhrRecord, route: str) -> bool:
    return route == record.route or _same_feature(record, route)


def search_phrs(project: Project, needle: str) -> list[tuple[PhrRecord, list[tuple[int, str]]]]:
    """Records whose text contains ``needle`` (case-insensitive), with the matching lines."""
    if not needle:
        raise SddError("search text must not be empty")
    hits = []
    for record in all_phrs(project):
        lines = matching_lines(record.text, needle)
        if lines:
            hits.append((record, lines))
    return hits
