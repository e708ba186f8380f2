"""Pure-ASGI middleware: request id, security headers, the last-resort 500, and the body limit."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskapi.core.errors import (
    BodyTooLarge,
    DomainError,
    contract_path_pattern,
    payload_too_large_response,
    problem_response,
)

logger = logging.getLogger("taskapi.request")

# The id of the request being handled, for log records (see install_request_id_logging).
current_request_id: ContextVar[str] = ContextVar("current_request_id", default="-")
# The address of the client making it (as the server saw it), for security events.
current_client_address: ContextVar[str | None] = ContextVar("current_client_address", default=None)

REQUEST_ID_HEADER = "x-request-id"
# Headers that dependencies want on whatever response the request ends with (successes,
# domain errors and bare 204s alike), kept in the request state under this name.
RESPONSE_HEADERS_STATE = "response_headers"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# Every response gets the strict policy unless it sets its own (the docs pages do).
_API_CSP = "default-src 'none'; frame-ancestors 'none'"
# Everything under /api/ is one user's data (or a credential): no cache, shared or private,
# may keep a copy. A route that wants something else sets its own Cache-Control.
_API_PREFIX = "/api/"
_NO_STORE = "no-store"


class RequestContextMiddleware:
    """Outermost layer: every response, even a crash, carries a request id and security headers.

    An exception nothing else handled becomes a generic 500 problem here: the client sees the
    request id and nothing of the internals; the log gets the traceback and the same id.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        token = current_request_id.set(request_id)
        private = scope["path"].startswith(_API_PREFIX)
        client = scope.get("client")
        client_token = current_client_address.set(client[0] if client else None)
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                # The server names itself unless the app does; the app names nothing.
                headers.setdefault("Server", "taskapi")
                for name, value in _SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", _API_CSP)
                if private:
                    headers.setdefault("Cache-Control", _NO_STORE)
                for name, value in state.get(RESPONSE_HEADERS_STATE, {}).items():
                    headers[name] = value
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            logger.exception(
                "unhandled error in %s %s [request_id=%s]",
                scope.get("method"),
                scope.get("path"),
                request_id,
            )
            if started:
                raise
            response = problem_response(
                scope,
                status=500,
                detail=(
                    "The server failed to handle this request. "
                    f"Quote request id {request_id} when reporting it."
                ),
            )
            await response(scope, receive, send_with_headers)
        finally:
            current_request_id.reset(token)
            current_client_address.reset(client_token)


