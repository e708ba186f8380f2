"""Read (and edit) one ADR by the rules of the format it is written in.

Formats and how each states its facts:

- ``sdd``: YAML front matter with ``id`` and ``supersedes``/``superseded_by`` lists.
- ``madr``: MADR 3/4 YAML front matter (``status``, ``date``, ``decision-makers``...);
  ``status: superseded by [ADR-0005](0005-x.md)`` links the successor.
- ``madr2``: MADR 2 header bullets (``* Status: accepted``, ``- Date: 2020-01-01``).
- ``log4brains``: the same bullets in date-prefixed or number-free files.
- ``speckit``: Spec-Kit Plus' ``# ADR-0001: Title`` with ``- **Status:**`` bullets.
- ``nygard``: Michael Nygard's (adr-tools') ``# 1. Title``, ``Date:`` and a ``## Status``
  section holding the status word and link lines such as ``Superceded by [2. X](0002-x.md)``.
- ``plain``: just ``# Title`` and text; a ``## Status`` section is read when present.

The title is the first H1 without its ``N.`` or ``ADR-N:`` prefix. A status is a word or
phrase (MADR allows any: "on hold" is fine); links are any "<Verb>s" / "<Verb>ed by" pair.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sdd.records.common import (
    first_heading_in,
    inverse_label,
    link_kind,
    strip_title_number,
    without_comments,
)
from sdd.records.frontmatter import (
    FrontMatter,
    FrontMatterError,
    encode_scalar,
    parse,
    parse_lenient,
    replace_field,
    split,
)

# Formats whose records, by their own convention, state both sides of a link; a one-sided
# link is a defect only where the other record could and should have stated it.
BOTH_SIDES: dict[str, frozenset[str] | None] = {
    "sdd": None,  # every kind
    "nygard": None,  # adr-tools writes "<Verb>s" and "<Verb>ed by" for every link
    "log4brains": frozenset({"superseded"}),
}
FORMATS = ("sdd", "madr", "madr2", "log4brains", "speckit", "nygard", "plain")
LIFECYCLE = ("proposed", "accepted", "rejected", "deprecated", "superseded")
_META = re.compile(
    r"^\s{0,3}(?P<bullet>[-*+]\s+)?(?P<bold>\*\*|__)?(?P<key>[A-Za-z][A-Za-z -]{0,30}?)"
    r"(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*(?P<value>.*?)\s*$"
)
_SECTION = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_MD_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]*)\)")
_LINK_LINE = re.compile(
    r"^\s{0,3}(?:[-*+]\s+)?(?:\*\*|__)?(?P<phrase>[A-Za-z][A-Za-z ]{0,40}?)(?:\*\*|__)?\s*:?"
    r"(?:\*\*|__)?\s+(?P<rest>\[.*|ADR[-\s]?\d.*)$",
    re.IGNORECASE,
)
_BARE_REF = re.compile(r"^(?:ADR[-\s]?)?(\d+)\b|^([0-9]{8}-[A-Za-z0-9-]+)", re.IGNORECASE)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Where a status word ends: "(", a spaced dash (hyphen, en or em dash), ";", ",", ". ", "!".
_STATUS_CUT = re.compile("\\s*(?:\\(|\\s[-\u2013\u2014]\\s|;|,|\\.\\s|\\.$|:\\s|!|\\?)")
_EMPHASIS = re.compile(r"[*_`~]+")
_SDD_KEYS = frozenset({"supersedes", "superseded_by"})
_FM_LINK_KEY = re.compile(r"^[a-z][a-z_-]*(?:_by|s)$")
_FM_NOT_LINKS = frozenset(
    {
        "labels",
        "links",
        "files",
        "tests",
        "tags",
        "deciders",
        "consulted",
        "informed",
        "decision-makers",
        "decision_makers",
        "parents",
        "categories",
        "aliases",
        "authors",
    }
)


@dataclass(frozen=True)
class RawLink:
    """A link as written: its kind (a participle key), direction, target text and line."""

    kind: str
    direction: str  # "out": this record acts on the target; "in": the target acts on it
    target: str  # the href file name, else the label or reference text
    label: str
    line: int
    phrase: str


@dataclass
class AdrText:
    """What one ADR file says, by its own format's rules, with the line of each fact."""

    format: str
    title: str | None = None
    title_line: int = 0
    status: str | None = None
    status_text: str | None = None
    status_line: int = 0
    date: str | None = None
    date_line: int = 0
    feature: str | None = None
    front_matter: dict[str, Any] = field(default_factory=dict)
    block: FrontMatter | None = None
    yaml_error: FrontMatterError | None = None
    links: list[RawLink] = field(default_factory=list)
    bullet: str = "-"
    bold: bool = False
    superseded_spelling: str = "Superseded"


