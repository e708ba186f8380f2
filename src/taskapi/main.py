"""create_app(): the app factory. Serves the hand-written contract as its OpenAPI document."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from sqlalchemy.ext.asyncio import AsyncSession

from taskapi.admin.router import router as admin_router
from taskapi.auth.dependencies import require_hashing_capacity
from taskapi.auth.password_reset import OUTBOX_KIND as PASSWORD_RESET
from taskapi.auth.password_reset import reset_handler
from taskapi.auth.router import router as auth_router
from taskapi.chat.mcp import MCP_PATH, McpEndpoint, build_mcp_server
from taskapi.chat.providers import build_assistant, close_assistant
from taskapi.chat.router import router as chat_router
from taskapi.chat.service import TurnLimits
from taskapi.chat.tools import TaskTools
from taskapi.core.config import Settings
from taskapi.core.db import Database, open_database
from taskapi.core.errors import contract_path_methods, install_problem_handlers
from taskapi.core.middleware import (
    BodySizeLimitMiddleware,
    EarlyRefusalMiddleware,
    MediaTypeMiddleware,
    ProblemCORSMiddleware,
    RequestContextMiddleware,
    contract_body_media_types,
    install_request_id_logging,
    routes_declaring,
)
from taskapi.core.ratelimit import RateLimiter
from taskapi.core.security import PasswordHasher, TokenService
from taskapi.docs.router import router as docs_router
from taskapi.health.router import router as health_router
from taskapi.mail.mailer import UnconfiguredMailer, build_mailer
from taskapi.outbox.worker import OutboxWorker
from taskapi.tasks.pagination import CursorCodec
from taskapi.tasks.router import router as tasks_router
from taskapi.users.passwords import PasswordPolicy
from taskapi.users.repository import CallerClaims
from taskapi.users.router import router as users_router

# TASKAPI_TELEMETRY=false (the default): FastAPI's native OpenTelemetry is switched off
# entirely, so a request never asks the global providers whether anyone listens.
_NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}

logger = logging.getLogger("taskapi")


# libyaml's safe loader when PyYAML was built with it (the wheels are): the same documents as
# yaml.SafeLoader, about six times faster on the contract, which every app start reads.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_contract(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as handle:
            contract: dict[str, Any] = yaml.load(handle, Loader=_YAML_LOADER)  # noqa: S506
    except FileNotFoundError as exc:
        msg = f"the OpenAPI contract was not found at {path}; set TASKAPI_CONTRACT_PATH"
        raise RuntimeError(msg) from exc
    return contract


def configure_logging(level: str) -> None:
    """Give the app's own loggers a handler once; the server (uvicorn) configures its own."""
    install_request_id_logging()
    app_logger = logging.getLogger("taskapi")
    app_logger.setLevel(level.upper())
    if not app_logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)s %(name)s [request_id=%(request_id)s] %(message)s"
            )
        )
        app_logger.addHandler(handler)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Retries and anything a crashed process left behind; new entries are also drained
    # right after the response that stored them.
    outbox = asyncio.create_task(app.state.outbox_worker.run(), name="taskapi-outbox")
    mcp: McpEndpoint = app.state.mcp
    try:
        # The MCP transport's session manager lives exactly as long as the app serves.
        async with mcp.running():
            yield
    finally:
        outbox.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await outbox
        await close_assistant(app.state.chat_assistant)
        database: Database = app.state.database
        await database.close()


def _task_tools(
    session: AsyncSession, claims: CallerClaims, *, codec: CursorCodec, result_max_chars: int
) -> TaskTools:
    return TaskTools(session=session, claims=claims, codec=codec, result_max_chars=result_max_chars)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)
    if settings.jwt_secret is None:
        logger.warning(
            "TASKAPI_JWT_SECRET is not set: signing with a random per-process secret, so tokens "
            "end with this process (development only; other environments refuse to start)"
        )
    contract = load_contract(settings.contract_path)
    info = contract["info"]

    app = FastAPI(
        title=info["title"],
        version=info["version"],
        summary=info.get("summary"),
        openapi_url="/openapi.json",
        # The docs pages are this app's own (taskapi.docs): offline assets, a strict policy.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        lifespan=_lifespan,
        telemetry=None if settings.telemetry else _NO_TELEMETRY,
    )
    # The contract is the product: serve it as written, never FastAPI's derived schema.
    app.openapi = partial(lambda document: document, contract)  # type: ignore[method-assign]

    database = open_database(settings)
    app.state.settings = settings
    app.state.path_methods = contract_path_methods(contract)
    app.state.database = database
    app.state.engine = database.engine
    app.state.password_hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost_kib=settings.argon2_memory_cost_kib,
        concurrency=settings.password_hash_concurrency,
        queue=settings.password_hash_queue,
        niceness=settings.password_hash_niceness,
    )
    app.state.password_policy = PasswordPolicy(
        min_score=settings.password_min_score, concurrency=settings.password_hash_concurrency
    )
    app.state.token_service = TokenService(settings)
    app.state.rate_limiter = RateLimiter(settings)
    mailer = build_mailer(settings)
    if isinstance(mailer, UnconfiguredMailer):
        logger.warning(
            "TASKAPI_SMTP_HOST is not set: password-reset mail cannot be sent, and each "
            "request for one is logged as an error"
        )
    app.state.outbox_worker = OutboxWorker(
        sessionmaker=database.sessionmaker,
        mailer=mailer,
        handlers={PASSWORD_RESET: reset_handler(settings)},
        max_attempts=settings.outbox_max_attempts,
        retry_base_seconds=settings.outbox_retry_base_seconds,
        poll_seconds=settings.outbox_poll_seconds,
    )
    app.state.cursor_codec = CursorCodec(settings.signing_secret.encode())
    # Chat: one assistant for the process; the task tools are made per turn, for its caller
    # and in its transaction. Nothing about a conversation is kept here (stateless turns).
    app.state.chat_assistant = build_assistant(settings)
    app.state.chat_limits = TurnLimits.from_settings(settings)
    app.state.chat_tools = partial(
        _task_tools,
        codec=app.state.cursor_codec,
        result_max_chars=settings.chat_tool_result_max_chars,
    )

    install_problem_handlers(app)
    # Tasks first: the hot reads match on their first try.
    routers = (tasks_router, auth_router, users_router, admin_router, chat_router, health_router)
    for router in routers:
        app.include_router(router)
    if settings.docs_enabled:
        app.include_router(docs_router)
    # The task tools over MCP (JSON-RPC, described by the MCP specification, not the contract).
    app.state.mcp = McpEndpoint(build_mcp_server(info["version"], telemetry=settings.telemetry))
    app.router.add_route(
        MCP_PATH, app.state.mcp, methods=["GET", "POST", "DELETE"], include_in_schema=False
    )

    # Added innermost first: the request context wraps everything, so even a 413 from the
    # body limit or a CORS rejection carries a request id and the security headers.
    app.add_middleware(MediaTypeMiddleware, body_media_types=contract_body_media_types(contract))
    app.add_middleware(BodySizeLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            ProblemCORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "If-Match", "X-Request-ID"],
            expose_headers=[
                "ETag",
                "Location",
                "X-Request-ID",
                "Retry-After",
                "RateLimit",
                "RateLimit-Policy",
            ],
        )
    app.add_middleware(
        EarlyRefusalMiddleware,
        operations=routes_declaring(app.routes, require_hashing_capacity),
        check=app.state.password_hasher.check_capacity,
        delay_seconds=settings.password_busy_refusal_delay_seconds,
    )
    app.add_middleware(RequestContextMiddleware)
    return app