def install_request_id_logging() -> None:
    """Give every log record a `request_id` attribute: the id of the request it belongs to.

    A record factory rather than a filter, because filters on a logger do not see records
    from its children, and handlers (the server's, the test runner's) are not ours to edit.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "adds_request_id", False):
        return

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = current_request_id.get()
        return record

    factory.adds_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER.encode():
            candidate = value.decode("latin-1")
            return candidate if _SANE_REQUEST_ID.match(candidate) else None
    return None


class BodySizeLimitMiddleware:
    """413 for bodies over the limit, whether declared by Content-Length or streamed."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, chunked = _declared_body(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._reject(scope, receive, send)
            return
        if declared is None and not chunked:
            # No Content-Length and no Transfer-Encoding: HTTP/1.1 says there is no body
            # (every GET the API serves), so there is nothing to count.
            await self.app(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await self._reject(scope, receive, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = payload_too_large_response(scope, BodyTooLarge(self.max_body_bytes))
        await response(scope, receive, send)


def _declared_body(scope: Scope) -> tuple[int | None, bool]:
    """(Content-Length if valid, whether a Transfer-Encoding was sent)."""
    length: int | None = None
    chunked = False
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                chunked = True  # unreadable length: count what actually arrives
        elif name == b"transfer-encoding":
            chunked = True
    return length, chunked


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS handling, except that a rejected preflight is a problem document.

    Starlette answers it with a text/plain 400; every error this API sends is problem+json.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            # Lifespan (and websocket) scopes have no headers; reading them here made the
            # server give up on the lifespan, so shutdown never disposed the engine.
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        is_preflight = (
            scope["method"] == "OPTIONS"
            and "origin" in headers
            and "access-control-request-method" in headers
        )
        if not is_preflight:
            await super().__call__(scope, receive, send)
            return
        response = self.preflight_response(request_headers=headers)
        if response.status_code < 400:
            await response(scope, receive, send)
            return
        reason = bytes(response.body).decode().strip() or "Disallowed CORS request"
        kept = {
            name: value
            for name, value in response.headers.items()
            if name not in ("content-type", "content-length")
        }
        problem = problem_response(
            scope,
            status=response.status_code,
            slug="cors-rejected",
            title="Cross-origin request rejected",
            detail=f"{reason}; the allowed origins, methods and headers are set by the server.",
            headers=kept,
        )
        await problem(scope, receive, send)


# (path pattern, method) → the request media types the contract declares for that operation.
BodyMediaTypes = list[tuple[re.Pattern[str], str, frozenset[str]]]


def contract_body_media_types(contract: Mapping[str, Any]) -> BodyMediaTypes:
    index = []
    for template, item in (contract.get("paths") or {}).items():
        pattern = contract_path_pattern(template)
        for method, operation in item.items():
            content = (
                (operation.get("requestBody") or {}).get("content")
                if isinstance(operation, dict)
                else None
            )
            if content:
                index.append((pattern, method.upper(), frozenset(content)))
    return index


class MediaTypeMiddleware:
    """415 for a body whose Content-Type is not one the contract declares for the operation.

    Without it, a JSON body sent as text/plain is parsed anyway by some routes and refused
    with a misleading 422 by others; clients deserve to be told what to send.
    """

    def __init__(self, app: ASGIApp, *, body_media_types: BodyMediaTypes) -> None:
        self.app = app
        self.body_media_types = body_media_types

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        accepted = self._accepted(scope["method"], scope["path"])
        if accepted is not None and _has_body(scope):
            sent = _media_type(scope)
            if sent not in accepted:
                listed = ", ".join(sorted(accepted))
                what = f"a body of type {sent}" if sent else "a body without a Content-Type"
                response = problem_response(
                    scope,
                    status=415,
                    slug="unsupported-media-type",
                    title="Unsupported media type",
                    detail=f"This operation accepts {listed}; the request sent {what}.",
                    headers={f"Accept-{scope['method'].title()}": listed},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _accepted(self, method: str, path: str) -> frozenset[str] | None:
        for pattern, declared_method, media_types in self.body_media_types:
            if declared_method == method and pattern.match(path):
                return media_types
        return None


def _has_body(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


def _media_type(scope: Scope) -> str:
    """The request's media type without parameters, lower-cased ('' when there is none)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media_type: str = value.decode("latin-1").split(";", 1)[0].strip().lower()
            return media_type
    return ""


class EarlyRefusalMiddleware:
    """Runs a route dependency's cheap check before the request is read or parsed.

    For the routes that declare `dependency` (see `routes_declaring`), `check()` runs first
    and a DomainError it raises is the answer. The dependency still runs on the route, so
    this only makes refusing cheaper: a sign-in flood is turned away before form parsing,
    routing and database work, so the refusals cannot crowd out other requests.

    The refusal is sent after `delay_seconds`: a client that sends its next attempt as soon
    as it is refused (a flood) is held to one attempt per delay per connection, instead of
    turning cheap refusals into thousands per second; an honest client still learns within
    the delay that it should come back after Retry-After.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        operations: frozenset[tuple[str, str]],
        check: Callable[[], None],
        delay_seconds: float = 0.0,
    ) -> None:
        self.app = app
        self.operations = operations
        self.check = check
        self.delay_seconds = delay_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (scope["method"], scope["path"]) in self.operations:
            try:
                self.check()
            except DomainError as exc:
                if self.delay_seconds:
                    await asyncio.sleep(self.delay_seconds)
                response = problem_response(
                    scope,
                    status=exc.status,
                    slug=exc.slug,
                    title=exc.title,
                    detail=exc.detail,
                    headers=exc.headers,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def routes_declaring(
    routes: Sequence[BaseRoute], dependency: Callable[..., Any]
) -> frozenset[tuple[str, str]]:
    """(method, path) of every route without path parameters that depends on `dependency`."""
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(routes):
        dependant = getattr(context.route, "dependant", None)
        path = context.path
        if dependant is None or path is None or "{" in path:
            continue
        if any(sub.call is dependency for sub in dependant.dependencies):
            found |= {(method, path) for method in context.methods or ()}
    return frozenset(found)
