"""Text arguments given as TEXT, @FILE or - (stdin), always decoded as strict UTF-8."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

from sdd.errors import SddError


def _decode(data: bytes, *, source: str) -> str:
    try:
        # utf-8-sig drops a byte-order mark that Windows editors like to add.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SddError(f"{source} is not valid UTF-8 (byte {exc.start})") from exc


def read_text_argument(
    value: str | None, *, option: str, cwd: Path, stdin: BinaryIO | None = None
) -> str | None:
    """Resolve one TEXT | @FILE | - value; ``None`` stays ``None``."""
    if value is None:
        return None
    if value == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        return _decode(stream.read(), source=f"{option} (stdin)")
    if value.startswith("@") and len(value) > 1:
        path = cwd / value[1:]
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SddError(f"{option}: cannot read {value[1:]}: {exc.strerror}") from exc
        return _decode(data, source=f"{option} file {value[1:]}")
    return value


def read_text_arguments(
    values: Mapping[str, str | None], *, cwd: Path, stdin: BinaryIO | None = None
) -> dict[str, str | None]:
    """Resolve several options at once; at most one of them may read stdin."""
    from_stdin = [option for option, value in values.items() if value == "-"]
    if len(from_stdin) > 1:
        raise SddError(f"only one option can read stdin ('-'); got {', '.join(from_stdin)}")
    return {
        option: read_text_argument(value, option=option, cwd=cwd, stdin=stdin)
        for option, value in values.items()
    }
