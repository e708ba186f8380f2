"""Routes ↔ contract: the app implements exactly the operations the contract documents.

Two projections are compared in both directions, so an unimplemented operation and an
undocumented route both fail:

* the contract's, read from ``openapi/openapi.yaml``;
* FastAPI's own view of the routes (``get_openapi(routes=app.routes)``; ``app.routes`` is not
  flat since FastAPI wraps included routers), minus the docs routes, which are not operations.

Per operation they must agree on method + path, operationId, parameters (name, ``in``,
``required``), whether there is a request body and its media types, whether it needs a bearer
token, the success status, and the error statuses.

Error statuses: FastAPI only knows a route's success code and 422, and declaring ``responses=``
on the routes would copy the contract into the code. So the implementation's side is derived
from what the code can actually raise: the domain error classes (each carries its status) that
the endpoint and every dependency it resolves raise, directly or through the service, repository
and helper functions and methods they call (found by reading their source), plus the statuses
the framework adds for the route's shape: 422 when FastAPI validates any input, 400 (malformed
body) and 413 (body limit) when the operation takes a body. A new ``raise`` of an undocumented
error, or a documented error nothing can raise any more, fails the comparison. 500 is not
compared: every operation can fail, and the contract does not promise otherwise.
"""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import textwrap
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI, routing
from fastapi.openapi.utils import get_openapi

from taskapi.chat.dependencies import get_chat_turns
from taskapi.chat.errors import ProviderFailed, ProviderTimedOut
from taskapi.chat.mcp import MCP_PATH
from taskapi.core.db import DatabaseUnavailable, get_read_pool, get_session
from taskapi.core.errors import DomainError
from taskapi.main import create_app
from tests.conftest import make_settings
from tests.contract.conftest import CONTRACT_PATH, REPO_ROOT

DOCS_PATHS = frozenset({"/openapi.json", "/docs", "/docs/assets/{name}", "/redoc"})
# The MCP endpoint speaks JSON-RPC as the MCP specification describes it: not an operation.
MCP_PATHS = frozenset({MCP_PATH})
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Malformed body; body over the size limit; body in a media type the operation does not declare.
BODY_STATUSES = frozenset({400, 413, 415})
# Answered by the server (taskapi.server) before the app sees the request: headers over the limit.
SERVER_STATUSES = frozenset({431})

Parameter = tuple[str, str, bool]  # name, in, required


@dataclass(frozen=True)
class Operation:
    operation_id: str | None
    parameters: frozenset[Parameter]
    body_media_types: frozenset[str]
    secured: bool
    success: frozenset[int]
    errors: frozenset[int]


OperationKey = tuple[str, str]  # METHOD, path


@pytest.fixture(scope="module")
def contract() -> dict[str, Any]:
    with CONTRACT_PATH.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.safe_load(handle)
    return document


@pytest.fixture(scope="module")
def route_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The app, only for its route table: nothing here opens the database."""
    path = tmp_path_factory.mktemp("routes") / "unused.db"
    return create_app(make_settings(f"sqlite+aiosqlite:///{path}"))


def _resolve(document: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _statuses(responses: dict[str, Any]) -> tuple[frozenset[int], frozenset[int]]:
    codes = {int(code) for code in responses}
    return frozenset(c for c in codes if 200 <= c < 300), frozenset(c for c in codes if c >= 400)


def _project(document: dict[str, Any], *, errors_from_document: bool) -> dict[OperationKey, Any]:
    """Method + path → Operation for an OpenAPI document (the contract's or FastAPI's)."""
    projection: dict[OperationKey, Any] = {}
    global_security = document.get("security", [])
    for path, item in document.get("paths", {}).items():
        if path in DOCS_PATHS:
            continue
        shared = [_resolve(document, p) for p in item.get("parameters", [])]
        for method in HTTP_METHODS:
            if method not in item:
                continue
            operation = item[method]
            merged = {(p["name"], p["in"]): p for p in shared}
            for raw in operation.get("parameters", []):
                parameter = _resolve(document, raw)
                merged[(parameter["name"], parameter["in"])] = parameter
            body = _resolve(document, operation.get("requestBody")) or {}
            success, errors = _statuses(operation.get("responses", {}))
            projection[(method.upper(), path)] = Operation(
                operation_id=operation.get("operationId"),
                parameters=frozenset(
                    (p["name"], p["in"], bool(p.get("required", False))) for p in merged.values()
                ),
                body_media_types=frozenset(body.get("content", {})),
                secured=bool(operation.get("security", global_security)),
                success=success,
                errors=errors if errors_from_document else frozenset(),
            )
    return projection


def _api_routes(app: FastAPI) -> Iterator[tuple[OperationKey, routing.APIRoute]]:
    for context in routing.iter_route_contexts(app.routes):
        if context.path in DOCS_PATHS | MCP_PATHS:
            continue
        route = context.route
        assert isinstance(route, routing.APIRoute), f"{context.path} is not an API route"
        for method in sorted(route.methods):
            yield (method, context.path), route


# --- What the implementation can raise -------------------------------------------------------


def _dependency_calls(dependant: Any) -> Iterator[Callable[..., Any]]:
    if dependant.call is not None:
        yield dependant.call
    for sub in dependant.dependencies:
        yield from _dependency_calls(sub)


def _owner_class(func: Callable[..., Any]) -> type | None:
    outer = func.__qualname__.rpartition(".")[0]
    owner = func.__globals__.get(outer) if outer and "." not in outer else None
    return owner if isinstance(owner, type) else None


def _hinted_class(annotation: Any) -> type | None:
    """The class a parameter is annotated with, seeing through Annotated and `X | None`."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        classes = [a for a in typing.get_args(annotation) if isinstance(a, type)]
        annotation = next((a for a in classes if a is not type(None)), None)
    return annotation if isinstance(annotation, type) else None


