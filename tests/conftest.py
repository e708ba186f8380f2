"""Shared fixtures: one fresh, migrated database per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import Executable, text

from taskapi.chat.providers import close_assistant
from taskapi.core.config import Settings
from taskapi.main import create_app
from taskapi.users.repository import UserRepository
from taskapi.users.service import promote_to_admin
from tests.support_db import (
    REQUIRE_POSTGRES,
    PostgresServer,
    migrate_postgres_template,
    migrate_sqlite_template,
    postgres_server,
)
from tests.support_limits import GENEROUS_LIMITS
from tests.support_mail import MailCatcher, smtp_server
from tests.support_openai import ScriptedProvider, scripted_openai_server
from tests.support_redis import REQUIRE_REDIS, RedisServer
from tests.support_redis import redis_server as find_redis_server

# Headless-browser fixtures (browser, page, page_events) for any test that needs them.
pytest_plugins = ("tests.support_browser",)

TEST_JWT_SECRET = "test-secret-" + "x" * 40
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]

_postgres_status: dict[str, Any] = {}
_redis_status: dict[str, Any] = {}


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer | str]:
    with postgres_server() as server:
        _postgres_status["server"] = server
        yield server


@pytest.fixture(scope="session")
def redis_available() -> RedisServer | str:
    found = find_redis_server()
    _redis_status["server"] = found
    return found


@pytest.fixture
def redis_server(redis_available: RedisServer | str) -> Iterator[RedisServer]:
    """The test's view of Redis: unique key prefixes, its own keys deleted afterwards."""
    if isinstance(redis_available, str):
        if REQUIRE_REDIS:
            pytest.fail(f"TASKAPI_TEST_REQUIRE_REDIS=1 but {redis_available}", pytrace=False)
        pytest.skip(redis_available)
    server = RedisServer(redis_available.url)
    yield server
    server.delete_own_keys()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrate_sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_template(postgres: PostgresServer | str) -> Iterator[str]:
    server = _require(postgres)
    name = migrate_postgres_template(server)
    yield name
    server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _require(postgres: PostgresServer | str) -> PostgresServer:
    if isinstance(postgres, str):
        if REQUIRE_POSTGRES:
            pytest.fail(f"TASKAPI_TEST_REQUIRE_POSTGRES=1 but {postgres}", pytrace=False)
        pytest.skip(postgres)
    return postgres


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@dataclass(frozen=True)
class Template:
    backend: str
    sqlite_path: Path | None = None
    server: PostgresServer | None = None
    database: str | None = None


@pytest.fixture
def template(backend: str, request: pytest.FixtureRequest) -> Template:
    """The migrated template for this backend (sync: migrations run their own event loop)."""
    if backend == "sqlite":
        return Template(backend, sqlite_path=request.getfixturevalue("sqlite_template"))
    server = _require(request.getfixturevalue("postgres"))
    return Template(backend, server=server, database=request.getfixturevalue("postgres_template"))


