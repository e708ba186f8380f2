"""The read path: conditional GETs, bodies identical to the contract models' own rendering,
and a quick 503 when the database cannot be reached."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from taskapi.contract.models import Task, TaskPage
from taskapi.main import create_app
from tests.conftest import SignedInUser, TaskFactory, make_settings
from tests.support_server import free_port

pytestmark = pytest.mark.anyio

TASKS = "/api/v1/tasks"


@pytest.mark.fr("007-read-path/FR-003")
class TestGetTaskIfNoneMatch:
    async def test_the_current_etag_gives_304_without_a_body(
        self, client: httpx.AsyncClient, user: SignedInUser, make_task: TaskFactory
    ) -> None:
        created = await make_task(user)
        url, etag = created.headers["location"], created.headers["etag"]

        response = await client.get(url, headers={**user.headers, "If-None-Match": etag})

        assert response.status_code == 304
        assert response.content == b""
        assert response.headers["etag"] == etag
        assert response.headers["cache-control"] == "no-store"

    async def test_a_weak_form_of_the_etag_also_matches(
        self, client: httpx.AsyncClient, user: SignedInUser, make_task: TaskFactory
    ) -> None:
        created = await make_task(user)
        weak = "W/" + created.headers["etag"]

        response = await client.get(
            created.headers["location"], headers={**user.headers, "If-None-Match": weak}
        )

        assert response.status_code == 304

    async def test_star_matches_an_existing_task(
        self, client: httpx.AsyncClient, user: SignedInUser, make_task: TaskFactory
    ) -> None:
        created = await make_task(user)

        response = await client.get(
            created.headers["location"], headers={**user.headers, "If-None-Match": "*"}
        )

        assert response.status_code == 304

    async def test_a_list_of_tags_matches_when_one_is_current(
        self, client: httpx.AsyncClient, user: SignedInUser, make_task: TaskFactory
    ) -> None:
        created = await make_task(user)
        tags = f'"{uuid.uuid4().hex}.1", {created.headers["etag"]}'

        response = await client.get(
            created.headers["location"], headers={**user.headers, "If-None-Match": tags}
        )

        assert response.status_code == 304

    async def test_an_etag_from_before_a_change_gives_the_full_task(
        self, client: httpx.AsyncClient, user: SignedInUser, make_task: TaskFactory
    ) -> None:
        created = await make_task(user)
        url, stale = created.headers["location"], created.headers["etag"]
        patched = await client.patch(url, json={"title": "changed"}, headers=user.headers)

        response = await client.get(url, headers={**user.headers, "If-None-Match": stale})

        assert response.status_code == 200
        assert response.json()["title"] == "changed"
        assert response.headers["etag"] == patched.headers["etag"] != stale

    async def test_another_users_task_is_404_whatever_the_tag(
        self, client: httpx.AsyncClient, user: SignedInUser, make_task: TaskFactory, make_user: Any
    ) -> None:
        created = await make_task(user)
        stranger = await make_user()

        response = await client.get(
            created.headers["location"], headers={**stranger.headers, "If-None-Match": "*"}
        )

        assert response.status_code == 404


@pytest.mark.fr("007-read-path/FR-004")
class TestListTasksIfNoneMatch:
    async def test_a_page_carries_a_weak_etag(
        self, client: httpx.AsyncClient, user: SignedInUser, make_task: TaskFactory
    ) -> None:
        await make_task(user)

        response = await client.get(TASKS, headers=user.headers)

        assert response.status_code == 200
        assert response.headers["etag"].startswith('W/"')
        assert response.headers["cache-control"] == "no-store"

    async def test_the_same_page_again_gives_304(
        self, client: httpx.AsyncClient, user: SignedInUser, make_task: TaskFactory
    ) -> None:
        await make_task(user)
        first = await client.get(TASKS, params={"limit": 5}, headers=user.headers)

        again = await client.get(
            TASKS,
            params={"limit": 5},
            headers={**user.headers, "If-None-Match": first.headers["etag"]},
        )

        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == first.headers["etag"]

    async def test_a_new_task_on_the_page_changes_the_etag(
        self, client: httpx.AsyncClient, user: SignedInUser, make_task: TaskFactory
    ) -> None:
        await make_task(user)
        first = await client.get(TASKS, headers=user.headers)
        await make_task(user, title="another")

        again = await client.get(
            TASKS, headers={**user.headers, "If-None-Match": first.headers["etag"]}
        )

        assert again.status_code == 200
        assert len(again.json()["items"]) == 2
        assert again.headers["etag"] != first.headers["etag"]

    async def test_an_edited_task_on_the_page_changes_the_etag(
        self, client: httpx.AsyncClient, user: SignedInUser, make_task: TaskFactory
    ) -> None:
        created = await make_task(user)
        first = await client.get(TASKS, headers=user.headers)
        await client.patch(created.headers["location"], json={"title": "new"}, headers=user.headers)

        again = await client.get(
            TASKS, headers={**user.headers, "If-None-Match": first.headers["etag"]}
        )

        assert again.status_code == 200
        assert again.json()["items"][0]["title"] == "new"

    async def test_the_same_tasks_under_another_filter_have_their_own_page_tag(
        self, client: httpx.AsyncClient, user: SignedInUser, make_task: TaskFactory
    ) -> None:
        for _ in range(3):
            await make_task(user)
        whole = await client.get(TASKS, params={"limit": 3}, headers=user.headers)
        shorter = await client.get(TASKS, params={"limit": 2}, headers=user.headers)

        assert whole.headers["etag"] != shorter.headers["etag"]  # the second has a next_cursor


@pytest.mark.fr("007-read-path/FR-005")
class TestBodiesAreTheContractModels:
    """Bodies are serialised straight from the rows; they must equal Pydantic's rendering."""

    async def test_a_task_body_is_byte_for_byte_the_models_json(
        self, client: httpx.AsyncClient, user: SignedInUser, make_task: TaskFactory
    ) -> None:
        created = await make_task(
            user,
            description="with a due date to the microsecond",
            due_at="2026-12-01T17:00:00.123456+02:00",
            tags=["docs", "release"],
        )

        response = await client.get(created.headers["location"], headers=user.headers)

        assert response.json()["due_at"] == "2026-12-01T15:00:00.123456Z"
        rendered = Task.model_validate_json(response.content).model_dump_json()
        assert response.content == rendered.encode()

    async def test_a_page_body_is_byte_for_byte_the_models_json(
        self, client: httpx.AsyncClient, user: SignedInUser, make_task: TaskFactory
    ) -> None:
        await make_task(user, due_at="2026-12-01T17:00:00Z")
        await make_task(user)
        await make_task(user)

        response = await client.get(TASKS, params={"limit": 2}, headers=user.headers)

        assert response.json()["next_cursor"]
        rendered = TaskPage.model_validate_json(response.content).model_dump_json()
        assert response.content == rendered.encode()

    async def test_an_empty_page_is_still_a_page(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await client.get(TASKS, headers=user.headers)

        assert response.status_code == 200
        assert response.json() == {"items": [], "next_cursor": None}


@pytest.mark.fr("007-read-path/FR-001", "007-read-path/FR-002", "007-read-path/FR-009")
class TestCallerCheckIsPartOfTheRead:
    async def test_a_deleted_callers_own_task_is_401_not_the_task(
        self,
        client: httpx.AsyncClient,
        user: SignedInUser,
        make_task: TaskFactory,
        database_url: str,
    ) -> None:
        created = await make_task(user)
        engine = create_async_engine(database_url)
        try:
            async with engine.begin() as connection:
                # The task goes with its owner (ON DELETE CASCADE): without the caller check
                # in the same statement this would be a 404, not a 401.
                await connection.execute(text("DELETE FROM users"))
        finally:
            await engine.dispose()

        got = await client.get(created.headers["location"], headers=user.headers)
        listed = await client.get(TASKS, headers=user.headers)

        assert got.status_code == listed.status_code == 401
        assert "session of this token has ended" in got.json()["detail"]


@pytest.mark.fr("007-read-path/FR-006")
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
class TestDatabaseOutage:
    """Nothing listens on the port: requests must fail fast with a 503 problem, not hang.

    PostgreSQL only: an embedded SQLite file cannot become unreachable.
    """

    @pytest.fixture
    async def unreachable(self, database_url: str) -> Any:
        url = make_url(database_url).set(port=free_port()).render_as_string(hide_password=False)
        app = create_app(make_settings(url, db_connect_timeout_seconds=2))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
        await app.state.database.close()

    async def test_readiness_is_503(self, unreachable: httpx.AsyncClient) -> None:
        response = await unreachable.get("/health/ready")

        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"

    async def test_a_read_is_a_quick_503_problem_with_retry_after(
        self, unreachable: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        started = time.monotonic()
        response = await unreachable.get(f"{TASKS}/{uuid.uuid4()}", headers=user.headers)

        assert time.monotonic() - started < 5
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "2"
        assert "database" in response.json()["detail"]

    async def test_a_write_is_a_503_problem_too(
        self, unreachable: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await unreachable.post(
            "/api/v1/auth/register",
            json={"email": "late@example.com", "password": "correct horse battery"},
        )

        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.fr("007-read-path/FR-006")
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
class TestEveryConnectionBusy:
    """A saturated pool is a 503 problem with Retry-After, never a 500.

    PostgreSQL only: the pool's size and timeout are settings there; SQLite's embedded pool
    ends in the same SQLAlchemy pool timeout, which the same handler turns into the same 503.
    """

    async def test_a_write_waiting_past_the_pool_timeout_is_a_503_problem(
        self, database_url: str, user: SignedInUser
    ) -> None:
        app = create_app(
            make_settings(
                database_url, db_pool_size=1, db_max_overflow=0, db_connect_timeout_seconds=0.5
            )
        )
        transport = httpx.ASGITransport(app=app)
        try:
            async with (
                httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
                app.state.database.sessionmaker() as holder,
            ):
                await holder.execute(text("SELECT 1"))  # holds the pool's only connection

                response = await http.post(TASKS, json={"title": "t"}, headers=user.headers)

                assert response.status_code == 503, response.text
                assert response.headers["content-type"] == "application/problem+json"
                assert response.headers["retry-after"] == "1"
                problem = response.json()
                assert problem["type"] == "urn:taskapi:problem:database-busy"
                assert "connection" in problem["detail"]
                await holder.rollback()

            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                again = await http.post(TASKS, json={"title": "t"}, headers=user.headers)
            assert again.status_code == 201, again.text
        finally:
            await app.state.database.close()
