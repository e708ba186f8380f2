"""The JSON Schema of everything ``sdd --json`` prints (``sdd schema output``).

One envelope for every command; ``data`` is described per command, keyed by the envelope's
``command`` field. A test runs every command and validates its output against this schema.
"""

from __future__ import annotations

from typing import Any

NULLABLE_TEXT: dict[str, Any] = {"type": ["string", "null"]}
REF_VALUE: dict[str, Any] = {"type": ["integer", "string"]}


def _object(properties: dict[str, Any], *, extra: bool = False) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": extra,
    }


def _list(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


PROBLEM = _object(
    {
        "severity": {"enum": ["error", "warning", "info"]},
        "code": {"type": "string"},
        "message": {"type": "string"},
        "path": NULLABLE_TEXT,
        "line": {"type": ["integer", "null"], "minimum": 1},
    }
)
LINK = _object(
    {
        "type": {"type": "string"},
        "direction": {"enum": ["out", "in"]},
        "label": {"type": "string"},
        "target": {"type": "string"},
        "resolved": {"type": "boolean"},
    }
)
ADR = _object(
    {
        "ref": {"type": "string"},
        "id": REF_VALUE,
        "folder": {"type": "string"},
        "title": NULLABLE_TEXT,
        "status": NULLABLE_TEXT,
        "status_text": NULLABLE_TEXT,
        "date": NULLABLE_TEXT,
        "format": {"enum": ["sdd", "madr", "madr2", "log4brains", "speckit", "nygard", "plain"]},
        "feature": NULLABLE_TEXT,
        "supersedes": _list(REF_VALUE),
        "superseded_by": _list(REF_VALUE),
        "links": _list(LINK),
        "path": {"type": "string"},
    }
)
PHR = _object(
    {
        "ref": {"type": "string"},
        "id": {"type": ["integer", "null"]},
        "title": NULLABLE_TEXT,
        "stage": NULLABLE_TEXT,
        "date": NULLABLE_TEXT,
        "feature": NULLABLE_TEXT,
        "route": {"type": "string"},
        "labels": _list({"type": "string"}),
        "path": {"type": "string"},
    }
)
SPEC = _object(
    {
        "number": {"type": "integer"},
        "feature": {"type": "string"},
        "slug": {"type": "string"},
        "title": NULLABLE_TEXT,
        "status": NULLABLE_TEXT,
        "operations": _list({"type": "string"}),
        "path": {"type": "string"},
    }
)
MATCHES = _list(_object({"line": {"type": "integer"}, "text": {"type": "string"}}))
SHOWN = {
    "front_matter": {"type": "object"},
    "sections": {"type": "object", "additionalProperties": {"type": "string"}},
    "text": {"type": "string"},
}


def _with(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    return _object(base["properties"] | extra)


def _records(item: dict[str, Any]) -> dict[str, Any]:
    return _object({"records": _list(item), "count": {"type": "integer", "minimum": 0}})


def _search(item: dict[str, Any]) -> dict[str, Any]:
    return _object(
        {
            "query": {"type": "string"},
            "records": _list(_with(item, {"matches": MATCHES})),
            "count": {"type": "integer", "minimum": 0},
        }
    )


def _status_change() -> dict[str, Any]:
    return _object(
        {"record": ADR, "previous_status": NULLABLE_TEXT, "changed": {"type": "boolean"}}
    )


CHOICE = _object(
    {
        "path": {"type": "string"},
        "source": {"type": "string"},
        "exists": {"type": "boolean"},
        "considered": _list(_object({"rule": {"type": "string"}, "found": NULLABLE_TEXT})),
    },
    extra=True,
)

CHANGE = _object(
    {
        "breaking": {"type": "boolean"},
        "kind": {"type": "string"},
        "reason": {"type": "string"},
        "pointer": {"type": "string"},
        "base": NULLABLE_TEXT,
        "head": NULLABLE_TEXT,
        "operation": NULLABLE_TEXT,
        "direction": {"enum": ["request", "response", None]},
    }
)

TRACED_OPERATION = _object(
    {
        "operation_id": {"type": "string"},
        "in_contract": {"type": "boolean"},
        "method": NULLABLE_TEXT,
        "path": NULLABLE_TEXT,
        "handlers": _list({"type": "string"}),
        "fuzz": _object({"state": {"type": "string"}, "detail": {"type": "string"}}),
    }
)
TRACE_ROW = _object(
    {
        "key": {"type": "string"},
        "feature": {"type": "string"},
        "requirement": {"type": "string"},
        "text": {"type": "string"},
        "spec": {"type": "string"},
        "operations": _list(TRACED_OPERATION),
        "tests": _list(_object({"id": {"type": "string"}, "where": {"type": "string"}})),
        "status": {"enum": ["traced", "gap"]},
        "gaps": _list({"type": "string"}),
    }
)

DATA: dict[str, dict[str, Any]] = {
    "": _object({"name": {"const": "sdd"}, "version": {"type": "string"}}),
    "init": _object(
        {
            "root": {"type": "string"},
            "files": _list(
                _object(
                    {
                        "path": {"type": "string"},
                        "action": {"enum": ["created", "overwritten", "kept"]},
                    }
                )
            ),
        }
    ),
    "where": _object(
        {
            "root": _object({"path": {"type": "string"}, "reason": {"type": "string"}}),
            "adr": CHOICE,
            "prompts": CHOICE,
            "specs": _object({"path": {"type": "string"}, "exists": {"type": "boolean"}}),
            "contract": _object({"path": {"type": "string"}, "exists": {"type": "boolean"}}),
            "traceability": _object({"enabled": {"type": "boolean"}, "source": {"type": "string"}}),
            "strict": {"type": "boolean"},
            "state": {"type": "string"},
        }
    ),
    "check": _object(
        {
            "checked": _object(
                {
                    name: {"type": "integer", "minimum": 0}
                    for name in ("adrs", "phrs", "specs", "operations")
                }
            ),
            "strict": {"type": "boolean"},
            "traceability": {"type": "boolean"},
        }
    ),
    "schema": _object({"schema": {"type": "object"}}),
    "spec new": _object(
        {"spec": SPEC, "files": _list({"type": "string"}), "branch": NULLABLE_TEXT}
    ),
    "spec list": _object({"specs": _list(SPEC), "count": {"type": "integer", "minimum": 0}}),
    "phr new": _object({"record": PHR, "feature_source": {"type": "string"}}),
    "phr list": _records(PHR),
    "phr show": _object({"record": _with(PHR, SHOWN)}),
    "phr search": _search(PHR),
    "adr new": _object({"record": ADR}),
    "adr accept": _status_change(),
    "adr reject": _status_change(),
    "adr deprecate": _status_change(),
    "adr status": _status_change(),
    "adr supersede": _object({"old": ADR, "new": ADR, "changed": {"type": "boolean"}}),
    "adr link": _object(
        {"source": ADR, "target": ADR, "type": {"type": "string"}, "changed": {"type": "boolean"}}
    ),
    "adr list": _records(ADR),
    "adr show": _object({"record": _with(ADR, SHOWN)}),
    "adr search": _search(ADR),
    "adr index": _object({"path": {"type": "string"}, "count": {"type": "integer", "minimum": 0}}),
    "contract diff": _object(
        {
            "base": {"type": "string"},
            "head": {"type": "string"},
            "base_version": NULLABLE_TEXT,
            "head_version": NULLABLE_TEXT,
            "major_bumped": {"type": "boolean"},
            "skipped": NULLABLE_TEXT,
            "verdict": {"type": "string"},
            "breaking": {"type": "integer", "minimum": 0},
            "changes": _list(CHANGE),
        }
    ),
    "trace": _object(
        {
            "project": {"type": "string"},
            "generated_at": {"type": "string"},
            "fuzz_source": {"type": "string"},
            "summary": _object(
                {
                    name: {"type": "integer", "minimum": 0}
                    for name in (
                        "requirements",
                        "traced",
                        "gaps",
                        "tests",
                        "unmarked_tests",
                        "unknown_requirements",
                    )
                }
            ),
            "rows": _list(TRACE_ROW),
            "unknown_requirements": _list(
                _object(
                    {
                        "test": {"type": "string"},
                        "where": {"type": "string"},
                        "requirement": {"type": "string"},
                    }
                )
            ),
            "unclaimed_operations": _list({"type": "string"}),
            "unmarked_tests": _list({"type": "string"}),
            "html": NULLABLE_TEXT,
        }
    ),
    "adr graph": _object(
        {
            "format": {"enum": ["mermaid", "dot"]},
            "graph": {"type": "string"},
            "nodes": _list({"type": "string"}),
            "edges": _list(
                _object(
                    {
                        "source": {"type": "string"},
                        "target": {"type": "string"},
                        "type": {"type": "string"},
                    }
                )
            ),
        }
    ),
}


def output_schema() -> dict[str, Any]:
    """The envelope, with the ``data`` of each command and the rule for failures."""
    rules: list[dict[str, Any]] = [
        {
            "if": {
                "properties": {"command": {"const": command}, "data": {"not": {"type": "null"}}}
            },
            "then": {"properties": {"data": data}},
        }
        for command, data in DATA.items()
    ]
    rules.append(
        {
            "if": {"properties": {"ok": {"const": False}, "data": {"type": "null"}}},
            "then": {
                "properties": {
                    "problems": {
                        "contains": {"properties": {"severity": {"const": "error"}}},
                        "minItems": 1,
                    }
                }
            },
        }
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "sdd:output",
        "title": "sdd --json output",
        "description": (
            "Every sdd command run with --json prints exactly one of these on stdout. "
            "ok is false when the command failed (data is then null) or when `sdd check` "
            "found problems (data holds the counts)."
        ),
        "type": "object",
        "properties": {
            "ok": {"type": "boolean"},
            "command": {"type": "string", "description": "The command path, e.g. 'adr list'."},
            "data": {"description": "The command's result, described per command below."},
            "problems": _list(PROBLEM),
        },
        "required": ["ok", "command", "data", "problems"],
        "additionalProperties": False,
        "allOf": rules,
        "$defs": {
            "adr": ADR,
            "phr": PHR,
            "spec": SPEC,
            "problem": PROBLEM,
            "link": LINK,
            "change": CHANGE,
        },
    }
