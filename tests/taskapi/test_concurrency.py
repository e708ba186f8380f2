"""Races on real connections: no lost update, no double registration."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest

from taskapi.contract.models import TaskCreate, TaskUpdate
from taskapi.core.config import Settings
from taskapi.core.db import create_engine, create_sessionmaker
from taskapi.tasks import service
from taskapi.tasks.errors import TaskChanged
from taskapi.tasks.service import StoredTask
from taskapi.users.tables import UserRow
from tests.conftest import SignedInUser

pytestmark = pytest.mark.anyio
TASKS = "/api/v1/tasks"


async def race_target(client: httpx.AsyncClient, user: SignedInUser) -> tuple[str, dict[str, str]]:
    """A new task's URL, and the caller's headers with If-Match set to its ETag."""
    created = await client.post(TASKS, json={"title": "race"}, headers=user.headers)
    assert created.status_code == 201
    return f"{TASKS}/{created.json()['id']}", {**user.headers, "If-Match": created.headers["ETag"]}


@pytest.mark.fr("002-tasks/FR-014")
class TestUpdateTaskRace:
    async def test_two_patches_with_the_same_if_match_give_one_200_and_one_412(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        url, headers = await race_target(client, user)
        results = await asyncio.gather(
            client.patch(url, json={"title": "left"}, headers=headers),
            client.patch(url, json={"title": "right"}, headers=headers),
        )
        statuses = sorted(r.status_code for r in results)
        assert statuses == [200, 412]
        winner = next(r for r in results if r.status_code == 200)
        stored = await client.get(url, headers=user.headers)
        assert stored.json()["title"] == winner.json()["title"]
        assert stored.headers["ETag"] == winner.headers["ETag"]

    async def test_many_racers_exactly_one_wins(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        url, headers = await race_target(client, user)
        results = await asyncio.gather(
            *(client.patch(url, json={"title": f"racer {i}"}, headers=headers) for i in range(8))
        )
        assert sorted(r.status_code for r in results) == [200] + [412] * 7

    async def test_unconditional_patches_of_different_fields_both_apply(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        url, _ = await race_target(client, user)
        results = await asyncio.gather(
            client.patch(url, json={"status": "done"}, headers=user.headers),
            client.patch(url, json={"priority": "high"}, headers=user.headers),
            client.patch(url, json={"tags": ["both"]}, headers=user.headers),
        )
        assert [r.status_code for r in results] == [200, 200, 200]
        stored = (await client.get(url, headers=user.headers)).json()
        assert (stored["status"], stored["priority"], stored["tags"]) == ("done", "high", ["both"])

    async def test_conditional_delete_racing_an_update_never_deletes_the_new_version(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        url, headers = await race_target(client, user)
        update, removal = await asyncio.gather(
            client.patch(url, json={"title": "updated"}, headers=headers),
            client.delete(url, headers=headers),
        )
        # Exactly one of them may win. A delete that commits before the update even reads
        # the task leaves the update a 404 (the task is gone), never a silent success.
        outcome = (update.status_code, removal.status_code)
        assert outcome in ((200, 412), (412, 204), (404, 204))
        stored = await client.get(url, headers=user.headers)
        if update.status_code == 200:
            assert stored.json()["title"] == "updated"
        else:
            assert stored.status_code == 404


@pytest.mark.fr("002-tasks/FR-014")
class TestDeleteTaskRace:
    async def test_deletes_with_the_same_if_match_give_one_204_and_then_404s(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        url, headers = await race_target(client, user)
        results = await asyncio.gather(*(client.delete(url, headers=headers) for _ in range(6)))
        assert sorted(r.status_code for r in results) == [204] + [404] * 5


@pytest.mark.fr("001-auth/FR-002")
class TestRegisterUserRace:
    async def test_same_email_at_once_gives_one_201_and_one_409(
        self, client: httpx.AsyncClient
    ) -> None:
        body: dict[str, Any] = {"email": "twin@example.com", "password": "correct horse battery"}
        results = await asyncio.gather(
            client.post("/api/v1/auth/register", json=body),
            client.post("/api/v1/auth/register", json={**body, "email": "TWIN@example.com"}),
        )
        assert sorted(r.status_code for r in results) == [201, 409]


@pytest.mark.fr("002-tasks/FR-013")
class TestIfMatchIsEvaluatedAtWriteTime:
    """The precondition is part of the UPDATE, so it sees the row as it is when written."""

    @pytest.fixture
    async def stale(self, settings: Settings) -> AsyncIterator[tuple[Any, StoredTask, StoredTask]]:
        """A session maker, a task as first read, and the same task after another commit."""
        engine = create_engine(settings)
        sessions = create_sessionmaker(engine)
        owner = uuid.uuid4()
        async with sessions() as session, session.begin():
            session.add(UserRow(id=owner, email=f"{owner.hex}@example.com", password_hash="x"))
            await session.flush()
            first = await service.create_task(
                session=session, owner_id=owner, data=TaskCreate(title="first")
            )
        async with sessions() as session, session.begin():
            newer = await service.update_task(
                session=session,
                owner_id=owner,
                current=first,
                data=TaskUpdate(title="changed meanwhile"),
                if_match=None,
            )
        yield (sessions, owner), first, newer
        await engine.dispose()

    async def _patch(self, sessions: Any, owner: uuid.UUID, read: StoredTask, if_match: str) -> str:
        async with sessions() as session, session.begin():
            updated = await service.update_task(
                session=session,
                owner_id=owner,
                current=read,
                data=TaskUpdate(title="mine"),
                if_match=if_match,
            )
            return updated.task.title

    async def test_star_matches_the_version_changed_since_the_read(
        self, stale: tuple[Any, StoredTask, StoredTask]
    ) -> None:
        (sessions, owner), first, _ = stale
        assert await self._patch(sessions, owner, first, "*") == "mine"

    async def test_the_current_etag_matches_even_after_a_stale_read(
        self, stale: tuple[Any, StoredTask, StoredTask]
    ) -> None:
        (sessions, owner), first, newer = stale
        assert await self._patch(sessions, owner, first, newer.etag) == "mine"

    async def test_the_etag_that_was_read_no_longer_matches(
        self, stale: tuple[Any, StoredTask, StoredTask]
    ) -> None:
        (sessions, owner), first, _ = stale
        with pytest.raises(TaskChanged):
            await self._patch(sessions, owner, first, first.etag)

    async def test_another_tasks_etag_never_matches(
        self, stale: tuple[Any, StoredTask, StoredTask]
    ) -> None:
        (sessions, owner), first, newer = stale
        foreign = newer.etag.replace(newer.task.id.hex, uuid.uuid4().hex)
        with pytest.raises(TaskChanged):
            await self._patch(sessions, owner, first, foreign)


@pytest.mark.fr("003-platform/FR-013")
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
class TestSqliteReadersDoNotWaitForWriters:
    async def test_a_get_completes_while_another_connection_holds_the_write_lock(
        self, client: httpx.AsyncClient, user: SignedInUser, database_url: str
    ) -> None:
        holder = sqlite3.connect(database_url.split(":///", 1)[1], isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("UPDATE users SET full_name = 'being written'")
        try:
            with anyio.fail_after(5):
                response = await client.get("/api/v1/users/me", headers=user.headers)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert response.status_code == 200
        assert response.json()["full_name"] is None  # the committed state, not the write
