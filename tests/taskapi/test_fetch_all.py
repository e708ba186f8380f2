"""fetch_all: the PostgreSQL driver path returns exactly what SQLAlchemy's own execution does."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from taskapi.core.config import Settings
from taskapi.core.db import create_engine, create_sessionmaker, fetch_all
from taskapi.tasks.pagination import Position, SortSpec
from taskapi.tasks.repository import TASK_COLUMNS, T, TaskFilters, TaskRepository, _after
from taskapi.tasks.tables import TaskRow
from taskapi.users.tables import UserRow

pytestmark = pytest.mark.anyio


@pytest.fixture
async def session(settings: Settings) -> AsyncIterator[AsyncSession]:
    engine = create_engine(settings)
    async with create_sessionmaker(engine)() as session:
        yield session
        await session.rollback()
    await engine.dispose()


async def seed(session: AsyncSession) -> tuple[uuid.UUID, list[uuid.UUID]]:
    owner = uuid.uuid4()
    session.add(UserRow(id=owner, email=f"{owner.hex}@example.com", password_hash="x"))
    await session.flush()
    now = datetime.now(UTC)
    ids = [uuid.uuid4() for _ in range(6)]
    for i, task_id in enumerate(ids):
        await session.execute(
            insert(TaskRow).values(
                id=task_id,
                owner_id=owner,
                title=f"task {i % 3}",
                description="needle" if i % 2 else None,
                status="done" if i % 2 else "todo",
                priority=("low", "medium", "high")[i % 3],
                due_at=None if i % 3 == 0 else now + timedelta(days=i),
                tags=["a", "b"] if i % 2 else ["a"],
                created_at=now + timedelta(seconds=i),
                updated_at=now,
                version=1,
            )
        )
    return owner, ids


def statements(session: AsyncSession, owner: uuid.UUID, ids: list[uuid.UUID]) -> list[Any]:
    repository = TaskRepository(session, owner_id=owner)
    by_priority = SortSpec("priority", descending=True)
    keys = repository._sort_keys(by_priority, Position(value=1, task_id=ids[0]))
    filters = TaskFilters(tag="b", text="NEEDLE", due_after=datetime(2000, 1, 1, tzinfo=UTC))
    return [
        repository._readable(*TASK_COLUMNS).where(T.id == ids[1]),
        repository._readable(*TASK_COLUMNS).where(*repository._filter_clauses(filters)),
        repository._readable(*TASK_COLUMNS)
        .where(_after(keys))
        .order_by(*(e.desc() if d else e.asc() for e, d, _ in keys))
        .limit(3),
    ]


@pytest.mark.fr("002-tasks/FR-017")
class TestFetchAll:
    async def test_rows_equal_sqlalchemys_own_result(self, session: AsyncSession) -> None:
        owner, ids = await seed(session)
        for statement in statements(session, owner, ids):
            expected = [dict(r) for r in (await session.execute(statement)).mappings().all()]
            assert expected, "the statement should match rows"
            assert [dict(r) for r in await fetch_all(session, statement)] == expected

    async def test_a_cached_shape_uses_this_calls_values(self, session: AsyncSession) -> None:
        owner, ids = await seed(session)
        for task_id in ids:  # same statement shape, a different id each time
            rows = await fetch_all(
                session,
                select_one := TaskRepository(session, owner_id=owner)
                ._readable(T.id)
                .where(T.id == task_id),
            )
            assert select_one is not None
            assert [row["id"] for row in rows] == [task_id]

    @pytest.mark.fr("002-tasks/FR-004")
    async def test_another_owner_sees_nothing_through_the_cache(
        self, session: AsyncSession
    ) -> None:
        owner, _ = await seed(session)
        await fetch_all(session, TaskRepository(session, owner_id=owner)._readable(T.id))
        stranger = TaskRepository(session, owner_id=uuid.uuid4())
        assert await fetch_all(session, stranger._readable(T.id)) == []

    async def test_in_lists_are_rendered_by_sqlalchemy(self, session: AsyncSession) -> None:
        owner, ids = await seed(session)
        statement = TaskRepository(session, owner_id=owner)._readable(T.id).where(T.id.in_(ids[:2]))
        assert {row["id"] for row in await fetch_all(session, statement)} == set(ids[:2])

    async def test_a_failing_statement_raises_sqlalchemys_error(
        self, session: AsyncSession
    ) -> None:
        owner, _ = await seed(session)
        statement = TaskRepository(session, owner_id=owner)._readable(
            func.no_such_function(T.version).label("boom")
        )
        with pytest.raises(DBAPIError):
            await fetch_all(session, statement)
