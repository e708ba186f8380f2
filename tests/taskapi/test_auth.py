"""registerUser and getCurrentUser: accounts, e-mail uniqueness, mass assignment, who am I."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import httpx
import pytest

from tests.conftest import AppClientFactory, UserFactory

pytestmark = pytest.mark.anyio

REGISTER = "/api/v1/auth/register"
TOKEN = "/api/v1/auth/token"
ME = "/api/v1/users/me"
PROBLEM = "application/problem+json"
PASSWORD = "correct horse battery"


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(TOKEN, data={"username": email, "password": password})


class TestRegisterUser:
    @pytest.mark.fr("001-auth/FR-001", "001-auth/FR-010", "001-auth/FR-011")
    async def test_returns_201_with_location_and_the_new_user(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(
            REGISTER,
            json={"email": "ada@example.com", "password": PASSWORD, "full_name": "Ada Lovelace"},
        )

        assert response.status_code == 201
        assert response.headers["content-type"] == "application/json"
        assert response.headers["location"] == ME
        body = response.json()
        assert set(body) == {"id", "email", "full_name", "created_at"}
        assert uuid.UUID(body["id"]).version == 4
        assert body["email"] == "ada@example.com"
        assert body["full_name"] == "Ada Lovelace"
        assert datetime.fromisoformat(body["created_at"]).utcoffset() is not None
        assert "password" not in response.text

    @pytest.mark.fr("001-auth/FR-002")
    async def test_stores_the_email_in_lower_case(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            REGISTER, json={"email": "Ada@Example.COM", "password": PASSWORD}
        )

        assert response.status_code == 201
        assert response.json()["email"] == "ada@example.com"

    @pytest.mark.fr("001-auth/FR-002")
    async def test_duplicate_email_is_409_problem(self, client: httpx.AsyncClient) -> None:
        first = await client.post(REGISTER, json={"email": "ada@example.com", "password": PASSWORD})
        assert first.status_code == 201

        response = await client.post(
            REGISTER, json={"email": "ada@example.com", "password": "another password"}
        )

        assert response.status_code == 409
        assert response.headers["content-type"] == PROBLEM
        body = response.json()
        assert body["type"] == "urn:taskapi:problem:email-already-registered"
        assert body["status"] == 409
        assert body["instance"] == REGISTER

    @pytest.mark.fr("001-auth/FR-002")
    async def test_duplicate_email_differing_only_in_case_is_409(
        self, client: httpx.AsyncClient
    ) -> None:
        await client.post(REGISTER, json={"email": "ada@example.com", "password": PASSWORD})

        response = await client.post(
            REGISTER, json={"email": "ADA@example.com", "password": "another password"}
        )

        assert response.status_code == 409
        assert response.headers["content-type"] == PROBLEM

    @pytest.mark.fr("001-auth/FR-002")
    async def test_duplicate_registration_leaves_the_existing_account_unchanged(
        self, client: httpx.AsyncClient
    ) -> None:
        await client.post(REGISTER, json={"email": "ada@example.com", "password": PASSWORD})
        await client.post(
            REGISTER, json={"email": "ADA@example.com", "password": "attacker password"}
        )

        assert (await sign_in(client, "ada@example.com", PASSWORD)).status_code == 200
        assert (await sign_in(client, "ada@example.com", "attacker password")).status_code == 401

    @pytest.mark.fr("001-auth/FR-003")
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("id", "00000000-0000-4000-8000-000000000000"),
            ("created_at", "2000-01-01T00:00:00Z"),
            ("is_admin", True),
        ],
    )
    async def test_property_outside_the_contract_is_422_and_stores_nothing(
        self, client: httpx.AsyncClient, field: str, value: object
    ) -> None:
        response = await client.post(
            REGISTER, json={"email": "ada@example.com", "password": PASSWORD, field: value}
        )

        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM
        assert [issue["loc"] for issue in response.json()["errors"]] == [["body", field]]
        # Nothing was stored: the address is still free.
        again = await client.post(REGISTER, json={"email": "ada@example.com", "password": PASSWORD})
        assert again.status_code == 201

    @pytest.mark.fr("001-auth/FR-001", "001-auth/FR-003")
    @pytest.mark.parametrize("password", ["x" * 7, "x" * 129], ids=["7-chars", "129-chars"])
    async def test_password_outside_8_to_128_characters_is_422(
        self, client: httpx.AsyncClient, password: str
    ) -> None:
        response = await client.post(
            REGISTER, json={"email": "ada@example.com", "password": password}
        )

        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM
        assert [issue["loc"] for issue in response.json()["errors"]] == [["body", "password"]]
        again = await client.post(REGISTER, json={"email": "ada@example.com", "password": PASSWORD})
        assert again.status_code == 201

    @pytest.mark.fr("001-auth/FR-001")
    async def test_passwords_at_the_length_bounds_are_accepted(
        self, make_client: AppClientFactory
    ) -> None:
        # The contract's bounds alone: with the strength rule at its lowest setting, exactly 8
        # and 128 characters are accepted, and length counts characters, so 128 two-byte
        # characters are not truncated or refused.
        async with make_client(password_min_score=0) as (client, _):
            for n, password in enumerate(["x" * 8, "x" * 128, "é" * 128]):
                email = f"user{n}@example.com"
                response = await client.post(REGISTER, json={"email": email, "password": password})
                assert response.status_code == 201, password
                assert (await sign_in(client, email, password)).status_code == 200, password

    @pytest.mark.fr("001-auth/FR-001", "001-auth/FR-003")
    @pytest.mark.parametrize(
        "email",
        ["not-an-email", " ada@example.com ", "ada@example", ""],
        ids=["no-at", "surrounding-space", "no-tld", "empty"],
    )
    async def test_invalid_email_is_422(self, client: httpx.AsyncClient, email: str) -> None:
        response = await client.post(REGISTER, json={"email": email, "password": PASSWORD})

        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM
        assert [issue["loc"] for issue in response.json()["errors"]] == [["body", "email"]]

    @pytest.mark.fr("001-auth/FR-001")
    async def test_missing_full_name_is_stored_as_null(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            REGISTER, json={"email": "ada@example.com", "password": PASSWORD}
        )

        assert response.status_code == 201
        assert response.json()["full_name"] is None

    @pytest.mark.fr("001-auth/FR-001")
    async def test_null_full_name_is_accepted(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            REGISTER, json={"email": "ada@example.com", "password": PASSWORD, "full_name": None}
        )

        assert response.status_code == 201
        assert response.json()["full_name"] is None

    @pytest.mark.fr("001-auth/FR-001", "001-auth/FR-003")
    async def test_empty_full_name_is_422(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            REGISTER, json={"email": "ada@example.com", "password": PASSWORD, "full_name": ""}
        )

        assert response.status_code == 422
        assert [issue["loc"] for issue in response.json()["errors"]] == [["body", "full_name"]]

    @pytest.mark.fr("001-auth/FR-002")
    async def test_two_concurrent_registrations_of_one_email_give_one_201_and_one_409(
        self, client: httpx.AsyncClient
    ) -> None:
        responses = await asyncio.gather(
            client.post(REGISTER, json={"email": "ada@example.com", "password": PASSWORD}),
            client.post(REGISTER, json={"email": "ADA@example.com", "password": PASSWORD}),
        )

        assert sorted(r.status_code for r in responses) == [201, 409]
        conflict = next(r for r in responses if r.status_code == 409)
        assert conflict.headers["content-type"] == PROBLEM

    @pytest.mark.fr("001-auth/FR-002")
    async def test_twenty_concurrent_registrations_in_mixed_case_give_one_201(
        self, client: httpx.AsyncClient
    ) -> None:
        spellings = [
            "".join(c.upper() if (i >> n) & 1 else c for n, c in enumerate("ada@example.com"))
            for i in range(20)
        ]

        responses = await asyncio.gather(
            *(client.post(REGISTER, json={"email": e, "password": PASSWORD}) for e in spellings)
        )

        assert sorted(r.status_code for r in responses) == [201] + [409] * 19


@pytest.mark.fr("001-auth/FR-009", "001-auth/FR-010")
class TestGetCurrentUser:
    async def test_returns_the_caller(
        self, client: httpx.AsyncClient, make_user: UserFactory
    ) -> None:
        ada = await make_user(email="ada@example.com", full_name="Ada Lovelace")

        response = await client.get(ME, headers=ada.headers)

        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert set(body) == {"id", "email", "full_name", "created_at"}
        assert body["id"] == str(ada.id)
        assert body["email"] == "ada@example.com"
        assert body["full_name"] == "Ada Lovelace"

    async def test_each_token_identifies_its_own_user(
        self, client: httpx.AsyncClient, make_user: UserFactory
    ) -> None:
        ada = await make_user()
        grace = await make_user()

        ada_me = await client.get(ME, headers=ada.headers)
        grace_me = await client.get(ME, headers=grace.headers)

        assert ada_me.json()["id"] == str(ada.id)
        assert grace_me.json()["id"] == str(grace.id)
