"""A fast reader for the plain YAML that record front matter is written in.

Reading 500 records through PyYAML costs more than sdd's whole start-up budget, yet record
front matter uses a small, regular part of YAML: ``key: scalar``, flow lists of scalars,
block lists of scalars, and one level of nested mapping. This module reads exactly that
part and gives up (returns ``None``) on anything else: anchors, tags, multi-line or block
scalars, comments, tabs, nesting deeper than one level, scalars YAML 1.1 reads specially
(``yes``, ``0o17``, ``1e3``, leading zeros, times). The caller then asks PyYAML, which also
owns every error message. A property test holds this reader to PyYAML's results.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*):(?:[ ]+(.*))?$")
_INT = re.compile(r"^-?(?:0|[1-9][0-9]*)$")
_OCTAL = re.compile(r"^0[0-7]+$")
_ZERO_LED_TEXT = re.compile(r"^0[0-9]*[89][0-9]*$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
# A plain scalar that YAML reads as a string: no indicator first, nothing YAML reads as a
# number, boolean, null, date or time, and no ": " or " #" inside.
# A plain scalar that starts with a letter, "_", "/" or "(" and holds no tab, "#" or
# character YAML refuses; ": " and a final ":" are checked apart.
_PLAIN = re.compile("^[A-Za-z_/(][^\t#\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]*$")
# The special words sdd can answer for; the others (yes, No, True, ...) go to PyYAML.
_WORDS: dict[str, Any] = {"null": None, "~": None, "true": True, "false": False}
# Feature folders such as 002-tasks: digits, a hyphen, then a word; YAML reads them as text.
_NUMBERED_NAME = re.compile(r"^[0-9]+-[a-z][a-z0-9-]*$")
_SPECIAL_WORDS = frozenset(
    {"null", "true", "false", "yes", "no", "on", "off", "y", "n", "~", ".nan", ".inf", "-.inf"}
)
_GIVE_UP = object()


def _scalar(text: str) -> Any:  # noqa: PLR0911 - one return per scalar kind
    """One scalar, or ``_GIVE_UP`` when PyYAML should decide."""
    value = text.strip(" ")
    if not value:
        return None
    first = value[0]
    if first.isdigit() or first in "-+.":
        return _numberish(value)
    if first == '"':
        return _double_quoted(value)
    if first == "'":
        if len(value) < 2 or not value.endswith("'") or "'" in value[1:-1].replace("''", ""):
            return _GIVE_UP
        return value[1:-1].replace("''", "'")
    lowered = value.lower()
    if lowered in _SPECIAL_WORDS:
        return _WORDS.get(value, _GIVE_UP)
    if not _PLAIN.match(value) or ": " in value or value.endswith(":"):
        return _GIVE_UP
    return value


def _numberish(value: str) -> Any:  # noqa: PLR0911 - one return per number shape
    """Scalars that start like a number: the ones YAML 1.1 and sdd agree on, else give up."""
    if _INT.match(value):
        return int(value)
    if _OCTAL.match(value):
        return int(value, 8)  # YAML 1.1: 0010 is eight
    if _ZERO_LED_TEXT.match(value):
        return value  # 0008 is no octal number, so YAML 1.1 keeps it as text
    if (date := _DATE.match(value)) is not None:
        try:
            return dt.date(int(date.group(1)), int(date.group(2)), int(date.group(3)))
        except ValueError:
            return _GIVE_UP
    if _NUMBERED_NAME.match(value):
        return value
    return _GIVE_UP


# Characters YAML treats as breaks or refuses in text: one search per document, not per char.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")
_UNPRINTABLE_IN_DOCUMENT = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")


def _double_quoted(value: str) -> Any:
    if len(value) < 2 or not value.endswith('"'):
        return _GIVE_UP
    inner = value[1:-1]
    # Escapes shared by JSON and YAML only; anything YAML-specific goes to PyYAML.
    if re.search(r'\\[^"\\/bfnrtu]', inner) or re.search(r'(?<!\\)(?:\\\\)*"', inner):
        return _GIVE_UP
    try:
        decoded = json.loads(value)
    except ValueError:
        return _GIVE_UP
    if re.search(r"\\u[dD][89a-fA-F]", inner) or _UNPRINTABLE.search(decoded):
        return _GIVE_UP
    return decoded


def _flow_list(text: str) -> Any:  # noqa: PLR0912 - a small tokenizer
    inner = text.strip(" ")[1:-1].strip(" ")
    if not inner:
        return []
    items: list[str] = []
    current = ""
    quote: str | None = None
    position = 0
    while position < len(inner):
        ch = inner[position]
        position += 1
        if quote == "'":
            current += ch
            if ch == "'" and inner[position : position + 1] == "'":
                current += "'"  # '' is a quote inside a single-quoted scalar
                position += 1
            elif ch == "'":
                quote = None
        elif quote == '"':
            current += ch
            if ch == "\\" and position < len(inner):
                current += inner[position]
                position += 1
            elif ch == '"':
                quote = None
        elif ch in "\"'" and not current.strip(" "):
            quote = ch  # a quote opens a quoted scalar only at the start of an item
            current += ch
        elif ch == ",":
            items.append(current)
            current = ""
        elif ch in "[]{}":
            return _GIVE_UP
        else:
            current += ch
    if quote:
        return _GIVE_UP
    items.append(current)
    values = []
    for item in items:
        if not item.strip(" "):
            return _GIVE_UP
        value = _scalar(item)
        if value is _GIVE_UP:
            return _GIVE_UP
        values.append(value)
    return values


def _value(text: str) -> Any:
    stripped = text.strip(" ")
    if stripped.startswith("[") and stripped.endswith("]"):
        return _flow_list(stripped)
    if stripped.startswith(("[", "{", "&", "*", "!", "|", ">", "%", "@", "`", "-", "?")):
        return _GIVE_UP
    return _scalar(stripped)


def read(text: str) -> dict[str, Any] | None:
    """The mapping ``text`` holds, or ``None`` when it is not in the plain part of YAML."""
    if _UNPRINTABLE_IN_DOCUMENT.search(text):
        return None
    lines = text.split("\n")
    result: dict[str, Any] = {}
    index = 0
    while index < len(lines):
        line = lines[index].rstrip("\r")
        index += 1
        if not line.strip(" "):
            continue
        if "\t" in line or "#" in line or line.startswith((" ", "-")):
            return None
        match = _KEY.match(line)
        if match is None:
            return None
        key, rest = match.group(1), match.group(2)
        if rest is not None and rest.strip(" "):
            value = _value(rest)
            if value is _GIVE_UP:
                return None
            result[key] = value
            continue
        children: list[str] = []
        while index < len(lines) and (
            lines[index].startswith((" ", "-")) or not lines[index].strip(" ")
        ):
            if lines[index].strip(" "):
                children.append(lines[index].rstrip("\r"))
            index += 1
        nested = _children(children)
        if nested is _GIVE_UP:
            return None
        result[key] = nested
    return result


def _children(children: list[str]) -> Any:  # noqa: PLR0911 - each shape it declines
    if not children:
        return None
    if any("\t" in child or "#" in child for child in children):
        return _GIVE_UP
    if all(child.lstrip(" ").startswith("- ") or child.strip(" ") == "-" for child in children):
        indents = {len(child) - len(child.lstrip(" ")) for child in children}
        if len(indents) != 1:
            return _GIVE_UP
        items = []
        for child in children:
            text = child.strip(" ")[1:].strip(" ")
            if text.startswith(("[", "{", "-", "?")) or (text and _KEY.match(text)):
                return _GIVE_UP
            value = _scalar(text)
            if value is _GIVE_UP:
                return _GIVE_UP
            items.append(value)
        return items
    indents = {len(child) - len(child.lstrip(" ")) for child in children}
    if len(indents) != 1 or 0 in indents:
        return _GIVE_UP
    mapping: dict[str, Any] = {}
    for child in children:
        match = _KEY.match(child.strip(" "))
        if match is None or match.group(2) is None or not match.group(2).strip(" "):
            return _GIVE_UP
        value = _value(match.group(2))
        if value is _GIVE_UP or isinstance(value, list):
            return _GIVE_UP
        mapping[match.group(1)] = value
    return mapping
