"""issueToken and the bearer check every protected operation runs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from taskapi.core.config import Settings
from taskapi.core.security import InvalidTokenError, TokenService
from tests.conftest import TEST_JWT_SECRET, SignedInUser, UserFactory

pytestmark = pytest.mark.anyio

TOKEN = "/api/v1/auth/token"
ME = "/api/v1/users/me"
TASKS = "/api/v1/tasks"
PROBLEM = "application/problem+json"
PROTECTED_ROUTES = (ME, TASKS)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def craft(
    claims: dict[str, Any],
    *,
    header: dict[str, Any] | None = None,
    secret: str = TEST_JWT_SECRET,
    digest: str = "sha256",
    signed: bool = True,
) -> str:
    """A JWT built by hand, so the header can claim any algorithm the signature does not use."""
    head = _b64(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    signing_input = f"{head}.{body}"
    if not signed:
        return f"{signing_input}."
    mac = hmac.new(secret.encode(), signing_input.encode(), getattr(hashlib, digest)).digest()
    return f"{signing_input}.{_b64(mac)}"


def valid_claims(user: SignedInUser, **changes: Any) -> dict[str, Any]:
    """The claims of a valid access token for the user's session, with `changes` applied."""
    return valid_claims_of(user.id, user.session_id, **changes)


def valid_claims_of(user_id: uuid.UUID, session_id: uuid.UUID, **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "sid": str(session_id),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=15)).timestamp()),
        "jti": uuid.uuid4().hex,
        "iss": "taskapi",
        "aud": "taskapi",
        "typ": "access",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"'


def assert_401_problem(response: httpx.Response, challenge: str = "Bearer") -> dict[str, Any]:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"] == challenge
    body: dict[str, Any] = response.json()
    assert body["status"] == 401
    assert body["request_id"] == response.headers["x-request-id"]
    return body


