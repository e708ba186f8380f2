"""Behind a real PgBouncer in transaction pooling mode, reads and writes stay correct.

PgBouncer hands each transaction to whichever server connection is free, so a prepared
statement made on one backend is missing on the next. The pool here has two server
connections for many client connections, so that happens on nearly every request unless
the app is told it sits behind a transaction pooler.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from taskapi.main import create_app
from taskapi.migrations import upgrade
from tests.conftest import Template, make_settings
from tests.support_ci import tool_unavailable
from tests.support_db import PostgresServer
from tests.support_pgbouncer import PgBouncer, pgbouncer_in_front_of

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("backend", ["postgresql"], indirect=True)]

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def bouncer(postgres: PostgresServer | str) -> Iterator[PgBouncer]:
    if isinstance(postgres, str):
        pytest.skip(postgres)  # the PostgreSQL fixtures already fail under the CI flag
    with pgbouncer_in_front_of(postgres.admin_url, pool_size=2) as running:
        if isinstance(running, str):
            tool_unavailable(running)
        yield running


def _client_for(url: str, pooler: str) -> tuple[Any, httpx.AsyncClient]:
    # More client connections than PgBouncer has server connections.
    app = create_app(make_settings(url, db_pooler=pooler, db_pool_size=6, db_max_overflow=2))
    transport = httpx.ASGITransport(app=app)
    return app, httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def pooled(bouncer: PgBouncer, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app, client = _client_for(bouncer.url_for(make_url(database_url).database or ""), "transaction")
    async with client:
        yield client
    await app.state.database.close()


async def _sign_up(client: httpx.AsyncClient) -> dict[str, str]:
    email = f"pooled-{uuid.uuid4().hex[:8]}@example.com"
    registered = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert registered.status_code == 201, registered.text
    token = await client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


@pytest.mark.fr("007-read-path/FR-008")
class TestTransactionPooling:
    async def test_concurrent_reads_and_writes_are_all_correct(
        self, pooled: httpx.AsyncClient
    ) -> None:
        headers = await _sign_up(pooled)
        created = await asyncio.gather(
            *(
                pooled.post("/api/v1/tasks", json={"title": f"task {n}"}, headers=headers)
                for n in range(30)
            )
        )
        assert [r.status_code for r in created] == [201] * 30
        urls = [r.headers["location"] for r in created]

        reads = await asyncio.gather(
            *(pooled.get(url, headers=headers) for url in urls),
            *(pooled.get("/api/v1/tasks", params={"limit": 7}, headers=headers) for _ in range(10)),
        )
        changes = await asyncio.gather(
            *(pooled.patch(url, json={"status": "done"}, headers=headers) for url in urls[:10]),
            *(pooled.delete(url, headers=headers) for url in urls[25:]),
        )

        assert [r.status_code for r in reads] == [200] * 40
        assert [r.json()["title"] for r in reads[:30]] == [f"task {n}" for n in range(30)]
        assert [r.status_code for r in changes] == [200] * 10 + [204] * 5
        listed = await pooled.get("/api/v1/tasks", params={"limit": 100}, headers=headers)
        done = await pooled.get(
            "/api/v1/tasks", params={"limit": 100, "status": "done"}, headers=headers
        )
        assert len(listed.json()["items"]) == 25
        assert len(done.json()["items"]) == 10

    async def test_conditional_requests_work_through_the_pooler(
        self, pooled: httpx.AsyncClient
    ) -> None:
        headers = await _sign_up(pooled)
        created = await pooled.post("/api/v1/tasks", json={"title": "t"}, headers=headers)
        url, etag = created.headers["location"], created.headers["etag"]

        unchanged = await pooled.get(url, headers={**headers, "If-None-Match": etag})
        updated = await pooled.patch(
            url, json={"title": "u"}, headers={**headers, "If-Match": etag}
        )
        stale = await pooled.patch(url, json={"title": "v"}, headers={**headers, "If-Match": etag})

        assert (unchanged.status_code, updated.status_code, stale.status_code) == (304, 200, 412)

    async def test_without_the_setting_prepared_statements_go_missing(
        self, pooled: httpx.AsyncClient, bouncer: PgBouncer, database_url: str
    ) -> None:
        """Why the setting exists: the same reads with statement caching on fail."""
        headers = await _sign_up(pooled)
        app, unaware = _client_for(bouncer.url_for(make_url(database_url).database or ""), "none")
        async with unaware:
            responses = await asyncio.gather(
                *(unaware.get("/api/v1/tasks", headers=headers) for _ in range(40))
            )
        await app.state.database.close()

        assert any(r.status_code == 500 for r in responses)


async def test_migrations_run_through_the_pooler(bouncer: PgBouncer, template: Template) -> None:
    assert template.server is not None
    name = f"taskapi_pooled_{uuid.uuid4().hex[:10]}"
    await template.server.create_database(name)
    try:
        await asyncio.to_thread(upgrade, bouncer.url_for(name))
        admin = make_url(template.server.url_for(name)).set(drivername="postgresql")
        connection = await asyncpg.connect(admin.render_as_string(hide_password=False))
        try:
            tables = {
                row["tablename"]
                for row in await connection.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
            }
        finally:
            await connection.close()
        assert {"users", "tasks", "alembic_version"} <= tables
    finally:
        await template.server.drop(name)
