"""All SQL about tasks. Every statement is scoped to one owner through `_readable`/`_owned`."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from taskapi.core.db import fetch_all, fetch_one, unicode_lower
from taskapi.tasks.pagination import PRIORITY_RANK, Position, SortSpec
from taskapi.tasks.tables import TaskRow

T = TaskRow.__table__.c  # type: ignore[attr-defined]

# The columns a read needs: the contract's fields plus the version for the ETag.
TASK_COLUMNS = (
    T.id,
    T.title,
    T.description,
    T.status,
    T.priority,
    T.due_at,
    T.tags,
    T.created_at,
    T.updated_at,
    T.version,
)
_PRIORITY_RANK = case(
    *((T.priority == str(p.value), rank) for p, rank in PRIORITY_RANK.items()), else_=-1
)
_DUE_AT_MISSING = case((T.due_at.is_(None), 1), else_=0)


@dataclass(frozen=True, slots=True)
class TaskFilters:
    status: str | None = None
    priority: str | None = None
    tag: str | None = None
    text: str | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None


class TaskRepository:
    """Task persistence for one owner; there is no way to reach another owner's rows."""

    def __init__(self, session: AsyncSession, *, owner_id: uuid.UUID) -> None:
        self._session = session
        self._owner_id = owner_id

    def _readable(self, *columns: Any) -> Select[Any]:
        return select(*columns).where(T.owner_id == self._owner_id)

    def _owned(
        self, task_id: uuid.UUID, versions: Collection[int] | None = None
    ) -> ColumnElement[bool]:
        """This owner's task; with `versions`, only while it is at one of them (If-Match)."""
        condition = and_(T.id == task_id, T.owner_id == self._owner_id)
        if versions is not None:
            condition = and_(condition, T.version.in_(versions))
        return condition

    async def get(self, task_id: uuid.UUID) -> Mapping[str, Any] | None:
        return await fetch_one(self._session, self._readable(*TASK_COLUMNS).where(T.id == task_id))

    async def exists(self, task_id: uuid.UUID) -> bool:
        return bool(await fetch_all(self._session, self._readable(T.id).where(T.id == task_id)))

    async def insert(self, values: dict[str, Any]) -> Mapping[str, Any]:
        stmt = insert(TaskRow).values(owner_id=self._owner_id, **values).returning(*TASK_COLUMNS)
        result = await self._session.execute(stmt)
        return dict(result.mappings().one())

    async def update(
        self, task_id: uuid.UUID, *, values: dict[str, Any], versions: Collection[int] | None
    ) -> Mapping[str, Any] | None:
        """Apply `values` and bump the version in one statement; None when nothing matched.

        With `versions`, the row must be at one of them (If-Match); the check and the write
        are one atomic UPDATE, so two racing writers cannot both win.
        """
        stmt = (
            update(TaskRow)
            .where(self._owned(task_id, versions))
            .values(**values, version=T.version + 1)
            .returning(*TASK_COLUMNS)
        )
        result = await self._session.execute(stmt)
        row = result.mappings().one_or_none()
        return dict(row) if row is not None else None

    async def delete(self, task_id: uuid.UUID, *, versions: Collection[int] | None) -> bool:
        statement = delete(TaskRow).where(self._owned(task_id, versions)).returning(T.id)
        result = await self._session.execute(statement)
        return result.first() is not None

    async def list_page(
        self, *, filters: TaskFilters, sort: SortSpec, after: Position | None, limit: int
    ) -> Sequence[Mapping[str, Any]]:
        stmt = self._readable(*TASK_COLUMNS).where(*self._filter_clauses(filters))
        keys = self._sort_keys(sort, after)
        if after is not None:
            stmt = stmt.where(_after(keys))
        stmt = stmt.order_by(*(expr.desc() if desc else expr.asc() for expr, desc, _ in keys))
        return await fetch_all(self._session, stmt.limit(limit))

    def _filter_clauses(self, filters: TaskFilters) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        if filters.status is not None:
            clauses.append(T.status == filters.status)
        if filters.priority is not None:
            clauses.append(T.priority == filters.priority)
        if filters.due_before is not None:
            clauses.append(T.due_at < filters.due_before)
        if filters.due_after is not None:
            clauses.append(T.due_at > filters.due_after)
        if filters.text is not None:
            pattern = "%" + _escape_like(filters.text.lower()) + "%"
            clauses.append(
                or_(
                    unicode_lower(T.title).like(pattern, escape="\\"),
                    unicode_lower(func.coalesce(T.description, "")).like(pattern, escape="\\"),
                )
            )
        if filters.tag is not None:
            clauses.append(self._has_tag(filters.tag))
        return clauses

    def _has_tag(self, tag: str) -> ColumnElement[bool]:
        if self._session.get_bind().dialect.name == "postgresql":
            return type_coerce(T.tags, JSONB).contains([tag])
        elements = func.json_each(T.tags).table_valued("value")
        return select(literal(1)).select_from(elements).where(elements.c.value == tag).exists()

    @staticmethod
    def _sort_keys(
        sort: SortSpec, after: Position | None
    ) -> list[tuple[ColumnElement[Any], bool, Any]]:
        """(expression, descending, cursor value) triples, in ORDER BY order, ending with id.

        Tasks without a due date sort after dated ones in both directions.
        """
        value = after.value if after else None
        keys: list[tuple[ColumnElement[Any], bool, Any]]
        if sort.key == "due_at":
            if after is not None and value is None:
                keys = [(_DUE_AT_MISSING, False, 1)]
            else:
                keys = [(_DUE_AT_MISSING, False, 0), (T.due_at, sort.descending, value)]
        elif sort.key == "priority":
            keys = [(_PRIORITY_RANK, sort.descending, value)]
        else:
            keys = [(T[sort.key], sort.descending, value)]
        keys.append((T.id, sort.descending, after.task_id if after else None))
        return keys


def _after(keys: list[tuple[ColumnElement[Any], bool, Any]]) -> ColumnElement[bool]:
    """Rows strictly after the cursor in this ordering.

    When every key runs in one direction this is a row-value comparison, which both engines
    turn into an index range (the page starts where the index says, however deep). Mixed
    directions (descending due dates, whose no-date rows still come last) need the
    spelled-out form.
    """
    if len({descending for _, descending, _ in keys}) == 1:
        row = tuple_(*(expr for expr, _, _ in keys))
        position = tuple(value for _, _, value in keys)
        return row < position if keys[0][1] else row > position
    alternatives = []
    for i, (expr, descending, value) in enumerate(keys):
        earlier_equal = [e == v for e, _, v in keys[:i]]
        beyond = expr < value if descending else expr > value
        alternatives.append(and_(*earlier_equal, beyond))
    return or_(*alternatives)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
