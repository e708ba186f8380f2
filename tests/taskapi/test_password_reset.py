"""Password reset by email, end to end through a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from taskapi.auth.service import request_password_reset
from taskapi.auth.tables import PasswordResetTokenRow
from taskapi.core.config import Settings
from taskapi.outbox.tables import OutboxRow
from tests.conftest import AppClientFactory, SignedInUser, UserFactory, make_settings, sql
from tests.support_mail import MailCatcher

pytestmark = pytest.mark.anyio

RESET = "/api/v1/auth/password-reset"
CONFIRM = "/api/v1/auth/password-reset/confirm"
TOKEN = "/api/v1/auth/token"
ME = "/api/v1/users/me"
NEW_PASSWORD = "a brand new passphrase"
OUTBOX = OutboxRow.__table__
RESET_TOKENS = PasswordResetTokenRow.__table__


@pytest.fixture
def settings(database_url: str, mail: MailCatcher) -> Settings:
    """The app sends mail to the test's SMTP server, in plain SMTP on loopback."""
    return make_settings(
        database_url, smtp_host="127.0.0.1", smtp_port=mail.port, smtp_security="none"
    )


def token_in(message: EmailMessage) -> str:
    """The reset token, read from the link in the message as a person would follow it."""
    text = message.get_content()
    match = re.search(r"reset-password#token=([A-Za-z0-9_-]+)", text)
    assert match, text
    return match.group(1)


async def request_reset(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post(RESET, json={"email": email})


async def confirm(client: httpx.AsyncClient, token: str, password: str) -> httpx.Response:
    return await client.post(CONFIRM, json={"token": token, "new_password": password})


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(TOKEN, data={"username": email, "password": password})


@pytest.mark.fr("005-accounts/FR-008", "005-accounts/FR-010")
class TestRequestReset:
    async def test_the_link_arrives_and_sets_a_new_password(
        self, client: httpx.AsyncClient, user: SignedInUser, mail: MailCatcher
    ) -> None:
        response = await request_reset(client, user.email)

        assert response.status_code == 202
        message = mail.only_message_to(user.email)
        assert message["Subject"] == "Reset your password"
        assert message["From"] == "Tasks <no-reply@localhost>"
        confirmed = await confirm(client, token_in(message), NEW_PASSWORD)
        assert confirmed.status_code == 204
        assert (await sign_in(client, user.email, user.password)).status_code == 401
        assert (await sign_in(client, user.email, NEW_PASSWORD)).status_code == 200

    async def test_the_reset_ends_every_session(
        self, client: httpx.AsyncClient, user: SignedInUser, mail: MailCatcher
    ) -> None:
        await request_reset(client, user.email)

        await confirm(client, token_in(mail.only_message_to(user.email)), NEW_PASSWORD)

        assert (await client.get(ME, headers=user.headers)).status_code == 401
        refreshed = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": user.refresh_token}
        )
        assert refreshed.status_code == 401

    async def test_an_unknown_email_gets_the_same_answer_and_no_mail(
        self, client: httpx.AsyncClient, user: SignedInUser, mail: MailCatcher
    ) -> None:
        known = await request_reset(client, user.email)
        unknown = await request_reset(client, "nobody@example.com")

        assert (known.status_code, unknown.status_code) == (202, 202)
        assert known.content == unknown.content == b""
        assert comparable_headers(known.headers) == comparable_headers(unknown.headers)
        assert [m["To"] for m in mail.messages] == [user.email]

    async def test_known_and_unknown_emails_store_the_same_work(
        self, app: FastAPI, user: SignedInUser
    ) -> None:
        # The request's own work, without the drain that follows the response: one outbox
        # entry each, of the same shape, and nothing looked up or minted for either.
        async with app.state.database.sessionmaker() as session:
            for email in (user.email, "nobody@example.com"):
                await request_password_reset(session=session, email=email)
            await session.commit()

        rows = await sql(app, select(OUTBOX.c.kind, OUTBOX.c.payload, OUTBOX.c.attempts))
        assert [(row["kind"], sorted(row["payload"]), row["attempts"]) for row in rows] == [
            ("password_reset", ["client", "email", "request_id"], 0)
        ] * 2
        assert {row["payload"]["email"] for row in rows} == {user.email, "nobody@example.com"}
        assert await sql(app, select(RESET_TOKENS)) == []

    async def test_the_token_is_stored_only_as_its_hash(
        self, app: FastAPI, client: httpx.AsyncClient, user: SignedInUser, mail: MailCatcher
    ) -> None:
        await request_reset(client, user.email)
        token = token_in(mail.only_message_to(user.email))

        rows = await sql(app, select(RESET_TOKENS))

        assert [row["token_hash"] for row in rows] == [hashlib.sha256(token.encode()).hexdigest()]
        assert token not in repr(rows)

    async def test_the_token_is_valid_for_30_minutes(
        self, app: FastAPI, client: httpx.AsyncClient, user: SignedInUser, mail: MailCatcher
    ) -> None:
        before = datetime.now(UTC)
        await request_reset(client, user.email)

        row = (await sql(app, select(RESET_TOKENS)))[0]

        lifetime = row["expires_at"] - row["created_at"]
        assert lifetime == timedelta(minutes=30)
        assert row["created_at"] >= before - timedelta(seconds=1)

    async def test_a_suspended_account_gets_no_mail(
        self,
        client: httpx.AsyncClient,
        user: SignedInUser,
        make_admin: UserFactory,
        mail: MailCatcher,
    ) -> None:
        admin = await make_admin()
        await client.post(f"/api/v1/admin/users/{user.id}/suspend", headers=admin.headers)

        response = await request_reset(client, user.email)

        assert response.status_code == 202
        assert mail.messages == []

    async def test_the_email_is_matched_in_any_letter_case(
        self, client: httpx.AsyncClient, user: SignedInUser, mail: MailCatcher
    ) -> None:
        await request_reset(client, user.email.upper())

        assert len(mail.messages) == 1

    async def test_requests_are_limited_per_client_address(
        self, make_client: AppClientFactory, user: SignedInUser
    ) -> None:
        async with make_client(rate_limit_password_reset="2/hour") as (client, _):
            answers = [
                await request_reset(client, email)
                for email in (user.email, "nobody@example.com", "someone@example.com")
            ]

        assert [r.status_code for r in answers] == [202, 202, 429]
        assert answers[2].headers["content-type"] == "application/problem+json"
        assert int(answers[2].headers["retry-after"]) > 0

    async def test_an_invalid_email_is_422(self, client: httpx.AsyncClient) -> None:
        assert (await request_reset(client, "not-an-email")).status_code == 422


