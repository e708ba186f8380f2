"""Fuzzing fixtures: one fresh migrated database and app per test module and engine.

Schemathesis drives ASGI apps on one event loop of its own, so these fixtures are synchronous:
the app is created here, Schemathesis opens its database connections on that loop, and ending
the app's lifespan there (``shutdown_lifespans``) disposes them before the database is dropped.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from schemathesis.config import SchemathesisConfig
from schemathesis.python.asgi import shutdown_lifespans
from starlette.types import Receive, Scope, Send

from taskapi.main import create_app
from tests.conftest import BACKENDS, _require, make_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTRACT_PATH = REPO_ROOT / "openapi" / "openapi.yaml"
SCHEMATHESIS_CONFIG_PATH = Path(__file__).with_name("schemathesis.toml")


def schemathesis_config() -> SchemathesisConfig:
    return SchemathesisConfig.from_path(SCHEMATHESIS_CONFIG_PATH)


class FuzzTarget:
    """The ASGI app a module-level Schemathesis schema calls: it forwards to the current app.

    `schema.parametrize()` needs its schema at import time, before any fixture has created a
    database, so the schema is bound to this stable object and each engine's fixture plugs its
    freshly created app into it.
    """

    def __init__(self) -> None:
        self.app: FastAPI | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is None:
            msg = "no app under test; request the `fuzz_target` fixture"
            raise RuntimeError(msg)
        await self.app(scope, receive, send)


TARGET = FuzzTarget()


@pytest.fixture(scope="module", params=BACKENDS)
def fuzz_backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="module")
def fuzz_database_url(
    fuzz_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh clone of the migrated template, shared by every fuzz case of one module."""
    if fuzz_backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    server = _require(request.getfixturevalue("postgres"))
    name = asyncio.run(server.create_clone(request.getfixturevalue("postgres_template")))
    try:
        yield server.url_for(name)
    finally:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def fuzz_target(fuzz_database_url: str) -> Iterator[FuzzTarget]:
    """TARGET serving a new app on a fresh database."""
    TARGET.app = create_app(make_settings(fuzz_database_url))
    try:
        yield TARGET
    finally:
        shutdown_lifespans()
        TARGET.app = None
