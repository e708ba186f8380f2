"""Rate limits: the per-user API budget, sign-in and registration budgets, back-off, headers.

Each test builds an app with small budgets (the shared fixtures use generous ones). The
in-memory store is the default; `TestSharedThroughRedis` repeats the essentials on Redis.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import event, text

from taskapi.auth.dependencies import account_key
from taskapi.core.config import Settings
from taskapi.main import create_app
from tests.api_helpers import assert_problem
from tests.conftest import make_settings
from tests.support_redis import RedisServer

pytestmark = pytest.mark.anyio

ME = "/api/v1/users/me"
TASKS = "/api/v1/tasks"
REGISTER = "/api/v1/auth/register"
TOKEN = "/api/v1/auth/token"
PASSWORD = "correct horse battery"
RATE_LIMIT = re.compile(r'^"(?P<name>[a-z-]+)";r=(?P<r>\d+);t=(?P<t>\d+)$')


@asynccontextmanager
async def limited_app(database_url: str, **overrides: Any) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(database_url, **overrides))
    try:
        yield application
    finally:
        await application.state.engine.dispose()


def client_for(app: FastAPI, address: str = "127.0.0.1") -> httpx.AsyncClient:
    """A client whose requests come from `address` (the peer the server sees)."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def register(client: httpx.AsyncClient, email: str | None = None) -> str:
    email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
    response = await client.post(REGISTER, json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return email


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> httpx.Response:
    return await client.post(TOKEN, data={"username": email, "password": password})


async def bearer(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await sign_in(client, email)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def remaining(response: httpx.Response, budget: str) -> int:
    for member in response.headers["ratelimit"].split(","):
        match = RATE_LIMIT.match(member.strip())
        assert match is not None, response.headers["ratelimit"]
        if match["name"] == budget:
            return int(match["r"])
    raise AssertionError(f"no {budget} member in {response.headers['ratelimit']}")


def assert_rate_limited(response: httpx.Response) -> dict[str, Any]:
    body = assert_problem(response, 429)
    assert body["type"] == "urn:taskapi:problem:rate-limited"
    assert int(response.headers["retry-after"]) >= 1
    return body


@pytest.mark.fr("008-abuse-resistance/FR-004", "008-abuse-resistance/FR-005")
class TestUserBudget:
    async def test_each_response_shows_what_is_left_and_the_excess_is_429(
        self, database_url: str
    ) -> None:
        async with (
            limited_app(database_url, rate_limit_user="3/minute") as app,
            client_for(app) as client,
        ):
            headers = await bearer(client, await register(client))
            answers = [await client.get(ME, headers=headers) for _ in range(4)]

        assert [r.status_code for r in answers[:3]] == [200, 200, 200]
        assert [remaining(r, "user") for r in answers] == [2, 1, 0, 0]
        assert {r.headers["ratelimit-policy"] for r in answers} == {'"user";q=3;w=60'}
        body = assert_rate_limited(answers[3])
        assert "3 requests per 60 seconds" in body["detail"]
        assert 1 <= int(answers[3].headers["retry-after"]) <= 60

    async def test_covers_every_authenticated_operation(self, database_url: str) -> None:
        async with (
            limited_app(database_url, rate_limit_user="4/minute") as app,
            client_for(app) as client,
        ):
            headers = await bearer(client, await register(client))
            created = await client.post(TASKS, json={"title": "A"}, headers=headers)
            url = created.headers["Location"]
            answers = [
                created,
                await client.get(TASKS, headers=headers),
                await client.patch(url, json={"title": "B"}, headers=headers),
                await client.delete(url, headers=headers),
                await client.get(url, headers=headers),
            ]

        assert [r.status_code for r in answers] == [201, 200, 200, 204, 429]
        assert [remaining(r, "user") for r in answers] == [3, 2, 1, 0, 0]

    async def test_another_user_is_unaffected(self, database_url: str) -> None:
        async with (
            limited_app(database_url, rate_limit_user="2/minute") as app,
            client_for(app) as client,
        ):
            greedy = await bearer(client, await register(client))
            modest = await bearer(client, await register(client))
            for _ in range(3):
                await client.get(ME, headers=greedy)

            response = await client.get(ME, headers=modest)

        assert response.status_code == 200
        assert remaining(response, "user") == 1

    async def test_an_invalid_token_spends_nothing(self, database_url: str) -> None:
        async with (
            limited_app(database_url, rate_limit_user="2/minute") as app,
            client_for(app) as client,
        ):
            headers = await bearer(client, await register(client))
            for _ in range(5):
                refused = await client.get(ME, headers={"Authorization": "Bearer nonsense"})
                assert refused.status_code == 401

            response = await client.get(ME, headers=headers)

        assert response.status_code == 200
        assert remaining(response, "user") == 1

    async def test_refusal_touches_no_database(self, database_url: str) -> None:
        async with (
            limited_app(database_url, rate_limit_user="1/minute") as app,
            client_for(app) as client,
        ):
            headers = await bearer(client, await register(client))
            await client.get(ME, headers=headers)
            statements: list[str] = []
            engine = app.state.engine.sync_engine
            event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

            refused = await client.get(f"{TASKS}/{uuid.uuid4()}", headers=headers)

        assert_rate_limited(refused)
        assert statements == []

    async def test_is_off_when_disabled(self, database_url: str) -> None:
        async with (
            limited_app(database_url, rate_limit_user="1/minute", rate_limit_enabled=False) as app,
            client_for(app) as client,
        ):
            headers = await bearer(client, await register(client))
            answers = [await client.get(ME, headers=headers) for _ in range(3)]

        assert [r.status_code for r in answers] == [200, 200, 200]
        assert all("ratelimit" not in r.headers for r in answers)


@pytest.mark.fr("008-abuse-resistance/FR-003", "008-abuse-resistance/FR-005")
class TestRegistrationBudget:
    async def test_per_address_excess_is_429_and_stores_nothing(self, database_url: str) -> None:
        async with limited_app(database_url, rate_limit_register="2/hour") as app:
            async with client_for(app, "203.0.113.7") as client:
                await register(client)
                await register(client)
                refused = await client.post(
                    REGISTER, json={"email": "third@example.com", "password": PASSWORD}
                )
            async with client_for(app, "203.0.113.8") as elsewhere:
                other_address = await elsewhere.post(
                    REGISTER, json={"email": "fourth@example.com", "password": PASSWORD}
                )
            async with app.state.engine.connect() as connection:
                emails = (await connection.execute(text("SELECT email FROM users"))).scalars()
                stored = set(emails)

        assert_rate_limited(refused)
        assert refused.headers["ratelimit-policy"] == '"register";q=2;w=3600'
        assert other_address.status_code == 201
        assert "third@example.com" not in stored
        assert "fourth@example.com" in stored

    @pytest.mark.parametrize(
        ("first", "second", "shared"),
        [
            ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", True),
            ("2001:db8:1:2::1", "2001:db8:1:3::1", False),
            ("::ffff:198.51.100.4", "198.51.100.4", True),
        ],
        ids=["same-ipv6-64", "other-ipv6-64", "ipv4-mapped"],
    )
    async def test_ipv6_addresses_count_per_64(
        self, database_url: str, first: str, second: str, shared: bool
    ) -> None:
        async with limited_app(database_url, rate_limit_register="1/hour") as app:
            async with client_for(app, first) as client:
                await register(client)
            async with client_for(app, second) as client:
                response = await client.post(
                    REGISTER, json={"email": "next@example.com", "password": PASSWORD}
                )

        assert response.status_code == (429 if shared else 201)


@pytest.mark.fr("008-abuse-resistance/FR-003")
class TestTrustedProxies:
    async def test_forwarded_address_counts_behind_a_trusted_proxy(self, database_url: str) -> None:
        async with (
            limited_app(
                database_url, rate_limit_register="1/hour", trusted_proxies=["10.0.0.0/8"]
            ) as app,
            client_for(app, "10.1.2.3") as proxy,
        ):
            first = await proxy.post(
                REGISTER,
                json={"email": "a@example.com", "password": PASSWORD},
                headers={"X-Forwarded-For": "198.51.100.1"},
            )
            second = await proxy.post(
                REGISTER,
                json={"email": "b@example.com", "password": PASSWORD},
                headers={"X-Forwarded-For": "198.51.100.2, 10.9.9.9"},
            )

        assert (first.status_code, second.status_code) == (201, 201)

    async def test_forwarded_header_from_anyone_else_is_ignored(self, database_url: str) -> None:
        async with (
            limited_app(
                database_url, rate_limit_register="1/hour", trusted_proxies=["10.0.0.0/8"]
            ) as app,
            client_for(app, "198.51.100.50") as client,
        ):
            answers = [
                await client.post(
                    REGISTER,
                    json={"email": f"{n}@example.com", "password": PASSWORD},
                    headers={"X-Forwarded-For": f"203.0.113.{n}"},
                )
                for n in (1, 2)
            ]

        assert [r.status_code for r in answers] == [201, 429]


@pytest.mark.fr("008-abuse-resistance/FR-001", "008-abuse-resistance/FR-005")
class TestSignInBudgets:
    async def test_one_address_trying_many_accounts_is_limited(self, database_url: str) -> None:
        async with (
            limited_app(database_url, rate_limit_sign_in_address="3/minute") as app,
            client_for(app, "198.51.100.9") as client,
        ):
            answers = [
                await sign_in(client, f"guess-{n}@example.com", "wrong password") for n in range(4)
            ]

        assert [r.status_code for r in answers] == [401, 401, 401, 429]
        assert remaining(answers[2], "sign-in-address") == 0
        assert_rate_limited(answers[3])

    async def test_one_account_tried_from_many_addresses_is_limited(
        self, database_url: str
    ) -> None:
        async with limited_app(database_url, rate_limit_sign_in_account="3/minute") as app:
            async with client_for(app) as client:
                email = await register(client)
            answers = []
            for n in range(4):
                async with client_for(app, f"198.51.100.{n + 10}") as client:
                    answers.append(await sign_in(client, email.upper(), "wrong password"))

        assert [r.status_code for r in answers] == [401, 401, 401, 429]
        # The account's count is not shown: it would tell anyone how often it was tried.
        assert "sign-in-account" not in answers[0].headers["ratelimit-policy"]
        assert "sign-in-account" not in answers[0].headers["ratelimit"]
        assert answers[0].headers["ratelimit-policy"].startswith('"sign-in-address";')


def back_off_settings(**overrides: Any) -> dict[str, Any]:
    return {
        "sign_in_free_failures_account": 2,
        "sign_in_backoff_base_seconds": 1,
        "sign_in_backoff_max_seconds": 4,
        **overrides,
    }


@pytest.mark.fr("008-abuse-resistance/FR-002")
class TestPasswordConfirmationBackOff:
    """A stolen access token must not be a faster way to guess the account's password."""

    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("POST", f"{ME}/password", {"current_password": "wrong", "new_password": "x" * 20}),
            ("DELETE", ME, {"password": "wrong"}),
        ],
        ids=["changePassword", "deleteCurrentUser"],
    )
    async def test_wrong_passwords_back_off_before_any_check(
        self, database_url: str, method: str, path: str, body: dict[str, str]
    ) -> None:
        async with limited_app(database_url, **back_off_settings()) as app:
            hasher = app.state.password_hasher
            async with client_for(app) as client:
                headers = await bearer(client, await register(client))
                answers = [
                    await client.request(method, path, headers=headers, json=body) for _ in range(3)
                ]
                checks_before = hasher.verifications
                refused = await client.request(method, path, headers=headers, json=body)

        assert [a.status_code for a in answers] == [403, 403, 403]
        assert_rate_limited(refused)
        assert hasher.verifications == checks_before

    async def test_the_right_password_clears_the_failures(self, database_url: str) -> None:
        async with (
            limited_app(database_url, **back_off_settings()) as app,
            client_for(app) as client,
        ):
            headers = await bearer(client, await register(client))
            wrong = {"current_password": "wrong", "new_password": "x" * 20}
            await client.post(f"{ME}/password", headers=headers, json=wrong)
            right = {"current_password": PASSWORD, "new_password": "violet anchor drifts slowly"}
            changed = await client.post(f"{ME}/password", headers=headers, json=right)
            # Counted from zero again: three more wrong ones are answered before a wait starts.
            again = [
                await client.post(f"{ME}/password", headers=headers, json=wrong) for _ in range(3)
            ]

        assert changed.status_code == 204, changed.text
        assert [a.status_code for a in again] == [403, 403, 403]


