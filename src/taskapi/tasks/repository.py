"""All SQL about tasks. Every statement is scoped to one owner: reads through `_readable`, with
the caller check folded in (`TaskReads`); writes through `_owned` (`TaskRepository`)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, delete, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from taskapi.core.db import (
    ColumnKind,
    Engine,
    ReadPool,
    ReadStatement,
    Row,
    SqlParameters,
    unicode_lower,
)
from taskapi.tasks.pagination import PRIORITY_RANK, Position, SortSpec
from taskapi.tasks.tables import TaskRow
from taskapi.users.repository import (
    CALLER_KINDS,
    Caller,
    CallerClaims,
    caller_from_row,
    caller_values,
    scoped_to_caller,
)

T = TaskRow.__table__.c  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """A task as the contract shows it, field for field (it serialises straight to JSON)."""

    id: uuid.UUID
    title: str
    description: str | None
    status: str
    priority: str
    due_at: datetime | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StoredTask:
    """A task plus the version its ETag is derived from."""

    task: TaskRecord
    version: int

    @property
    def etag(self) -> str:
        return etag_for(self.task.id, self.version)


def etag_for(task_id: uuid.UUID, version: int) -> str:
    return f'"{task_id.hex}.{version}"'


@dataclass(frozen=True, slots=True)
class TaskFilters:
    status: str | None = None
    priority: str | None = None
    tag: str | None = None
    text: str | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """What a cursor is bound to (cheaper than dataclasses.asdict, which deep-copies)."""
        return {
            "status": self.status,
            "priority": self.priority,
            "tag": self.tag,
            "text": self.text,
            "due_before": self.due_before,
            "due_after": self.due_after,
        }


@dataclass(frozen=True, slots=True)
class CallerTask:
    """One read's answer: no caller (the token's user may not act), or the caller and the task."""

    caller: Caller | None
    task: StoredTask | None


@dataclass(frozen=True, slots=True)
class CallerPage:
    caller: Caller | None
    tasks: list[StoredTask]


# ---------------------------------------------------------------------------------------------
# Reads: SQL text per engine, written once per statement shape
# ---------------------------------------------------------------------------------------------

# The columns a read needs: the contract's fields, then the version for the ETag.
_TASK_COLUMNS = (
    "id, title, description, status, priority, due_at, tags, created_at, updated_at, version"
)
_TASK_KINDS: tuple[ColumnKind, ...] = (
    *("uuid", "plain", "plain", "plain", "plain", "datetime", "json"),
    *("datetime", "datetime", "plain"),
)
_TASK_START = len(CALLER_KINDS)
_PRIORITY_RANK_SQL = (
    "CASE priority "
    + " ".join(f"WHEN '{p.value}' THEN {rank}" for p, rank in PRIORITY_RANK.items())
    + " ELSE -1 END"
)
_DUE_AT_MISSING_SQL = "CASE WHEN due_at IS NULL THEN 1 ELSE 0 END"
_FILTER_ORDER = ("status", "priority", "due_before", "due_after", "text", "tag")

CursorKind = Literal["none", "value", "missing_due"]


def _readable(p: SqlParameters, columns: str) -> str:
    """The caller's tasks, and nobody else's: every read of tasks starts here."""
    return f"SELECT {columns} FROM tasks WHERE owner_id = {p('caller_id')}"


@dataclass(frozen=True, slots=True)
class _SortKey:
    sql: str
    descending: bool
    value: str | None  # the cursor parameter it is compared with; None: a literal in `sql`
    literal: int | None = None


def _sort_keys(sort: SortSpec, cursor: CursorKind) -> list[_SortKey]:
    """The ORDER BY keys, ending with id. Tasks without a due date come last either way."""
    keys: list[_SortKey]
    if sort.key == "due_at":
        if cursor == "missing_due":
            keys = [_SortKey(_DUE_AT_MISSING_SQL, False, None, 1)]
        else:
            keys = [
                _SortKey(_DUE_AT_MISSING_SQL, False, None, 0),
                _SortKey("due_at", sort.descending, "after_value"),
            ]
    elif sort.key == "priority":
        keys = [_SortKey(_PRIORITY_RANK_SQL, sort.descending, "after_value")]
    else:
        keys = [_SortKey(sort.key, sort.descending, "after_value")]
    keys.append(_SortKey("id", sort.descending, "after_id"))
    return keys


def _bound(p: SqlParameters, key: _SortKey) -> str:
    return str(key.literal) if key.value is None else p(key.value)


def _after(p: SqlParameters, keys: list[_SortKey]) -> str:
    """Rows strictly after the cursor in this ordering.

    When every key runs in one direction this is a row-value comparison, which both engines
    turn into an index range (the page starts where the index says, however deep). Mixed
    directions (descending due dates, whose no-date rows still come last) need the
    spelled-out form.
    """
    if len({key.descending for key in keys}) == 1:
        row = ", ".join(key.sql for key in keys)
        position = ", ".join(_bound(p, key) for key in keys)
        return f"({row}) {'<' if keys[0].descending else '>'} ({position})"
    alternatives = []
    for i, key in enumerate(keys):
        terms = [f"({earlier.sql}) = {_bound(p, earlier)}" for earlier in keys[:i]]
        terms.append(f"({key.sql}) {'<' if key.descending else '>'} {_bound(p, key)}")
        alternatives.append("(" + " AND ".join(terms) + ")")
    return "(" + " OR ".join(alternatives) + ")"


def _filter_clause(p: SqlParameters, name: str) -> str:
    if name in ("status", "priority"):
        return f"{name} = {p(name)}"
    if name == "due_before":
        return f"due_at < {p(name)}"
    if name == "due_after":
        return f"due_at > {p(name)}"
    if name == "text":
        # The same parameter twice: PostgreSQL reuses its number, SQLite binds it twice.
        title, description = (
            unicode_lower(p.engine, "title"),
            unicode_lower(p.engine, "coalesce(description, '')"),
        )
        return (
            f"({title} LIKE {p('pattern')} ESCAPE '\\' "
            f"OR {description} LIKE {p('pattern')} ESCAPE '\\')"
        )
    if p.engine == "postgresql":
        return f"tags @> {p('tag_list')}"
    return f"EXISTS (SELECT 1 FROM json_each(tasks.tags) WHERE json_each.value = {p('tag')})"


@cache
def _get_statement(engine: Engine) -> ReadStatement:
    def rows(p: SqlParameters) -> str:
        return f"{_readable(p, _TASK_COLUMNS)} AND id = {p('task_id')}"

    return ReadStatement.build(engine, lambda p: scoped_to_caller(p, rows))


@cache
def _list_statement(
    engine: Engine, filters: tuple[str, ...], sort: SortSpec, cursor: CursorKind
) -> ReadStatement:
    """The statement for one shape of list request."""
    keys = _sort_keys(sort, cursor)
    order = ", ".join(f"{key.sql} {'DESC' if key.descending else 'ASC'}" for key in keys)

    def rows(p: SqlParameters) -> str:
        sql = _readable(p, _TASK_COLUMNS)
        for name in filters:
            sql += f" AND {_filter_clause(p, name)}"
        if cursor != "none":
            sql += f" AND {_after(p, keys)}"
        return f"{sql} ORDER BY {order} LIMIT {p('limit')}"

    # The page comes back in the inner query's order only if the outer query says so too;
    # sorting the page (at most `limit` rows) again costs nothing measurable.
    return ReadStatement.build(engine, lambda p: scoped_to_caller(p, rows, order_by=order))


def _stored(row: Row, start: int = _TASK_START) -> StoredTask:
    """The task in `row` from column `start` on: the contract's fields, then the version."""
    return StoredTask(TaskRecord(*row[start : start + 9]), row[start + 9])


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class TaskReads:
    """Reads of the caller's tasks, each one round trip that also runs the caller check."""

    def __init__(self, reads: ReadPool) -> None:
        self._reads = reads

    async def get(self, claims: CallerClaims, task_id: uuid.UUID) -> CallerTask:
        rows = await self._reads.fetch(
            _get_statement(self._reads.engine),
            {**caller_values(claims), "task_id": task_id},
            (*CALLER_KINDS, *_TASK_KINDS),
        )
        if not rows:
            return CallerTask(caller=None, task=None)
        row = rows[0]
        task = _stored(row) if row[_TASK_START] is not None else None
        return CallerTask(caller=caller_from_row(row), task=task)

    async def page(
        self,
        claims: CallerClaims,
        *,
        filters: TaskFilters,
        sort: SortSpec,
        after: Position | None,
        limit: int,
    ) -> CallerPage:
        values: dict[str, Any] = {**caller_values(claims), "limit": limit}
        present = []
        for name in _FILTER_ORDER:
            value = getattr(filters, name)
            if value is None:
                continue
            present.append(name)
            if name == "text":
                values["pattern"] = "%" + _escape_like(value.lower()) + "%"
            elif name == "tag":
                values["tag"] = value
                values["tag_list"] = [value]
            else:
                values[name] = value
        cursor: CursorKind = "none"
        if after is not None:
            cursor = "missing_due" if sort.key == "due_at" and after.value is None else "value"
            values["after_value"] = after.value
            values["after_id"] = after.task_id
        statement = _list_statement(self._reads.engine, tuple(present), sort, cursor)
        rows = await self._reads.fetch(statement, values, (*CALLER_KINDS, *_TASK_KINDS))
        if not rows:
            return CallerPage(caller=None, tasks=[])
        tasks = [_stored(row) for row in rows if row[_TASK_START] is not None]
        return CallerPage(caller=caller_from_row(rows[0]), tasks=tasks)


