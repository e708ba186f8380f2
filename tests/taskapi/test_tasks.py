"""Task CRUD as the contract describes it, including absent-vs-null and mass assignment."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import SignedInUser

pytestmark = pytest.mark.anyio
TASKS = "/api/v1/tasks"


async def create(client: httpx.AsyncClient, user: SignedInUser, **body: Any) -> httpx.Response:
    response = await client.post(TASKS, json={"title": "A task", **body}, headers=user.headers)
    assert response.status_code == 201, response.text
    return response


async def count_tasks(client: httpx.AsyncClient, user: SignedInUser) -> int:
    response = await client.get(TASKS, params={"limit": 100}, headers=user.headers)
    assert response.status_code == 200
    return len(response.json()["items"])


class TestCreateTask:
    @pytest.mark.fr("002-tasks/FR-001", "002-tasks/FR-011")
    async def test_title_only_gets_the_documented_defaults(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        body = (await create(client, user, title="Buy milk")).json()
        assert body["title"] == "Buy milk"
        assert body["description"] is None
        assert body["status"] == "todo"
        assert body["priority"] == "medium"
        assert body["due_at"] is None
        assert body["tags"] == []
        assert body["created_at"] == body["updated_at"]
        uuid.UUID(body["id"])

    @pytest.mark.fr("002-tasks/FR-001", "002-tasks/FR-003", "002-tasks/FR-012")
    async def test_location_and_etag_point_at_the_new_task(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        created = await create(client, user)
        fetched = await client.get(created.headers["Location"], headers=user.headers)
        assert fetched.status_code == 200
        assert fetched.json() == created.json()
        assert fetched.headers["ETag"] == created.headers["ETag"]

    @pytest.mark.fr("002-tasks/FR-001")
    async def test_every_field_round_trips_and_due_at_comes_back_in_utc(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        body = (
            await create(
                client,
                user,
                title="Release notes",
                description="Cover the filters — and ünïcödé.",
                status="in_progress",
                priority="high",
                due_at="2026-12-01T17:00:00+02:00",
                tags=["docs", "release"],
            )
        ).json()
        assert body["description"] == "Cover the filters — and ünïcödé."
        assert (body["status"], body["priority"]) == ("in_progress", "high")
        assert body["due_at"] == "2026-12-01T15:00:00Z"
        assert body["tags"] == ["docs", "release"]

    @pytest.mark.fr("002-tasks/FR-002")
    @pytest.mark.parametrize("field", ["owner_id", "id", "user_id", "created_at", "version"])
    async def test_server_owned_fields_are_rejected_and_nothing_is_stored(
        self, client: httpx.AsyncClient, user: SignedInUser, field: str
    ) -> None:
        response = await client.post(
            TASKS,
            json={"title": "sneaky", field: str(uuid.uuid4())},
            headers=user.headers,
        )
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["loc"] for e in response.json()["errors"]] == [["body", field]]
        assert await count_tasks(client, user) == 0

    @pytest.mark.fr("002-tasks/FR-001")
    @pytest.mark.parametrize(
        ("body", "loc"),
        [
            ({"title": ""}, ["body", "title"]),
            ({"title": "   "}, ["body", "title"]),
            ({"title": "x" * 201}, ["body", "title"]),
            ({"title": "ok", "description": "x" * 10_001}, ["body", "description"]),
            ({"title": "ok", "status": "blocked"}, ["body", "status"]),
            ({"title": "ok", "priority": "urgent"}, ["body", "priority"]),
            ({"title": "ok", "due_at": "2026-12-01T17:00:00"}, ["body", "due_at"]),
            ({"title": "ok", "due_at": 0}, ["body", "due_at"]),
            ({"title": "ok", "due_at": "1700000000"}, ["body", "due_at"]),
            ({"title": "ok", "tags": ["x" * 51]}, ["body", "tags", 0]),
            ({"title": "ok", "tags": [f"t{i}" for i in range(21)]}, ["body", "tags"]),
            ({"title": "ok", "tags": ["same", "same"]}, ["body", "tags"]),
            ({"title": None}, ["body", "title"]),
            ({"description": "no title"}, ["body", "title"]),
        ],
        ids=[
            "empty-title",
            "blank-title",
            "long-title",
            "long-description",
            "unknown-status",
            "unknown-priority",
            "naive-due-at",
            "unix-timestamp-due-at",
            "numeric-string-due-at",
            "long-tag",
            "too-many-tags",
            "duplicate-tags",
            "null-title",
            "missing-title",
        ],
    )
    async def test_invalid_bodies_get_422_naming_the_field(
        self, client: httpx.AsyncClient, user: SignedInUser, body: dict[str, Any], loc: list[Any]
    ) -> None:
        response = await client.post(TASKS, json=body, headers=user.headers)
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["status"] == 422
        assert loc in [e["loc"] for e in problem["errors"]]
        assert await count_tasks(client, user) == 0

    @pytest.mark.fr("002-tasks/FR-016")
    async def test_requires_a_token(self, client: httpx.AsyncClient) -> None:
        response = await client.post(TASKS, json={"title": "anonymous"})
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.fr("002-tasks/FR-003")
class TestGetTask:
    async def test_missing_task_is_404_problem(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        missing = uuid.uuid4()
        response = await client.get(f"{TASKS}/{missing}", headers=user.headers)
        assert response.status_code == 404
        assert response.json()["type"] == "urn:taskapi:problem:task-not-found"
        assert str(missing) in response.json()["detail"]

    async def test_malformed_id_is_422(self, client: httpx.AsyncClient, user: SignedInUser) -> None:
        response = await client.get(f"{TASKS}/not-a-uuid", headers=user.headers)
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["path", "task_id"]


class TestUpdateTask:
    @pytest.mark.fr("002-tasks/FR-010")
    async def test_absent_fields_stay_as_they_are(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        created = (
            await create(client, user, description="keep me", due_at="2026-12-01T00:00:00Z")
        ).json()
        response = await client.patch(
            f"{TASKS}/{created['id']}", json={"status": "done"}, headers=user.headers
        )
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "done"
        assert body["description"] == "keep me"
        assert body["due_at"] == "2026-12-01T00:00:00Z"
        assert body["updated_at"] > created["updated_at"]

    @pytest.mark.fr("002-tasks/FR-010")
    async def test_explicit_null_clears_a_nullable_field(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        created = (
            await create(client, user, description="drop me", due_at="2026-12-01T00:00:00Z")
        ).json()
        response = await client.patch(
            f"{TASKS}/{created['id']}",
            json={"description": None, "due_at": None},
            headers=user.headers,
        )
        assert response.status_code == 200
        assert response.json()["description"] is None
        assert response.json()["due_at"] is None
        stored = await client.get(f"{TASKS}/{created['id']}", headers=user.headers)
        assert stored.json()["description"] is None

    @pytest.mark.fr("002-tasks/FR-010")
    @pytest.mark.parametrize("field", ["title", "status", "priority", "tags"])
    async def test_null_on_a_non_nullable_field_is_422_and_changes_nothing(
        self, client: httpx.AsyncClient, user: SignedInUser, field: str
    ) -> None:
        created = (await create(client, user)).json()
        response = await client.patch(
            f"{TASKS}/{created['id']}", json={field: None}, headers=user.headers
        )
        assert response.status_code == 422
        stored = await client.get(f"{TASKS}/{created['id']}", headers=user.headers)
        assert stored.json() == created

    @pytest.mark.fr("002-tasks/FR-010")
    async def test_tags_are_replaced_as_a_whole(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        created = (await create(client, user, tags=["a", "b"])).json()
        response = await client.patch(
            f"{TASKS}/{created['id']}", json={"tags": ["c"]}, headers=user.headers
        )
        assert response.json()["tags"] == ["c"]

    @pytest.mark.fr("002-tasks/FR-011", "002-tasks/FR-012")
    async def test_etag_changes_on_every_update(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        created = await create(client, user)
        url = f"{TASKS}/{created.json()['id']}"
        etags = {created.headers["ETag"]}
        for title in ("one", "two", "three"):
            response = await client.patch(url, json={"title": title}, headers=user.headers)
            etags.add(response.headers["ETag"])
            assert (await client.get(url, headers=user.headers)).headers[
                "ETag"
            ] == response.headers["ETag"]
        assert len(etags) == 4

    @pytest.mark.fr("002-tasks/FR-013")
    async def test_matching_if_match_applies_the_change(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        created = await create(client, user)
        response = await client.patch(
            f"{TASKS}/{created.json()['id']}",
            json={"title": "conditional"},
            headers={**user.headers, "If-Match": created.headers["ETag"]},
        )
        assert response.status_code == 200
        assert response.json()["title"] == "conditional"

    @pytest.mark.fr("002-tasks/FR-013")
    async def test_stale_if_match_is_412_and_changes_nothing(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        created = await create(client, user)
        url = f"{TASKS}/{created.json()['id']}"
        await client.patch(url, json={"title": "first"}, headers=user.headers)
        response = await client.patch(
            url,
            json={"title": "second"},
            headers={**user.headers, "If-Match": created.headers["ETag"]},
        )
        assert response.status_code == 412
        assert response.headers["content-type"] == "application/problem+json"
        assert (await client.get(url, headers=user.headers)).json()["title"] == "first"

    @pytest.mark.fr("002-tasks/FR-013")
    async def test_weak_etag_never_matches(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        created = await create(client, user)
        response = await client.patch(
            f"{TASKS}/{created.json()['id']}",
            json={"title": "weak"},
            headers={**user.headers, "If-Match": "W/" + created.headers["ETag"]},
        )
        assert response.status_code == 412

    @pytest.mark.fr("002-tasks/FR-013")
    async def test_if_match_star_matches_any_current_version(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        created = await create(client, user)
        response = await client.patch(
            f"{TASKS}/{created.json()['id']}",
            json={"title": "star"},
            headers={**user.headers, "If-Match": "*"},
        )
        assert response.status_code == 200

    @pytest.mark.fr("002-tasks/FR-002")
    async def test_unknown_fields_are_rejected(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        created = (await create(client, user)).json()
        response = await client.patch(
            f"{TASKS}/{created['id']}",
            json={"title": "ok", "owner_id": str(uuid.uuid4())},
            headers=user.headers,
        )
        assert response.status_code == 422
        stored = await client.get(f"{TASKS}/{created['id']}", headers=user.headers)
        assert stored.json()["title"] == created["title"]


class TestDeleteTask:
    @pytest.mark.fr("002-tasks/FR-015")
    async def test_deleted_task_is_gone(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        url = f"{TASKS}/{(await create(client, user)).json()['id']}"
        response = await client.delete(url, headers=user.headers)
        assert response.status_code == 204
        assert response.content == b""
        assert (await client.get(url, headers=user.headers)).status_code == 404
        assert (await client.delete(url, headers=user.headers)).status_code == 404

    @pytest.mark.fr("002-tasks/FR-013")
    async def test_stale_if_match_is_412_and_keeps_the_task(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        created = await create(client, user)
        url = f"{TASKS}/{created.json()['id']}"
        await client.patch(url, json={"title": "changed"}, headers=user.headers)
        response = await client.delete(
            url, headers={**user.headers, "If-Match": created.headers["ETag"]}
        )
        assert response.status_code == 412
        assert (await client.get(url, headers=user.headers)).status_code == 200


@pytest.mark.fr("002-tasks/FR-004")
class TestIsolation:
    """Another user's task answers exactly like a task that does not exist."""

    async def test_get_update_delete_of_someone_elses_task_are_404(
        self, client: httpx.AsyncClient, make_user: Any
    ) -> None:
        owner, intruder = await make_user(), await make_user()
        created = (await create(client, owner, title="private")).json()
        url = f"{TASKS}/{created['id']}"
        missing_url = f"{TASKS}/{uuid.uuid4()}"
        for method, kwargs in (
            ("GET", {}),
            ("PATCH", {"json": {"title": "pwned"}}),
            ("DELETE", {}),
        ):
            theirs = await client.request(method, url, headers=intruder.headers, **kwargs)
            absent = await client.request(method, missing_url, headers=intruder.headers, **kwargs)
            assert theirs.status_code == absent.status_code == 404, method
            assert theirs.json()["type"] == absent.json()["type"]
            assert theirs.json()["title"] == absent.json()["title"]
        assert (await client.get(url, headers=owner.headers)).json() == created

    async def test_if_match_cannot_probe_someone_elses_task(
        self, client: httpx.AsyncClient, make_user: Any
    ) -> None:
        owner, intruder = await make_user(), await make_user()
        created = await create(client, owner)
        response = await client.patch(
            f"{TASKS}/{created.json()['id']}",
            json={"title": "x"},
            headers={**intruder.headers, "If-Match": created.headers["ETag"]},
        )
        assert response.status_code == 404

    async def test_list_shows_only_the_callers_tasks(
        self, client: httpx.AsyncClient, make_user: Any
    ) -> None:
        alice, bob = await make_user(), await make_user()
        await create(client, alice, title="alice 1", tags=["shared"])
        await create(client, alice, title="alice 2", tags=["shared"])
        await create(client, bob, title="bob 1", tags=["shared"])
        for params in ({}, {"tag": "shared"}, {"q": "1"}, {"sort": "title"}):
            listed = await client.get(TASKS, params=params, headers=bob.headers)
            assert [t["title"] for t in listed.json()["items"]] == ["bob 1"], params
