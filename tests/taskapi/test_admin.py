"""Roles and account administration: the admin guard, listing, suspension, roles, last admin."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from taskapi.users.errors import LastAdmin
from taskapi.users.repository import UserRepository
from taskapi.users.service import ensure_another_active_admin
from taskapi.users.tables import UserRow
from tests.conftest import SignedInUser, UserFactory, sql

pytestmark = pytest.mark.anyio

USERS = "/api/v1/admin/users"
TOKEN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/users/me"
TASKS = "/api/v1/tasks"


def admin_calls(user_id: uuid.UUID | str) -> list[tuple[str, str, dict[str, Any] | None]]:
    """One call of every admin operation (method, path, JSON body)."""
    return [
        ("GET", USERS, None),
        ("GET", f"{USERS}/{user_id}", None),
        ("POST", f"{USERS}/{user_id}/suspend", None),
        ("POST", f"{USERS}/{user_id}/reactivate", None),
        ("PUT", f"{USERS}/{user_id}/role", {"role": "admin"}),
    ]


async def call(
    client: httpx.AsyncClient, caller: SignedInUser, method: str, path: str, body: Any = None
) -> httpx.Response:
    return await client.request(method, path, headers=caller.headers, json=body)


async def suspend(client: httpx.AsyncClient, admin: SignedInUser, user_id: Any) -> httpx.Response:
    return await call(client, admin, "POST", f"{USERS}/{user_id}/suspend")


async def set_role(
    client: httpx.AsyncClient, admin: SignedInUser, user_id: Any, role: str
) -> httpx.Response:
    return await call(client, admin, "PUT", f"{USERS}/{user_id}/role", {"role": role})


OPERATION_IDS = ["listUsers", "getUser", "suspendUser", "reactivateUser", "changeUserRole"]


@pytest.mark.fr("005-accounts/FR-013", "005-accounts/FR-014")
class TestAdminGuard:
    @pytest.mark.parametrize(
        "operation", range(5), ids=lambda i: admin_calls("x")[i][1][15:] or "list"
    )
    async def test_a_plain_user_gets_403_on_every_admin_operation(
        self, client: httpx.AsyncClient, user: SignedInUser, make_user: UserFactory, operation: int
    ) -> None:
        target = await make_user()
        for user_id in (target.id, uuid.uuid4(), "not-a-uuid"):
            method, path, body = admin_calls(user_id)[operation]
            response = await call(client, user, method, path, body)
            assert response.status_code == 403, (path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["type"] == "urn:taskapi:problem:admin-required"
        # And nothing happened to the target.
        assert (await client.get(ME, headers=target.headers)).status_code == 200

    async def test_a_plain_user_gets_403_even_with_an_invalid_body(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await call(client, user, "PUT", f"{USERS}/{user.id}/role", {"role": "root"})

        assert response.status_code == 403

    @pytest.mark.parametrize("operation", range(5), ids=OPERATION_IDS)
    async def test_without_a_token_every_admin_operation_is_401(
        self, client: httpx.AsyncClient, operation: int
    ) -> None:
        method, path, body = admin_calls(uuid.uuid4())[operation]

        response = await client.request(method, path, json=body)

        assert response.status_code == 401

    async def test_a_user_promoted_meanwhile_is_admin_with_the_token_they_hold(
        self, client: httpx.AsyncClient, user: SignedInUser, make_admin: UserFactory
    ) -> None:
        admin = await make_admin()
        assert (await call(client, user, "GET", USERS)).status_code == 403

        await set_role(client, admin, user.id, "admin")

        assert (await call(client, user, "GET", USERS)).status_code == 200

    async def test_a_demoted_admin_is_refused_on_their_next_request(
        self, client: httpx.AsyncClient, make_admin: UserFactory
    ) -> None:
        first, second = await make_admin(), await make_admin()
        assert (await call(client, second, "GET", USERS)).status_code == 200

        assert (await set_role(client, first, second.id, "user")).status_code == 200

        assert (await call(client, second, "GET", USERS)).status_code == 403


@pytest.mark.fr("005-accounts/FR-015")
class TestListUsers:
    async def test_pages_through_every_account_once_in_email_order(
        self, client: httpx.AsyncClient, make_admin: UserFactory, make_user: UserFactory
    ) -> None:
        admin = await make_admin(email="root@example.com")
        for n in range(5):
            await make_user(email=f"member{n}@example.com")

        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = (await client.get(USERS, headers=admin.headers, params=params)).json()
            seen += [item["email"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break

        assert seen == sorted(seen)
        assert sorted(seen) == sorted(
            ["root@example.com", *(f"member{n}@example.com" for n in range(5))]
        )

    async def test_shows_account_fields_and_nothing_of_tasks(
        self, client: httpx.AsyncClient, make_admin: UserFactory, make_user: UserFactory
    ) -> None:
        admin = await make_admin()
        member = await make_user(email="member@example.com", full_name="Mem Ber")
        await client.post(TASKS, headers=member.headers, json={"title": "private plans"})

        response = await client.get(USERS, headers=admin.headers, params={"email_prefix": "member"})

        assert response.status_code == 200
        assert response.json()["items"] == [
            {
                "id": str(member.id),
                "email": "member@example.com",
                "full_name": "Mem Ber",
                "role": "user",
                "active": True,
                "created_at": response.json()["items"][0]["created_at"],
            }
        ]
        assert "private plans" not in response.text

    async def test_filters_by_email_prefix_role_and_active(
        self, client: httpx.AsyncClient, make_admin: UserFactory, make_user: UserFactory
    ) -> None:
        admin = await make_admin(email="boss@example.com")
        await make_user(email="ann@example.com")
        bob = await make_user(email="bob@example.com")
        await make_user(email="bobby@example.com")
        await suspend(client, admin, bob.id)

        async def emails(**params: Any) -> list[str]:
            page = (await client.get(USERS, headers=admin.headers, params=params)).json()
            return [item["email"] for item in page["items"]]

        assert await emails(email_prefix="BOB") == ["bob@example.com", "bobby@example.com"]
        assert await emails(role="admin") == ["boss@example.com"]
        assert await emails(active="false") == ["bob@example.com"]
        assert await emails(email_prefix="bo", active="true", role="user") == ["bobby@example.com"]

    async def test_a_prefix_with_like_wildcards_matches_them_literally(
        self, client: httpx.AsyncClient, make_admin: UserFactory, make_user: UserFactory
    ) -> None:
        admin = await make_admin(email="admin@example.com")
        await make_user(email="a_b@example.com")
        await make_user(email="axb@example.com")

        page = (
            await client.get(USERS, headers=admin.headers, params={"email_prefix": "a_"})
        ).json()

        assert [item["email"] for item in page["items"]] == ["a_b@example.com"]

    async def test_a_cursor_with_other_filters_is_422(
        self, client: httpx.AsyncClient, make_admin: UserFactory, make_user: UserFactory
    ) -> None:
        admin = await make_admin()
        for _ in range(3):
            await make_user()
        cursor = (await client.get(USERS, headers=admin.headers, params={"limit": 1})).json()[
            "next_cursor"
        ]

        response = await client.get(
            USERS, headers=admin.headers, params={"limit": 1, "cursor": cursor, "role": "user"}
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["query", "cursor"]


@pytest.mark.fr("005-accounts/FR-015")
class TestGetUser:
    async def test_returns_the_account(
        self, client: httpx.AsyncClient, make_admin: UserFactory, user: SignedInUser
    ) -> None:
        admin = await make_admin()

        response = await call(client, admin, "GET", f"{USERS}/{user.id}")

        assert response.status_code == 200
        assert response.json()["email"] == user.email

    async def test_an_unknown_id_is_404(
        self, client: httpx.AsyncClient, make_admin: UserFactory
    ) -> None:
        admin = await make_admin()

        response = await call(client, admin, "GET", f"{USERS}/{uuid.uuid4()}")

        assert response.status_code == 404
        assert response.json()["type"] == "urn:taskapi:problem:user-not-found"


@pytest.mark.fr("005-accounts/FR-013", "005-accounts/FR-016")
class TestSuspendUser:
    async def test_locks_the_user_out_at_once(
        self, client: httpx.AsyncClient, make_admin: UserFactory, user: SignedInUser
    ) -> None:
        admin = await make_admin()
        assert (await client.get(TASKS, headers=user.headers)).status_code == 200

        response = await suspend(client, admin, user.id)

        assert response.status_code == 200
        assert response.json()["active"] is False
        assert (await client.get(TASKS, headers=user.headers)).status_code == 401
        assert (await client.get(ME, headers=user.headers)).status_code == 401
        refreshed = await client.post(REFRESH, json={"refresh_token": user.refresh_token})
        assert refreshed.status_code == 401

    async def test_the_active_flag_is_read_on_every_request(
        self, app: FastAPI, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        # Even with its session left alive, an inactive account's token is refused.
        await sql(app, update(UserRow.__table__).values(is_active=False))

        assert (await client.get(TASKS, headers=user.headers)).status_code == 401

    async def test_signing_in_is_403_until_reactivated(
        self, client: httpx.AsyncClient, make_admin: UserFactory, user: SignedInUser
    ) -> None:
        admin = await make_admin()
        await suspend(client, admin, user.id)
        form = {"username": user.email, "password": user.password}

        refused = await client.post(TOKEN, data=form)
        wrong = await client.post(TOKEN, data={**form, "password": "not the password"})

        assert refused.status_code == 403
        assert refused.json()["type"] == "urn:taskapi:problem:account-suspended"
        # Only the right password learns that the account is suspended.
        assert wrong.status_code == 401
        reactivated = await call(client, admin, "POST", f"{USERS}/{user.id}/reactivate")
        assert reactivated.status_code == 200 and reactivated.json()["active"] is True
        assert (await client.post(TOKEN, data=form)).status_code == 200

    async def test_suspension_ends_every_session(
        self, app: FastAPI, client: httpx.AsyncClient, make_admin: UserFactory, user: SignedInUser
    ) -> None:
        admin = await make_admin()
        await client.post(TOKEN, data={"username": user.email, "password": user.password})

        await suspend(client, admin, user.id)

        rows = await sql(
            app,
            "SELECT count(*) AS n FROM sessions WHERE revoked_at IS NULL AND user_id = :u",
            u=user.id.hex if app.state.engine.dialect.name == "sqlite" else user.id,
        )
        assert rows[0]["n"] == 0

    async def test_suspending_twice_and_reactivating_twice_change_nothing_more(
        self, client: httpx.AsyncClient, make_admin: UserFactory, user: SignedInUser
    ) -> None:
        admin = await make_admin()

        for _ in range(2):
            assert (await suspend(client, admin, user.id)).json()["active"] is False
        for _ in range(2):
            again = await call(client, admin, "POST", f"{USERS}/{user.id}/reactivate")
            assert again.status_code == 200 and again.json()["active"] is True

    async def test_an_unknown_id_is_404(
        self, client: httpx.AsyncClient, make_admin: UserFactory
    ) -> None:
        admin = await make_admin()

        assert (await suspend(client, admin, uuid.uuid4())).status_code == 404


@pytest.mark.fr("005-accounts/FR-016")
class TestChangeUserRole:
    async def test_promotes_and_demotes(
        self, client: httpx.AsyncClient, make_admin: UserFactory, user: SignedInUser
    ) -> None:
        admin = await make_admin()

        promoted = await set_role(client, admin, user.id, "admin")
        demoted = await set_role(client, admin, user.id, "user")

        assert (promoted.status_code, promoted.json()["role"]) == (200, "admin")
        assert (demoted.status_code, demoted.json()["role"]) == (200, "user")

    async def test_an_unknown_role_is_422(
        self, client: httpx.AsyncClient, make_admin: UserFactory, user: SignedInUser
    ) -> None:
        admin = await make_admin()

        assert (await set_role(client, admin, user.id, "root")).status_code == 422


@pytest.mark.fr("005-accounts/FR-017")
class TestLastAdmin:
    async def test_the_only_admin_cannot_suspend_themselves(
        self, client: httpx.AsyncClient, make_admin: UserFactory
    ) -> None:
        admin = await make_admin()

        response = await suspend(client, admin, admin.id)

        assert response.status_code == 409
        assert response.json()["type"] == "urn:taskapi:problem:last-admin"
        assert (await call(client, admin, "GET", USERS)).status_code == 200

    async def test_the_only_admin_cannot_demote_themselves(
        self, client: httpx.AsyncClient, make_admin: UserFactory
    ) -> None:
        admin = await make_admin()

        response = await set_role(client, admin, admin.id, "user")

        assert response.status_code == 409
        assert (await call(client, admin, "GET", USERS)).status_code == 200

    async def test_the_only_admin_cannot_delete_their_account(
        self, client: httpx.AsyncClient, make_admin: UserFactory
    ) -> None:
        admin = await make_admin()

        response = await client.request(
            "DELETE", ME, headers=admin.headers, json={"password": admin.password}
        )

        assert response.status_code == 409
        assert (await client.get(ME, headers=admin.headers)).status_code == 200

    async def test_with_another_active_admin_an_admin_may_step_down(
        self, client: httpx.AsyncClient, make_admin: UserFactory
    ) -> None:
        first = await make_admin()
        await make_admin()

        assert (await set_role(client, first, first.id, "user")).status_code == 200

    async def test_a_suspended_admin_does_not_count(
        self, client: httpx.AsyncClient, make_admin: UserFactory
    ) -> None:
        first, second = await make_admin(), await make_admin()
        await suspend(client, first, second.id)

        assert (await set_role(client, first, first.id, "user")).status_code == 409

    async def test_a_removal_waits_for_one_in_flight_and_then_sees_it(
        self, app: FastAPI, make_admin: UserFactory
    ) -> None:
        # The HTTP race above may well run one request after the other; this pins the
        # interleaving down: the second check starts while the first removal is uncommitted.
        first, second = await make_admin(), await make_admin()
        sessionmaker = app.state.database.sessionmaker

        async def remove_first() -> None:
            async with sessionmaker() as other:
                await ensure_another_active_admin(UserRepository(other), first.id)

        async with sessionmaker() as session:
            users = UserRepository(session)
            await ensure_another_active_admin(users, second.id)
            await users.set_active(second.id, False)
            racing = asyncio.create_task(remove_first())
            await asyncio.sleep(0.5)
            # It waits for the removal in flight (row locks on PostgreSQL, the write lock on
            # SQLite) instead of counting the second admin who is about to go.
            assert not racing.done()
            await session.commit()

        with pytest.raises(LastAdmin):
            await asyncio.wait_for(racing, timeout=10)

    async def test_two_admins_removing_each_other_at_once_leave_one(
        self, app: FastAPI, client: httpx.AsyncClient, make_admin: UserFactory
    ) -> None:
        first, second = await make_admin(), await make_admin()

        responses = await asyncio.gather(
            suspend(client, first, second.id), suspend(client, second, first.id)
        )

        statuses = sorted(r.status_code for r in responses)
        # The loser is refused as the last admin (409), or, if it was checked after the
        # winner committed, as no longer allowed (401: its sessions ended).
        assert statuses in ([200, 401], [200, 409]), statuses
        rows = await sql(
            app,
            "SELECT count(*) AS n FROM users WHERE role = 'admin' AND is_active = :yes",
            yes=True,
        )
        assert rows[0]["n"] == 1
