"""Connection strings as hosted PostgreSQL providers print them (libpq style) just work."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from taskapi.core.db import postgres_target
from taskapi.main import create_app
from tests.conftest import make_settings

pytestmark = pytest.mark.anyio

NEON = (
    "postgresql://alex:secret@ep-cool-darkness-123456-pooler.eu-central-1.aws.neon.tech/neondb"
    "?sslmode=require&channel_binding=require"
)


@pytest.mark.fr("007-read-path/FR-007")
class TestPostgresTarget:
    def test_tls_parameters_stay_for_asyncpg_to_read(self) -> None:
        target = postgres_target(
            "postgresql://u:p@db.example.com:6543/app?sslmode=verify-full&sslrootcert=/ca.pem"
        )

        query = make_url(target.dsn).query
        assert query == {"sslmode": "verify-full", "sslrootcert": "/ca.pem"}
        assert make_url(target.dsn).drivername == "postgresql"
        assert make_url(target.dsn).port == 6543

    def test_channel_binding_is_dropped_and_reported(self) -> None:
        target = postgres_target(NEON)

        assert "channel_binding" not in target.dsn
        assert target.ignored == ("channel_binding",)
        assert make_url(target.dsn).query == {"sslmode": "require"}

    def test_connect_timeout_becomes_the_drivers_timeout(self) -> None:
        target = postgres_target("postgresql://h/db?connect_timeout=7", connect_timeout=5)

        assert target.connect_timeout == 7
        assert "connect_timeout" not in target.dsn

    def test_a_zero_connect_timeout_keeps_a_bound(self) -> None:
        target = postgres_target("postgresql://h/db?connect_timeout=0", connect_timeout=5)

        assert target.connect_timeout == 5

    def test_server_settings_are_sent_as_such(self) -> None:
        target = postgres_target(
            "postgresql://h/db?application_name=board&options=-c%20search_path%3Dapp"
        )

        assert target.server_settings == {
            "application_name": "board",
            "options": "-c search_path=app",
        }
        assert "?" not in target.dsn

    def test_fallback_application_name_is_used_when_no_name_is_given(self) -> None:
        assert postgres_target("postgresql://h/db?fallback_application_name=x").server_settings == {
            "application_name": "x"
        }
        assert postgres_target(
            "postgresql://h/db?fallback_application_name=x&application_name=y"
        ).server_settings == {"application_name": "y"}

    def test_sqlalchemy_driver_options_in_the_url_do_not_reach_the_server(self) -> None:
        target = postgres_target("postgresql+asyncpg://h/db?prepared_statement_cache_size=0")

        assert target.server_settings == {}
        assert "prepared_statement_cache_size" not in target.dsn

    def test_a_neon_pooled_host_is_a_transaction_pooler(self) -> None:
        assert postgres_target(NEON).transaction_pooler
        assert not postgres_target(NEON.replace("-pooler", "")).transaction_pooler

    def test_the_setting_overrides_the_host_name(self) -> None:
        assert not postgres_target(NEON, pooler="none").transaction_pooler
        assert postgres_target("postgresql://h/db", pooler="transaction").transaction_pooler

    def test_the_password_survives_with_its_special_characters(self) -> None:
        target = postgres_target("postgresql://u:p%40ss%2Fw@h/db?sslmode=require")

        assert make_url(target.dsn).password == "p@ss/w"


@pytest.mark.fr("007-read-path/FR-007")
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
class TestALibpqStyleUrlServes:
    """Against the real server: the pasted URL's parameters reach asyncpg translated."""

    @pytest.fixture
    async def pasted(self, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
        plain = make_url(database_url).set(drivername="postgresql")
        url = (
            plain.render_as_string(hide_password=False)
            + "?sslmode=prefer&channel_binding=prefer&connect_timeout=5"
            + "&application_name=taskapi-pasted-url"
        )
        app = create_app(make_settings(url))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
        await app.state.database.close()

    async def test_reads_and_writes_work(self, pasted: httpx.AsyncClient) -> None:
        body = {"email": "pasted@example.com", "password": "correct horse battery"}
        assert (await pasted.post("/api/v1/auth/register", json=body)).status_code == 201
        token = await pasted.post(
            "/api/v1/auth/token", data={"username": body["email"], "password": body["password"]}
        )
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        created = await pasted.post("/api/v1/tasks", json={"title": "t"}, headers=headers)

        got = await pasted.get(created.headers["location"], headers=headers)

        assert got.status_code == 200
        assert (await pasted.get("/health/ready")).status_code == 200

    async def test_the_application_name_reaches_the_server(
        self, pasted: httpx.AsyncClient, database_url: str
    ) -> None:
        assert (await pasted.get("/health/ready")).status_code == 200
        name = make_url(database_url).database
        admin = make_url(database_url).set(drivername="postgresql")
        connection = await asyncpg.connect(admin.render_as_string(hide_password=False))
        try:
            names = await connection.fetch(
                "SELECT application_name FROM pg_stat_activity WHERE datname = $1", name
            )
        finally:
            await connection.close()

        assert "taskapi-pasted-url" in {row["application_name"] for row in names}
