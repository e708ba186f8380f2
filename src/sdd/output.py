"""What sdd prints: one JSON document on stdout, or text; diagnostics always on stderr."""

from __future__ import annotations

import json
import sys
from typing import Any


def emit_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False) + "\n")
    sys.stdout.flush()


def emit_text(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    sys.stdout.flush()


def warn(message: str) -> None:
    sys.stderr.write(f"sdd: warning: {message}\n")


def report_error(message: str, *, exit_code: int, as_json: bool) -> None:
    """One line on stderr; under ``--json`` also the error document on stdout."""
    one_line = " ".join(message.split())
    sys.stderr.write(f"sdd: error: {one_line}\n")
    sys.stderr.flush()
    if as_json:
        emit_json({"ok": False, "error": {"message": one_line, "exit_code": exit_code}})


def table(rows: list[list[str]], headers: list[str]) -> str:
    """A plain left-aligned text table."""
    widths = [len(header) for header in headers]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(headers, widths, strict=True)).rstrip()
    ]
    lines += [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join(lines)
