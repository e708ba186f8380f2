"""Response bodies serialised once (orjson, straight from typed rows) and conditional GETs."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

_OPTIONS = orjson.OPT_UTC_Z
# What an If-Match or If-None-Match value may hold: visible ASCII, inner spaces only.
ENTITY_TAGS_PATTERN = r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$"
# The longest If-Match value accepted (a handful of strong tags).
IF_MATCH_MAX_LENGTH = 200


def _default(value: Any) -> Any:
    # Drivers hand back their own UUID subclasses; orjson only knows uuid.UUID itself.
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_bytes(content: Any) -> bytes:
    """Dataclasses, dicts, lists, UUIDs and aware datetimes (as RFC 3339 with `Z`)."""
    return orjson.dumps(content, default=_default, option=_OPTIONS)


def json_response(
    content: Any, *, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        json_bytes(content),
        status_code=status_code,
        headers=dict(headers or {}),
        media_type="application/json",
    )


def not_modified(headers: Mapping[str, str]) -> Response:
    """304: no body; the validators and caching headers a 200 would have carried."""
    return Response(status_code=304, headers=dict(headers))


def _opaque(tag: str) -> str:
    return tag.removeprefix("W/")


def none_match(if_none_match: str | None, etag: str) -> bool:
    """True when If-None-Match names this representation (RFC 9110 §13.1.2: weak comparison).

    `*` matches any current representation. A malformed member matches nothing, so the
    client simply gets the full response.
    """
    if if_none_match is None:
        return False
    wanted = _opaque(etag)
    for candidate in if_none_match.split(","):
        member = candidate.strip()
        if member == "*" or (member and _opaque(member) == wanted):
            return True
    return False
