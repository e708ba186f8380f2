"""What PHRs and ADRs share: record text, Markdown structure, link verbs, JSON-safe values."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from sdd.errors import SddError
from sdd.records.frontmatter import split
from sdd.records.schema import LINK_KEYS

NOT_RECORDED = "_Not recorded._"
_FENCE_OPEN = re.compile(r"^\s*(`{3,}|~{3,})")
_H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$")
# "ADR-0001: ", "ADR 12 - ", "Decision 3: ", "0003. ", "7: " in front of a title; a bare
# "2024 plans" or "Decision 12 about paging" stays.
_TITLE_NUMBER = re.compile(
    "^(?:ADR[\\s_-]*\\d+\\s*[.:\\-\u2013\u2014]?\\s+"
    "|(?:Decision|Record)[\\s_-]*\\d+\\s*[.:\\-\u2013\u2014]\\s+"
    "|\\d+\\s*[.:]\\s+)",
    re.IGNORECASE,
)
_HTML_COMMENT = re.compile(r"<!--.*?-->")
_NUMBERED = re.compile(r"^(\d+)-")


def read_text(path: Any) -> tuple[str | None, str | None]:
    """``(text, None)`` or ``(None, why)`` for a record file; records are UTF-8."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, exc.strerror or str(exc)
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        return None, f"not valid UTF-8 (byte {exc.start})"


def body_offset(text: str) -> tuple[str, int]:
    """The text after any front matter, and the file line number it starts on (1-based)."""
    block = split(text)
    if block is None:
        return text, 1
    return block.body, block.closing_line + 1


def strip_title_number(title: str) -> str:
    """``ADR-0001: Use X`` and ``3. Use X`` become ``Use X``."""
    return _TITLE_NUMBER.sub("", title, count=1).strip() or title.strip()


def first_heading(text: str) -> tuple[str | None, int]:
    """The first H1 outside code blocks, and its file line (0 when there is none)."""
    body, first_line = body_offset(text)
    return first_heading_in(body.split("\n"), first_line)


def first_heading_in(lines: list[str], first_line: int) -> tuple[str | None, int]:
    """``first_heading`` for body lines that start at file line ``first_line``."""
    fence: str | None = None
    for offset, line in enumerate(lines):
        if not line.startswith(("#", " ", "`", "~")):
            continue  # neither a heading nor a fence: most lines stop here
        opener = _FENCE_OPEN.match(line)
        if opener:
            if fence is None:
                fence = opener.group(1)
            elif line.strip().startswith(fence):
                fence = None
            continue
        if fence is None and (match := _H1.match(line.rstrip("\r"))):
            return _HTML_COMMENT.sub("", match.group(1)).strip(), first_line + offset
    return None, 0


def without_comments(line: str) -> str:
    if "<!--" not in line:
        return line.strip()
    return _HTML_COMMENT.sub("", line).strip()


def as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def as_list(value: object) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    # Spec-Kit Plus writes "- none" for an empty list.
    return [str(item) for item in items if item is not None and str(item).strip().lower() != "none"]


def record_id(raw: str | None, parsed: object, filename: str) -> int | None:
    """The id as written: ``0010`` stays 10 although YAML 1.1 would read it as octal 8."""
    if raw is not None:
        digits = raw.strip("\"' ")
        if digits.isdigit():
            return int(digits, 10)
    if isinstance(parsed, int) and not isinstance(parsed, bool):
        return parsed
    match = _NUMBERED.match(filename)
    return int(match.group(1)) if match else None


def jsonable(value: Any) -> Any:
    """Front matter values made JSON-safe (dates become ISO strings)."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [jsonable(item) for item in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def parse_links(values: Sequence[str]) -> dict[str, str | None]:
    """``key=value`` options into the four link slots; unknown or repeated keys are errors."""
    links: dict[str, str | None] = dict.fromkeys(LINK_KEYS)
    seen: set[str] = set()
    for item in values:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in LINK_KEYS or not value.strip():
            raise SddError(f"--link {item!r}: expected one of {', '.join(LINK_KEYS)}=VALUE")
        if key in seen:
            raise SddError(f"--link {key}= given twice")
        seen.add(key)
        links[key] = value.strip()
    return links


def fenced(text: str) -> str:
    """``text`` in a code fence longer than any backtick run inside it, so it stays verbatim."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") else text + "\n"
    return f"{fence}text\n{body}{fence}"


