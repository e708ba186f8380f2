"""What sdd prints: one JSON envelope under ``--json``; tables and colour for people.

The envelope is the same for every command, success or failure::

    {"ok": true, "command": "adr list", "data": {...}, "problems": []}

``problems`` holds warnings (unreadable records, notes) and, when ``ok`` is false, the
error. In JSON mode nothing else is written, not even to stderr. For people: aligned tables
and colour on a terminal (``NO_COLOR`` turns colour off), tab-separated text when piped.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from sdd.problems import Problem

ENVELOPE_KEYS = ("ok", "command", "data", "problems")
_CODES = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "cyan": "36",
}
STATUS_STYLES = {
    "accepted": "green",
    "proposed": "yellow",
    "draft": "yellow",
    "rejected": "red",
    "deprecated": "dim",
    "superseded": "dim",
}


def envelope(
    *, ok: bool, command: str, data: Any, problems: Sequence[Problem] = ()
) -> dict[str, Any]:
    return {
        "ok": ok,
        "command": command,
        "data": data,
        "problems": [problem.to_json() for problem in problems],
    }


def write_json(document: Any, stream: TextIO | None = None) -> None:
    """Indented for a person at a terminal; one compact line (and C-fast) for programs."""
    out = stream or sys.stdout
    isatty = getattr(out, "isatty", None)
    indent = 2 if isatty is not None and isatty() else None
    out.write(json.dumps(document, ensure_ascii=False, indent=indent) + "\n")
    out.flush()


def write_text(text: str, stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    if text:
        out.write(text if text.endswith("\n") else text + "\n")
    out.flush()


class Terminal:
    """Whether a stream is a terminal, and how to dress text for it."""

    def __init__(self, stream: TextIO, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        isatty = getattr(stream, "isatty", None)
        self.interactive = bool(isatty and isatty())
        forced = env.get("FORCE_COLOR") not in (None, "", "0")
        self.color = (
            (self.interactive or forced) and not env.get("NO_COLOR") and env.get("TERM") != "dumb"
        )
        self.width = shutil.get_terminal_size((100, 24)).columns if self.interactive else 0

    def style(self, text: str, *styles: str) -> str:
        codes = [_CODES[name] for name in styles if name in _CODES]
        if not self.color or not codes or not text:
            return text
        return f"\x1b[{';'.join(codes)}m{text}\x1b[0m"


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    terminal: Terminal,
    *,
    styles: Callable[[int, str], tuple[str, ...]] | None = None,
) -> str:
    """Aligned columns on a terminal (last column cut to fit), tab-separated when piped."""
    if not terminal.interactive:
        lines = ["\t".join(headers)] + [
            "\t".join(cell.replace("\t", " ") for cell in row) for row in rows
        ]
        return "\n".join(lines)
    widths = [len(header) for header in headers]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    if terminal.width and len(widths) > 1:
        fixed = sum(widths[:-1]) + 2 * (len(widths) - 1)
        widths[-1] = max(10, min(widths[-1], terminal.width - fixed - 1))

    def fit(cell: str, width: int) -> str:
        return cell if len(cell) <= width else cell[: max(width - 1, 1)] + "…"

    def line(cells: Sequence[str], header: bool) -> str:
        parts = []
        for index, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            shown = fit(cell, width)
            padded = shown.ljust(width) if index < len(cells) - 1 else shown
            looks = ("bold",) if header else (styles(index, cell) if styles else ())
            parts.append(terminal.style(padded, *looks))
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers, True), *(line(row, False) for row in rows)])


def status_style(status: str) -> tuple[str, ...]:
    style = STATUS_STYLES.get(status)
    return (style,) if style else ()