def normalise_status(text: str) -> str | None:
    """``Accepted ✅`` → ``accepted``; ``On hold (until Q3)`` → ``on hold``."""
    cleaned = _EMPHASIS.sub("", without_comments(text)).strip()
    cleaned = _STATUS_CUT.split(cleaned, maxsplit=1)[0]
    cleaned = re.sub(r"[^\w\s-]", "", cleaned).strip().lower()
    cleaned = " ".join(cleaned.split())
    if cleaned.startswith(("superseded by", "superceded by")):
        return "superseded"
    if cleaned == "superceded":
        return "superseded"
    return cleaned or None


def _targets(rest: str) -> list[tuple[str, str]]:
    """``(target, label)`` pairs from the text after a link phrase."""
    found = [(href.rsplit("/", 1)[-1], label) for label, href in _MD_LINK.findall(rest)]
    if found:
        return [(href or label, label) for href, label in found]
    bare = _BARE_REF.match(_EMPHASIS.sub("", rest).strip())
    if bare:
        ref = bare.group(1) or bare.group(2)
        return [(ref, ref)]
    return []


def _link_line(line: str, number: int) -> list[RawLink]:
    match = _LINK_LINE.match(without_comments(line))
    if match is None:
        return []
    kind = link_kind(match.group("phrase"))
    if kind is None:
        return []
    return [
        RawLink(kind[0], kind[1], target, label, number, match.group("phrase").strip())
        for target, label in _targets(match.group("rest"))
    ]


def _sections(lines: list[str], first_line: int) -> dict[str, tuple[int, list[tuple[int, str]]]]:
    """Level-2 sections: lower-case title → (heading line, [(file line, text)])."""
    found: dict[str, tuple[int, list[tuple[int, str]]]] = {}
    current: list[tuple[int, str]] | None = None
    fence = False
    for offset, line in enumerate(lines):
        number = first_line + offset
        if line.startswith(("#", " ", "`", "~")):
            if line.lstrip().startswith(("```", "~~~")):
                fence = not fence
            heading = None if fence or not line.startswith("#") else _SECTION.match(line)
        else:
            heading = None
        if heading is not None and len(heading.group(1)) <= 2:
            title = without_comments(heading.group(2)).rstrip(":").strip().lower()
            current = [] if len(heading.group(1)) == 2 else None
            if current is not None and title not in found:
                found[title] = (number, current)
            continue
        if current is not None:
            current.append((number, line))
    return found


def _front_matter_links(data: dict[str, Any], block: FrontMatter) -> list[RawLink]:
    links: list[RawLink] = []
    for key, value in data.items():
        if key in _FM_NOT_LINKS or not _FM_LINK_KEY.match(key) or not isinstance(value, list):
            continue
        refs = [str(item) for item in value if isinstance(item, (int, str)) and str(item).strip()]
        if not refs or not all(
            isinstance(item, int) or _BARE_REF.match(str(item)) for item in value
        ):
            continue
        phrase = key.replace("_", " ")
        kind = link_kind(phrase)
        if kind is None:
            continue
        links += [
            RawLink(kind[0], kind[1], ref.strip(), ref.strip(), block.line_of(key), phrase)
            for ref in refs
        ]
    return links


def read_adr_text(text: str, *, dated_or_slug_name: bool) -> AdrText:
    """Everything ``text`` states, read by the rules of the format it is written in."""
    block = split(text)
    data: dict[str, Any] = {}
    yaml_error: FrontMatterError | None = None
    if block is not None:
        try:
            data = parse(block)
        except FrontMatterError as exc:
            yaml_error = exc
            data = parse_lenient(block)
    if block is None:
        body, first_line = text, 1
    else:
        body, first_line = block.body, block.closing_line + 1
    lines = body.split("\n")
    heading, heading_line = first_heading_in(lines, first_line)
    result = AdrText(format="plain", block=block, front_matter=data, yaml_error=yaml_error)
    if heading is not None:
        result.title, result.title_line = strip_title_number(heading), heading_line
    sections = _sections(lines, first_line)
    header = _header_lines(lines, first_line, heading_line)
    if block is not None:
        _read_front_matter(result, data, block)
    _read_header(result, header)
    _read_status_section(result, sections)
    if "links" in sections:
        for number, line in sections["links"][1]:
            result.links += _link_line(line, number)
    result.format = _format_of(result, data, header, sections, dated_or_slug_name)
    return result


