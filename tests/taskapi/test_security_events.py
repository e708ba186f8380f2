"""Security events: one structured line per account action, with who, which request, from
where, and never a password, token or hash."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from taskapi.core.security_events import security_event
from tests.conftest import SignedInUser, UserFactory, sql

pytestmark = pytest.mark.anyio

TOKEN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/refresh"


class Events:
    """The security events logged so far, parsed, each with the response it belongs to."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self._caplog = caplog

    @property
    def lines(self) -> list[str]:
        return [r.getMessage() for r in self._caplog.records if r.name == "taskapi.security"]

    def named(self, event: str) -> list[dict[str, Any]]:
        return [parsed for line in self.lines if (parsed := json.loads(line))["event"] == event]

    def one(self, event: str, response: httpx.Response) -> dict[str, Any]:
        """The single event of this name logged for this response's request."""
        request_id = response.headers["x-request-id"]
        found = [e for e in self.named(event) if e["request_id"] == request_id]
        assert len(found) == 1, (event, self.lines)
        return found[0]


@pytest.fixture
def events(caplog: pytest.LogCaptureFixture) -> Events:
    caplog.set_level(logging.INFO, logger="taskapi.security")
    return Events(caplog)


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(TOKEN, data={"username": email, "password": password})


@pytest.mark.fr("005-accounts/FR-019")
class TestEachActionIsOneEvent:
    async def test_sign_in_success_and_failures(
        self, client: httpx.AsyncClient, user: SignedInUser, events: Events
    ) -> None:
        ok = await sign_in(client, user.email, user.password)
        wrong = await sign_in(client, user.email, "not the password")
        unknown = await sign_in(client, "nobody@example.com", "whatever it is")

        assert events.one("signin.succeeded", ok)["user_id"] == str(user.id)
        assert events.one("signin.failed", wrong) | {"request_id": "-"} == {
            "event": "signin.failed",
            "user_id": str(user.id),
            "request_id": "-",
            "client": "127.0.0.1",
            "reason": "wrong_password",
        }
        failed_unknown = events.one("signin.failed", unknown)
        assert (failed_unknown["user_id"], failed_unknown["reason"]) == (None, "unknown_email")

    async def test_refresh_reuse(
        self, client: httpx.AsyncClient, user: SignedInUser, events: Events
    ) -> None:
        await client.post(REFRESH, json={"refresh_token": user.refresh_token})

        replay = await client.post(REFRESH, json={"refresh_token": user.refresh_token})

        event = events.one("refresh.reuse_detected", replay)
        assert (event["user_id"], event["session_id"]) == (str(user.id), str(user.session_id))

    async def test_sign_out_and_ending_a_session(
        self, client: httpx.AsyncClient, user: SignedInUser, events: Events
    ) -> None:
        other = (await sign_in(client, user.email, user.password)).json()
        other_headers = {"Authorization": f"Bearer {other['access_token']}"}

        ended = await client.delete(
            f"/api/v1/users/me/sessions/{user.session_id}", headers=other_headers
        )
        out = await client.post("/api/v1/auth/logout", headers=other_headers)

        assert events.one("session.revoked", ended)["session_id"] == str(user.session_id)
        assert events.one("logout", out)["user_id"] == str(user.id)

    async def test_password_change(
        self, client: httpx.AsyncClient, user: SignedInUser, events: Events
    ) -> None:
        response = await client.post(
            "/api/v1/users/me/password",
            headers=user.headers,
            json={"current_password": user.password, "new_password": "a brand new passphrase"},
        )

        assert events.one("password.changed", response)["user_id"] == str(user.id)

    async def test_password_reset_request_and_completion(
        self, client: httpx.AsyncClient, user: SignedInUser, events: Events, caplog: Any
    ) -> None:
        requested = await client.post("/api/v1/auth/password-reset", json={"email": user.email})
        token = re.search(r"#token=([A-Za-z0-9_-]+)", caplog.text)
        assert token
        completed = await client.post(
            "/api/v1/auth/password-reset/confirm",
            json={"token": token.group(1), "new_password": "a brand new passphrase"},
        )

        # Logged by the outbox worker after the response, under the asking request's id.
        assert events.one("password_reset.requested", requested)["user_id"] == str(user.id)
        assert events.one("password_reset.completed", completed)["user_id"] == str(user.id)

    async def test_suspension_reactivation_role_change_and_deletion(
        self,
        client: httpx.AsyncClient,
        user: SignedInUser,
        make_admin: UserFactory,
        events: Events,
    ) -> None:
        admin = await make_admin()
        base = f"/api/v1/admin/users/{user.id}"

        suspended = await client.post(f"{base}/suspend", headers=admin.headers)
        reactivated = await client.post(f"{base}/reactivate", headers=admin.headers)
        promoted = await client.put(f"{base}/role", headers=admin.headers, json={"role": "admin"})
        # Suspension ended the user's sessions; a new one deletes the account.
        fresh = (await sign_in(client, user.email, user.password)).json()["access_token"]
        deleted = await client.request(
            "DELETE",
            "/api/v1/users/me",
            headers={"Authorization": f"Bearer {fresh}"},
            json={"password": user.password},
        )

        for event, response in [
            ("user.suspended", suspended),
            ("user.reactivated", reactivated),
            ("user.role_changed", promoted),
        ]:
            found = events.one(event, response)
            assert (found["user_id"], found["actor_id"]) == (str(user.id), str(admin.id))
        assert events.one("user.role_changed", promoted)["new_role"] == "admin"
        assert events.one("account.deleted", deleted)["user_id"] == str(user.id)


