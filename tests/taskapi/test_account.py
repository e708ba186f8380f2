"""The signed-in user's own account: password change, account deletion, the password policy."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, true

from taskapi.auth.tables import PasswordResetTokenRow, RefreshTokenRow, SessionRow
from taskapi.chat.tables import ConversationRow, MessageRow
from taskapi.tasks.tables import TaskRow
from taskapi.users.tables import UserRow
from tests.conftest import AppClientFactory, SignedInUser, UserFactory, sql

pytestmark = pytest.mark.anyio

REGISTER = "/api/v1/auth/register"
TOKEN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/users/me"
PASSWORD = "/api/v1/users/me/password"
TASKS = "/api/v1/tasks"
NEW_PASSWORD = "a brand new passphrase"


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(TOKEN, data={"username": email, "password": password})


async def change(
    client: httpx.AsyncClient, user: SignedInUser, current: str, new: str
) -> httpx.Response:
    return await client.post(
        PASSWORD, headers=user.headers, json={"current_password": current, "new_password": new}
    )


def assert_422_naming(response: httpx.Response, field: str) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert [issue["loc"] for issue in body["errors"]] == [["body", field]]
    assert field in body["detail"]
    return body


@pytest.mark.fr("005-accounts/FR-007")
class TestChangePassword:
    async def test_ends_every_other_session_and_keeps_the_current_one(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        other = (await sign_in(client, user.email, user.password)).json()

        response = await change(client, user, user.password, NEW_PASSWORD)

        assert response.status_code == 204
        other_headers = {"Authorization": f"Bearer {other['access_token']}"}
        assert (await client.get(ME, headers=other_headers)).status_code == 401
        refreshed = await client.post(REFRESH, json={"refresh_token": other["refresh_token"]})
        assert refreshed.status_code == 401
        assert (await client.get(ME, headers=user.headers)).status_code == 200
        current = await client.post(REFRESH, json={"refresh_token": user.refresh_token})
        assert current.status_code == 200

    async def test_only_the_new_password_signs_in_afterwards(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        await change(client, user, user.password, NEW_PASSWORD)

        assert (await sign_in(client, user.email, user.password)).status_code == 401
        assert (await sign_in(client, user.email, NEW_PASSWORD)).status_code == 200

    async def test_a_wrong_current_password_is_403_and_changes_nothing(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        other = (await sign_in(client, user.email, user.password)).json()

        response = await change(client, user, "not the password", NEW_PASSWORD)

        assert response.status_code == 403
        assert response.json()["type"] == "urn:taskapi:problem:wrong-password"
        assert (await sign_in(client, user.email, user.password)).status_code == 200
        other_headers = {"Authorization": f"Bearer {other['access_token']}"}
        assert (await client.get(ME, headers=other_headers)).status_code == 200

    async def test_the_current_password_again_is_422_naming_new_password(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await change(client, user, user.password, user.password)

        assert_422_naming(response, "new_password")

    async def test_a_weak_new_password_is_422_saying_what_to_do(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await change(client, user, user.password, "password123")

        body = assert_422_naming(response, "new_password")
        assert body["errors"][0]["type"] == "password_too_weak"
        assert "Add another word or two" in body["detail"]
        assert (await sign_in(client, user.email, user.password)).status_code == 200

    async def test_without_a_token_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            PASSWORD, json={"current_password": "whatever", "new_password": NEW_PASSWORD}
        )

        assert response.status_code == 401


@pytest.mark.fr("005-accounts/FR-011")
class TestDeleteAccount:
    async def test_deletes_the_user_with_their_tasks_sessions_and_tokens(
        self, app: FastAPI, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        for title in ("one", "two"):
            await client.post(TASKS, headers=user.headers, json={"title": title})
        await sign_in(client, user.email, user.password)
        await client.post("/api/v1/auth/password-reset", json={"email": user.email})
        chatted = await client.post(
            "/api/v1/chat", headers=user.headers, json={"message": "list my tasks"}
        )
        assert chatted.status_code == 200, chatted.text
        assert await owned_rows(app, user) == {
            "users": 1,
            "tasks": 2,
            "sessions": 2,
            "refresh_tokens": 2,
            "password_reset_tokens": 1,
            "conversations": 1,
            "messages": 2,
        }

        response = await client.request(
            "DELETE", ME, headers=user.headers, json={"password": user.password}
        )

        assert response.status_code == 204
        assert await owned_rows(app, user) == {
            "users": 0,
            "tasks": 0,
            "sessions": 0,
            "refresh_tokens": 0,
            "password_reset_tokens": 0,
            "conversations": 0,
            "messages": 0,
        }

    async def test_the_token_and_the_password_stop_working(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        await client.request("DELETE", ME, headers=user.headers, json={"password": user.password})

        assert (await client.get(ME, headers=user.headers)).status_code == 401
        assert (await sign_in(client, user.email, user.password)).status_code == 401
        refreshed = await client.post(REFRESH, json={"refresh_token": user.refresh_token})
        assert refreshed.status_code == 401

    async def test_other_users_and_their_tasks_are_untouched(
        self, app: FastAPI, client: httpx.AsyncClient, user: SignedInUser, make_user: UserFactory
    ) -> None:
        other = await make_user()
        await client.post(TASKS, headers=other.headers, json={"title": "keep me"})

        await client.request("DELETE", ME, headers=user.headers, json={"password": user.password})

        assert (await owned_rows(app, other))["tasks"] == 1
        assert (await client.get(TASKS, headers=other.headers)).json()["items"][0]["title"] == (
            "keep me"
        )

    async def test_a_wrong_password_is_403_and_deletes_nothing(
        self, app: FastAPI, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await client.request(
            "DELETE", ME, headers=user.headers, json={"password": "not the password"}
        )

        assert response.status_code == 403
        assert (await owned_rows(app, user))["users"] == 1
        assert (await client.get(ME, headers=user.headers)).status_code == 200

    async def test_without_the_password_is_422(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await client.request("DELETE", ME, headers=user.headers, json={})

        assert response.status_code == 422


@pytest.mark.fr("005-accounts/FR-012")
class TestPasswordPolicy:
    async def test_a_common_password_is_refused_at_registration(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(
            REGISTER, json={"email": "ada@example.com", "password": "password123"}
        )

        body = assert_422_naming(response, "password")
        assert "too easy to guess" in body["detail"]
        assert "common password" in body["detail"]

    @pytest.mark.parametrize(
        "password",
        ["lovelace.ada", "my name is ada.lovelace!", "ADA.LOVELACE-2026 secret"],
        ids=["equal", "inside", "other-case"],
    )
    async def test_a_password_with_the_emails_local_part_is_refused(
        self, client: httpx.AsyncClient, password: str
    ) -> None:
        email = "ada.lovelace@example.com" if password != "lovelace.ada" else "lovelace.ada@ex.com"

        response = await client.post(REGISTER, json={"email": email, "password": password})

        body = assert_422_naming(response, "password")
        assert body["errors"][0]["type"] == "password_contains_email"
        assert "email address" in body["detail"]

    async def test_a_short_local_part_inside_a_strong_password_is_fine(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(
            REGISTER, json={"email": "jo@example.com", "password": "jolly good fellows sing"}
        )

        assert response.status_code == 201

    async def test_a_strong_passphrase_is_accepted(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            REGISTER, json={"email": "ada@example.com", "password": "correct horse battery staple"}
        )

        assert response.status_code == 201

    async def test_a_long_password_is_rated_by_its_first_64_characters(
        self, client: httpx.AsyncClient
    ) -> None:
        strong_start = "violet kangaroo juggles seventeen lanterns quietly at dawn!"
        long_password = (strong_start + "a" * 128)[:128]

        response = await client.post(
            REGISTER, json={"email": "ada@example.com", "password": long_password}
        )

        assert response.status_code == 201

    async def test_the_minimum_score_is_a_setting(self, make_client: AppClientFactory) -> None:
        async with make_client(password_min_score=0) as (client, _):
            response = await client.post(
                REGISTER, json={"email": "ada@example.com", "password": "password123"}
            )

        assert response.status_code == 201

    async def test_a_refused_registration_stores_nothing(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        await client.post(REGISTER, json={"email": "ada@example.com", "password": "password123"})

        assert await sql(app, "SELECT id FROM users") == []


async def owned_rows(app: FastAPI, user: SignedInUser) -> dict[str, int]:
    """How many rows of each table belong to the user (refresh tokens and chat messages: in
    the whole table, since they belong to sessions and conversations, so orphans would show)."""
    tables = {
        "users": (UserRow, UserRow.__table__.c.id == user.id),
        "tasks": (TaskRow, TaskRow.__table__.c.owner_id == user.id),
        "sessions": (SessionRow, SessionRow.__table__.c.user_id == user.id),
        "refresh_tokens": (RefreshTokenRow, true()),
        "password_reset_tokens": (
            PasswordResetTokenRow,
            PasswordResetTokenRow.__table__.c.user_id == user.id,
        ),
        "conversations": (ConversationRow, ConversationRow.__table__.c.owner_id == user.id),
        "messages": (MessageRow, true()),
    }
    counts = {}
    for name, (row, condition) in tables.items():
        rows = await sql(
            app, select(func.count().label("n")).select_from(row.__table__).where(condition)
        )
        counts[name] = rows[0]["n"]
    return counts