class _RaiseFinder:
    """Walks the source of the app's own functions, following the calls they make."""

    def __init__(self) -> None:
        self.seen: set[Any] = set()
        self.raised: set[type[DomainError]] = set()

    def visit(self, func: Any) -> None:
        func = inspect.unwrap(getattr(func, "__func__", func))
        if not inspect.isfunction(func) or func in self.seen:
            return
        if not func.__module__.startswith("taskapi."):
            return
        self.seen.add(func)
        try:
            source = inspect.getsource(func)
        except OSError:
            return  # generated code (a dataclass __init__) raises nothing of ours
        tree = ast.parse(textwrap.dedent(source))
        try:
            hints = typing.get_type_hints(func, include_extras=True)
        except (NameError, TypeError):
            hints = {}
        names: dict[str, Any] = {
            name: cls for name, hint in hints.items() if (cls := _hinted_class(hint)) is not None
        }
        owner = _owner_class(func)
        if owner is not None:
            names["self"] = names["cls"] = owner
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and node.exc is not None:
                target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                raised = self._resolve(target, func, names)
                if isinstance(raised, type) and issubclass(raised, DomainError):
                    self.raised.add(raised)
            elif isinstance(node, ast.Call):
                callee = self._resolve(node.func, func, names)
                if isinstance(callee, type):
                    callee = getattr(callee, "__init__", None)
                self.visit(callee)

    def _resolve(self, node: ast.expr, func: Any, names: dict[str, Any]) -> Any:
        if isinstance(node, ast.Name):
            if node.id in names:
                return names[node.id]
            return func.__globals__.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self._resolve(node.value, func, names)
            if isinstance(base, types.ModuleType | type):
                return inspect.getattr_static(base, node.attr, None)
            return None
        if isinstance(node, ast.Call):
            made = self._resolve(node.func, func, names)
            return made if isinstance(made, type) else None  # an instance of that class
        return None


# Resolving either means the operation needs the database, and answers 503 while it is down:
# DatabaseUnavailable is raised inside the read pool and the session, below what the source
# walk can follow (calls through instance attributes).
DATABASE_DEPENDENCIES = (get_read_pool, get_session)
# Resolving the chat turn runner means the operation runs the configured assistant, whose
# provider failures (502) and timeouts (504) are raised inside the assistant: an object the
# app builds from the settings at start-up, below what the source walk can follow.
ASSISTANT_DEPENDENCIES = (get_chat_turns,)
ASSISTANT_ERRORS = (ProviderFailed, ProviderTimedOut)


def implementation_errors(route: routing.APIRoute, fastapi_view: Operation) -> frozenset[int]:
    finder = _RaiseFinder()
    calls = list(_dependency_calls(route.dependant))
    for call in calls:
        finder.visit(call)
    statuses = {error.status for error in finder.raised}
    if any(call in DATABASE_DEPENDENCIES for call in calls):
        statuses.add(DatabaseUnavailable.status)
    if any(call in ASSISTANT_DEPENDENCIES for call in calls):
        statuses |= {error.status for error in ASSISTANT_ERRORS}
    statuses |= fastapi_view.errors  # the 422 FastAPI itself answers for invalid input
    if fastapi_view.body_media_types:
        statuses |= BODY_STATUSES
    statuses |= SERVER_STATUSES
    return frozenset(statuses)


# --- The comparisons ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fastapi_projection(route_app: FastAPI) -> dict[OperationKey, Operation]:
    document = get_openapi(title="routes", version="0", routes=route_app.routes)
    projection = _project(document, errors_from_document=True)
    # FastAPI's view only knows 422 among the errors; the rest comes from the code.
    return {
        key: Operation(
            operation_id=op.operation_id,
            parameters=op.parameters,
            body_media_types=op.body_media_types,
            secured=op.secured,
            success=op.success,
            errors=op.errors & {422},
        )
        for key, op in projection.items()
    }


