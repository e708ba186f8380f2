"""Find the project and its record folders with zero setup, and say why each was chosen.

Discovery order for the ADR folder (the first that applies wins):

1. ``--adr-dir`` or ``SDD_ADR_DIR`` (relative to the working directory);
2. ``[tool.sdd] adr`` in ``pyproject.toml``, else ``[tool.sdd] history`` + ``/adr``;
3. adr-tools' ``.adr-dir`` file;
4. log4brains' ``.log4brains.yml`` ``project.adrFolder``;
5. the usual places: ``history/adr``, ``docs/decisions``, ``docs/adr``, ``doc/adr``,
   ``doc/architecture/decisions``;
6. otherwise ``history/adr`` (where ``sdd`` itself writes).

The prompts folder follows the same idea: ``--prompts-dir``/``SDD_PROMPTS_DIR``, then
``[tool.sdd] prompts``, then ``[tool.sdd] history`` + ``/prompts``, then ``history/prompts``.
The project root is the nearest folder, walking up from the working directory, that holds
``.specify/``, a ``[tool.sdd]`` table, ``.adr-dir``, ``.log4brains.yml`` or one of the usual
ADR folders; failing that, the git root; failing that, the working directory itself.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sdd.errors import SddError

MARKER = ".specify"
USUAL_ADR_DIRS = (
    "history/adr",
    "docs/decisions",
    "docs/adr",
    "doc/adr",
    "doc/architecture/decisions",
)
DEFAULT_ADR_DIR = "history/adr"
DEFAULT_PROMPTS_DIR = "history/prompts"
TEXT_KEYS: dict[str, str] = {
    "specs": "specs",
    "history": "history",
    "contract": "openapi/openapi.yaml",
    "models": "",
    "adr": "",
    "prompts": "",
}
FLAG_KEYS = ("traceability", "strict")
_ADR_FOLDER_LINE = re.compile(r"^\s*adrFolder\s*:\s*(.+?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Choice:
    """One folder sdd settled on, the rule that chose it, and every rule it tried."""

    path: Path
    source: str
    considered: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True)
class Overrides:
    """Folders given on the command line; ``None`` means "discover"."""

    adr_dir: str | None = None
    prompts_dir: str | None = None


@dataclass(frozen=True)
class Project:
    """A repository sdd works in, with every path resolved against its root."""

    root: Path
    specs_dir: Path
    history_dir: Path
    contract_path: Path
    models_path: Path | None
    adr: Choice = field(default_factory=lambda: Choice(Path(), "unset"))
    prompts: Choice = field(default_factory=lambda: Choice(Path(), "unset"))
    root_reason: str = "given"
    traceability: bool = True
    traceability_source: str = "default"
    strict: bool = False
    git_dir: Path | None = None

    @property
    def specify_dir(self) -> Path:
        return self.root / MARKER

    @property
    def templates_dir(self) -> Path:
        return self.specify_dir / "templates"

    @property
    def prompts_dir(self) -> Path:
        return self.prompts.path

    @property
    def adr_dir(self) -> Path:
        return self.adr.path

    @property
    def state_dir(self) -> Path:
        """Private working files (id reservations, journals); never committed.

        Inside ``.specify/`` when the project has one (as before), else inside the git
        directory, so that a repository sdd merely reads never gains a new folder.
        """
        if self.specify_dir.is_dir():
            return self.specify_dir / ".sdd"
        if self.git_dir is not None:
            return self.git_dir / "sdd"
        import hashlib
        import tempfile

        # Outside any repository: a per-root folder in the temporary directory, shared by
        # every sdd process on this machine, and nothing new in the user's tree.
        digest = hashlib.sha256(self.root.as_posix().encode("utf-8")).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"sdd-{digest}"

    def relative(self, path: Path) -> str:
        """The repository-relative POSIX form of ``path`` used in records and output."""
        text, root = str(path), str(self.root)
        if text.startswith(root + os.sep) and os.sep == "/":
            return text[len(root) + 1 :]  # the common case, without pathlib's parsing
        for candidate in (path, path.resolve()):  # resolving is slow; most paths need none
            try:
                return candidate.relative_to(self.root).as_posix()
            except ValueError:
                continue
        return path.as_posix()


def _has_tool_sdd(folder: Path) -> bool:
    try:
        text = (folder / "pyproject.toml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return "[tool.sdd" in text


def _marker_in(folder: Path) -> str | None:
    if (folder / MARKER).is_dir():
        return f"nearest folder holding {MARKER}/"
    if _has_tool_sdd(folder):
        return "nearest folder whose pyproject.toml has [tool.sdd]"
    for name in (".adr-dir", ".log4brains.yml"):
        if (folder / name).is_file():
            return f"nearest folder holding {name}"
    for usual in USUAL_ADR_DIRS:
        if (folder / usual).is_dir():
            return f"nearest folder holding {usual}/"
    return None


def find_root(start: Path) -> tuple[Path, str]:
    """The project root for ``start`` and the rule that chose it (never fails)."""
    current = start.resolve()
    for folder in (current, *current.parents):
        reason = _marker_in(folder)
        if reason is not None:
            return folder, reason
        if (folder / ".git").exists():
            return (
                folder,
                "git root (no .specify/, [tool.sdd], .adr-dir, .log4brains.yml or ADR folder)",
            )
    return current, "working directory (no marker and no git repository above it)"


def read_settings(root: Path) -> dict[str, object]:
    """``[tool.sdd]`` from ``root/pyproject.toml``: only the keys that are set."""
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return {}
    import tomllib  # only needed when a pyproject exists

    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SddError(f"pyproject.toml: cannot read [tool.sdd]: {exc}") from exc
    table = data.get("tool", {}).get("sdd", {})
    if not isinstance(table, dict):
        raise SddError("pyproject.toml: [tool.sdd] must be a table")
    settings: dict[str, object] = {}
    for key, value in table.items():
        if key in FLAG_KEYS:
            if not isinstance(value, bool):
                raise SddError(f"pyproject.toml: [tool.sdd] {key} must be true or false")
        elif key in TEXT_KEYS:
            if not isinstance(value, str) or (not value and key != "models"):
                raise SddError(f"pyproject.toml: [tool.sdd] {key} must be a non-empty string")
        else:
            print(f"sdd: warning: pyproject.toml: unknown [tool.sdd] key {key!r}", file=sys.stderr)
            continue
        settings[key] = value
    return settings


def _inside(root: Path, relative: str, key: str) -> Path:
    path = (root / relative).resolve()
    if path != root and root not in path.parents:
        raise SddError(f"[tool.sdd] {key} must stay inside the repository")
    return path


def _detect_models(root: Path) -> Path | None:
    # A generated-models module is conventionally src/<package>/contract/models.py.
    candidates = sorted((root / "src").glob("*/contract/models.py"))
    return candidates[0] if len(candidates) == 1 else None


def _adr_dir_file(root: Path) -> str | None:
    try:
        # utf-8-sig: Windows editors start the file with a byte order mark.
        text = (root / ".adr-dir").read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    first = text.strip().splitlines()
    return first[0].strip() if first and first[0].strip() else None


def _log4brains_folder(root: Path) -> str | None:
    try:
        text = (root / ".log4brains.yml").read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    # The project's own adrFolder is the first one; packages list theirs further down.
    match = _ADR_FOLDER_LINE.search(text)
    return match.group(1).strip().strip("\"'") if match else None


def _choose_adr_dir(
    root: Path, settings: Mapping[str, object], flag: str | None, environ: Mapping[str, str]
) -> Choice:
    cwd = Path(os.getcwd())
    candidates: list[tuple[str, Path | None]] = [
        ("--adr-dir", cwd / flag if flag else None),
        ("SDD_ADR_DIR", cwd / environ["SDD_ADR_DIR"] if environ.get("SDD_ADR_DIR") else None),
    ]
    adr_key = settings.get("adr")
    history = settings.get("history")
    candidates.append(("[tool.sdd] adr", _inside(root, str(adr_key), "adr") if adr_key else None))
    candidates.append(
        (
            "[tool.sdd] history",
            _inside(root, f"{history}/adr", "history") if history else None,
        )
    )
    adr_dir_file = _adr_dir_file(root)
    candidates.append((".adr-dir", root / adr_dir_file if adr_dir_file else None))
    log4brains = _log4brains_folder(root)
    candidates.append((".log4brains.yml adrFolder", root / log4brains if log4brains else None))
    chosen: Choice | None = None
    considered: list[tuple[str, str | None]] = []
    for source, path in candidates:
        considered.append((source, None if path is None else path.as_posix()))
        if path is not None and chosen is None:
            chosen = Choice(Path(os.path.normpath(path)), source)
    for usual in USUAL_ADR_DIRS:
        exists = (root / usual).is_dir()
        considered.append((f"usual place {usual}", usual if exists else None))
        if exists and chosen is None:
            chosen = Choice(root / usual, f"usual place {usual}")
    if chosen is None:
        chosen = Choice(root / DEFAULT_ADR_DIR, f"default {DEFAULT_ADR_DIR} (no ADR folder found)")
    return Choice(chosen.path, chosen.source, tuple(considered))


def _choose_prompts_dir(
    root: Path, settings: Mapping[str, object], flag: str | None, environ: Mapping[str, str]
) -> Choice:
    cwd = Path(os.getcwd())
    prompts_key = settings.get("prompts")
    history = settings.get("history")
    env_value = environ.get("SDD_PROMPTS_DIR")
    candidates: list[tuple[str, Path | None]] = [
        ("--prompts-dir", cwd / flag if flag else None),
        ("SDD_PROMPTS_DIR", cwd / env_value if env_value else None),
        (
            "[tool.sdd] prompts",
            _inside(root, str(prompts_key), "prompts") if prompts_key else None,
        ),
        (
            "[tool.sdd] history",
            _inside(root, f"{history}/prompts", "history") if history else None,
        ),
    ]
    considered = tuple((s, None if p is None else p.as_posix()) for s, p in candidates)
    for source, path in candidates:
        if path is not None:
            return Choice(Path(os.path.normpath(path)), source, considered)
    return Choice(root / DEFAULT_PROMPTS_DIR, f"default {DEFAULT_PROMPTS_DIR}", considered)


def _git_dir(root: Path) -> Path | None:
    from sdd.gitinfo import find_git_dir

    return find_git_dir(root)


def load_project(
    root: Path,
    *,
    overrides: Overrides | None = None,
    environ: Mapping[str, str] | None = None,
    reason: str = "given",
) -> Project:
    """Resolve every path of the project rooted at ``root``."""
    root = root.resolve()
    env = os.environ if environ is None else environ
    chosen = overrides or Overrides()
    settings = read_settings(root)
    models = str(settings.get("models", ""))
    contract = _inside(root, str(settings.get("contract", TEXT_KEYS["contract"])), "contract")
    history = str(settings.get("history", TEXT_KEYS["history"]))
    traceability = settings.get("traceability")
    if isinstance(traceability, bool):
        trace, trace_source = traceability, "[tool.sdd] traceability"
    else:
        trace = contract.is_file()
        trace_source = "contract found" if trace else "no contract and no [tool.sdd] traceability"
    return Project(
        root=root,
        specs_dir=_inside(root, str(settings.get("specs", TEXT_KEYS["specs"])), "specs"),
        history_dir=_inside(root, history, "history"),
        contract_path=contract,
        models_path=_inside(root, models, "models") if models else _detect_models(root),
        adr=_choose_adr_dir(root, settings, chosen.adr_dir, env),
        prompts=_choose_prompts_dir(root, settings, chosen.prompts_dir, env),
        root_reason=reason,
        traceability=trace,
        traceability_source=trace_source,
        strict=settings.get("strict") is True,
        git_dir=_git_dir(root),
    )


def discover(start: Path | None = None, *, overrides: Overrides | None = None) -> Project:
    """The project containing ``start`` (default: the working directory)."""
    root, reason = find_root(start if start is not None else Path(os.getcwd()))
    return load_project(root, overrides=overrides, reason=reason)