def sections(text: str) -> dict[str, str]:
    """Body sections by ``## `` heading; a section that is one code fence is unwrapped."""
    result: dict[str, str] = {}
    body, _ = body_offset(text)
    current: str | None = None
    lines: list[str] = []
    fence: str | None = None

    def flush() -> None:
        if current is not None:
            result[current] = _unfence("\n".join(lines).strip("\n"))

    for line in body.split("\n"):
        if fence is None and line.startswith("## "):
            flush()
            current, lines = without_comments(line[3:]), []
            continue
        opener = _FENCE_OPEN.match(line)
        if opener and fence is None:
            fence = opener.group(1)
        elif fence is not None and line.strip() == fence:
            fence = None
        lines.append(line)
    flush()
    return result


def _unfence(section: str) -> str:
    lines = section.split("\n")
    opener = _FENCE_OPEN.match(lines[0]) if lines else None
    if opener and len(lines) >= 2 and lines[-1].strip() == opener.group(1):
        return "\n".join(lines[1:-1])
    return section


def matching_lines(text: str, needle: str) -> list[tuple[int, str]]:
    """``(line number, line)`` of every line containing ``needle`` (case-insensitive)."""
    wanted = needle.casefold()
    return [
        (number, line.strip())
        for number, line in enumerate(text.splitlines(), start=1)
        if wanted in line.casefold()
    ]


# Link verbs ----------------------------------------------------------------------------------
#
# adr-tools writes any "<Verb>s [target]" line on one record and "<Verb>ed by [source]" on the
# other ("Amends" / "Amended by"), and spells supersede "supercede". A link's kind is keyed by
# the past participle, which both sides can be reduced to.

_VERB_ALIASES = {"supercede": "supersede"}


def lemma(third_person: str) -> str:
    """``supersedes`` → ``supersede``, ``clarifies`` → ``clarify``, ``fixes`` → ``fix``."""
    word = third_person.strip().lower().replace(" ", "-")
    if word.endswith("ies") and len(word) > 4:
        base = word[:-3] + "y"
    elif word.endswith(("sses", "shes", "ches", "xes", "zes")):
        base = word[:-2]
    elif word.endswith("s") and not word.endswith("ss"):
        base = word[:-1]
    else:
        base = word
    return _VERB_ALIASES.get(base, base)


def participle(base: str) -> str:
    """``supersede`` → ``superseded``, ``amend`` → ``amended``, ``clarify`` → ``clarified``."""
    if base.endswith("e"):
        return base + "d"
    if base.endswith("y") and len(base) > 1 and base[-2] not in "aeiou":
        return base[:-1] + "ied"
    return base + "ed"


def link_kind(phrase: str) -> tuple[str, str] | None:
    """``("superseded", "out")`` for "Supersedes", ``("superseded", "in")`` for "Superseded by".

    ``out`` means this record acts on the target; ``in`` means the target acts on it. A phrase
    of more than three words is prose, not a link.
    """
    words = phrase.strip().lower().replace("_", " ").split()
    if not words or len(words) > 3:
        return None
    if words[-1] == "by" and len(words) >= 2:
        verb = "-".join(words[:-1])
        if not verb.endswith("ed"):
            return None
        return (_PARTICIPLE_ALIASES.get(verb, verb), "in")
    verb = "-".join(words)
    if not verb.endswith("s") or verb.endswith("ss"):
        return None
    return (participle(lemma(verb)), "out")


_PARTICIPLE_ALIASES = {"superceded": "superseded"}
# The "out" phrase of common participles; others fall back to a regular inflection.
_FORWARD = {
    "superseded": "supersedes",
    "refined": "refines",
    "replaced": "replaces",
    "deprecated": "deprecates",
    "relied": "relies on",
}


def forward_label(kind: str) -> str:
    """The "out" phrase for a participle key: ``amended`` → ``amends``."""
    if kind in _FORWARD:
        return _FORWARD[kind]
    if kind.endswith("ied"):
        return kind[:-3] + "ies"
    return (kind[:-2] if kind.endswith("ed") else kind) + "s"


def inverse_label(kind: str) -> str:
    """The "in" phrase for a participle key: ``amended`` → ``amended by``."""
    return f"{kind} by"


def third_person(base: str) -> str:
    if base.endswith("y") and len(base) > 1 and base[-2] not in "aeiou":
        return base[:-1] + "ies"
    if base.endswith(("s", "sh", "ch", "x", "z")):
        return base + "es"
    return base + "s"


def parse_link_type(value: str) -> tuple[str, str]:
    """A ``--type`` value (``amends``, ``amend``, ``supersedes``) as ``(key, forward phrase)``."""
    word = value.strip().lower().replace("_", "-").replace(" ", "-")
    if not re.fullmatch(r"[a-z][a-z-]*[a-z]", word):
        raise SddError(f"link type {value!r} is not a verb such as amends or supersedes")
    base = lemma(word) if word.endswith("s") and not word.endswith("ss") else word
    base = _VERB_ALIASES.get(base, base)
    return participle(base), third_person(base)
