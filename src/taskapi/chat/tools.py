"""The task tools, defined once: what a chat assistant and an MCP client may do to tasks.

Six tools (`add_task`, `list_tasks`, `get_task`, `update_task`, `complete_task`,
`delete_task`) bound to one caller and one `AsyncSession`. They call the task service, so
isolation, validation, defaults and `If-Match` are the REST operations' own. Every read goes
through the same session as the writes (`SessionReads`), so within one transaction a tool
sees what an earlier tool wrote. Nothing here commits: whoever owns the session does (a chat
turn at its end, the MCP endpoint after each call).

The argument schemas are derived from the contract's generated models (`TaskCreate`,
`TaskUpdate`, the list query), plus `task_id` and `if_match` where a tool needs them. A tool
that fails returns the problem a REST client would get, as data (`{"ok": false, "error":
{...}}`); it never raises for a refused request. Results are bounded in size and say so
when they are cut.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import cache
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from taskapi.auth.errors import CallerGone
from taskapi.chat.protocol import JsonObject, ToolCall, ToolDefinition
from taskapi.contract.models import (
    ApiV1TasksGetParametersQuery as ListTasksQuery,
)
from taskapi.contract.models import TaskCreate, TaskStatus, TaskUpdate
from taskapi.core.db import SessionReads
from taskapi.core.errors import PROBLEM_TYPE_PREFIX, DomainError
from taskapi.core.representation import ENTITY_TAGS_PATTERN, IF_MATCH_MAX_LENGTH, json_bytes
from taskapi.tasks import service
from taskapi.tasks.pagination import CursorCodec
from taskapi.tasks.repository import StoredTask
from taskapi.users.repository import CallerClaims, UserReads

ADD_TASK = "add_task"
LIST_TASKS = "list_tasks"
GET_TASK = "get_task"
UPDATE_TASK = "update_task"
COMPLETE_TASK = "complete_task"
DELETE_TASK = "delete_task"


class _TaskRef(BaseModel):
    """Which task: its id, as in the REST path."""

    model_config = ConfigDict(extra="forbid")

    task_id: Annotated[uuid.UUID, Field(description="The task's id.")]


class _ConditionalTaskRef(_TaskRef):
    """Which task, and optionally the ETag it must still have (the REST `If-Match` header)."""

    if_match: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=IF_MATCH_MAX_LENGTH,
            pattern=ENTITY_TAGS_PATTERN,
            description=(
                "Optional: the task's `etag` from an earlier result. The change is made only "
                "if the task has not changed since; otherwise the result is a "
                "precondition error."
            ),
        ),
    ] = None


def _inline_refs(schema: JsonObject) -> JsonObject:
    """The schema with its local `$defs` references written out, for clients that do not
    resolve references (several models and MCP clients read tool schemas literally)."""
    definitions = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str) and reference.startswith("#/$defs/"):
                target = resolve(definitions[reference.removeprefix("#/$defs/")])
                return {**target, **{k: resolve(v) for k, v in node.items() if k != "$ref"}}
            return {k: resolve(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: JsonObject = resolve(schema)
    return resolved


def _object_schema(*models: type[BaseModel], description: str) -> JsonObject:
    """One flat object schema from the models' own JSON Schemas (properties side by side)."""
    properties: JsonObject = {}
    required: list[str] = []
    for model in models:
        schema = _inline_refs(model.model_json_schema())
        properties.update(schema.get("properties", {}))
        required.extend(schema.get("required", []))
    result: JsonObject = {
        "type": "object",
        "description": description,
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        result["required"] = required
    return result


@cache
def tool_definitions() -> tuple[ToolDefinition, ...]:
    """Every tool with its argument schema, in a stable order (computed once)."""
    return (
        ToolDefinition(
            name=ADD_TASK,
            description=(
                "Create a task for the signed-in user. Only `title` is required; status "
                "defaults to todo and priority to medium. `due_at` is an RFC 3339 date-time."
            ),
            parameters=_object_schema(TaskCreate, description="The new task."),
        ),
        ToolDefinition(
            name=LIST_TASKS,
            description=(
                "List the signed-in user's tasks, newest first unless `sort` says otherwise, "
                "filtered by status, priority, tag, text (`q`) or due date. Pass "
                "`next_cursor` from a result as `cursor` (with the same filters) for the "
                "next page."
            ),
            parameters=_object_schema(ListTasksQuery, description="Filters, sort and page."),
        ),
        ToolDefinition(
            name=GET_TASK,
            description="Read one of the signed-in user's tasks by id, with its etag.",
            parameters=_object_schema(_TaskRef, description="Which task."),
        ),
        ToolDefinition(
            name=UPDATE_TASK,
            description=(
                "Change fields of one task; fields left out stay as they are, and `null` "
                "clears `description` or `due_at`. Pass `if_match` (the task's etag) to "
                "change it only if nobody changed it since."
            ),
            parameters=_object_schema(
                _ConditionalTaskRef, TaskUpdate, description="Which task, and what changes."
            ),
        ),
        ToolDefinition(
            name=COMPLETE_TASK,
            description="Mark one task as done (status `done`), optionally only if unchanged.",
            parameters=_object_schema(_ConditionalTaskRef, description="Which task."),
        ),
        ToolDefinition(
            name=DELETE_TASK,
            description="Delete one task for good, optionally only if unchanged.",
            parameters=_object_schema(_ConditionalTaskRef, description="Which task."),
        ),
    )


def _json(value: Any) -> Any:
    """As the REST API serialises it (same dates, same ids)."""
    return orjson.loads(json_bytes(value))


def _task_result(stored: StoredTask) -> JsonObject:
    return {"ok": True, "task": _json(stored.task), "etag": stored.etag}


def problem_result(exc: DomainError) -> JsonObject:
    """A refused tool call: the problem document the REST operation would have answered."""
    problem: JsonObject = {
        "type": PROBLEM_TYPE_PREFIX + exc.slug,
        "title": exc.title,
        "status": exc.status,
        "detail": exc.detail,
    }
    if exc.errors is not None:
        problem["errors"] = exc.errors
    return {"ok": False, "error": problem}


def _validation_result(issues: list[JsonObject]) -> JsonObject:
    count = len(issues)
    first = issues[0]
    where = ".".join(str(part) for part in first["loc"]) or "arguments"
    noun = "argument is" if count == 1 else "arguments are"
    return {
        "ok": False,
        "error": {
            "type": PROBLEM_TYPE_PREFIX + "validation-failed",
            "title": "Validation failed",
            "status": 422,
            "detail": f"{count} {noun} invalid; first: {where}: {first['message'].rstrip('.')}.",
            "errors": issues,
        },
    }


def _unknown_tool(name: str) -> JsonObject:
    known = ", ".join(definition.name for definition in tool_definitions())
    return {
        "ok": False,
        "error": {
            "type": PROBLEM_TYPE_PREFIX + "unknown-tool",
            "title": "Unknown tool",
            "status": 404,
            "detail": f"There is no tool {name!r}; the tools are: {known}.",
        },
    }


class _InvalidArguments(Exception):
    def __init__(self, issues: list[JsonObject]) -> None:
        super().__init__("invalid arguments")
        self.issues = issues


def _issues(exc: ValidationError) -> list[JsonObject]:
    return [
        {"loc": list(err["loc"]), "message": str(err["msg"]), "type": err["type"]}
        for err in exc.errors(include_url=False)
    ]


def _validate(arguments: Mapping[str, Any], *models: type[BaseModel]) -> list[Any]:
    """Each model validated from its own fields of `arguments`; every problem is reported,
    including arguments that no model knows."""
    known = {name for model in models for name in model.model_fields}
    issues: list[JsonObject] = [
        {"loc": [name], "message": "Extra inputs are not permitted", "type": "extra_forbidden"}
        for name in arguments
        if name not in known
    ]
    validated = []
    for model in models:
        own = {k: v for k, v in arguments.items() if k in model.model_fields}
        try:
            validated.append(model.model_validate(own))
        except ValidationError as exc:
            issues.extend(_issues(exc))
    if issues:
        raise _InvalidArguments(issues)
    return validated


def bounded(result: JsonObject, max_chars: int) -> JsonObject:
    """`result`, or a shorter one that says it was cut, whose JSON text fits in `max_chars`.

    A list loses items from its end (the cursor still leads to them); a long description is
    shortened; as a last resort the result becomes a marked preview of its own text.
    """
    text = json_bytes(result).decode()
    if len(text) <= max_chars:
        return result
    original = len(text)
    cut = copy.deepcopy(result)
    notes: list[str] = []
    items = cut.get("items")
    if isinstance(items, list):
        total = len(items)
        while items and _size(cut, notes) > max_chars:
            items.pop()
        if len(items) < total:
            notes.append(
                f"{total - len(items)} of {total} items left out; ask for fewer with `limit`"
            )
    tasks = ([cut["task"]] if isinstance(cut.get("task"), dict) else []) + (
        items if isinstance(items, list) else []
    )
    for task in tasks:
        description = task.get("description")
        if _size(cut, notes) > max_chars and isinstance(description, str):
            excess = _size(cut, notes) - max_chars + 80
            keep = max(0, len(description) - excess)
            task["description"] = description[:keep] + " [...]"
            notes.append(f"the description of task {task.get('id')} is shortened")
    if _size(cut, notes) <= max_chars:
        return _mark(cut, notes, original)
    preview: JsonObject = {"ok": result.get("ok", False), "preview": ""}
    room = max_chars - _size(preview, ["the result is cut to a preview of its JSON text"]) - 20
    preview["preview"] = text[: max(0, room)]
    return _mark(preview, ["the result is cut to a preview of its JSON text"], original)


def _mark(result: JsonObject, notes: list[str], original: int) -> JsonObject:
    result["truncated"] = True
    result["truncation"] = f"Cut from {original} characters: " + "; ".join(notes) + "."
    return result


def _size(result: JsonObject, notes: list[str]) -> int:
    """The JSON length `result` will have once it is marked as truncated."""
    marked = dict(result)
    _mark(marked, notes or ["x" * 60], 10**9)
    return len(json_bytes(marked))


class TaskTools:
    """The `ToolBox` of one caller, on one session (one transaction).

    `claims` are the caller's verified token claims; every tool runs the caller check as the
    REST operations do (a token whose session ended gets the same 401 problem, as data).
    """

    def __init__(
        self,
        *,
        session: AsyncSession,
        claims: CallerClaims,
        codec: CursorCodec,
        result_max_chars: int,
    ) -> None:
        self._session = session
        self._claims = claims
        self._codec = codec
        self._max_chars = result_max_chars
        self._reads = SessionReads(session)
        self._tools: dict[str, Callable[[Mapping[str, Any]], Awaitable[JsonObject]]] = {
            ADD_TASK: self._add_task,
            LIST_TASKS: self._list_tasks,
            GET_TASK: self._get_task,
            UPDATE_TASK: self._update_task,
            COMPLETE_TASK: self._complete_task,
            DELETE_TASK: self._delete_task,
        }

    def definitions(self) -> Sequence[ToolDefinition]:
        return tool_definitions()

    async def call(self, name: str, arguments: Mapping[str, Any]) -> ToolCall:
        """Run one tool; a refused call comes back as `{"ok": false, "error": problem}`."""
        given = dict(arguments)
        tool = self._tools.get(name)
        if tool is None:
            result = _unknown_tool(name)
        else:
            try:
                result = await tool(given)
            except _InvalidArguments as exc:
                result = _validation_result(exc.issues)
            except DomainError as exc:
                result = problem_result(exc)
        return ToolCall(name=name, arguments=given, result=bounded(result, self._max_chars))

    async def _current(self, task_id: uuid.UUID) -> StoredTask:
        """The caller's task, read with the caller check, as the REST path dependency does."""
        return await service.get_task(reads=self._reads, claims=self._claims, task_id=task_id)

    async def _add_task(self, arguments: Mapping[str, Any]) -> JsonObject:
        (data,) = _validate(arguments, TaskCreate)
        if await UserReads(self._reads).caller(self._claims) is None:
            raise CallerGone
        stored = await service.create_task(
            session=self._session, owner_id=self._claims.user_id, data=data
        )
        return _task_result(stored)

    async def _list_tasks(self, arguments: Mapping[str, Any]) -> JsonObject:
        (query,) = _validate(arguments, ListTasksQuery)
        listing = await service.list_tasks(
            reads=self._reads, claims=self._claims, query=query, codec=self._codec
        )
        return {
            "ok": True,
            "items": _json(listing.items),
            "next_cursor": listing.next_cursor,
        }

    async def _get_task(self, arguments: Mapping[str, Any]) -> JsonObject:
        (ref,) = _validate(arguments, _TaskRef)
        return _task_result(await self._current(ref.task_id))

    async def _update_task(self, arguments: Mapping[str, Any]) -> JsonObject:
        ref, data = _validate(arguments, _ConditionalTaskRef, TaskUpdate)
        return await self._change(ref, data)

    async def _complete_task(self, arguments: Mapping[str, Any]) -> JsonObject:
        (ref,) = _validate(arguments, _ConditionalTaskRef)
        return await self._change(ref, TaskUpdate(status=TaskStatus.done))

    async def _change(self, ref: _ConditionalTaskRef, data: TaskUpdate) -> JsonObject:
        stored = await service.update_task(
            session=self._session,
            owner_id=self._claims.user_id,
            current=await self._current(ref.task_id),
            data=data,
            if_match=ref.if_match,
        )
        return _task_result(stored)

    async def _delete_task(self, arguments: Mapping[str, Any]) -> JsonObject:
        (ref,) = _validate(arguments, _ConditionalTaskRef)
        current = await self._current(ref.task_id)
        await service.delete_task(
            session=self._session,
            owner_id=self._claims.user_id,
            current=current,
            if_match=ref.if_match,
        )
        return {"ok": True, "deleted": _json(current.task)}
