"""Built-in templates shipped in the package, project overrides, and placeholder rendering."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from sdd.errors import SddError
from sdd.records.frontmatter import encode_value, split

BUILTIN_DIR = Path(__file__).parent / "templates"
RECORD_TEMPLATES = ("spec.md", "plan.md", "tasks.md", "phr.md", "adr.md")
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")


def builtin_text(name: str) -> str:
    return (BUILTIN_DIR / name).read_text(encoding="utf-8")


def load_template(name: str, *, templates_dir: Path | None) -> tuple[str, str]:
    """``(text, source)``: the project's copy in ``templates_dir`` if present, else built-in."""
    if templates_dir is not None:
        override = templates_dir / name
        if override.is_file():
            try:
                return override.read_text(encoding="utf-8"), override.as_posix()
            except UnicodeDecodeError as exc:
                raise SddError(f"template {override} is not valid UTF-8") from exc
    return builtin_text(name), f"built-in {name}"


def render(text: str, values: Mapping[str, object], *, source: str) -> str:
    """Fill ``{{NAME}}`` placeholders in one pass; any unknown placeholder is an error.

    Inside YAML front matter a value is written as a YAML scalar or flow list, so a title
    with a colon or quote still yields valid YAML; in the body it is inserted as text.
    Inserted values are never scanned again, so a prompt quoting ``{{X}}`` stays intact.
    """
    block = split(text)
    header_end = 0
    if block is not None:
        header_end = len("\n".join(text.split("\n")[: block.closing_line]))

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name not in values:
            line = text.count("\n", 0, match.start()) + 1
            raise SddError(f"template {source}:{line} uses unknown placeholder {match.group(0)}")
        value = values[name]
        if match.start() < header_end:
            return encode_value(value)
        return "" if value is None else str(value)

    return _PLACEHOLDER.sub(substitute, text)
