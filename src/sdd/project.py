"""Find the project root (the nearest ``.specify/``) and read ``[tool.sdd]`` settings."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from sdd.errors import ProjectNotFoundError, SddError

MARKER = ".specify"
DEFAULTS: dict[str, str] = {
    "specs": "specs",
    "history": "history",
    "contract": "openapi/openapi.yaml",
    "models": "",
}


@dataclass(frozen=True)
class Project:
    """A repository that uses sdd, with every path resolved against its root."""

    root: Path
    specs_dir: Path
    history_dir: Path
    contract_path: Path
    models_path: Path | None

    @property
    def specify_dir(self) -> Path:
        return self.root / MARKER

    @property
    def templates_dir(self) -> Path:
        return self.specify_dir / "templates"

    @property
    def prompts_dir(self) -> Path:
        return self.history_dir / "prompts"

    @property
    def adr_dir(self) -> Path:
        return self.history_dir / "adr"

    @property
    def state_dir(self) -> Path:
        """Private working files (id reservations, journals); never committed."""
        return self.specify_dir / ".sdd"

    def relative(self, path: Path) -> str:
        """The repository-relative POSIX form of ``path`` used in records and output."""
        for candidate in (path, path.resolve()):  # resolving is slow; most paths need none
            try:
                return candidate.relative_to(self.root).as_posix()
            except ValueError:
                continue
        return path.as_posix()


def find_root(start: Path) -> Path:
    """Walk up from ``start`` to the first folder that holds ``.specify/``."""
    current = start.resolve()
    for folder in (current, *current.parents):
        if (folder / MARKER).is_dir():
            return folder
    raise ProjectNotFoundError(
        f"no {MARKER}/ folder in {current} or any parent; run `sdd init` at the repository root"
    )


def read_settings(root: Path) -> dict[str, str]:
    """``[tool.sdd]`` from ``root/pyproject.toml`` merged over the defaults."""
    settings = dict(DEFAULTS)
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return settings
    import tomllib  # only needed when a pyproject exists

    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SddError(f"pyproject.toml: cannot read [tool.sdd]: {exc}") from exc
    table = data.get("tool", {}).get("sdd", {})
    if not isinstance(table, dict):
        raise SddError("pyproject.toml: [tool.sdd] must be a table")
    for key, value in table.items():
        if key not in DEFAULTS:
            print(f"sdd: warning: pyproject.toml: unknown [tool.sdd] key {key!r}", file=sys.stderr)
            continue
        if not isinstance(value, str) or (not value and key != "models"):
            raise SddError(f"pyproject.toml: [tool.sdd] {key} must be a non-empty string")
        settings[key] = value
    return settings


def _inside(root: Path, relative: str, key: str) -> Path:
    path = (root / relative).resolve()
    if path != root and root not in path.parents:
        raise SddError(f"pyproject.toml: [tool.sdd] {key} must stay inside the repository")
    return path


def _detect_models(root: Path) -> Path | None:
    # A generated-models module is conventionally src/<package>/contract/models.py.
    candidates = sorted((root / "src").glob("*/contract/models.py"))
    return candidates[0] if len(candidates) == 1 else None


def load_project(root: Path) -> Project:
    """Resolve every configured path of the project rooted at ``root``."""
    root = root.resolve()
    settings = read_settings(root)
    models = settings["models"]
    return Project(
        root=root,
        specs_dir=_inside(root, settings["specs"], "specs"),
        history_dir=_inside(root, settings["history"], "history"),
        contract_path=_inside(root, settings["contract"], "contract"),
        models_path=_inside(root, models, "models") if models else _detect_models(root),
    )


def discover(start: Path | None = None) -> Project:
    """The project containing ``start`` (default: the working directory)."""
    return load_project(find_root(start if start is not None else Path(os.getcwd())))