@pytest.mark.fr("008-abuse-resistance/FR-002")
class TestSignInBackOff:
    async def test_waits_double_after_the_free_failures_up_to_the_cap(
        self, database_url: str
    ) -> None:
        async with limited_app(database_url, **back_off_settings()) as app:
            limiter = app.state.rate_limiter
            async with client_for(app) as client:
                email = await register(client)
                waits = []
                for _ in range(10):
                    response = await sign_in(client, email, "wrong password")
                    if response.status_code == 429:
                        waits.append(int(response.headers["retry-after"]))
                        # Let the wait pass at once: drop the lock, keep the failure count.
                        await limiter.storage.clear(f"sign-in-account-wait/{account_key(email)}")
                    else:
                        assert response.status_code == 401

        assert waits == [1, 2, 4, 4]

    async def test_the_right_password_is_refused_until_the_wait_is_over(
        self, database_url: str
    ) -> None:
        async with (
            limited_app(database_url, **back_off_settings()) as app,
            client_for(app) as client,
        ):
            email = await register(client)
            for _ in range(3):
                await sign_in(client, email, "wrong password")

            during = await sign_in(client, email)
            await asyncio.sleep(int(during.headers["retry-after"]) + 0.2)
            after = await sign_in(client, email)

        assert_rate_limited(during)
        assert after.status_code == 200

    async def test_a_refused_attempt_spends_no_password_check(self, database_url: str) -> None:
        async with (
            limited_app(database_url, **back_off_settings()) as app,
            client_for(app) as client,
        ):
            email = await register(client)
            for _ in range(3):
                await sign_in(client, email, "wrong password")
            before = app.state.password_hasher.verifications

            refused = await sign_in(client, email, "wrong password")

        assert_rate_limited(refused)
        assert app.state.password_hasher.verifications == before

    async def test_success_forgets_the_failures(self, database_url: str) -> None:
        async with (
            limited_app(database_url, **back_off_settings()) as app,
            client_for(app) as client,
        ):
            email = await register(client)
            answers = [
                await sign_in(client, email, "wrong password"),
                await sign_in(client, email, "wrong password"),
                await sign_in(client, email),
                await sign_in(client, email, "wrong password"),
                await sign_in(client, email, "wrong password"),
                await sign_in(client, email, "wrong password"),
            ]

        assert [r.status_code for r in answers] == [401, 401, 200, 401, 401, 401]

    async def test_unknown_and_known_emails_back_off_alike(self, database_url: str) -> None:
        async with (
            limited_app(database_url, **back_off_settings()) as app,
            client_for(app) as client,
        ):
            known = await register(client)
            outcomes = {}
            for email in (known, "nobody@example.com"):
                answers = [await sign_in(client, email, "wrong password") for _ in range(4)]
                outcomes[email] = [r.status_code for r in answers]

        assert outcomes[known] == outcomes["nobody@example.com"] == [401, 401, 401, 429]

    async def test_an_address_failing_everywhere_backs_off_too(self, database_url: str) -> None:
        async with (
            limited_app(database_url, **back_off_settings(sign_in_free_failures_address=3)) as app,
            client_for(app, "198.51.100.77") as client,
        ):
            answers = [
                await sign_in(client, f"spray-{n}@example.com", "Winter2026!") for n in range(5)
            ]

        assert [r.status_code for r in answers] == [401, 401, 401, 401, 429]
        assert "from this address" in answers[4].json()["detail"]