def _header_lines(lines: list[str], first_line: int, heading_line: int) -> list[tuple[int, str]]:
    """Lines after the H1 (or the top) up to the first level-2 heading."""
    start = heading_line - first_line + 1 if heading_line else 0
    found: list[tuple[int, str]] = []
    for offset in range(max(start, 0), len(lines)):
        line = lines[offset]
        if line.startswith("## ") or line.startswith("##\t"):
            break
        found.append((first_line + offset, line))
    return found


def _read_front_matter(result: AdrText, data: dict[str, Any], block: FrontMatter) -> None:
    title = data.get("title")
    if isinstance(title, str) and title.strip():
        result.title, result.title_line = title.strip(), block.line_of("title")
    status = data.get("status")
    if status is not None and str(status).strip():
        result.status_text = str(status).strip()
        result.status = normalise_status(result.status_text)
        result.status_line = block.line_of("status")
        if result.status == "superseded":
            for target, label in _targets(result.status_text.split("by", 1)[-1]):
                result.links.append(
                    RawLink("superseded", "in", target, label, result.status_line, "superseded by")
                )
    date = data.get("date")
    if date is not None and str(date).strip():
        result.date = _date_text(date)
        result.date_line = block.line_of("date")
    feature = data.get("feature")
    if isinstance(feature, str) and feature.strip() and feature.strip().lower() != "none":
        result.feature = feature.strip()
    result.links += _front_matter_links(data, block)


def _date_text(value: object) -> str:
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    text = str(value).strip()
    iso = _ISO_DATE.search(text)
    return iso.group(0) if iso else text


def _read_header(result: AdrText, header: list[tuple[int, str]]) -> None:
    for number, line in header:
        match = _META.match(line)
        if match is None:
            continue
        key = match.group("key").strip().lower()
        value = without_comments(match.group("value")).strip()
        if match.group("bullet"):
            result.bullet = match.group("bullet").strip()
        if key == "status" and result.status is None and value:
            result.bold = bool(match.group("bold"))
            result.status_text, result.status_line = value, number
            result.status = normalise_status(value)
            if result.status == "superseded":
                rest = re.split(r"(?i)supe[rs]{1,2}eded\s+by\s*:?", value, maxsplit=1)[-1]
                for target, label in _targets(rest):
                    result.links.append(
                        RawLink("superseded", "in", target, label, number, "superseded by")
                    )
        elif key == "date" and result.date is None and value:
            result.date, result.date_line = _date_text(value), number
        elif key == "feature" and result.feature is None and value:
            feature = _EMPHASIS.sub("", value).strip()
            if feature and feature.lower() not in ("none", "n/a"):
                result.feature = feature
        elif key not in ("status", "date", "feature"):
            result.links += _link_line(line, number)


def _read_status_section(
    result: AdrText, sections: dict[str, tuple[int, list[tuple[int, str]]]]
) -> None:
    """Nygard's ``## Status``: a status word, and link lines; "Superseded by" is the status."""
    if "status" not in sections:
        return
    word: tuple[int, str] | None = None
    superseded: tuple[int, str] | None = None
    for number, line in sections["status"][1]:
        text = without_comments(line).strip()
        if not text:
            continue
        links = _link_line(line, number)
        if not links:
            word = word or (number, text)
            continue
        result.links += links
        if "superceded" in text.lower():
            result.superseded_spelling = "Superceded"
        if any(link.kind == "superseded" and link.direction == "in" for link in links):
            superseded = superseded or (number, text)
    if result.status is not None:
        return
    chosen = superseded or word
    if chosen is not None:
        result.status_line, result.status_text = chosen
        result.status = "superseded" if chosen is superseded else normalise_status(chosen[1])


