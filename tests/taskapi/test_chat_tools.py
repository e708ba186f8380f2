"""The task tools as a chat turn uses them: one caller, one session, one transaction."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi import FastAPI

from taskapi.chat.protocol import ToolBox
from taskapi.chat.tools import TaskTools, bounded, tool_definitions
from taskapi.contract.models import (
    ApiV1TasksGetParametersQuery as ListTasksQuery,
)
from taskapi.contract.models import TaskCreate, TaskUpdate
from taskapi.core.errors import PROBLEM_TYPE_PREFIX
from taskapi.users.repository import CallerClaims
from tests.api_helpers import TASKS, create_task
from tests.conftest import SignedInUser

pytestmark = pytest.mark.anyio

TOOLS = ["add_task", "list_tasks", "get_task", "update_task", "complete_task", "delete_task"]
ToolsFor = Callable[..., AbstractAsyncContextManager[TaskTools]]


@pytest.fixture
def tools_for(app: FastAPI) -> ToolsFor:
    """The tools of `user` on a fresh session; committed when the block ends, unless told not."""

    @asynccontextmanager
    async def open_tools(
        user: SignedInUser, *, commit: bool = True, max_chars: int | None = None
    ) -> AsyncIterator[TaskTools]:
        async with app.state.database.sessionmaker() as session:
            yield TaskTools(
                session=session,
                claims=CallerClaims(user_id=user.id, session_id=user.session_id),
                codec=app.state.cursor_codec,
                result_max_chars=max_chars or app.state.settings.chat_tool_result_max_chars,
            )
            if commit:
                await session.commit()
            else:
                await session.rollback()

    return open_tools


def error_of(result: dict[str, Any], status: int, slug: str) -> dict[str, Any]:
    assert result["ok"] is False, result
    error: dict[str, Any] = result["error"]
    assert error["status"] == status, error
    assert error["type"] == PROBLEM_TYPE_PREFIX + slug, error
    assert error["title"] and error["detail"]
    return error


@pytest.mark.fr("006-chat/FR-031")
class TestDefinitions:
    def test_six_tools_in_a_stable_order(self) -> None:
        assert [d.name for d in tool_definitions()] == TOOLS

    def test_schemas_are_valid_json_schema_without_references(self) -> None:
        for definition in tool_definitions():
            jsonschema.Draft202012Validator.check_schema(definition.parameters)
            assert definition.parameters["type"] == "object"
            assert definition.parameters["additionalProperties"] is False
            assert "$ref" not in json.dumps(definition.parameters), definition.name
            assert definition.description

    def test_schemas_come_from_the_contract_models(self) -> None:
        schemas = {d.name: d.parameters for d in tool_definitions()}
        create = TaskCreate.model_json_schema()
        assert set(schemas["add_task"]["properties"]) == set(create["properties"])
        assert schemas["add_task"]["required"] == ["title"]
        assert schemas["add_task"]["properties"]["title"] == create["properties"]["title"]
        # The enums are the contract's, written out in place.
        assert schemas["add_task"]["properties"]["priority"]["enum"] == ["low", "medium", "high"]
        update = set(TaskUpdate.model_json_schema()["properties"])
        assert set(schemas["update_task"]["properties"]) == update | {"task_id", "if_match"}
        assert schemas["update_task"]["required"] == ["task_id"]
        query = set(ListTasksQuery.model_json_schema()["properties"])
        assert set(schemas["list_tasks"]["properties"]) == query
        for name in ("get_task", "complete_task", "delete_task"):
            assert schemas[name]["properties"]["task_id"]["format"] == "uuid"

    async def test_the_tool_box_is_the_protocol(
        self, tools_for: ToolsFor, user: SignedInUser
    ) -> None:
        async with tools_for(user) as tools:
            box: ToolBox = tools
            assert list(box.definitions()) == list(tool_definitions())


@pytest.mark.fr("006-chat/FR-030")
class TestEachTool:
    async def test_add_then_get_update_complete_delete(
        self, tools_for: ToolsFor, user: SignedInUser, client: httpx.AsyncClient
    ) -> None:
        async with tools_for(user) as tools:
            added = await tools.call(
                "add_task",
                {"title": "Renew passport", "priority": "high", "due_at": "2026-12-04T09:00:00Z"},
            )
            assert added.name == "add_task"
            assert added.arguments["title"] == "Renew passport"
            task = added.result["task"]
            assert (task["status"], task["priority"]) == ("todo", "high")
            assert task["due_at"] == "2026-12-04T09:00:00Z"
            task_id = task["id"]

            got = await tools.call("get_task", {"task_id": task_id})
            assert got.result == added.result

            renamed = await tools.call("update_task", {"task_id": task_id, "title": "Passport"})
            assert renamed.result["task"]["title"] == "Passport"
            assert renamed.result["etag"] != added.result["etag"]

            cleared = await tools.call("update_task", {"task_id": task_id, "due_at": None})
            assert cleared.result["task"]["due_at"] is None

            done = await tools.call("complete_task", {"task_id": task_id})
            assert done.result["task"]["status"] == "done"

        over_rest = await client.get(f"{TASKS}/{task_id}", headers=user.headers)
        assert over_rest.json() == done.result["task"]
        assert over_rest.headers["etag"] == done.result["etag"]

        async with tools_for(user) as tools:
            deleted = await tools.call("delete_task", {"task_id": task_id})
            assert deleted.result == {"ok": True, "deleted": done.result["task"]}
        gone = await client.get(f"{TASKS}/{task_id}", headers=user.headers)
        assert gone.status_code == 404

    async def test_list_filters_and_pages_as_rest_does(
        self, tools_for: ToolsFor, user: SignedInUser, client: httpx.AsyncClient
    ) -> None:
        for title, tags in (("one", ["team-a"]), ("two", ["team-b"]), ("three", ["team-a"])):
            await create_task(client, user, title=title, tags=tags)
        async with tools_for(user) as tools:
            tagged = await tools.call("list_tasks", {"tag": "team-a"})
            assert [t["title"] for t in tagged.result["items"]] == ["three", "one"]
            found = await tools.call("list_tasks", {"q": "TWO"})
            assert [t["title"] for t in found.result["items"]] == ["two"]
            first = await tools.call("list_tasks", {"limit": 2, "sort": "title"})
            assert [t["title"] for t in first.result["items"]] == ["one", "three"]
            rest = await tools.call(
                "list_tasks", {"limit": 2, "sort": "title", "cursor": first.result["next_cursor"]}
            )
            assert [t["title"] for t in rest.result["items"]] == ["two"]
            assert rest.result["next_cursor"] is None
        over_rest = await client.get(TASKS, params={"tag": "team-a"}, headers=user.headers)
        assert over_rest.json()["items"] == tagged.result["items"]


@pytest.mark.fr("006-chat/FR-030")
class TestOneTransaction:
    async def test_a_tool_sees_an_earlier_tools_write_before_commit(
        self, tools_for: ToolsFor, user: SignedInUser, client: httpx.AsyncClient
    ) -> None:
        async with tools_for(user, commit=False) as tools:
            added = await tools.call("add_task", {"title": "only in this turn"})
            listed = await tools.call("list_tasks", {})
            assert [t["id"] for t in listed.result["items"]] == [added.result["task"]["id"]]
            done = await tools.call("complete_task", {"task_id": added.result["task"]["id"]})
            assert done.result["ok"] is True
        # Rolled back: nothing of it was ever visible outside the transaction.
        over_rest = await client.get(TASKS, headers=user.headers)
        assert over_rest.json()["items"] == []

    async def test_committed_writes_are_seen_over_rest(
        self, tools_for: ToolsFor, user: SignedInUser, client: httpx.AsyncClient
    ) -> None:
        async with tools_for(user) as tools:
            added = await tools.call("add_task", {"title": "kept", "tags": ["x"]})
        over_rest = await client.get(TASKS, headers=user.headers)
        assert over_rest.json()["items"] == [added.result["task"]]


@pytest.mark.fr("006-chat/FR-030", "006-chat/FR-032")
class TestIsolation:
    async def test_another_users_task_is_not_found_by_every_tool(
        self,
        tools_for: ToolsFor,
        make_user: Callable[..., Any],
        client: httpx.AsyncClient,
    ) -> None:
        owner, other = await make_user(), await make_user()
        created = await create_task(client, owner, title="mine", priority="low")
        task_id, etag = created.json()["id"], created.headers["etag"]
        async with tools_for(other) as tools:
            listed = await tools.call("list_tasks", {})
            assert listed.result["items"] == []
            for name, extra in (
                ("get_task", {}),
                ("update_task", {"title": "theirs now"}),
                ("update_task", {"title": "theirs now", "if_match": etag}),
                ("complete_task", {}),
                ("delete_task", {}),
                ("delete_task", {"if_match": etag}),
            ):
                call = await tools.call(name, {"task_id": task_id, **extra})
                error = error_of(call.result, 404, "task-not-found")
                assert task_id in error["detail"]
        unchanged = await client.get(f"{TASKS}/{task_id}", headers=owner.headers)
        assert unchanged.json() == created.json()
        assert unchanged.headers["etag"] == etag


@pytest.mark.fr("006-chat/FR-032")
class TestErrors:
    async def test_validation_names_every_field(
        self, tools_for: ToolsFor, user: SignedInUser
    ) -> None:
        async with tools_for(user) as tools:
            call = await tools.call("add_task", {"title": "", "priority": "urgent", "colour": 1})
        error = error_of(call.result, 422, "validation-failed")
        locs = {tuple(issue["loc"]) for issue in error["errors"]}
        assert locs == {("title",), ("priority",), ("colour",)}
        assert all(issue["message"] and issue["type"] for issue in error["errors"])
        assert call.arguments == {"title": "", "priority": "urgent", "colour": 1}

    async def test_the_services_own_rules_apply(
        self, tools_for: ToolsFor, user: SignedInUser
    ) -> None:
        async with tools_for(user) as tools:
            call = await tools.call("add_task", {"title": "t", "tags": ["a", "a"]})
        error = error_of(call.result, 422, "validation-failed")
        assert error["errors"][0]["type"] == "unique_items"

    async def test_ids_and_cursors_are_validated(
        self, tools_for: ToolsFor, user: SignedInUser
    ) -> None:
        async with tools_for(user) as tools:
            bad_id = await tools.call("get_task", {"task_id": "not-a-uuid"})
            missing = await tools.call("complete_task", {})
            cursor = await tools.call("list_tasks", {"cursor": "forged"})
            unknown = await tools.call("get_task", {"task_id": str(uuid.uuid4())})
        assert error_of(bad_id.result, 422, "validation-failed")["errors"][0]["loc"] == ["task_id"]
        assert error_of(missing.result, 422, "validation-failed")["errors"][0]["type"] == "missing"
        assert error_of(cursor.result, 422, "validation-failed")["errors"][0]["type"] == (
            "invalid_cursor"
        )
        error_of(unknown.result, 404, "task-not-found")

    async def test_an_unknown_tool(self, tools_for: ToolsFor, user: SignedInUser) -> None:
        async with tools_for(user) as tools:
            call = await tools.call("drop_database", {})
        assert "add_task" in error_of(call.result, 404, "unknown-tool")["detail"]

    async def test_an_ended_session_is_refused(
        self, tools_for: ToolsFor, user: SignedInUser, client: httpx.AsyncClient
    ) -> None:
        signed_out = await client.post("/api/v1/auth/logout", headers=user.headers)
        assert signed_out.status_code == 204
        async with tools_for(user) as tools:
            for name, arguments in (("add_task", {"title": "t"}), ("list_tasks", {})):
                call = await tools.call(name, arguments)
                error_of(call.result, 401, "unauthorized")


@pytest.mark.fr("006-chat/FR-030", "006-chat/FR-032")
class TestIfMatch:
    async def test_a_stale_etag_is_a_precondition_error(
        self, tools_for: ToolsFor, user: SignedInUser, client: httpx.AsyncClient
    ) -> None:
        created = await create_task(client, user, title="v1")
        task_id, stale = created.json()["id"], created.headers["etag"]
        changed = await client.patch(
            f"{TASKS}/{task_id}", json={"title": "v2"}, headers=user.headers
        )
        fresh = changed.headers["etag"]
        async with tools_for(user) as tools:
            for name, extra in (
                ("update_task", {"title": "v3"}),
                ("complete_task", {}),
                ("delete_task", {}),
            ):
                call = await tools.call(name, {"task_id": task_id, "if_match": stale, **extra})
                error_of(call.result, 412, "precondition-failed")
            ok = await tools.call(
                "update_task", {"task_id": task_id, "if_match": fresh, "title": "v3"}
            )
            assert ok.result["task"]["title"] == "v3"
            deleted = await tools.call(
                "delete_task", {"task_id": task_id, "if_match": ok.result["etag"]}
            )
            assert deleted.result["ok"] is True

    async def test_a_malformed_if_match_is_a_validation_error(
        self, tools_for: ToolsFor, user: SignedInUser, client: httpx.AsyncClient
    ) -> None:
        created = await create_task(client, user)
        async with tools_for(user) as tools:
            call = await tools.call(
                "complete_task", {"task_id": created.json()["id"], "if_match": "\n"}
            )
        assert error_of(call.result, 422, "validation-failed")["errors"][0]["loc"] == ["if_match"]


@pytest.mark.fr("006-chat/FR-012")
class TestBounded:
    async def test_a_long_listing_loses_items_and_says_so(
        self, tools_for: ToolsFor, user: SignedInUser, client: httpx.AsyncClient
    ) -> None:
        for n in range(8):
            await create_task(client, user, title=f"task {n}", description="d" * 200)
        async with tools_for(user, max_chars=1000) as tools:
            call = await tools.call("list_tasks", {"limit": 8})
        assert len(json.dumps(call.result)) <= 1000
        assert call.result["truncated"] is True
        assert 0 < len(call.result["items"]) < 8
        assert "items left out" in call.result["truncation"]

    def test_a_long_description_is_shortened(self) -> None:
        task = {"id": "x", "title": "t", "description": "d" * 5000}
        cut = bounded({"ok": True, "task": task, "etag": '"e"'}, 600)
        assert len(json.dumps(cut)) <= 600
        assert cut["truncated"] is True
        assert cut["task"]["description"].endswith("[...]")
        assert cut["etag"] == '"e"'

    def test_anything_else_becomes_a_marked_preview(self) -> None:
        cut = bounded({"ok": True, "blob": ["x" * 100] * 100}, 500)
        assert len(json.dumps(cut)) <= 500
        assert cut["truncated"] is True
        assert cut["preview"].startswith('{"ok":true')

    def test_a_short_result_is_untouched(self) -> None:
        result = {"ok": True, "items": [], "next_cursor": None}
        assert bounded(result, 500) is result