@pytest.mark.fr("008-abuse-resistance/FR-006")
class TestStoreFailure:
    async def test_an_unreachable_redis_lets_requests_through_and_says_so(
        self, database_url: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.WARNING, logger="taskapi.ratelimit")
        with socket.socket() as sock:  # a port nothing listens on
            sock.bind(("127.0.0.1", 0))
            closed_port = sock.getsockname()[1]
        async with (
            limited_app(
                database_url,
                rate_limit_user="1/minute",
                rate_limit_storage_url=f"redis://127.0.0.1:{closed_port}/0",
            ) as app,
            client_for(app) as client,
        ):
            headers = await bearer(client, await register(client))
            answers = [await client.get(ME, headers=headers) for _ in range(3)]

        assert [r.status_code for r in answers] == [200, 200, 200]
        warnings = [r for r in caplog.records if "not being limited" in r.getMessage()]
        assert len(warnings) == 1


@pytest.mark.fr("008-abuse-resistance/FR-006")
class TestSettings:
    @pytest.mark.parametrize("rate", ["lots", "10/fortnight", ""])
    def test_an_unreadable_rate_is_refused_naming_the_setting(self, rate: str) -> None:
        with pytest.raises(ValidationError, match="rate_limit_user"):
            Settings(rate_limit_user=rate)

    def test_only_redis_urls_are_storage(self) -> None:
        with pytest.raises(ValidationError, match="rate_limit_storage_url"):
            Settings(rate_limit_storage_url="memcached://127.0.0.1:11211")

    def test_trusted_proxies_must_be_addresses(self) -> None:
        with pytest.raises(ValidationError, match="trusted_proxies"):
            Settings(trusted_proxies=["proxy.internal"])


