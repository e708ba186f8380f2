"""RFC 9457 problem details: the domain error classes and the one place that renders them."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import Scope

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:taskapi:problem:"

logger = logging.getLogger("taskapi.errors")


class DomainError(Exception):
    """A business problem with its own status code; services raise these, never HTTPException."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal server error"
    # True when the request's writes must be committed although it fails (for example the
    # revocation of a session whose refresh token was stolen); see core.db.get_session.
    keeps_changes: ClassVar[bool] = False

    def __init__(self, detail: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = dict(headers or {})

    @property
    def errors(self) -> list[dict[str, Any]] | None:
        return None


class NotFound(DomainError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class Unauthorized(DomainError):
    status = 401
    slug = "unauthorized"
    title = "Unauthorized"
    # RFC 6750 §3: the challenge; subclasses add an error code when a token was presented.
    challenge: ClassVar[str] = "Bearer"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": self.challenge})


class Forbidden(DomainError):
    """The caller is known, and this is not theirs to do."""

    status = 403
    slug = "forbidden"
    title = "Forbidden"


class PreconditionFailed(DomainError):
    status = 412
    slug = "precondition-failed"
    title = "Precondition failed"


class ValidationFailed(DomainError):
    """A rule the request breaks that the generated models cannot express (e.g. uniqueItems)."""

    status = 422
    slug = "validation-failed"
    title = "Validation failed"

    def __init__(self, *, loc: Sequence[str | int], message: str, type: str) -> None:
        self.issue = {"loc": list(loc), "message": message, "type": type}
        super().__init__(f"{_loc_text(loc)}: {message.rstrip('.')}.")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [self.issue]


class ServiceUnavailable(DomainError):
    status = 503
    slug = "service-unavailable"
    title = "Service unavailable"


class BodyTooLarge(StarletteHTTPException):
    """Raised from inside the body stream.

    An HTTPException, because FastAPI turns any other exception raised while reading the body
    into a 400.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body exceeds the limit of {limit} bytes.")


def request_id_of(scope: Scope) -> str:
    state = scope.get("state") or {}
    return str(state.get("request_id", ""))


# RFC 3986 path characters (pchar and "/") that may stay unescaped in a URI reference.
_PATH_SAFE = "/!$&'()*+,;=:@-._~"


def instance_of(scope: Scope) -> str:
    """The request path as a URI reference: the decoded path may hold spaces or any character."""
    path = scope.get("path") or "/"
    return quote(path, safe=_PATH_SAFE, errors="surrogatepass")


def problem_response(
    scope: Scope,
    *,
    status: int,
    detail: str,
    slug: str | None = None,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> Response:
    """Render one problem document. `slug=None` means a plain HTTP error (`about:blank`)."""
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + slug if slug else "about:blank",
        "title": title or phrase,
        "status": status,
        "detail": detail,
        "instance": instance_of(scope),
        "request_id": request_id_of(scope),
    }
    if errors is not None:
        body["errors"] = errors
    return Response(
        content=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def payload_too_large_response(scope: Scope, exc: BodyTooLarge) -> Response:
    return problem_response(
        scope,
        status=413,
        slug="payload-too-large",
        title="Payload too large",
        detail=str(exc.detail),
        headers={"Connection": "close"},
    )


def _loc_text(loc: Sequence[str | int]) -> str:
    return ".".join(str(part) for part in loc)


def _validation_issues(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(err.get("loc", ())), "message": str(err.get("msg", "")), "type": err["type"]}
        for err in exc.errors()
    ]


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return problem_response(
        request.scope,
        status=exc.status,
        detail=exc.detail,
        slug=exc.slug,
        title=exc.title,
        headers=exc.headers,
        errors=exc.errors,
    )


async def _request_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    issues = _validation_issues(exc)
    malformed = [i for i in issues if i["type"] == "json_invalid"]
    if malformed:
        return problem_response(
            request.scope,
            status=400,
            slug="malformed-request",
            title="Malformed request",
            detail="The request body is not valid JSON.",
        )
    count = len(issues)
    first = issues[0] if issues else {"loc": [], "message": "invalid request"}
    noun = "input is" if count == 1 else "inputs are"
    message = str(first["message"]).rstrip(".")
    detail = f"{count} {noun} invalid; first: {_loc_text(first['loc'])}: {message}."
    return problem_response(
        request.scope,
        status=422,
        slug="validation-failed",
        title="Validation failed",
        detail=detail,
        errors=issues,
    )


_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def contract_path_methods(contract: Mapping[str, Any]) -> list[tuple[re.Pattern[str], list[str]]]:
    """(path regex, methods) for every path of the contract, for the 405 Allow header.

    Starlette's own Allow lists only the first partially matching route's methods, which is
    wrong whenever GET and POST of one path are separate routes.
    """
    index = []
    for template, item in (contract.get("paths") or {}).items():
        methods = sorted(m.upper() for m in item if m in _HTTP_METHODS)
        index.append((contract_path_pattern(template), methods))
    return index


def contract_path_pattern(template: str) -> re.Pattern[str]:
    """The request paths a contract path template (`/api/v1/tasks/{task_id}`) matches."""
    pattern = re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template))
    return re.compile(f"^{pattern}$")


def _allowed_methods(request: Request, fallback: str | None) -> str | None:
    for pattern, methods in getattr(request.app.state, "path_methods", ()):
        if pattern.match(request.url.path):
            return ", ".join(methods)
    return fallback


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc, BodyTooLarge):
        return payload_too_large_response(request.scope, exc)
    status = exc.status_code
    headers = dict(exc.headers or {})
    if status == 404:
        detail = f"No route matches {request.method} {request.url.path}."
    elif status == 405:
        allow = _allowed_methods(request, headers.get("Allow"))
        if allow:
            headers["Allow"] = allow
        detail = f"{request.method} is not allowed here; allowed: {allow or 'none'}."
    elif isinstance(exc.detail, str) and exc.detail and exc.detail != HTTPStatus(status).phrase:
        detail = exc.detail
    else:
        detail = HTTPStatus(status).description or HTTPStatus(status).phrase
    if status == 400:
        return problem_response(
            request.scope,
            status=400,
            slug="malformed-request",
            title="Malformed request",
            detail=detail,
            headers=headers,
        )
    return problem_response(request.scope, status=status, detail=detail, headers=headers)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