@pytest.mark.fr("005-accounts/FR-009")
class TestConfirmReset:
    async def test_a_token_works_once(
        self, client: httpx.AsyncClient, user: SignedInUser, mail: MailCatcher
    ) -> None:
        await request_reset(client, user.email)
        token = token_in(mail.only_message_to(user.email))
        await confirm(client, token, NEW_PASSWORD)

        again = await confirm(client, token, "yet another fine passphrase")

        assert_invalid_token(again)
        assert (await sign_in(client, user.email, NEW_PASSWORD)).status_code == 200

    async def test_an_expired_token_is_refused(
        self, app: FastAPI, client: httpx.AsyncClient, user: SignedInUser, mail: MailCatcher
    ) -> None:
        await request_reset(client, user.email)
        # Thirty minutes pass: moving the stored expiry is how a test moves time.
        await sql(app, update(RESET_TOKENS).values(expires_at=datetime.now(UTC)))

        response = await confirm(client, token_in(mail.only_message_to(user.email)), NEW_PASSWORD)

        assert_invalid_token(response)
        assert (await sign_in(client, user.email, user.password)).status_code == 200

    async def test_a_newer_request_replaces_the_earlier_token(
        self, client: httpx.AsyncClient, user: SignedInUser, mail: MailCatcher
    ) -> None:
        await request_reset(client, user.email)
        await request_reset(client, user.email)
        first, second = (token_in(message) for message in mail.messages)

        assert_invalid_token(await confirm(client, first, NEW_PASSWORD))
        assert (await confirm(client, second, NEW_PASSWORD)).status_code == 204

    async def test_an_unknown_token_is_422_naming_token(self, client: httpx.AsyncClient) -> None:
        assert_invalid_token(await confirm(client, "x" * 43, NEW_PASSWORD))

    async def test_a_weak_password_is_refused_and_the_token_stays_usable(
        self, client: httpx.AsyncClient, user: SignedInUser, mail: MailCatcher
    ) -> None:
        await request_reset(client, user.email)
        token = token_in(mail.only_message_to(user.email))

        weak = await confirm(client, token, "password123")

        assert weak.status_code == 422
        assert [issue["loc"] for issue in weak.json()["errors"]] == [["body", "new_password"]]
        assert (await confirm(client, token, NEW_PASSWORD)).status_code == 204

    async def test_a_password_change_voids_a_pending_reset_link(
        self, client: httpx.AsyncClient, user: SignedInUser, mail: MailCatcher
    ) -> None:
        await request_reset(client, user.email)
        await client.post(
            "/api/v1/users/me/password",
            headers=user.headers,
            json={"current_password": user.password, "new_password": NEW_PASSWORD},
        )

        response = await confirm(
            client, token_in(mail.only_message_to(user.email)), "yet another fine passphrase"
        )

        assert_invalid_token(response)


