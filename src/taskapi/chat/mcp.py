"""The task tools over the Model Context Protocol: Streamable HTTP at `/mcp`, stateless.

The tools are the chat tools (`chat/tools.py`): the same definitions and schemas, the same
code. Served with the official SDK's low-level `Server`, whose tool list and calls are ours
to give: its higher-level `MCPServer` (FastMCP's successor) derives every schema from a Python
signature, which would be a second definition of each tool.

Every HTTP request to `/mcp` is authenticated before the SDK sees it, exactly as a REST
request: the bearer access token is verified, the per-user API budget is spent, and the
caller check (user active, session live) runs; otherwise the answer is the REST API's 401
(or 429) problem. Each tool call is one transaction, committed when the tool succeeded and
rolled back when it returned an error. Stateless: no MCP session is kept between requests,
so any instance serves any request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from taskapi.auth.dependencies import authenticate_bearer
from taskapi.chat.tools import (
    DELETE_TASK,
    GET_TASK,
    LIST_TASKS,
    TaskTools,
    tool_definitions,
)
from taskapi.core.db import Database
from taskapi.core.errors import DomainError, ServiceUnavailable, problem_response
from taskapi.core.representation import json_bytes
from taskapi.users.repository import CallerClaims

MCP_PATH = "/mcp"
_CALLER = "taskapi.mcp_caller"
INSTRUCTIONS = (
    "Manage the signed-in user's tasks: add, list (filter, sort, page with next_cursor), "
    "read, update, complete and delete them. Results are JSON; a refused call returns "
    '{"ok": false, "error": {...}} with the reason. Pass a task\'s etag as if_match to change '
    "it only if nobody changed it since."
)

_ANNOTATIONS = {
    LIST_TASKS: types.ToolAnnotations(read_only_hint=True),
    GET_TASK: types.ToolAnnotations(read_only_hint=True),
    DELETE_TASK: types.ToolAnnotations(destructive_hint=True),
}


def _tools() -> list[types.Tool]:
    return [
        types.Tool(
            name=definition.name,
            description=definition.description,
            input_schema=definition.parameters,
            annotations=_ANNOTATIONS.get(definition.name),
        )
        for definition in tool_definitions()
    ]


async def _list_tools(
    ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
) -> types.ListToolsResult:
    return types.ListToolsResult(tools=_tools())


async def _call_tool(
    ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
) -> types.CallToolResult:
    """One tool call, one transaction, as the caller the request was authenticated for."""
    request = ctx.request
    if not isinstance(request, Request):  # the endpoint below always hands one over
        msg = "the MCP tools are served over HTTP only"
        raise RuntimeError(msg)
    claims: CallerClaims = request.scope["state"][_CALLER]
    database: Database = request.app.state.database
    # The same tool box a chat turn gets (main.py builds it from the settings).
    make_tools: Callable[[AsyncSession, CallerClaims], TaskTools] = request.app.state.chat_tools
    async with database.sessionmaker() as session:
        call = await make_tools(session, claims).call(params.name, params.arguments or {})
        succeeded = call.result.get("ok") is True
        if succeeded:
            await session.commit()
        else:
            await session.rollback()
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=json_bytes(call.result).decode())],
        structured_content=call.result,
        is_error=not succeeded,
    )


def build_mcp_server(version: str, *, telemetry: bool) -> Server[Any]:
    """The MCP server of the task tools (no state of its own; one per app).

    Without `telemetry` (TASKAPI_TELEMETRY) the SDK's own OpenTelemetry middleware is
    dropped from its chain, as the SDK documents, like FastAPI's for the REST operations.
    """
    server: Server[Any] = Server(
        "taskapi",
        version=version,
        instructions=INSTRUCTIONS,
        on_list_tools=_list_tools,
        on_call_tool=_call_tool,
    )
    if not telemetry:
        server.middleware.clear()
    return server


class McpEndpoint:
    """The ASGI endpoint at `/mcp`: REST authentication, then the SDK's transport.

    The transport's session manager lives in the app's lifespan (`running`); before the
    lifespan has started it (or after it ended) the endpoint answers 503.
    """

    def __init__(self, server: Server[Any]) -> None:
        self._server = server
        self._manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the transport for one lifespan of the app (a fresh manager each time)."""
        manager = StreamableHTTPSessionManager(
            app=self._server,
            # Stateless: every request stands alone, so any instance can serve it; plain JSON
            # responses, since no call streams progress.
            stateless=True,
            json_response=True,
        )
        async with manager.run():
            self._manager = manager
            try:
                yield
            finally:
                self._manager = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            manager = self._manager
            if manager is None:
                raise _NotRunning
            claims = await authenticate_bearer(Request(scope, receive))
        except DomainError as exc:
            response = problem_response(
                scope,
                status=exc.status,
                detail=exc.detail,
                slug=exc.slug,
                title=exc.title,
                headers=exc.headers,
                errors=exc.errors,
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})[_CALLER] = claims
        await manager.handle_request(scope, receive, send)


class _NotRunning(ServiceUnavailable):
    def __init__(self) -> None:
        super().__init__("The MCP endpoint is not running; the server is starting or stopping.")