# ---------------------------------------------------------------------------------------------
# Writes: SQLAlchemy Core in the request's session
# ---------------------------------------------------------------------------------------------

_WRITE_RETURNING = (
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


def _stored_from_mapping(row: RowMapping) -> StoredTask:
    return StoredTask(
        TaskRecord(
            id=row["id"],
            title=row["title"],
            description=row["description"],
            status=row["status"],
            priority=row["priority"],
            due_at=row["due_at"],
            tags=list(row["tags"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        ),
        row["version"],
    )


class TaskRepository:
    """Task writes for one owner, in the request's session; no way to reach another's rows."""

    def __init__(self, session: AsyncSession, *, owner_id: uuid.UUID) -> None:
        self._session = session
        self._owner_id = owner_id

    def _owned(
        self, task_id: uuid.UUID, versions: Collection[int] | None = None
    ) -> ColumnElement[bool]:
        """This owner's task; with `versions`, only while it is at one of them (If-Match)."""
        condition = and_(T.id == task_id, T.owner_id == self._owner_id)
        if versions is not None:
            condition = and_(condition, T.version.in_(versions))
        return condition

    async def exists(self, task_id: uuid.UUID) -> bool:
        result = await self._session.execute(select(T.id).where(self._owned(task_id)))
        return result.first() is not None

    async def insert(self, values: dict[str, Any]) -> StoredTask:
        stmt = (
            insert(TaskRow).values(owner_id=self._owner_id, **values).returning(*_WRITE_RETURNING)
        )
        result = await self._session.execute(stmt)
        return _stored_from_mapping(result.mappings().one())

    async def update(
        self, task_id: uuid.UUID, *, values: dict[str, Any], versions: Collection[int] | None
    ) -> StoredTask | None:
        """Apply `values` and bump the version in one statement; None when nothing matched.

        With `versions`, the row must be at one of them (If-Match); the check and the write
        are one atomic UPDATE, so two racing writers cannot both win.
        """
        stmt = (
            update(TaskRow)
            .where(self._owned(task_id, versions))
            .values(**values, version=T.version + 1)
            .returning(*_WRITE_RETURNING)
        )
        result = await self._session.execute(stmt)
        row = result.mappings().one_or_none()
        return _stored_from_mapping(row) if row is not None else None

    async def delete(self, task_id: uuid.UUID, *, versions: Collection[int] | None) -> bool:
        statement = delete(TaskRow).where(self._owned(task_id, versions)).returning(T.id)
        result = await self._session.execute(statement)
        return result.first() is not None
