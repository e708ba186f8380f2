"""Business rules for tasks: defaults, merge-patch, ETags, pagination. No HTTP in here."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import MISSING
from sqlalchemy.ext.asyncio import AsyncSession

from taskapi.contract.models import (
    ApiV1TasksGetParametersQuery as ListTasksQuery,
)
from taskapi.contract.models import (
    Task,
    TaskCreate,
    TaskPage,
    TaskPriority,
    TaskSort,
    TaskStatus,
    TaskUpdate,
)
from taskapi.core.db import utcnow
from taskapi.core.errors import ValidationFailed
from taskapi.tasks.errors import TaskChanged, TaskNotFound
from taskapi.tasks.pagination import PRIORITY_RANK, CursorCodec, Position, SortSpec, fingerprint
from taskapi.tasks.repository import TaskFilters, TaskRepository

_DEFAULT_SORT = TaskSort.field_created_at


@dataclass(frozen=True, slots=True)
class StoredTask:
    """A task as the contract shows it, plus the version its ETag is derived from."""

    task: Task
    version: int

    @property
    def etag(self) -> str:
        return etag_for(self.task.id, self.version)


def etag_for(task_id: uuid.UUID, version: int) -> str:
    return f'"{task_id.hex}.{version}"'


def if_match_satisfied(if_match: str, current_etag: str) -> bool:
    """RFC 9110 If-Match with strong comparison: `*`, or one of the listed strong tags."""
    candidates = [part.strip() for part in if_match.split(",")]
    return "*" in candidates or current_etag in candidates


def _stored(row: Mapping[str, Any]) -> StoredTask:
    data = dict(row)
    version = data.pop("version")
    return StoredTask(task=Task.model_validate(data), version=version)


def _to_utc(value: datetime | None, loc: Sequence[str]) -> datetime | None:
    if value is None:
        return None
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValidationFailed(
            loc=loc,
            message="Date-time is outside the supported range (years 1 to 9999 in UTC)",
            type="datetime_out_of_range",
        ) from exc


def _unique_tags(tags: Sequence[Any]) -> list[str]:
    values = [getattr(tag, "root", tag) for tag in tags]
    duplicates = sorted({t for t in values if values.count(t) > 1})
    if duplicates:
        raise ValidationFailed(
            loc=["body", "tags"],
            message=f"Tags must be unique; repeated: {', '.join(duplicates)}",
            type="unique_items",
        )
    return values


async def get_task(*, session: AsyncSession, owner_id: uuid.UUID, task_id: uuid.UUID) -> StoredTask:
    row = await TaskRepository(session, owner_id=owner_id).get(task_id)
    if row is None:
        raise TaskNotFound(task_id)
    return _stored(row)


async def create_task(
    *, session: AsyncSession, owner_id: uuid.UUID, data: TaskCreate
) -> StoredTask:
    now = utcnow()
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "title": data.title,
        "description": data.description if data.description is not MISSING else None,
        "status": (data.status if data.status is not MISSING else TaskStatus.todo).value,
        "priority": (data.priority if data.priority is not MISSING else TaskPriority.medium).value,
        "due_at": _to_utc(data.due_at, ["body", "due_at"]) if data.due_at is not MISSING else None,
        "tags": _unique_tags(data.tags) if data.tags is not MISSING else [],
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }
    row = await TaskRepository(session, owner_id=owner_id).insert(values)
    return _stored(row)


def _changes(data: TaskUpdate) -> dict[str, Any]:
    """Only the fields the client sent; an explicit null stays a null (it clears the field)."""
    changes: dict[str, Any] = {}
    if data.title is not MISSING:
        changes["title"] = data.title
    if data.description is not MISSING:
        changes["description"] = data.description
    if data.status is not MISSING:
        changes["status"] = data.status.value
    if data.priority is not MISSING:
        changes["priority"] = data.priority.value
    if data.due_at is not MISSING:
        changes["due_at"] = _to_utc(data.due_at, ["body", "due_at"])
    if data.tags is not MISSING:
        changes["tags"] = _unique_tags(data.tags)
    return changes


async def update_task(
    *,
    session: AsyncSession,
    owner_id: uuid.UUID,
    current: StoredTask,
    data: TaskUpdate,
    if_match: str | None,
) -> StoredTask:
    if if_match is not None and not if_match_satisfied(if_match, current.etag):
        raise TaskChanged
    changes = _changes(data)
    if not changes:
        return current  # nothing to change: same representation, same ETag
    repository = TaskRepository(session, owner_id=owner_id)
    # Without If-Match the UPDATE sets only the fields sent, on whatever the row holds now, so
    # concurrent patches of different fields both apply. With If-Match it must still be the
    # version the client saw.
    row = await repository.update(
        current.task.id,
        values={**changes, "updated_at": utcnow()},
        expected_version=current.version if if_match is not None else None,
    )
    if row is None:
        if await repository.exists(current.task.id):
            raise TaskChanged
        raise TaskNotFound(current.task.id)
    return _stored(row)


async def delete_task(
    *, session: AsyncSession, owner_id: uuid.UUID, current: StoredTask, if_match: str | None
) -> None:
    if if_match is not None and not if_match_satisfied(if_match, current.etag):
        raise TaskChanged
    repository = TaskRepository(session, owner_id=owner_id)
    deleted = await repository.delete(
        current.task.id, expected_version=current.version if if_match is not None else None
    )
    if not deleted:
        if await repository.exists(current.task.id):
            raise TaskChanged
        raise TaskNotFound(current.task.id)


async def list_tasks(
    *, session: AsyncSession, owner_id: uuid.UUID, query: ListTasksQuery, codec: CursorCodec
) -> TaskPage:
    filters = TaskFilters(
        status=query.status.value if query.status is not MISSING else None,
        priority=query.priority.value if query.priority is not MISSING else None,
        tag=query.tag if query.tag is not MISSING else None,
        text=query.q if query.q is not MISSING else None,
        due_before=_to_utc(query.due_before, ["query", "due_before"])
        if query.due_before is not MISSING
        else None,
        due_after=_to_utc(query.due_after, ["query", "due_after"])
        if query.due_after is not MISSING
        else None,
    )
    sort = SortSpec.parse(query.sort or _DEFAULT_SORT)
    filters_fingerprint = fingerprint(
        {
            "status": filters.status,
            "priority": filters.priority,
            "tag": filters.tag,
            "q": filters.text,
            "due_before": filters.due_before,
            "due_after": filters.due_after,
        }
    )
    after = (
        codec.decode(query.cursor, sort=sort, filters_fingerprint=filters_fingerprint)
        if query.cursor is not MISSING
        else None
    )
    rows = await TaskRepository(session, owner_id=owner_id).list_page(
        filters=filters, sort=sort, after=after, limit=query.limit + 1
    )
    items = [_stored(row).task for row in rows[: query.limit]]
    next_cursor = None
    if len(rows) > query.limit:
        last = items[-1]
        next_cursor = codec.encode(
            sort=sort,
            filters_fingerprint=filters_fingerprint,
            position=Position(value=_sort_value(last, sort), task_id=last.id),
        )
    return TaskPage(items=items, next_cursor=next_cursor)


def _sort_value(task: Task, sort: SortSpec) -> Any:
    if sort.key == "priority":
        return PRIORITY_RANK[task.priority]
    value = getattr(task, sort.key)
    return getattr(value, "root", value)
