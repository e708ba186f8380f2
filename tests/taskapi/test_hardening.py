"""Defects a security review found, each pinned by a test that failed before its fix."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, insert
from sqlalchemy.exc import IntegrityError

from taskapi.core.db import utcnow
from taskapi.main import create_app
from taskapi.tasks.tables import TaskRow
from tests.api_helpers import assert_problem, create_task
from tests.conftest import SignedInUser, make_settings

pytestmark = pytest.mark.anyio

TASKS = "/api/v1/tasks"
ME = "/api/v1/users/me"
ORIGIN = "https://app.example"


def etag_with_version(etag: str, version: int) -> str:
    task_hex = etag.strip('"').split(".")[0]
    return f'"{task_hex}.{version}"'


@pytest.mark.fr("008-abuse-resistance/FR-010")
class TestIfMatchBeyondTheVersionColumn:
    """Versions above int32 once reached PostgreSQL as parameters and failed with a 500."""

    @pytest.mark.parametrize("version", [2**31, 2**63, 10**18 - 1])
    async def test_patch_gets_412_and_changes_nothing(
        self, client: httpx.AsyncClient, user: SignedInUser, version: int
    ) -> None:
        created = await create_task(client, user)
        url = created.headers["Location"]

        response = await client.patch(
            url,
            json={"title": "Changed"},
            headers={
                **user.headers,
                "If-Match": etag_with_version(created.headers["ETag"], version),
            },
        )

        assert_problem(response, 412)
        assert (await client.get(url, headers=user.headers)).json()["title"] == "A task"

    async def test_delete_gets_412_and_keeps_the_task(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        created = await create_task(client, user)
        url = created.headers["Location"]

        response = await client.delete(
            url,
            headers={**user.headers, "If-Match": etag_with_version(created.headers["ETag"], 2**31)},
        )

        assert_problem(response, 412)
        assert (await client.get(url, headers=user.headers)).status_code == 200

    async def test_a_current_tag_listed_beside_a_huge_one_still_matches(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        created = await create_task(client, user)
        etag = created.headers["ETag"]

        response = await client.patch(
            created.headers["Location"],
            json={"title": "Changed"},
            headers={**user.headers, "If-Match": f"{etag_with_version(etag, 2**40)}, {etag}"},
        )

        assert response.status_code == 200, response.text


@pytest.mark.fr("008-abuse-resistance/FR-016")
class TestSearchAcrossScripts:
    """`q` folds case for every script on both engines, not only ASCII."""

    @pytest.mark.parametrize(
        ("title", "query"),
        [
            ("Über task", "Über"),
            ("Über task", "über"),
            ("über task", "ÜBER"),
            ("ÉTÉ à Montréal", "été"),
            ("Ωμέγα ΣΧΈΔΙΟ", "σχέδιο"),
            ("Заказать ДЕТАЛИ", "детали"),
        ],
    )
    async def test_title_matches_regardless_of_case(
        self, client: httpx.AsyncClient, user: SignedInUser, title: str, query: str
    ) -> None:
        await create_task(client, user, title=title)
        await create_task(client, user, title="Something else")

        response = await client.get(TASKS, params={"q": query}, headers=user.headers)

        assert response.status_code == 200
        assert [task["title"] for task in response.json()["items"]] == [title]

    async def test_description_matches_regardless_of_case(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        await create_task(client, user, title="Trip", description="Zürich ÖSTERREICH")
        await create_task(client, user, title="Other", description="nothing")

        response = await client.get(TASKS, params={"q": "österreich"}, headers=user.headers)

        assert [task["title"] for task in response.json()["items"]] == ["Trip"]

    async def test_like_wildcards_in_accented_text_stay_literal(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        await create_task(client, user, title="Ärger 100% sicher")
        await create_task(client, user, title="Ärger 1000 sicher")

        response = await client.get(TASKS, params={"q": "ÄRGER 100%"}, headers=user.headers)

        assert [task["title"] for task in response.json()["items"]] == ["Ärger 100% sicher"]


@pytest.fixture
async def cors_app(database_url: str) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(database_url, cors_origins=[ORIGIN]))
    yield application
    await application.state.engine.dispose()


async def run_lifespan(app: FastAPI) -> list[str]:
    """Drive the ASGI lifespan protocol as a server does; returns what the app answered."""
    incoming = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    answered: list[str] = []

    async def receive() -> dict[str, Any]:
        return next(incoming)

    async def send(message: dict[str, Any]) -> None:
        answered.append(message["type"])

    await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
    return answered


@pytest.mark.fr("008-abuse-resistance/FR-011")
class TestCorsAndTheLifespan:
    async def test_lifespan_completes_with_cors_configured(self, cors_app: FastAPI) -> None:
        answered = await run_lifespan(cors_app)

        assert answered == ["lifespan.startup.complete", "lifespan.shutdown.complete"]

    async def test_shutdown_disposes_the_engine(self, cors_app: FastAPI) -> None:
        disposed: list[bool] = []
        event.listen(
            cors_app.state.engine.sync_engine, "engine_disposed", lambda _: disposed.append(True)
        )

        await run_lifespan(cors_app)

        assert disposed == [True]


@pytest.mark.fr("008-abuse-resistance/FR-014")
class TestDatabaseErrorsHideParameters:
    """SQL parameters (owner ids, titles) stay out of error messages and so out of logs."""

    async def test_a_failed_statement_names_no_parameter(self, app: FastAPI) -> None:
        missing_owner = uuid.uuid4()
        marker = f"marker-{uuid.uuid4().hex}"
        values = {
            "id": uuid.uuid4(),
            "owner_id": missing_owner,
            "title": marker,
            "status": "todo",
            "priority": "low",
            "tags": [],
            "version": 1,
            "created_at": utcnow(),
            "updated_at": utcnow(),
        }

        with pytest.raises(IntegrityError) as raised:
            async with app.state.engine.begin() as connection:
                await connection.execute(insert(TaskRow).values(**values))

        message = str(raised.value)
        assert "hide_parameters" in message
        assert marker not in message
        assert str(missing_owner) not in message
        assert missing_owner.hex not in message


@pytest.mark.fr("008-abuse-resistance/FR-015")
class TestAuthenticatedResponsesAreNotStored:
    async def test_current_user(self, client: httpx.AsyncClient, user: SignedInUser) -> None:
        response = await client.get(ME, headers=user.headers)

        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"

    async def test_task_read_list_and_write(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        created = await create_task(client, user)
        url = created.headers["Location"]
        responses = [
            created,
            await client.get(url, headers=user.headers),
            await client.get(TASKS, headers=user.headers),
            await client.patch(url, json={"title": "B"}, headers=user.headers),
            await client.delete(url, headers=user.headers),
        ]

        assert [r.headers.get("cache-control") for r in responses] == ["no-store"] * 5

    async def test_refusals_too(self, client: httpx.AsyncClient, user: SignedInUser) -> None:
        missing = await client.get(f"{TASKS}/{uuid.uuid4()}", headers=user.headers)
        unauthenticated = await client.get(ME)

        assert missing.headers["cache-control"] == "no-store"
        assert unauthenticated.headers["cache-control"] == "no-store"

    async def test_the_token_response_keeps_its_own(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await client.post(
            "/api/v1/auth/token", data={"username": user.email, "password": user.password}
        )

        assert response.headers.get_list("cache-control") == ["no-store"]

    async def test_probes_may_be_cached(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/health/live")

        assert "cache-control" not in response.headers


@pytest.mark.fr("008-abuse-resistance/FR-017")
class TestBearerChallenge:
    """RFC 6750 §3: an error code when a token was presented, none when it was not."""

    @pytest.mark.parametrize(
        "token", ["not-a-jwt", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln"], ids=["garbage", "forged"]
    )
    async def test_unusable_token_is_invalid_token(
        self, client: httpx.AsyncClient, token: str
    ) -> None:
        response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})

        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'

    async def test_token_of_a_vanished_user_is_invalid_token(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        token = app.state.token_service.issue_access_token(
            user_id=uuid.uuid4(), session_id=uuid.uuid4()
        ).token

        response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})

        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'

    async def test_no_token_gets_the_bare_challenge(self, client: httpx.AsyncClient) -> None:
        response = await client.get(ME)

        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.fr("008-abuse-resistance/FR-018")
class TestUnsupportedMediaType:
    async def test_json_sent_as_text_plain_is_415(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await client.post(
            TASKS,
            content=b'{"title": "A task"}',
            headers={**user.headers, "Content-Type": "text/plain"},
        )

        body = assert_problem(response, 415)
        assert body["type"] == "urn:taskapi:problem:unsupported-media-type"
        assert "application/json" in body["detail"]
        assert "text/plain" in body["detail"]
        assert response.headers["accept-post"] == "application/json"
        assert await self._titles(client, user) == []

    async def test_body_without_content_type_is_415(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await client.post(TASKS, content=b'{"title": "A task"}', headers=user.headers)

        assert "content-type" not in response.request.headers
        assert_problem(response, 415)

    async def test_patch_names_accept_patch(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        created = await create_task(client, user)

        response = await client.patch(
            created.headers["Location"],
            content=b"title=B",
            headers={**user.headers, "Content-Type": "application/x-www-form-urlencoded"},
        )

        assert_problem(response, 415)
        assert response.headers["accept-patch"] == "application/json"

    async def test_json_to_the_token_form_is_415(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await client.post(
            "/api/v1/auth/token", json={"username": user.email, "password": user.password}
        )

        assert_problem(response, 415)
        assert response.headers["accept-post"] == "application/x-www-form-urlencoded"

    @pytest.mark.parametrize(
        "content_type", ["application/json; charset=utf-8", "Application/JSON"]
    )
    async def test_declared_type_with_parameters_or_other_case_is_accepted(
        self, client: httpx.AsyncClient, user: SignedInUser, content_type: str
    ) -> None:
        response = await client.post(
            TASKS,
            content=b'{"title": "A task"}',
            headers={**user.headers, "Content-Type": content_type},
        )

        assert response.status_code == 201, response.text

    async def test_415_is_logged_nowhere_as_an_error(
        self, client: httpx.AsyncClient, user: SignedInUser, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.WARNING)

        await client.post(
            TASKS, content=b"x", headers={**user.headers, "Content-Type": "text/plain"}
        )

        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

    @staticmethod
    async def _titles(client: httpx.AsyncClient, user: SignedInUser) -> list[str]:
        listed = await client.get(TASKS, headers=user.headers)
        return [task["title"] for task in listed.json()["items"]]