@pytest.mark.fr("005-accounts/FR-010")
class TestDelivery:
    async def test_a_refused_send_is_logged_and_retried_until_it_arrives(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: SignedInUser,
        mail: MailCatcher,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        mail.refuse = 1
        with caplog.at_level(logging.WARNING, logger="taskapi.outbox"):
            response = await request_reset(client, user.email)

        assert response.status_code == 202
        assert mail.refused == 1 and mail.messages == []
        assert any("attempt 1 of 8 failed" in r.getMessage() for r in caplog.records)
        queued = await sql(app, select(OUTBOX.c.attempts, OUTBOX.c.last_error))
        assert queued[0]["attempts"] == 1 and "451" in queued[0]["last_error"]

        # Not due yet: a drain now leaves it; after the backoff (30 s) it goes out.
        assert await app.state.outbox_worker.drain() == 0
        later = datetime.now(UTC) + timedelta(seconds=31)
        assert await app.state.outbox_worker.drain(now=later) == 1

        message = mail.only_message_to(user.email)
        assert (await confirm(client, token_in(message), NEW_PASSWORD)).status_code == 204
        assert await sql(app, select(OUTBOX)) == []

    async def test_after_the_last_attempt_the_entry_is_kept_and_logged_as_an_error(
        self,
        make_client: AppClientFactory,
        user: SignedInUser,
        mail: MailCatcher,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        mail.refuse = 10
        async with make_client(
            smtp_host="127.0.0.1",
            smtp_port=mail.port,
            smtp_security="none",
            outbox_max_attempts=2,
        ) as (client, app):
            with caplog.at_level(logging.WARNING, logger="taskapi.outbox"):
                await request_reset(client, user.email)
                await app.state.outbox_worker.drain(now=datetime.now(UTC) + timedelta(hours=1))

            rows = await sql(app, select(OUTBOX.c.attempts, OUTBOX.c.failed_at))
            assert rows[0]["attempts"] == 2 and rows[0]["failed_at"] is not None
            # Failed entries are never tried again.
            assert (
                await app.state.outbox_worker.drain(now=datetime.now(UTC) + timedelta(days=1)) == 0
            )
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1 and "gave up" in errors[0].getMessage()
        assert mail.refused == 2

    async def test_an_unreachable_server_keeps_the_request_for_later(
        self, make_client: AppClientFactory, user: SignedInUser
    ) -> None:
        async with make_client(smtp_host="127.0.0.1", smtp_port=1, smtp_security="none") as (
            client,
            app,
        ):
            response = await request_reset(client, user.email)

            assert response.status_code == 202
            rows = await sql(app, select(OUTBOX.c.attempts, OUTBOX.c.failed_at))
            assert rows == [{"attempts": 1, "failed_at": None}]

    async def test_without_smtp_settings_the_message_is_written_to_the_log(
        self, make_client: AppClientFactory, user: SignedInUser, caplog: pytest.LogCaptureFixture
    ) -> None:
        async with make_client() as (client, app):
            with caplog.at_level(logging.INFO, logger="taskapi.mail"):
                await request_reset(client, user.email)

            logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "taskapi.mail")
            token = re.search(r"reset-password#token=([A-Za-z0-9_-]+)", logged)
            assert token, logged
            assert (await confirm(client, token.group(1), NEW_PASSWORD)).status_code == 204
            assert await sql(app, select(OUTBOX)) == []

    async def test_production_without_smtp_warns_at_start_and_fails_each_send_loudly(
        self, make_client: AppClientFactory, user: SignedInUser, caplog: pytest.LogCaptureFixture
    ) -> None:
        # A reset link in a production log would hand the account to whoever reads the log.
        with caplog.at_level(logging.INFO):
            async with make_client(env="production") as (client, app):
                response = await request_reset(client, user.email)
                rows = await sql(app, select(OUTBOX.c.attempts, OUTBOX.c.failed_at))

        assert response.status_code == 202
        assert rows[0]["failed_at"] is not None  # kept for an operator, never retried
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("TASKAPI_SMTP_HOST is not set" in m for m in warnings), warnings
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1 and "TASKAPI_SMTP_HOST" in errors[0], errors
        assert not any("token=" in r.getMessage() for r in caplog.records)


def assert_invalid_token(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["errors"][0]["loc"] == ["body", "token"]
    assert body["errors"][0]["type"] == "invalid_reset_token"


def comparable_headers(headers: httpx.Headers) -> dict[str, str]:
    """The headers that could differ by address: all but the request id, and the remaining
    count of the per-client budget (`RateLimit`), which every request lowers by one whatever
    the address (the policy, `RateLimit-Policy`, is compared)."""
    return {k: v for k, v in headers.items() if k not in ("x-request-id", "ratelimit")}