@pytest.mark.fr("005-accounts/FR-019")
class TestNeverASecret:
    async def test_a_whole_account_lifecycle_logs_no_password_token_or_hash(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        make_user: UserFactory,
        make_admin: UserFactory,
        events: Events,
        caplog: Any,
    ) -> None:
        admin = await make_admin()
        user = await make_user()
        secrets = {admin.password, admin.token, admin.refresh_token, user.password, user.token}
        secrets.add(user.refresh_token)
        rotated = (await client.post(REFRESH, json={"refresh_token": user.refresh_token})).json()
        secrets |= {rotated["access_token"], rotated["refresh_token"]}
        await client.post(REFRESH, json={"refresh_token": user.refresh_token})  # reuse
        await sign_in(client, user.email, "a wrong password guess")
        fresh = (await sign_in(client, user.email, user.password)).json()
        secrets |= {fresh["access_token"], fresh["refresh_token"]}
        headers = {"Authorization": f"Bearer {fresh['access_token']}"}
        new_password = "a brand new passphrase"
        secrets.add(new_password)
        await client.post(
            "/api/v1/users/me/password",
            headers=headers,
            json={"current_password": user.password, "new_password": new_password},
        )
        await client.post("/api/v1/auth/password-reset", json={"email": user.email})
        reset_token = re.search(r"#token=([A-Za-z0-9_-]+)", caplog.text)
        assert reset_token
        secrets.add(reset_token.group(1))
        await client.post(f"/api/v1/admin/users/{user.id}/suspend", headers=admin.headers)
        await client.post(f"/api/v1/admin/users/{user.id}/reactivate", headers=admin.headers)
        hashes = [row["h"] for row in await sql(app, "SELECT password_hash AS h FROM users")]
        hashes += [row["h"] for row in await sql(app, "SELECT token_hash AS h FROM refresh_tokens")]
        hashes += [
            row["h"] for row in await sql(app, "SELECT token_hash AS h FROM password_reset_tokens")
        ]
        secrets |= set(hashes)

        lines = events.lines
        assert len(lines) >= 10
        for line in lines:
            parsed = json.loads(line)
            assert {"event", "user_id", "request_id", "client"} <= set(parsed), line
            for secret in secrets:
                assert secret not in line, (secret, line)

    def test_a_field_that_could_only_hold_a_secret_is_refused(self) -> None:
        for field in ("password", "refresh_token", "token", "password_hash"):
            with pytest.raises(ValueError, match="never carry secrets"):
                security_event("anything", user_id=None, **{field: "x"})