@pytest.mark.redis
@pytest.mark.fr("008-abuse-resistance/FR-006")
class TestSharedThroughRedis:
    """Two app instances on one Redis share every count."""

    @staticmethod
    def redis_settings(redis_server: RedisServer, **overrides: Any) -> dict[str, Any]:
        return {
            "rate_limit_storage_url": redis_server.url,
            "rate_limit_key_prefix": redis_server.unique_prefix(),
            **overrides,
        }

    async def test_user_budget_is_shared_by_two_instances(
        self, database_url: str, redis_server: RedisServer
    ) -> None:
        shared = self.redis_settings(redis_server, rate_limit_user="3/minute")
        async with (
            limited_app(database_url, **shared) as first,
            limited_app(database_url, **shared) as second,
            client_for(first) as one,
            client_for(second) as two,
        ):
            headers = await bearer(one, await register(one))
            answers = [await (one, two)[n % 2].get(ME, headers=headers) for n in range(4)]

        assert [r.status_code for r in answers] == [200, 200, 200, 429]
        assert [remaining(r, "user") for r in answers] == [2, 1, 0, 0]

    async def test_back_off_is_shared_by_two_instances(
        self, database_url: str, redis_server: RedisServer
    ) -> None:
        shared = self.redis_settings(redis_server, **back_off_settings())
        async with (
            limited_app(database_url, **shared) as first,
            limited_app(database_url, **shared) as second,
            client_for(first) as one,
            client_for(second) as two,
        ):
            email = await register(one)
            for client in (one, two, one):
                await sign_in(client, email, "wrong password")

            refused = await sign_in(two, email)

        assert_rate_limited(refused)

    async def test_keys_carry_the_prefix_and_no_email(
        self, database_url: str, redis_server: RedisServer
    ) -> None:
        shared = self.redis_settings(redis_server, **back_off_settings())
        async with limited_app(database_url, **shared) as app, client_for(app) as client:
            email = await register(client)
            await sign_in(client, email, "wrong password")

        keys = await redis_server.keys(shared["rate_limit_key_prefix"])
        assert keys
        assert not [key for key in keys if email.split("@")[0] in key]
