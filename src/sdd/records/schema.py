"""JSON Schemas of PHR and ADR front matter, and the validator ``sdd check`` applies.

One field table drives both, so the published schema and the check cannot disagree.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

STAGES = (
    "constitution",
    "spec",
    "plan",
    "tasks",
    "red",
    "green",
    "refactor",
    "explainer",
    "misc",
    "general",
)
ADR_STATUSES = ("proposed", "accepted", "rejected", "deprecated", "superseded")
LINK_KEYS = ("spec", "ticket", "adr", "pr")
_DIGITS = re.compile(r"^[0-9]+$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # id | text | optional_text | enum | date | text_list | id_list | links
    description: str
    choices: tuple[str, ...] = ()


PHR_FIELDS = (
    Field("id", "phr_id", "Unique across history/prompts; equals the number in the file name."),
    Field("title", "text", "One-line title."),
    Field("stage", "enum", "Stage; also in the file name.", STAGES),
    Field("date", "date", "ISO 8601 date (or date-time) the record was written."),
    Field("surface", "optional_text", "Where the prompt was given, e.g. agent."),
    Field("model", "optional_text", "Model that answered."),
    Field("feature", "optional_text", "Spec folder name, e.g. 002-tasks."),
    Field("branch", "optional_text", "Git branch at the time."),
    Field("user", "optional_text", "Who gave the prompt."),
    Field("command", "optional_text", "Command or slash-command that was run."),
    Field("labels", "text_list", "Free-form labels."),
    Field("links", "links", "Related spec, ticket, ADR and pull request."),
    Field("files", "text_list", "Repository-relative POSIX paths touched."),
    Field("tests", "text_list", "Tests run or added."),
)

ADR_FIELDS = (
    Field("id", "adr_id", "Integer equal to the number in the file name."),
    Field("title", "text", "Decision title."),
    Field("status", "enum", "Lifecycle status.", ADR_STATUSES),
    Field("date", "date", "ISO 8601 date of the decision."),
    Field("feature", "optional_text", "Spec folder name, or null."),
    Field("supersedes", "id_list", "ADR ids this decision replaces."),
    Field("superseded_by", "id_list", "ADR ids that replace this decision."),
    Field("links", "links", "Related spec, ticket, ADR and pull request."),
)

FIELDS = {"phr": PHR_FIELDS, "adr": ADR_FIELDS}


def _property(field: Field) -> dict[str, Any]:
    nullable_text: dict[str, Any] = {"type": ["string", "null"]}
    kinds: dict[str, dict[str, Any]] = {
        "phr_id": {
            "anyOf": [
                {"type": "integer", "minimum": 1},
                {"type": "string", "pattern": "^[0-9]+$"},
            ]
        },
        "adr_id": {"type": "integer", "minimum": 1},
        "text": {"type": "string", "minLength": 1},
        "optional_text": nullable_text,
        "enum": {"type": "string", "enum": list(field.choices)},
        "date": {"type": "string", "anyOf": [{"format": "date"}, {"format": "date-time"}]},
        "text_list": {"type": "array", "items": {"type": "string"}},
        "id_list": {"type": "array", "items": {"type": "integer", "minimum": 1}},
        "links": {
            "type": "object",
            "properties": dict.fromkeys(LINK_KEYS, nullable_text),
            "required": list(LINK_KEYS),
            "additionalProperties": False,
        },
    }
    return {"description": field.description, **kinds[field.kind]}


def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the front matter of ``kind`` ("phr" or "adr")."""
    fields = FIELDS[kind]
    title = "Prompt History Record" if kind == "phr" else "Architectural Decision Record"
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"sdd:{kind}-front-matter",
        "title": f"{title} front matter",
        "type": "object",
        "properties": {field.name: _property(field) for field in fields},
        "required": [field.name for field in fields],
        "additionalProperties": True,
    }


def _is_text(value: object) -> bool:
    return isinstance(value, str)


def _valid_date(value: object) -> bool:
    if isinstance(value, dt.date):  # PyYAML reads unquoted dates (and datetimes) natively
        return True
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        return False
    try:
        if len(value) == 10:
            dt.date.fromisoformat(value)
        else:
            dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def check_field(field: Field, value: Any) -> str | None:  # noqa: PLR0911, PLR0912 - one branch per kind
    kind = field.kind
    if kind == "phr_id":
        ok = (isinstance(value, int) and not isinstance(value, bool) and value >= 1) or (
            isinstance(value, str) and bool(_DIGITS.match(value)) and int(value) >= 1
        )
        return None if ok else "must be a positive integer"
    if kind == "adr_id":
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
        return None if ok else "must be a positive integer (unquoted)"
    if kind == "text":
        return None if _is_text(value) and value.strip() else "must be a non-empty string"
    if kind == "optional_text":
        return None if value is None or _is_text(value) else "must be a string or null"
    if kind == "enum":
        if value in field.choices:
            return None
        return f"must be one of {', '.join(field.choices)} (got {value!r})"
    if kind == "date":
        return None if _valid_date(value) else f"must be an ISO date YYYY-MM-DD (got {value!r})"
    if kind == "text_list":
        if isinstance(value, list) and all(_is_text(item) for item in value):
            return None
        return "must be a list of strings ([] when empty)"
    if kind == "id_list":
        if isinstance(value, list) and all(
            isinstance(item, int) and not isinstance(item, bool) and item >= 1 for item in value
        ):
            return None
        return "must be a list of ADR ids ([] when empty)"
    if kind == "links":
        if not isinstance(value, dict):
            return f"must be a mapping with keys {', '.join(LINK_KEYS)}"
        unknown = sorted(set(map(str, value)) - set(LINK_KEYS))
        if unknown:
            return f"has unknown keys {', '.join(unknown)}"
        missing = [key for key in LINK_KEYS if key not in value]
        if missing:
            return f"is missing {', '.join(missing)} (write null when absent)"
        bad = [key for key in LINK_KEYS if value[key] is not None and not _is_text(value[key])]
        return f"values of {', '.join(bad)} must be strings or null" if bad else None
    raise AssertionError(kind)


def validate(kind: str, data: dict[str, Any]) -> list[tuple[str, str]]:
    """``(field, message)`` for every way ``data`` breaks the schema of ``kind``."""
    problems: list[tuple[str, str]] = []
    for field in FIELDS[kind]:
        if field.name not in data:
            problems.append((field.name, f"missing required field {field.name!r}"))
            continue
        message = check_field(field, data[field.name])
        if message:
            problems.append((field.name, f"{field.name} {message}"))
    return problems