def _format_of(
    result: AdrText,
    data: dict[str, Any],
    header: list[tuple[int, str]],
    sections: dict[str, tuple[int, list[tuple[int, str]]]],
    dated_or_slug_name: bool,
) -> str:
    if result.block is not None and data:
        return "sdd" if "id" in data and _SDD_KEYS & set(data) else "madr"
    has_status_bullet = any(
        (m := _META.match(line)) is not None and m.group("key").strip().lower() == "status"
        for _, line in header
    )
    if has_status_bullet:
        if result.bold:
            return "speckit"
        return "log4brains" if dated_or_slug_name else "madr2"
    if "status" in sections:
        return "nygard"
    return "plain"


# Editing ---------------------------------------------------------------------------------------


def set_status(text: str, parsed: AdrText, status: str) -> str:
    """``text`` with its status replaced, written the way its format writes a status."""
    if parsed.format in ("sdd", "madr"):
        return replace_field(text, "status", status)
    lines = text.split("\n")
    index = parsed.status_line - 1
    if parsed.status_line and parsed.format == "nygard":
        lines[index] = status.capitalize()
        return "\n".join(lines)
    if parsed.status_line:
        match = _META.match(lines[index])
        if match is not None:
            start = match.start("value")
            value = status.capitalize() if parsed.bold else status
            lines[index] = lines[index][:start] + value
            return "\n".join(lines)
    return _insert_status(lines, parsed, status)


def _insert_status(lines: list[str], parsed: AdrText, status: str) -> str:
    """Add a status where the format keeps it, for a record that states none."""
    at = parsed.title_line if parsed.title_line else 0
    if parsed.format in ("nygard", "plain"):
        lines[at:at] = ["", "## Status", "", status.capitalize()]
        return "\n".join(lines)
    key = "**Status:**" if parsed.bold else "Status:"
    entry = f"{parsed.bullet} {key} {status}"
    for index in range(at, len(lines)):
        if lines[index].startswith("## "):
            break
        match = _META.match(lines[index])
        if match is not None and match.group("bullet"):
            lines.insert(index, entry)  # first in the header list, as the templates have it
            return "\n".join(lines)
    lines[at:at] = ["", entry]
    return "\n".join(lines)


def add_link_lines(text: str, parsed: AdrText, phrase: str, label: str, href: str) -> str:
    """Append ``<phrase> [label](href)`` where the format keeps its links."""
    entry = f"{phrase} [{label}]({href})"
    lines = text.split("\n")
    body_start = parsed.block.closing_line if parsed.block is not None else 0
    sections = _sections(lines[body_start:], body_start + 1)
    if parsed.format == "nygard" and "status" in sections:
        return _append_to_section(lines, sections["status"], entry, bullet=None)
    if "links" in sections:
        return _append_to_section(lines, sections["links"], entry, bullet=parsed.bullet)
    while lines and lines[-1] == "":
        lines.pop()
    lines += ["", "## Links", "", f"{parsed.bullet} {entry}", ""]
    return "\n".join(lines)


def _append_to_section(
    lines: list[str], section: tuple[int, list[tuple[int, str]]], entry: str, *, bullet: str | None
) -> str:
    heading, content = section
    last = heading
    for number, line in content:
        if line.strip():
            last = number
    insert = [f"{bullet} {entry}"] if bullet else ["", entry]
    if bullet and last == heading:
        insert = ["", f"{bullet} {entry}"]
    lines[last:last] = insert
    return "\n".join(lines)


def remove_status_word(text: str, parsed: AdrText) -> str:
    """adr-tools drops the status word of a record it supersedes; so does sdd."""
    if parsed.format != "nygard" or not parsed.status_line:
        return text
    lines = text.split("\n")
    index = parsed.status_line - 1
    if _link_line(lines[index], parsed.status_line):
        return text
    del lines[index]
    if (
        index < len(lines)
        and not lines[index].strip()
        and index > 0
        and not lines[index - 1].strip()
    ):
        del lines[index]
    return "\n".join(lines)


def superseded_status_value(label: str, href: str) -> str:
    """MADR and log4brains keep the successor in the status itself."""
    return f"superseded by [{label}]({href})"


def set_front_matter_status(text: str, value: str) -> str:
    return replace_field(text, "status", value)


def quoted(value: str) -> str:
    return encode_scalar(value)


__all__ = [
    "FORMATS",
    "LIFECYCLE",
    "AdrText",
    "RawLink",
    "add_link_lines",
    "inverse_label",
    "normalise_status",
    "read_adr_text",
    "remove_status_word",
    "set_status",
    "superseded_status_value",
]
