"""Business rules for tasks: defaults, merge-patch, ETags, pagination. No HTTP in here."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

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
from taskapi.tasks.tables import MAX_VERSION

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


_ETAG = re.compile(r'"(?P<task>[0-9a-f]{32})\.(?P<version>[0-9]{1,18})"', re.ASCII)


def matching_versions(if_match: str | None, task_id: uuid.UUID) -> frozenset[int] | None:
    """The versions of this task that an If-Match header accepts; None means any version.

    RFC 9110 strong comparison: `*` or no header accepts whatever is current; weak tags and
    other tasks' tags accept nothing. The result becomes part of the UPDATE/DELETE, so the
    precondition is evaluated against the row as it is when the change is made.
    """
    if if_match is None:
        return None
    candidates = [part.strip() for part in if_match.split(",")]
    if "*" in candidates:
        return None
    versions = set()
    for candidate in candidates:
        tag = _ETAG.fullmatch(candidate)
        if tag is not None and tag["task"] == task_id.hex:
            version = int(tag["version"])
            # A version the column cannot hold was never issued: it matches nothing (412),
            # and must not reach the database, where PostgreSQL would reject the parameter.
            if version <= MAX_VERSION:
                versions.add(version)
    return frozenset(versions)


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
    versions = matching_versions(if_match, current.task.id)
    changes = _changes(data)
    if not changes:
        # Nothing to change: same representation, same ETag; the precondition still holds.
        if versions is not None and current.version not in versions:
            raise TaskChanged
        return current
    repository = TaskRepository(session, owner_id=owner_id)
    # The UPDATE sets only the fields sent, on whatever the row holds now, so concurrent
    # patches of different fields both apply; with If-Match the row must also be at one of
    # the versions the client named, checked by the same statement.
    row = await repository.update(
        current.task.id, values={**changes, "updated_at": utcnow()}, versions=versions
    )
    if row is None:
        await _explain_no_match(repository, current.task.id)
    return _stored(row)


async def _explain_no_match(repository: TaskRepository, task_id: uuid.UUID) -> NoReturn:
    """A conditional change matched no row: the version moved on, or the task is gone."""
    if await repository.exists(task_id):
        raise TaskChanged
    raise TaskNotFound(task_id)


async def delete_task(
    *, session: AsyncSession, owner_id: uuid.UUID, current: StoredTask, if_match: str | None
) -> None:
    repository = TaskRepository(session, owner_id=owner_id)
    versions = matching_versions(if_match, current.task.id)
    if not await repository.delete(current.task.id, versions=versions):
        await _explain_no_match(repository, current.task.id)


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
    filters_fingerprint = fingerprint(asdict(filters))
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
