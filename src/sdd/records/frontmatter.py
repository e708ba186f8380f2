"""YAML front matter: split it from the body, parse it strictly or leniently, emit and edit it.

Emitting does not import PyYAML: writing a record must stay fast, so scalars are encoded
here (plain when unambiguous, else double-quoted) and round-trip tested against PyYAML.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

FENCE = "---"
_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9 _.,/()+'@-]*$")
# Plain text YAML would read as a number, a timestamp or a sexagesimal: must be quoted.
_NOT_A_STRING = re.compile(
    r"^(?:[-+]?[0-9][0-9_]*|[-+]?[0-9._]*\.[0-9._]*(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+"
    r"|0[xXoObB].*|\d{4}-\d\d?-\d\d?.*)$"
)
# Words YAML 1.1 (PyYAML) reads as null or booleans when unquoted.
_RESERVED_WORDS = frozenset({"null", "true", "false", "yes", "no", "on", "off", "y", "n"})
_TOP_LEVEL_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)\s*:")
# Spec-Kit Plus once wrote "files: [- none]", which is not YAML; read it as "[none]".
_DASH_IN_FLOW = re.compile(r"^(\s*[A-Za-z_][\w-]*:\s*)\[\s*-\s+([^\]]*)\]\s*$", re.MULTILINE)


class FrontMatterError(ValueError):
    """Front matter that cannot be read; ``line`` is 1-based within the file."""

    def __init__(self, message: str, *, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class FrontMatter:
    """The raw front matter block of a Markdown file."""

    yaml_text: str
    first_line: int  # file line number of the first YAML line
    closing_line: int  # file line number of the closing ``---``
    body: str

    def line_of(self, key: str) -> int:
        """File line number where top-level ``key`` is set, else the opening fence."""
        for offset, line in enumerate(self.yaml_text.splitlines()):
            match = _TOP_LEVEL_KEY.match(line)
            if match and match.group(1) == key:
                return self.first_line + offset
        return self.first_line - 1

    def raw_value(self, key: str) -> str | None:
        """The unparsed text after ``key:`` on its own line (for ids YAML would mangle)."""
        for line in self.yaml_text.splitlines():
            match = _TOP_LEVEL_KEY.match(line)
            if match and match.group(1) == key:
                return line[match.end() :].split(" #", 1)[0].strip()
        return None


def split(text: str) -> FrontMatter | None:
    """The front matter of ``text`` if it starts with a ``---`` fence that is closed."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip("\r").strip() != FENCE:
        return None
    for index in range(1, len(lines)):
        if lines[index].rstrip("\r").strip() in (FENCE, "..."):
            return FrontMatter(
                yaml_text="\n".join(lines[1:index]),
                first_line=2,
                closing_line=index + 1,
                body="\n".join(lines[index + 1 :]),
            )
    return None


def _loader() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse(block: FrontMatter) -> dict[str, Any]:
    """Strictly parse the block as a YAML mapping, or raise FrontMatterError.

    Plain front matter (nearly all of it) is read without PyYAML; see ``plainyaml``.
    """
    from sdd.records.plainyaml import read

    fast = read(block.yaml_text)
    if fast is not None:
        return fast
    import yaml

    try:
        data = yaml.load(block.yaml_text, Loader=_loader())  # noqa: S506 - a safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = block.first_line + (mark.line if mark is not None else 0)
        raise FrontMatterError(f"invalid YAML front matter: {exc.problem}", line=line) from exc
    except yaml.YAMLError as exc:
        raise FrontMatterError(f"invalid YAML front matter: {exc}", line=block.first_line) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FrontMatterError("front matter is not a mapping", line=block.first_line)
    return {str(key): value for key, value in data.items()}


def parse_repaired(block: FrontMatter) -> dict[str, Any]:
    """Strict parse after repairing the one known Spec-Kit Plus quirk (``[- none]``)."""
    repaired = _DASH_IN_FLOW.sub(r"\1[\2]", block.yaml_text)
    return parse(FrontMatter(repaired, block.first_line, block.closing_line, block.body))


def parse_lenient(block: FrontMatter) -> dict[str, Any]:
    """Best-effort parse for listing records found in the wild; never raises."""
    try:
        return parse(block)
    except FrontMatterError:
        pass
    repaired = _DASH_IN_FLOW.sub(r"\1[\2]", block.yaml_text)
    try:
        return parse(
            FrontMatter(repaired, block.first_line, block.closing_line, block.body),
        )
    except FrontMatterError:
        pass
    # Last resort: one "key: value" per line, values kept as text.
    data: dict[str, Any] = {}
    for line in block.yaml_text.splitlines():
        match = _TOP_LEVEL_KEY.match(line)
        if match:
            value = line[match.end() :].strip().strip("\"'")
            data[match.group(1)] = value or None
    return data


def encode_scalar(value: object) -> str:
    """``value`` as a YAML scalar that PyYAML reads back to the same Python value."""
    if value is None:
        return "null"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if (
        _PLAIN_SAFE.match(text)
        and not _NOT_A_STRING.match(text)
        and text.lower() not in _RESERVED_WORDS
        and text == text.strip()
    ):
        return text
    return _double_quoted(text)


def _double_quoted(text: str) -> str:
    encoded = json.dumps(text, ensure_ascii=False)
    # JSON leaves these unescaped, but YAML treats them as line breaks or non-printable.
    return "".join(
        f"\\u{ord(ch):04x}"
        if 0x7F <= ord(ch) <= 0x9F or ord(ch) in (0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF)
        else ch
        for ch in encoded
    )


def encode_flow_list(values: list[Any]) -> str:
    """A one-line YAML flow sequence; strings always quoted, like Spec-Kit Plus writes."""
    items = [
        _double_quoted(str(item)) if isinstance(item, str) else encode_scalar(item)
        for item in values
    ]
    return "[" + ", ".join(items) + "]"


def encode_value(value: object) -> str:
    if isinstance(value, list):
        return encode_flow_list(value)
    return encode_scalar(value)


def replace_field(text: str, key: str, value: object) -> str:
    """Set top-level ``key`` in the front matter of ``text``, keeping everything else as is.

    The key's line and its continuation lines (indented, or a block list at column 0) are
    replaced by one ``key: <value>`` line; a missing key is added before the closing fence.
    """
    block = split(text)
    if block is None:
        raise ValueError("text has no front matter")
    lines = text.split("\n")
    start = block.first_line - 1
    stop = block.closing_line - 1
    new_line = f"{key}: {encode_value(value)}"
    index = start
    while index < stop:
        match = _TOP_LEVEL_KEY.match(lines[index])
        if match and match.group(1) == key:
            end = index + 1
            while end < stop and (lines[end].startswith((" ", "\t", "- ")) or lines[end] == "-"):
                end += 1
            lines[index:end] = [new_line]
            return "\n".join(lines)
        index += 1
    lines.insert(stop, new_line)
    return "\n".join(lines)