@pytest.fixture
async def database_url(template: Template, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database cloned from the migrated template: no state leaks between tests."""
    if template.sqlite_path is not None:
        path = tmp_path / "test.db"
        shutil.copyfile(template.sqlite_path, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    assert template.server is not None and template.database is not None
    name = await template.server.create_clone(template.database)
    try:
        yield template.server.url_for(name)
    finally:
        await template.server.drop(name)


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "database_url": database_url,
        "jwt_secret": TEST_JWT_SECRET,
        # Cheap Argon2 so tests stay fast; the production cost is covered by its own test.
        "argon2_time_cost": 1,
        "argon2_memory_cost_kib": 1024,
        "db_pool_size": 5,
        **GENEROUS_LIMITS,  # the operations are tested here, not the limits
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


async def close_app(application: FastAPI) -> None:
    """What the app's lifespan closes; ASGITransport does not run the lifespan."""
    await close_assistant(application.state.chat_assistant)
    await application.state.database.close()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    yield application
    await close_app(application)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@dataclass(frozen=True)
class SignedInUser:
    id: uuid.UUID
    email: str
    password: str
    token: str
    refresh_token: str
    session_id: uuid.UUID

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


UserFactory = Callable[..., Awaitable[SignedInUser]]


def session_id_of(access_token: str) -> uuid.UUID:
    """The session an access token belongs to (its `sid` claim), read without verifying."""
    claims = jwt.decode(access_token, options={"verify_signature": False})
    return uuid.UUID(claims["sid"])


@pytest.fixture
def make_user(client: httpx.AsyncClient) -> UserFactory:
    """Register a user through the API and sign them in."""

    async def factory(
        email: str | None = None, password: str = "correct horse battery", **extra: Any
    ) -> SignedInUser:
        email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
        registered = await client.post(
            "/api/v1/auth/register", json={"email": email, "password": password, **extra}
        )
        assert registered.status_code == 201, registered.text
        token = await client.post(
            "/api/v1/auth/token", data={"username": email, "password": password}
        )
        assert token.status_code == 200, token.text
        return SignedInUser(
            id=uuid.UUID(registered.json()["id"]),
            email=registered.json()["email"],
            password=password,
            token=token.json()["access_token"],
            refresh_token=token.json()["refresh_token"],
            session_id=session_id_of(token.json()["access_token"]),
        )

    return factory


@pytest.fixture
async def user(make_user: UserFactory) -> SignedInUser:
    return await make_user()


TaskFactory = Callable[..., Awaitable[httpx.Response]]


@pytest.fixture
def make_task(client: httpx.AsyncClient) -> TaskFactory:
    """Create a task for `owner` through the API; the 201 response (Location, ETag, body)."""

    async def factory(owner: SignedInUser, **body: Any) -> httpx.Response:
        response = await client.post(
            "/api/v1/tasks", json={"title": "a task", **body}, headers=owner.headers
        )
        assert response.status_code == 201, response.text
        return response

    return factory


@pytest.fixture
def make_admin(app: FastAPI, make_user: UserFactory) -> UserFactory:
    """Register and sign in a user, then make them an admin as the command line does."""

    async def factory(**kwargs: Any) -> SignedInUser:
        signed_in = await make_user(**kwargs)
        async with app.state.database.sessionmaker() as session:
            account = await UserRepository(session).get_account(signed_in.id)
            assert account is not None
            await promote_to_admin(session=session, account=account)
            await session.commit()
        return signed_in

    return factory


@pytest.fixture
def mail() -> Iterator[MailCatcher]:
    """A real SMTP server on loopback; see tests/support_mail.py."""
    with smtp_server() as catcher:
        yield catcher


@pytest.fixture
def openai_server() -> Iterator[ScriptedProvider]:
    """A scripted OpenAI-compatible server on loopback; see tests/support_openai.py."""
    with scripted_openai_server() as server:
        yield server


async def sql(app: FastAPI, statement: str | Executable, **params: Any) -> list[dict[str, Any]]:
    """Run a statement on the app's database in a transaction of its own; rows as dicts.

    Text is for plain reads; pass SQLAlchemy statements on the tables where column types
    matter (instants are stored differently on each engine).
    """
    executable = text(statement) if isinstance(statement, str) else statement
    async with app.state.engine.begin() as connection:
        result = await connection.execute(executable, params)
        return [dict(row) for row in result.mappings()] if result.returns_rows else []


AppClientFactory = Callable[..., AbstractAsyncContextManager[tuple[httpx.AsyncClient, FastAPI]]]


@pytest.fixture
def make_client(database_url: str) -> AppClientFactory:
    """A client for an app on this test's database with some settings changed."""

    @asynccontextmanager
    async def factory(**overrides: Any) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
        application = create_app(make_settings(database_url, **overrides))
        transport = httpx.ASGITransport(app=application)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                yield c, application
        finally:
            await close_app(application)

    return factory


def pytest_report_header(config: pytest.Config) -> str:
    import os

    if os.environ.get("TEST_DATABASE_URL"):
        where = "TEST_DATABASE_URL"
    else:
        where = "a throwaway cluster if initdb/pg_ctl exist, else skipped"
    strict = " (required: skipping fails)" if REQUIRE_POSTGRES else ""
    return f"taskapi: PostgreSQL tests use {where}{strict}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    server = _postgres_status.get("server")
    if isinstance(server, str) and REQUIRE_POSTGRES:
        terminalreporter.write_sep(
            "!", f"PostgreSQL tests FAILED (required by CI): {server}", red=True
        )
    elif isinstance(server, str):
        skipped = [r for r in terminalreporter.stats.get("skipped", []) if "postgresql" in r.nodeid]
        terminalreporter.write_sep(
            "!", f"{len(skipped)} PostgreSQL tests SKIPPED: {server}", yellow=True
        )
    elif isinstance(server, PostgresServer):
        terminalreporter.write_line(f"taskapi: PostgreSQL tests ran against {server.source}")
    redis = _redis_status.get("server")
    if isinstance(redis, str) and REQUIRE_REDIS:
        terminalreporter.write_sep("!", f"Redis tests FAILED (required by CI): {redis}", red=True)
    elif isinstance(redis, str):
        skipped = [r for r in terminalreporter.stats.get("skipped", []) if "redis" in r.keywords]
        terminalreporter.write_sep("!", f"{len(skipped)} Redis tests SKIPPED: {redis}", yellow=True)
    elif isinstance(redis, RedisServer):
        terminalreporter.write_line(f"taskapi: Redis tests ran against {redis.url}")
