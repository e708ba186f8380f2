"""``sdd init``: lay out the folders, templates, constitution and contract of a project."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sdd.project import MARKER, TEXT_KEYS, read_settings
from sdd.records.frontmatter import encode_scalar
from sdd.templates import RECORD_TEMPLATES, builtin_text, render


@dataclass(frozen=True)
class ScaffoldAction:
    path: str  # repository-relative POSIX
    action: str  # created | overwritten | kept


def _planned_files(root: Path, settings: dict[str, str]) -> list[tuple[Path, str]]:
    """Every file ``sdd init`` writes, with its text."""
    files = [(root / MARKER / "memory" / "constitution.md", builtin_text("constitution.md"))]
    files += [(root / MARKER / "templates" / name, builtin_text(name)) for name in RECORD_TEMPLATES]
    contract = render(
        builtin_text("openapi.yaml"),
        {"PROJECT_NAME": encode_scalar(root.name or "API")},
        source="built-in openapi.yaml",
    )
    files.append((root / settings["contract"], contract))
    return files


def init_project(root: Path, *, force: bool = False) -> list[ScaffoldAction]:
    """Create whatever is missing under ``root``; overwrite existing files only with ``force``."""
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    settings = {key: str(value) for key, value in TEXT_KEYS.items()}
    settings |= {key: str(value) for key, value in read_settings(root).items()}
    actions: list[ScaffoldAction] = []
    for path, text in _planned_files(root, settings):
        relative = path.relative_to(root).as_posix()
        if path.exists() and not force:
            actions.append(ScaffoldAction(relative, "kept"))
            continue
        existed = path.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        actions.append(ScaffoldAction(relative, "overwritten" if existed else "created"))
    history = root / settings["history"]
    for folder in (root / settings["specs"], history / "prompts", history / "adr"):
        relative = folder.relative_to(root).as_posix() + "/"
        if folder.is_dir():
            actions.append(ScaffoldAction(relative, "kept"))
            continue
        folder.mkdir(parents=True)
        # git does not track empty folders; the marker keeps the layout in a fresh clone.
        (folder / ".gitkeep").touch()
        actions.append(ScaffoldAction(relative, "created"))
    return actions
