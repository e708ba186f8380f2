"""Business rules for tasks: defaults, merge-patch, ETags, pagination. No HTTP in here."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

from pydantic import MISSING
from sqlalchemy.ext.asyncio import AsyncSession

from taskapi.auth.errors import CallerGone
from taskapi.contract.models import (
    ApiV1TasksGetParametersQuery as ListTasksQuery,
)
from taskapi.contract.models import (
    TaskCreate,
    TaskPriority,
    TaskSort,
    TaskStatus,
    TaskUpdate,
)
from taskapi.core.db import ReadPool, utcnow
from taskapi.core.errors import ValidationFailed
from taskapi.tasks.errors import TaskChanged, TaskNotFound
from taskapi.tasks.pagination import PRIORITY_RANK, CursorCodec, Position, SortSpec, fingerprint
from taskapi.tasks.repository import (
    StoredTask,
    TaskFilters,
    TaskReads,
    TaskRecord,
    TaskRepository,
    etag_for,
)
from taskapi.tasks.tables import MAX_VERSION
from taskapi.users.repository import CallerClaims

_DEFAULT_SORT = TaskSort.field_created_at


__all__ = ["StoredTask", "etag_for"]


@dataclass(frozen=True, slots=True)
class TaskListing:
    """One page of the caller's tasks, and the weak ETag that names it."""

    items: list[TaskRecord]
    next_cursor: str | None
    etag: str

    @property
    def body(self) -> dict[str, Any]:
        return {"items": self.items, "next_cursor": self.next_cursor}


def page_etag(tasks: Sequence[StoredTask], next_cursor: str | None) -> str:
    """Weak: it names the page's members, their versions and the continuation, not its bytes.

    Every change to a task bumps its version, so equal tags mean equal pages.
    """
    digest = hashlib.blake2b(digest_size=16)
    for stored in tasks:
        digest.update(f"{stored.task.id.hex}.{stored.version};".encode())
    digest.update((next_cursor or "").encode())
    return f'W/"{digest.hexdigest()}"'


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


async def get_task(*, reads: ReadPool, claims: CallerClaims, task_id: uuid.UUID) -> StoredTask:
    """The caller's task; the caller check and the read are one statement."""
    found = await TaskReads(reads).get(claims, task_id)
    if found.caller is None:
        raise CallerGone
    if found.task is None:
        raise TaskNotFound(task_id)
    return found.task


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
    return await TaskRepository(session, owner_id=owner_id).insert(values)


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
    stored = await repository.update(
        current.task.id, values={**changes, "updated_at": utcnow()}, versions=versions
    )
    if stored is None:
        await _explain_no_match(repository, current.task.id)
    return stored


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
    *, reads: ReadPool, claims: CallerClaims, query: ListTasksQuery, codec: CursorCodec
) -> TaskListing:
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
    filters_fingerprint = fingerprint(filters.as_dict())
    after = (
        codec.decode(query.cursor, sort=sort, filters_fingerprint=filters_fingerprint)
        if query.cursor is not MISSING
        else None
    )
    page = await TaskReads(reads).page(
        claims, filters=filters, sort=sort, after=after, limit=query.limit + 1
    )
    if page.caller is None:
        raise CallerGone
    shown = page.tasks[: query.limit]
    next_cursor = None
    if len(page.tasks) > query.limit:
        last = shown[-1].task
        next_cursor = codec.encode(
            sort=sort,
            filters_fingerprint=filters_fingerprint,
            position=Position(value=_sort_value(last, sort), task_id=last.id),
        )
    return TaskListing(
        items=[stored.task for stored in shown],
        next_cursor=next_cursor,
        etag=page_etag(shown, next_cursor),
    )


def _sort_value(task: TaskRecord, sort: SortSpec) -> Any:
    if sort.key == "priority":
        return PRIORITY_RANK[TaskPriority(task.priority)]
    return getattr(task, sort.key)
