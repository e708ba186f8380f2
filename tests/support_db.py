"""Test databases: a migrated template per engine, and a fresh clone of it for every test.

PostgreSQL comes from TEST_DATABASE_URL, else a throwaway cluster when initdb/pg_ctl exist,
else its tests are skipped with the reason (and fail instead under
TASKAPI_TEST_REQUIRE_POSTGRES=1, which CI sets).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from taskapi.migrations import upgrade
from tests.support_server import free_port

REQUIRE_POSTGRES = os.environ.get("TASKAPI_TEST_REQUIRE_POSTGRES") == "1"


@dataclass
class PostgresServer:
    admin_url: str  # postgresql+asyncpg://... of an existing database we may CREATE DATABASE from
    source: str  # how we got it, for the report header

    def url_for(self, database: str) -> str:
        return make_url(self.admin_url).set(database=database).render_as_string(hide_password=False)

    def _dsn(self) -> str:
        return (
            make_url(self.admin_url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )

    async def _execute(self, *statements: str) -> None:
        connection = await asyncpg.connect(self._dsn(), timeout=10)
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    def execute(self, *statements: str) -> None:
        asyncio.run(self._execute(*statements))

    async def create_clone(self, template: str) -> str:
        name = f"taskapi_test_{uuid.uuid4().hex[:12]}"
        await self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    async def create_database(self, name: str) -> None:
        await self._execute(f'CREATE DATABASE "{name}"')

    async def drop(self, name: str) -> None:
        await self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres_binaries() -> tuple[str, str] | None:
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return initdb, pg_ctl
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(f"{bindir}/initdb", os.X_OK) and os.access(f"{bindir}/pg_ctl", os.X_OK):
            return f"{bindir}/initdb", f"{bindir}/pg_ctl"
    return None


def _unprivileged_prefix() -> list[str] | None:
    """How to run initdb/pg_ctl: directly, or as 'postgres' when we are root (None: can't)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return None
    return [runuser, "-u", "postgres", "--"] if runuser else None


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer | str]:
    """Yield a server, or a string saying why there is none."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        server = PostgresServer(admin_url=url, source="TEST_DATABASE_URL")
        try:
            server.execute("SELECT 1")
        except (OSError, asyncpg.PostgresError) as exc:
            yield f"TEST_DATABASE_URL is set but PostgreSQL is not reachable: {exc}"
            return
        yield server
        return
    binaries = _postgres_binaries()
    if binaries is None:
        yield "no PostgreSQL: set TEST_DATABASE_URL, or install initdb/pg_ctl for a throwaway one"
        return
    as_user = _unprivileged_prefix()
    if as_user is None:
        yield "no PostgreSQL: initdb refuses to run as root and there is no 'postgres' account"
        return
    initdb, pg_ctl = binaries
    with tempfile.TemporaryDirectory(prefix="taskapi-pg-") as tmp:
        if as_user:
            shutil.chown(tmp, user="postgres")
        data = Path(tmp) / "data"
        port = free_port()
        options = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off"
        try:
            subprocess.run(
                [*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
                check=True,
                capture_output=True,
            )
            start = [pg_ctl, "-D", str(data), "-o", options, "-l", f"{tmp}/log", "-w", "start"]
            subprocess.run(
                [*as_user, *start],
                check=True,
                capture_output=True,
            )
        except subprocess.CalledProcessError as exc:
            output = (exc.stderr or exc.stdout or b"").decode(errors="replace").strip()
            yield f"no PostgreSQL: the throwaway cluster did not start: {output[-300:]}"
            return
        try:
            server = PostgresServer(
                admin_url=f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres",
                source=f"throwaway cluster from {initdb}",
            )
            for _ in range(50):
                try:
                    server.execute("SELECT 1")
                    break
                except (OSError, asyncpg.PostgresError):
                    time.sleep(0.1)
            yield server
        finally:
            subprocess.run(
                [*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                check=False,
                capture_output=True,
            )


def migrate_sqlite_template(directory: Path) -> Path:
    path = directory / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


def migrate_postgres_template(server: PostgresServer) -> str:
    name = f"taskapi_template_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    server.execute(f'CREATE DATABASE "{name}"')
    upgrade(server.url_for(name))
    return name