class TestIssueToken:
    @pytest.mark.fr("001-auth/FR-005", "001-auth/FR-011")
    async def test_form_credentials_get_a_bearer_token(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await client.post(
            TOKEN, data={"username": user.email, "password": user.password}
        )

        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == 900
        assert response.headers["cache-control"] == "no-store"

    @pytest.mark.fr("001-auth/FR-006")
    async def test_a_username_no_email_could_have_is_just_unknown(
        self, client: httpx.AsyncClient
    ) -> None:
        # NUL cannot be stored in PostgreSQL text; it must not reach the database as a 500.
        response = await client.post(
            TOKEN, data={"username": "ada\x00@example.com", "password": "whatever"}
        )

        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json()["type"] == "urn:taskapi:problem:invalid-credentials"

    @pytest.mark.fr("001-auth/FR-002", "001-auth/FR-005")
    async def test_username_in_other_letter_case_gets_a_token(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await client.post(
            TOKEN, data={"username": user.email.upper(), "password": user.password}
        )

        assert response.status_code == 200

    @pytest.mark.fr("001-auth/FR-005", "001-auth/FR-013")
    async def test_swagger_ui_style_form_gets_a_token(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await client.post(
            TOKEN,
            data={
                "grant_type": "password",
                "username": user.email,
                "password": user.password,
                "scope": "",
                "client_id": "swagger-ui",
                "client_secret": "",
            },
        )

        assert response.status_code == 200
        assert response.json()["token_type"] == "bearer"

    @pytest.mark.fr("001-auth/FR-006")
    async def test_wrong_password_is_401_problem(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await client.post(TOKEN, data={"username": user.email, "password": "wrong!!!"})

        body = assert_401_problem(response)
        assert body["type"] == "urn:taskapi:problem:invalid-credentials"
        assert "access_token" not in body

    @pytest.mark.fr("001-auth/FR-006")
    async def test_unknown_email_and_wrong_password_answer_identically(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        wrong_password = await client.post(
            TOKEN, data={"username": user.email, "password": "wrong password"}
        )
        unknown_email = await client.post(
            TOKEN, data={"username": "nobody@example.com", "password": "wrong password"}
        )

        def comparable(response: httpx.Response) -> tuple[int, dict[str, str], dict[str, Any]]:
            # RateLimit counts the caller's own attempts, so it moves from one to the next.
            moving = {"x-request-id", "ratelimit"}
            headers = {k: v for k, v in response.headers.items() if k not in moving}
            body = {k: v for k, v in response.json().items() if k != "request_id"}
            return response.status_code, headers, body

        assert comparable(wrong_password) == comparable(unknown_email)
        assert wrong_password.json()["request_id"] != unknown_email.json()["request_id"]

    @pytest.mark.fr("001-auth/FR-005")
    async def test_json_body_instead_of_form_is_415(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await client.post(
            TOKEN, json={"username": user.email, "password": user.password}
        )

        assert response.status_code == 415
        assert response.headers["content-type"] == PROBLEM
        assert "access_token" not in response.text

    @pytest.mark.fr("001-auth/FR-005")
    async def test_unknown_form_field_is_422(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await client.post(
            TOKEN, data={"username": user.email, "password": user.password, "admin": "true"}
        )

        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM
        assert [issue["loc"] for issue in response.json()["errors"]] == [["body", "admin"]]

    @pytest.mark.fr("001-auth/FR-005")
    async def test_grant_type_other_than_password_is_422(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await client.post(
            TOKEN,
            data={
                "grant_type": "client_credentials",
                "username": user.email,
                "password": user.password,
            },
        )

        assert response.status_code == 422
        assert [issue["loc"] for issue in response.json()["errors"]] == [["body", "grant_type"]]

    @pytest.mark.fr("001-auth/FR-005")
    async def test_missing_password_is_422(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await client.post(TOKEN, data={"username": user.email})

        assert response.status_code == 422
        assert [issue["loc"] for issue in response.json()["errors"]] == [["body", "password"]]


@pytest.mark.fr("001-auth/FR-007")
class TestAccessTokenClaims:
    async def test_issued_token_carries_the_documented_claims(self, user: SignedInUser) -> None:
        claims = jwt.decode(user.token, TEST_JWT_SECRET, algorithms=["HS256"], audience="taskapi")

        assert jwt.get_unverified_header(user.token)["alg"] == "HS256"
        assert set(claims) == {"sub", "sid", "exp", "iat", "jti", "iss", "aud", "typ"}
        assert claims["sub"] == str(user.id)
        assert claims["exp"] - claims["iat"] == 900
        assert (claims["iss"], claims["aud"], claims["typ"]) == ("taskapi", "taskapi", "access")

    async def test_jti_is_unique_per_token(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        form = {"username": user.email, "password": user.password}
        tokens = [(await client.post(TOKEN, data=form)).json()["access_token"] for _ in range(3)]

        jtis = {
            jwt.decode(t, TEST_JWT_SECRET, algorithms=["HS256"], audience="taskapi")["jti"]
            for t in [user.token, *tokens]
        }
        assert len(jtis) == 4


@pytest.mark.fr("001-auth/FR-008")
class TestBearerAuthentication:
    """Every way a token can be bad; each is refused on the users route and on a tasks route."""

    async def test_hand_crafted_valid_token_is_accepted(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        # The control for the forgeries below: each differs from this token in one respect.
        headers = {"Authorization": f"Bearer {craft(valid_claims(user))}"}

        for route in PROTECTED_ROUTES:
            response = await client.get(route, headers=headers)
            assert response.status_code == 200, route
        assert (await client.get(ME, headers=headers)).json()["id"] == str(user.id)

    @pytest.mark.fr("001-auth/FR-011")
    async def test_missing_authorization_header_is_401(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        await assert_refused_everywhere(client, {})

    @pytest.mark.parametrize(
        "authorization",
        ["Basic {token}", "{token}", "Bearer "],
        ids=["basic-scheme", "no-scheme", "bearer-without-token"],
    )
    async def test_authorization_without_a_bearer_token_is_401(
        self, client: httpx.AsyncClient, user: SignedInUser, authorization: str
    ) -> None:
        await assert_refused_everywhere(
            client, {"Authorization": authorization.format(token=user.token)}
        )

    @pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c"])
    async def test_malformed_token_is_401(
        self, client: httpx.AsyncClient, user: SignedInUser, token: str
    ) -> None:
        await assert_refused_everywhere(client, {"Authorization": f"Bearer {token}"})

    async def test_expired_token_is_401(
        self, client: httpx.AsyncClient, user: SignedInUser, settings: Settings
    ) -> None:
        issued = TokenService(settings).issue_access_token(
            user_id=user.id,
            session_id=user.session_id,
            now=datetime.now(UTC) - timedelta(minutes=16),
        )

        bodies = await assert_refused_everywhere(
            client, {"Authorization": f"Bearer {issued.token}"}
        )

        assert all("expired" in body["detail"] for body in bodies)

    async def test_token_issued_fourteen_minutes_ago_is_still_accepted(
        self, client: httpx.AsyncClient, user: SignedInUser, settings: Settings
    ) -> None:
        issued = TokenService(settings).issue_access_token(
            user_id=user.id,
            session_id=user.session_id,
            now=datetime.now(UTC) - timedelta(minutes=14),
        )

        response = await client.get(ME, headers={"Authorization": f"Bearer {issued.token}"})

        assert response.status_code == 200

    @pytest.mark.parametrize(
        "forge",
        [
            pytest.param(
                lambda u: craft(valid_claims(u), secret="another-secret-" + "y" * 40),
                id="signed-with-another-key",
            ),
            pytest.param(
                lambda u: craft(valid_claims(u), header={"alg": "none"}, signed=False),
                id="alg-none-unsigned",
            ),
            pytest.param(
                lambda u: craft(valid_claims(u), header={"alg": "none"}),
                id="alg-none-with-valid-hs256-signature",
            ),
            pytest.param(
                lambda u: craft(valid_claims(u), header={"alg": "HS512"}, digest="sha512"),
                id="hs512-with-the-right-key",
            ),
            pytest.param(
                lambda u: craft(valid_claims(u), header={"alg": "RS256"}),
                id="rs256-header-hmac-signature",
            ),
            pytest.param(lambda u: craft(valid_claims(u, aud="other")), id="wrong-audience"),
            pytest.param(lambda u: craft(valid_claims(u, iss="other")), id="wrong-issuer"),
            pytest.param(lambda u: craft(valid_claims(u, typ="refresh")), id="typ-refresh"),
            pytest.param(lambda u: craft(valid_claims(u, sub="not-a-uuid")), id="sub-no-uuid"),
            pytest.param(lambda u: craft(valid_claims(u, sub=12345)), id="sub-integer"),
            pytest.param(lambda u: craft(valid_claims(u, sid="not-a-uuid")), id="sid-no-uuid"),
            pytest.param(
                lambda u: craft(valid_claims(u, sid=str(uuid.uuid4()))), id="sid-of-no-session"
            ),
            pytest.param(
                lambda u: craft(valid_claims(u, iat=int(datetime.now(UTC).timestamp()) + 3600)),
                id="issued-in-the-future",
            ),
            *(
                pytest.param(
                    lambda u, claim=claim: craft(
                        {k: v for k, v in valid_claims(u).items() if k != claim}
                    ),
                    id=f"without-{claim}",
                )
                for claim in ("sub", "sid", "exp", "iat", "jti", "iss", "aud", "typ")
            ),
        ],
    )
    async def test_forged_or_incomplete_token_is_401(
        self, client: httpx.AsyncClient, user: SignedInUser, forge: Any
    ) -> None:
        bodies = await assert_refused_everywhere(client, {"Authorization": f"Bearer {forge(user)}"})

        assert all(body["type"] == "urn:taskapi:problem:unauthorized" for body in bodies)

    async def test_token_of_a_deleted_user_is_401(
        self, client: httpx.AsyncClient, user: SignedInUser, database_url: str
    ) -> None:
        engine = create_async_engine(database_url)
        try:
            async with engine.begin() as connection:
                deleted = await connection.execute(text("DELETE FROM users"))
                assert deleted.rowcount == 1
        finally:
            await engine.dispose()

        bodies = await assert_refused_everywhere(client, user.headers)

        assert all("session of this token has ended" in body["detail"] for body in bodies)

    async def test_token_for_a_user_who_never_existed_is_401(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        # Signed correctly and naming a live session, but not the session's user.
        forged = craft(valid_claims(user, sub=str(uuid.uuid4())))

        await assert_refused_everywhere(client, {"Authorization": f"Bearer {forged}"})

    async def test_token_naming_another_users_session_is_401(
        self, client: httpx.AsyncClient, user: SignedInUser, make_user: UserFactory
    ) -> None:
        other = await make_user()
        forged = craft(valid_claims(user, sid=str(other.session_id)))

        await assert_refused_everywhere(client, {"Authorization": f"Bearer {forged}"})


async def assert_refused_everywhere(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> list[dict[str, Any]]:
    """401 on every protected route; RFC 6750's error code only when a bearer token was sent."""
    scheme, _, token = headers.get("Authorization", "").partition(" ")
    challenge = INVALID_TOKEN_CHALLENGE if scheme == "Bearer" and token.strip() else "Bearer"
    return [
        assert_401_problem(await client.get(route, headers=headers), challenge)
        for route in PROTECTED_ROUTES
    ]


class TestVerifiedTokensAreRemembered:
    """A token is fully verified once; every later use still re-checks its expiry."""

    @pytest.fixture
    def tokens(self) -> TokenService:
        return TokenService(
            Settings(env="test", jwt_secret=TEST_JWT_SECRET, access_token_ttl_seconds=60)
        )

    def test_a_remembered_token_is_refused_once_it_expires(
        self, tokens: TokenService, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        user_id, session_id = uuid.uuid4(), uuid.uuid4()
        issued = tokens.issue_access_token(user_id=user_id, session_id=session_id)
        assert tokens.verify_access_token(issued.token).user_id == user_id

        later = datetime.now(UTC).timestamp() + 61
        # A fake clock (the machine's own would need a minute): only the expiry check reads it.
        monkeypatch.setattr("taskapi.core.security.time.time", lambda: later)

        with pytest.raises(InvalidTokenError, match="expired"):
            tokens.verify_access_token(issued.token)

    def test_a_refused_token_is_refused_again(self, tokens: TokenService) -> None:
        claims = {**valid_claims_of(uuid.uuid4(), uuid.uuid4()), "aud": "other"}
        forged = jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS256")

        for _ in range(2):
            with pytest.raises(InvalidTokenError):
                tokens.verify_access_token(forged)