@pytest.fixture(scope="module")
def contract_projection(contract: dict[str, Any]) -> dict[OperationKey, Operation]:
    return _project(contract, errors_from_document=True)


@pytest.mark.fr("003-platform/FR-018")
def test_every_documented_operation_is_implemented_and_nothing_else(
    contract_projection: dict[OperationKey, Operation],
    fastapi_projection: dict[OperationKey, Operation],
) -> None:
    documented, implemented = set(contract_projection), set(fastapi_projection)
    assert sorted(documented - implemented) == [], "documented but not implemented"
    assert sorted(implemented - documented) == [], "implemented but not documented"


@pytest.mark.fr("003-platform/FR-018")
def test_every_route_is_in_fastapis_view(
    route_app: FastAPI, fastapi_projection: dict[OperationKey, Operation]
) -> None:
    """A route hidden with include_in_schema=False would dodge the comparison above."""
    routes = {key for key, _ in _api_routes(route_app)}
    assert routes == set(fastapi_projection)


@pytest.mark.fr("003-platform/FR-018")
@pytest.mark.parametrize(
    "field", ["operation_id", "parameters", "body_media_types", "secured", "success"]
)
def test_operations_agree(
    field: str,
    contract_projection: dict[OperationKey, Operation],
    fastapi_projection: dict[OperationKey, Operation],
) -> None:
    mismatches = {
        f"{method} {path}": {
            "contract": getattr(documented, field),
            "app": getattr(fastapi_projection[(method, path)], field),
        }
        for (method, path), documented in contract_projection.items()
        if (method, path) in fastapi_projection
        and getattr(documented, field) != getattr(fastapi_projection[(method, path)], field)
    }
    assert mismatches == {}


@pytest.mark.fr("003-platform/FR-018")
# Which operations may answer 429 and 503 is derived from the route dependencies.
@pytest.mark.fr("008-abuse-resistance/FR-007")
def test_error_statuses_agree(
    route_app: FastAPI,
    contract_projection: dict[OperationKey, Operation],
    fastapi_projection: dict[OperationKey, Operation],
) -> None:
    mismatches = {}
    for key, route in _api_routes(route_app):
        if key not in contract_projection:
            continue  # reported by the test above
        produced = implementation_errors(route, fastapi_projection[key])
        documented = contract_projection[key].errors
        if produced != documented:
            mismatches[f"{key[0]} {key[1]}"] = {
                "undocumented": sorted(produced - documented),
                "documented but never produced": sorted(documented - produced),
            }
    assert mismatches == {}


@pytest.mark.fr("003-platform/FR-018")
def test_error_analysis_follows_calls_into_services(route_app: FastAPI) -> None:
    """The analysis itself: getTask's 404 and 401 are raised two calls down, in the service."""
    routes = dict(_api_routes(route_app))
    finder = _RaiseFinder()
    for call in _dependency_calls(routes[("GET", "/api/v1/tasks/{task_id}")].dependant):
        finder.visit(call)
    assert {error.__name__ for error in finder.raised} == {
        "TaskNotFound",
        "NotAuthenticated",
        "InvalidToken",
        "CallerGone",
        "RateLimited",
    }


# --- What the app serves --------------------------------------------------------------------


@pytest.mark.fr("003-platform/FR-009")
@pytest.mark.anyio
async def test_openapi_json_is_the_contract_file(
    client: httpx.AsyncClient, contract: dict[str, Any]
) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == contract


@pytest.mark.fr("003-platform/FR-009")
@pytest.mark.anyio
@pytest.mark.parametrize(
    ("page", "contract_url"),
    [
        ("/docs/assets/swagger-init.js", 'url: "openapi.json"'),
        ("/redoc", 'spec-url="openapi.json"'),
    ],
)
async def test_docs_pages_load_the_served_contract(
    client: httpx.AsyncClient, page: str, contract_url: str
) -> None:
    """Relative to /docs and /redoc, `openapi.json` is the document served above."""
    response = await client.get(page)
    assert response.status_code == 200
    assert contract_url in response.text


@pytest.mark.fr("003-platform/FR-017")
def test_generated_models_are_current() -> None:
    """`make test` catches a contract edit without `make generate`, as CI's check does."""
    binary = Path(sys.executable).with_name("datamodel-codegen")
    if not binary.exists():
        pytest.skip("datamodel-codegen is not installed next to this Python; `make dev`")
    result = subprocess.run(
        [str(binary), "--check"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"models are stale; run `make generate`\n{result.stdout}"
