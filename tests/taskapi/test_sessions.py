"""Sessions: sign-in, refresh-token rotation and reuse detection, sign-out, listing and ending."""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, select, update

from taskapi.auth.tables import RefreshTokenRow, SessionRow
from taskapi.core.config import Settings
from taskapi.core.db import ColumnKind, ReadPool, ReadStatement, Row, get_read_pool
from tests.conftest import AppClientFactory, SignedInUser, UserFactory, session_id_of, sql

pytestmark = pytest.mark.anyio

TOKEN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/users/me"
SESSIONS = "/api/v1/users/me/sessions"
TASKS = "/api/v1/tasks"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def sign_in(
    client: httpx.AsyncClient, user: SignedInUser, *, user_agent: str | None = None
) -> dict[str, Any]:
    headers = {"User-Agent": user_agent} if user_agent else {}
    response = await client.post(
        TOKEN, data={"username": user.email, "password": user.password}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post(REFRESH, json={"refresh_token": refresh_token})


async def works(client: httpx.AsyncClient, access_token: str) -> bool:
    """Whether the access token is accepted right now (on a users and on a tasks route)."""
    statuses = {
        (await client.get(r, headers=bearer(access_token))).status_code for r in (ME, TASKS)
    }
    assert statuses in ({200}, {401}), statuses
    return statuses == {200}


@pytest.mark.fr("005-accounts/FR-001")
class TestSignIn:
    async def test_answers_in_the_rfc_6749_shape_with_a_refresh_token(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await client.post(
            TOKEN, data={"username": user.email, "password": user.password}
        )

        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
        # 32 random bytes, URL-safe base64 without padding: 43 characters, 256 bits.
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", body["refresh_token"])

    async def test_starts_a_session_named_in_the_access_tokens_sid(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        listed = (await client.get(SESSIONS, headers=user.headers)).json()["items"]

        assert [item["id"] for item in listed] == [str(user.session_id)]
        assert listed[0]["current"] is True

    async def test_stores_only_the_hash_of_the_refresh_token(
        self, app: FastAPI, user: SignedInUser
    ) -> None:
        rows = await sql(app, "SELECT * FROM refresh_tokens")

        assert [row["token_hash"] for row in rows] == [
            hashlib.sha256(user.refresh_token.encode()).hexdigest()
        ]
        assert user.refresh_token not in repr(rows)

    async def test_a_second_sign_in_is_a_second_session_and_both_work(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        second = await sign_in(client, user)

        assert session_id_of(second["access_token"]) != user.session_id
        assert await works(client, user.token)
        assert await works(client, second["access_token"])

    async def test_beyond_the_session_limit_the_least_recently_used_ends(
        self, make_client: AppClientFactory
    ) -> None:
        async with make_client(max_sessions_per_user=2) as (client, _):
            await client.post(
                "/api/v1/auth/register",
                json={"email": "ada@example.com", "password": "correct horse battery"},
            )
            form = {"username": "ada@example.com", "password": "correct horse battery"}
            first, second, third = [
                (await client.post(TOKEN, data=form)).json()["access_token"] for _ in range(3)
            ]

            assert not await works(client, first)
            assert await works(client, second)
            assert await works(client, third)


@pytest.mark.fr("005-accounts/FR-002", "005-accounts/FR-003", "005-accounts/FR-004")
class TestRefreshToken:
    async def test_returns_a_new_access_token_and_a_new_refresh_token(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await refresh(client, user.refresh_token)

        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert body["refresh_token"] != user.refresh_token
        assert body["access_token"] != user.token
        assert session_id_of(body["access_token"]) == user.session_id
        assert await works(client, body["access_token"])

    async def test_the_new_refresh_token_refreshes_again(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        token = user.refresh_token
        for _ in range(3):
            response = await refresh(client, token)
            assert response.status_code == 200
            token = response.json()["refresh_token"]

    async def test_a_spent_refresh_token_revokes_the_whole_session(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        rotated = (await refresh(client, user.refresh_token)).json()

        replayed = await refresh(client, user.refresh_token)

        assert replayed.status_code == 401
        assert replayed.headers["www-authenticate"] == "Bearer"
        assert replayed.json()["type"] == "urn:taskapi:problem:invalid-refresh-token"
        assert "already used" in replayed.json()["detail"]
        # The thief's replay ended the session: the legitimate holder's newest tokens too.
        assert (await refresh(client, rotated["refresh_token"])).status_code == 401
        assert not await works(client, rotated["access_token"])
        assert not await works(client, user.token)

    async def test_reuse_revocation_is_kept_although_the_request_fails(
        self, app: FastAPI, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        await refresh(client, user.refresh_token)

        await refresh(client, user.refresh_token)

        rows = await sql(app, "SELECT revoked_at FROM sessions")
        assert [row["revoked_at"] is not None for row in rows] == [True]

    async def test_reuse_leaves_the_users_other_sessions_alone(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        other = await sign_in(client, user)
        await refresh(client, user.refresh_token)

        await refresh(client, user.refresh_token)

        assert await works(client, other["access_token"])
        assert (await refresh(client, other["refresh_token"])).status_code == 200

    async def test_two_refreshes_racing_with_one_token_let_at_most_one_win(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        responses = await asyncio.gather(*(refresh(client, user.refresh_token) for _ in range(2)))

        assert sorted(r.status_code for r in responses) == [200, 401]
        # The loser presented a spent token: the session is gone, winner's tokens included.
        winner = next(r for r in responses if r.status_code == 200).json()
        assert (await refresh(client, winner["refresh_token"])).status_code == 401

    async def test_exchanges_are_limited_per_client_address(
        self, make_client: AppClientFactory, user: SignedInUser
    ) -> None:
        async with make_client(rate_limit_refresh="1/minute") as (client, _):
            first = await refresh(client, user.refresh_token)
            second = await refresh(client, first.json()["refresh_token"])

        assert (first.status_code, second.status_code) == (200, 429)
        assert "refresh" in second.headers["ratelimit-policy"]

    async def test_an_unknown_refresh_token_is_401(self, client: httpx.AsyncClient) -> None:
        response = await refresh(client, "x" * 43)

        assert response.status_code == 401
        assert response.json()["type"] == "urn:taskapi:problem:invalid-refresh-token"

    async def test_an_access_token_is_not_a_refresh_token(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        assert (await refresh(client, user.token)).status_code in (401, 422)

    async def test_a_refresh_token_is_not_an_access_token(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        assert not await works(client, user.refresh_token)

    async def test_a_refresh_token_unused_past_the_idle_limit_is_401(
        self, app: FastAPI, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        # Thirty days pass: moving the stored expiry is how a test moves time.
        await sql(app, update(RefreshTokenRow.__table__).values(expires_at=PAST))

        response = await refresh(client, user.refresh_token)

        assert response.status_code == 401
        assert "expired" in response.json()["detail"]

    async def test_nothing_refreshes_past_the_sessions_absolute_limit(
        self, app: FastAPI, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        await sql(app, update(SessionRow.__table__).values(expires_at=PAST))

        assert (await refresh(client, user.refresh_token)).status_code == 401
        # The access token dies with its session, before its own 15 minutes are up.
        assert not await works(client, user.token)

    async def test_a_refresh_token_never_outlives_its_session(
        self, make_client: AppClientFactory
    ) -> None:
        async with make_client(session_absolute_ttl_seconds=600, refresh_idle_ttl_seconds=3600) as (
            client,
            app,
        ):
            await client.post(
                "/api/v1/auth/register",
                json={"email": "ada@example.com", "password": "correct horse battery"},
            )
            await client.post(
                TOKEN, data={"username": "ada@example.com", "password": "correct horse battery"}
            )

            tokens = await sql(app, select(RefreshTokenRow.__table__.c.expires_at))
            sessions = await sql(app, select(SessionRow.__table__.c.expires_at))
            assert len(tokens) == len(sessions) == 1
            assert tokens[0]["expires_at"] == sessions[0]["expires_at"]

    async def test_the_idle_limit_is_a_setting_and_every_refresh_restarts_it(
        self, make_client: AppClientFactory
    ) -> None:
        idle, absolute = 300, 7200
        async with make_client(
            refresh_idle_ttl_seconds=idle, session_absolute_ttl_seconds=absolute
        ) as (client, app):
            await client.post(
                "/api/v1/auth/register",
                json={"email": "ada@example.com", "password": "correct horse battery"},
            )
            signed_in = await client.post(
                TOKEN, data={"username": "ada@example.com", "password": "correct horse battery"}
            )
            assert (await refresh(client, signed_in.json()["refresh_token"])).status_code == 200

            t = RefreshTokenRow.__table__.c
            tokens = await sql(app, select(t.issued_at, t.expires_at).order_by(t.issued_at))
            s = SessionRow.__table__.c
            sessions = await sql(app, select(s.created_at, s.expires_at))

        assert len(tokens) == 2
        assert tokens[0]["issued_at"] < tokens[1]["issued_at"]
        for token in tokens:
            assert token["expires_at"] - token["issued_at"] == timedelta(seconds=idle)
        assert sessions[0]["expires_at"] - sessions[0]["created_at"] == timedelta(seconds=absolute)

    def test_the_limits_default_to_30_days_idle_and_90_days_in_all(self) -> None:
        fields = Settings.model_fields
        assert fields["refresh_idle_ttl_seconds"].default == 30 * 24 * 3600
        assert fields["session_absolute_ttl_seconds"].default == 90 * 24 * 3600

    async def test_refreshing_records_when_the_session_was_last_used(
        self, app: FastAPI, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        await sql(app, update(SessionRow.__table__).values(last_used_at=PAST))
        before = (await client.get(SESSIONS, headers=user.headers)).json()["items"][0]

        await refresh(client, user.refresh_token)

        after = (await client.get(SESSIONS, headers=user.headers)).json()["items"][0]
        assert after["last_used_at"] > before["last_used_at"]

    async def test_ordinary_requests_do_not_write_last_used(
        self, app: FastAPI, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        before = await sql(app, select(SessionRow.__table__.c.last_used_at))
        for _ in range(3):
            await client.get(TASKS, headers=user.headers)

        assert await sql(app, select(SessionRow.__table__.c.last_used_at)) == before


class RecordingReads(ReadPool):
    """The app's read pool, recording the text of every statement it runs."""

    def __init__(self, inner: ReadPool) -> None:
        self.engine = inner.engine
        self._inner = inner
        self.statements: list[str] = []

    async def fetch(
        self, statement: ReadStatement, values: Mapping[str, Any], kinds: Sequence[ColumnKind]
    ) -> list[Row]:
        self.statements.append(statement.sql)
        return await self._inner.fetch(statement, values, kinds)


@pytest.mark.fr("005-accounts/FR-005")
class TestLogout:
    @pytest.mark.parametrize("path", [ME, TASKS])
    async def test_the_session_is_checked_in_the_one_statement_that_reads_the_caller(
        self, app: FastAPI, client: httpx.AsyncClient, user: SignedInUser, path: str
    ) -> None:
        reads = RecordingReads(app.state.database.reads)

        async def recording() -> ReadPool:
            return reads

        app.dependency_overrides[get_read_pool] = recording
        # Statements through the ORM engine too (on SQLite the read pool runs on it as well).
        engine_statements: list[str] = []
        event.listen(
            app.state.engine.sync_engine,
            "before_cursor_execute",
            lambda *args: engine_statements.append(args[2]),
        )

        assert (await client.get(path, headers=user.headers)).status_code == 200
        await client.post(LOGOUT, headers=user.headers)
        reads.statements.clear()
        engine_statements.clear()
        refused = await client.get(path, headers=user.headers)

        assert refused.status_code == 401
        # One round trip decided it: the user and the session in the same statement.
        assert len(reads.statements) == 1, reads.statements
        assert re.search(r"\bsessions\b", reads.statements[0]), reads.statements[0]
        assert re.search(r"\busers\b", reads.statements[0]), reads.statements[0]
        others = [
            sql for sql in engine_statements if sql not in reads.statements and "BEGIN" not in sql
        ]
        assert others == []

    async def test_the_access_token_is_refused_on_the_very_next_request(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        assert await works(client, user.token)

        response = await client.post(LOGOUT, headers=user.headers)

        assert response.status_code == 204
        assert response.content == b""
        assert not await works(client, user.token)

    async def test_the_sessions_refresh_token_is_refused(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        await client.post(LOGOUT, headers=user.headers)

        response = await refresh(client, user.refresh_token)

        assert response.status_code == 401
        assert "ended" in response.json()["detail"]

    async def test_other_sessions_keep_working(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        other = await sign_in(client, user)

        await client.post(LOGOUT, headers=user.headers)

        assert await works(client, other["access_token"])

    async def test_twice_is_401_the_second_time(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        await client.post(LOGOUT, headers=user.headers)

        response = await client.post(LOGOUT, headers=user.headers)

        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'

    async def test_without_a_token_is_401(self, client: httpx.AsyncClient) -> None:
        assert (await client.post(LOGOUT)).status_code == 401


@pytest.mark.fr("005-accounts/FR-006")
class TestListSessions:
    async def test_lists_each_device_with_its_user_agent_and_the_current_one(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        phone = await sign_in(client, user, user_agent="TasksPhone/2.0")

        items = (await client.get(SESSIONS, headers=user.headers)).json()["items"]

        by_id = {item["id"]: item for item in items}
        assert set(by_id) == {str(user.session_id), str(session_id_of(phone["access_token"]))}
        assert by_id[str(session_id_of(phone["access_token"]))]["user_agent"] == "TasksPhone/2.0"
        assert by_id[str(session_id_of(phone["access_token"]))]["current"] is False
        assert by_id[str(user.session_id)]["current"] is True
        for item in items:
            assert set(item) == {
                "id",
                "created_at",
                "last_used_at",
                "expires_at",
                "user_agent",
                "current",
            }
            assert item["created_at"] <= item["last_used_at"] < item["expires_at"]

    async def test_ended_sessions_are_not_listed(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        other = await sign_in(client, user)
        await client.post(LOGOUT, headers=bearer(other["access_token"]))

        items = (await client.get(SESSIONS, headers=user.headers)).json()["items"]

        assert [item["id"] for item in items] == [str(user.session_id)]

    async def test_shows_only_the_callers_sessions(
        self, client: httpx.AsyncClient, user: SignedInUser, make_user: UserFactory
    ) -> None:
        other = await make_user()

        items = (await client.get(SESSIONS, headers=other.headers)).json()["items"]

        assert [item["id"] for item in items] == [str(other.session_id)]


@pytest.mark.fr("005-accounts/FR-006")
class TestDeleteSession:
    async def test_ends_that_session_at_once_and_leaves_the_current_one(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        phone = await sign_in(client, user)
        phone_id = session_id_of(phone["access_token"])

        response = await client.delete(f"{SESSIONS}/{phone_id}", headers=user.headers)

        assert response.status_code == 204
        assert not await works(client, phone["access_token"])
        assert (await refresh(client, phone["refresh_token"])).status_code == 401
        assert await works(client, user.token)

    async def test_ending_the_current_session_signs_out(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await client.delete(f"{SESSIONS}/{user.session_id}", headers=user.headers)

        assert response.status_code == 204
        assert not await works(client, user.token)

    async def test_another_users_session_is_404_and_keeps_working(
        self, client: httpx.AsyncClient, user: SignedInUser, make_user: UserFactory
    ) -> None:
        other = await make_user()

        response = await client.delete(f"{SESSIONS}/{other.session_id}", headers=user.headers)

        assert response.status_code == 404
        assert response.json()["type"] == "urn:taskapi:problem:session-not-found"
        assert await works(client, other.token)

    async def test_an_unknown_or_ended_session_is_404(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        other = await sign_in(client, user)
        other_id = session_id_of(other["access_token"])
        await client.delete(f"{SESSIONS}/{other_id}", headers=user.headers)

        for session_id in (other_id, uuid.uuid4()):
            response = await client.delete(f"{SESSIONS}/{session_id}", headers=user.headers)
            assert response.status_code == 404, session_id

    async def test_a_malformed_id_is_422(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await client.delete(f"{SESSIONS}/not-a-uuid", headers=user.headers)

        assert response.status_code == 422


PAST = datetime(2020, 1, 1, tzinfo=UTC)
