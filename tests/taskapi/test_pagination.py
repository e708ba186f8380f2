"""listTasks: filters, every sort order, and keyset cursors that survive concurrent inserts."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from taskapi.contract.models import TaskSort
from tests.conftest import SignedInUser

pytestmark = pytest.mark.anyio
TASKS = "/api/v1/tasks"
PRIORITY_RANK = {"low": 0, "medium": 1, "high": 2}
# Every sort order the contract offers; a new one is covered without editing this file.
SORTS = [sort.value for sort in TaskSort]


async def create(client: httpx.AsyncClient, user: SignedInUser, **body: Any) -> dict[str, Any]:
    response = await client.post(TASKS, json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def walk(
    client: httpx.AsyncClient, user: SignedInUser, params: dict[str, Any]
) -> list[dict[str, Any]]:
    """Follow next_cursor to the end and return every item in order."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        page = await client.get(
            TASKS, params={**params, **({"cursor": cursor} if cursor else {})}, headers=user.headers
        )
        assert page.status_code == 200, page.text
        items.extend(page.json()["items"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not terminate")


@pytest.fixture
async def varied(client: httpx.AsyncClient, user: SignedInUser) -> list[dict[str, Any]]:
    """17 tasks with colliding titles, priorities and due dates, some without a due date."""
    base = datetime(2026, 12, 1, tzinfo=UTC)
    tasks = []
    for i in range(17):
        due = None if i % 4 == 0 else (base + timedelta(days=i % 3)).isoformat()
        tasks.append(
            await create(
                client,
                user,
                title=f"task {i % 5}",
                description="Contains NEEDLE" if i % 6 == 0 else None,
                priority=("low", "medium", "high")[i % 3],
                status=("todo", "in_progress", "done")[i % 2],
                due_at=due,
                tags=["even"] if i % 2 == 0 else ["odd", "x"],
            )
        )
    return tasks


def expected_order(tasks: list[dict[str, Any]], sort: str) -> list[str]:
    key = sort.lstrip("-")
    descending = sort.startswith("-")

    def value(task: dict[str, Any]) -> Any:
        if key == "priority":
            return PRIORITY_RANK[task["priority"]]
        return task[key]

    if key == "due_at":
        dated = [t for t in tasks if t["due_at"] is not None]
        undated = [t for t in tasks if t["due_at"] is None]
        dated.sort(
            key=lambda t: (datetime.fromisoformat(t["due_at"]), t["id"].replace("-", "")),
            reverse=descending,
        )
        undated.sort(key=lambda t: t["id"].replace("-", ""), reverse=descending)
        return [t["id"] for t in dated + undated]
    ordered = sorted(tasks, key=lambda t: (value(t), t["id"].replace("-", "")), reverse=descending)
    return [t["id"] for t in ordered]


@pytest.mark.fr("002-tasks/FR-007")
class TestListTasksSorting:
    @pytest.mark.fr("002-tasks/FR-005", "002-tasks/FR-008")
    @pytest.mark.parametrize("sort", SORTS)
    async def test_pages_of_three_visit_every_task_once_in_sort_order(
        self,
        client: httpx.AsyncClient,
        user: SignedInUser,
        varied: list[dict[str, Any]],
        sort: str,
    ) -> None:
        items = await walk(client, user, {"sort": sort, "limit": 3})
        ids = [t["id"] for t in items]
        assert len(ids) == len(set(ids)) == len(varied)
        if sort.lstrip("-") == "title":
            titles = [t["title"] for t in items]
            assert titles == sorted(titles, reverse=sort.startswith("-"))
        else:
            assert ids == expected_order(varied, sort)

    async def test_titles_sort_by_code_point_on_every_engine(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        titles = ["apple", "Banana", "éclair", "Zebra", "_under", "10 things", "9 lives"]
        for title in titles:
            await create(client, user, title=title)
        items = await walk(client, user, {"sort": "title", "limit": 2})
        assert [t["title"] for t in items] == sorted(titles)

    async def test_default_is_newest_first(
        self, client: httpx.AsyncClient, user: SignedInUser, varied: list[dict[str, Any]]
    ) -> None:
        listed = await client.get(TASKS, params={"limit": 100}, headers=user.headers)
        assert [t["id"] for t in listed.json()["items"]] == expected_order(varied, "-created_at")

    @pytest.mark.fr("002-tasks/FR-005")
    async def test_limit_defaults_to_20(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        for i in range(21):
            await create(client, user, title=f"t{i}")
        page = (await client.get(TASKS, headers=user.headers)).json()
        assert len(page["items"]) == 20
        assert page["next_cursor"] is not None

    @pytest.mark.fr("002-tasks/FR-005")
    @pytest.mark.parametrize("limit", ["0", "101", "-1", "many"])
    async def test_limit_outside_1_to_100_is_422(
        self, client: httpx.AsyncClient, user: SignedInUser, limit: str
    ) -> None:
        response = await client.get(TASKS, params={"limit": limit}, headers=user.headers)
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["query", "limit"]

    @pytest.mark.fr("002-tasks/FR-006")
    @pytest.mark.parametrize("param", ["due_before", "due_after"])
    async def test_a_number_is_not_a_date_time(
        self, client: httpx.AsyncClient, user: SignedInUser, param: str
    ) -> None:
        response = await client.get(TASKS, params={param: "0.5"}, headers=user.headers)
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["query", param]

    async def test_unknown_sort_is_422(self, client: httpx.AsyncClient, user: SignedInUser) -> None:
        response = await client.get(TASKS, params={"sort": "owner_id"}, headers=user.headers)
        assert response.status_code == 422


@pytest.mark.fr("002-tasks/FR-006")
class TestListTasksFilters:
    @pytest.mark.parametrize(
        ("params", "predicate"),
        [
            ({"status": "done"}, lambda t: t["status"] == "done"),
            ({"priority": "high"}, lambda t: t["priority"] == "high"),
            ({"tag": "odd"}, lambda t: "odd" in t["tags"]),
            ({"tag": "od"}, lambda t: "od" in t["tags"]),
            ({"q": "needle"}, lambda t: "needle" in (t["description"] or "").lower()),
            ({"q": "TASK 3"}, lambda t: t["title"] == "task 3"),
            (
                {"due_before": "2026-12-02T00:00:00Z"},
                lambda t: t["due_at"] is not None and t["due_at"] < "2026-12-02T00:00:00Z",
            ),
            (
                {"due_after": "2026-12-01T00:00:00Z"},
                lambda t: t["due_at"] is not None and t["due_at"] > "2026-12-01T00:00:00Z",
            ),
            (
                {"status": "todo", "priority": "low", "tag": "even"},
                lambda t: (t["status"], t["priority"]) == ("todo", "low") and "even" in t["tags"],
            ),
        ],
        ids=[
            "status",
            "priority",
            "tag",
            "tag-exact",
            "q-desc",
            "q-title",
            "before",
            "after",
            "and",
        ],
    )
    async def test_filter_returns_exactly_the_matching_tasks(
        self,
        client: httpx.AsyncClient,
        user: SignedInUser,
        varied: list[dict[str, Any]],
        params: dict[str, Any],
        predicate: Any,
    ) -> None:
        items = await walk(client, user, {**params, "limit": 4})
        expected = {t["id"] for t in varied if predicate(t)}
        assert {t["id"] for t in items} == expected
        assert len(items) == len(expected)

    async def test_q_treats_like_wildcards_literally(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        await create(client, user, title="100% done")
        await create(client, user, title="1000 things")
        await create(client, user, title="snake_case")
        await create(client, user, title="snakeXcase")
        for q, expected in (("100%", ["100% done"]), ("e_c", ["snake_case"])):
            listed = await client.get(TASKS, params={"q": q}, headers=user.headers)
            assert [t["title"] for t in listed.json()["items"]] == expected

    async def test_offset_due_filter_is_compared_in_utc(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        await create(client, user, title="at 10Z", due_at="2026-12-01T10:00:00Z")
        listed = await client.get(
            TASKS, params={"due_before": "2026-12-01T11:30:00+01:00"}, headers=user.headers
        )
        assert [t["title"] for t in listed.json()["items"]] == ["at 10Z"]


class TestListTasksCursor:
    @pytest.mark.fr("002-tasks/FR-008")
    async def test_paging_250_tasks_while_inserting_returns_each_existing_task_once(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        existing = {(await create(client, user, title=f"old {i}"))["id"] for i in range(250)}
        seen: list[str] = []
        cursor = None
        inserted = 0
        while True:
            params = {"limit": 25, **({"cursor": cursor} if cursor else {})}
            page = (await client.get(TASKS, params=params, headers=user.headers)).json()
            seen.extend(t["id"] for t in page["items"])
            for _ in range(3):  # new tasks arrive between every two pages
                await create(client, user, title=f"new {inserted}")
                inserted += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        old_seen = [task_id for task_id in seen if task_id in existing]
        assert len(old_seen) == len(set(old_seen)) == 250
        assert set(old_seen) == existing

    @pytest.mark.fr("002-tasks/FR-007", "002-tasks/FR-008")
    @pytest.mark.parametrize("sort", SORTS)
    async def test_every_sort_survives_inserts_between_pages(
        self, client: httpx.AsyncClient, user: SignedInUser, sort: str
    ) -> None:
        base = datetime(2026, 12, 1, tzinfo=UTC)

        def body(i: int, prefix: str) -> dict[str, Any]:
            # Colliding keys on purpose, and new tasks that sort before, among and after
            # the ones already paged.
            return {
                "title": f"{prefix} {i % 4}",
                "priority": ("low", "medium", "high")[i % 3],
                "due_at": None if i % 5 == 0 else (base + timedelta(hours=i % 7)).isoformat(),
            }

        existing = {(await create(client, user, **body(i, "m")))["id"] for i in range(30)}
        seen: list[str] = []
        cursor = None
        inserted = 0
        for _ in range(100):
            params = {"sort": sort, "limit": 7, **({"cursor": cursor} if cursor else {})}
            page = (await client.get(TASKS, params=params, headers=user.headers)).json()
            seen.extend(t["id"] for t in page["items"])
            for prefix in ("a", "z"):
                await create(client, user, **body(inserted, prefix))
                inserted += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        old_seen = [task_id for task_id in seen if task_id in existing]
        assert len(old_seen) == len(set(old_seen)) == len(existing)

    @pytest.mark.fr("002-tasks/FR-009")
    async def test_cursor_with_other_filters_is_422(
        self, client: httpx.AsyncClient, user: SignedInUser, varied: list[dict[str, Any]]
    ) -> None:
        page = (
            await client.get(TASKS, params={"limit": 2, "tag": "odd"}, headers=user.headers)
        ).json()
        response = await client.get(
            TASKS, params={"limit": 2, "cursor": page["next_cursor"]}, headers=user.headers
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["type"] == "invalid_cursor"

    @pytest.mark.fr("002-tasks/FR-009")
    async def test_cursor_with_other_sort_is_422(
        self, client: httpx.AsyncClient, user: SignedInUser, varied: list[dict[str, Any]]
    ) -> None:
        page = (await client.get(TASKS, params={"limit": 2}, headers=user.headers)).json()
        response = await client.get(
            TASKS,
            params={"limit": 2, "sort": "title", "cursor": page["next_cursor"]},
            headers=user.headers,
        )
        assert response.status_code == 422

    @pytest.mark.fr("002-tasks/FR-009")
    async def test_tampered_cursor_is_422(
        self, client: httpx.AsyncClient, user: SignedInUser, varied: list[dict[str, Any]]
    ) -> None:
        cursor = (await client.get(TASKS, params={"limit": 2}, headers=user.headers)).json()[
            "next_cursor"
        ]
        raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        raw[-3] ^= 0x01
        forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
        response = await client.get(
            TASKS, params={"limit": 2, "cursor": forged}, headers=user.headers
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["query", "cursor"]

    @pytest.mark.fr("002-tasks/FR-009")
    @pytest.mark.parametrize("cursor", ["A", "not_base64_at_all", "eyJ2IjoxfQ"])
    async def test_garbage_cursor_is_422(
        self, client: httpx.AsyncClient, user: SignedInUser, cursor: str
    ) -> None:
        response = await client.get(TASKS, params={"cursor": cursor}, headers=user.headers)
        assert response.status_code == 422

    @pytest.mark.fr("002-tasks/FR-004", "002-tasks/FR-009")
    async def test_another_users_cursor_reveals_nothing(
        self, client: httpx.AsyncClient, make_user: Any
    ) -> None:
        alice, bob = await make_user(), await make_user()
        for i in range(3):
            await create(client, alice, title=f"alice {i}")
        await create(client, bob, title="bob")
        cursor = (await client.get(TASKS, params={"limit": 1}, headers=alice.headers)).json()[
            "next_cursor"
        ]
        listed = await client.get(TASKS, params={"limit": 1, "cursor": cursor}, headers=bob.headers)
        assert listed.status_code == 200
        assert all(t["title"] == "bob" for t in listed.json()["items"])
