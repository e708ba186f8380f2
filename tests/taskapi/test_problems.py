"""Problem details for every failure, request ids, security headers, health probes and CORS."""

from __future__ import annotations

import json
import logging
import re
import socket
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from taskapi.core.db import SessionDep
from taskapi.main import create_app
from tests.api_helpers import assert_problem
from tests.conftest import SignedInUser, make_settings

pytestmark = pytest.mark.anyio

REGISTER = "/api/v1/auth/register"
TASKS = "/api/v1/tasks"
ONE_MIB = 1_048_576
GENERATED_REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")
API_CSP = "default-src 'none'; frame-ancestors 'none'"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-resource-policy": "same-origin",
}


def registration(email: str = "ada@example.com") -> bytes:
    return json.dumps({"email": email, "password": "correct horse battery"}).encode()


def padded(body: bytes, size: int) -> bytes:
    """Valid JSON of exactly `size` bytes: trailing whitespace is still JSON."""
    return body + b" " * (size - len(body))


class ChunkSource:
    """A streamed body (no Content-Length) that counts how much the server pulled from it."""

    def __init__(self, body: bytes, chunk_size: int = 65_536) -> None:
        self.chunks = [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)]
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.pulled += 1
            yield chunk


@pytest.mark.fr("003-platform/FR-001", "003-platform/FR-002")
class TestUnknownRoute:
    async def test_is_404_problem(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/nope")

        body = assert_problem(response, 404)
        assert body["type"] == "about:blank"
        assert body["title"] == "Not Found"
        assert "/api/v1/nope" in body["detail"]


@pytest.mark.fr("003-platform/FR-001", "003-platform/FR-002")
class TestMethodNotAllowed:
    @pytest.mark.parametrize(
        ("path", "allow"),
        [
            (TASKS, "GET, POST"),
            (f"{TASKS}/{uuid.uuid4()}", "DELETE, GET, PATCH"),
        ],
        ids=["tasks", "task"],
    )
    async def test_is_405_problem_with_allow_listing_every_method_of_the_path(
        self, client: httpx.AsyncClient, path: str, allow: str
    ) -> None:
        response = await client.put(path, json={})

        body = assert_problem(response, 405)
        assert response.headers["allow"] == allow
        assert allow in body["detail"]


@pytest.mark.fr("003-platform/FR-001", "003-platform/FR-003")
class TestMalformedJson:
    async def test_task_body_that_is_not_json_is_400_problem(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await client.post(
            TASKS,
            content=b'{"title": ',
            headers={**user.headers, "Content-Type": "application/json"},
        )

        body = assert_problem(response, 400)
        assert body["type"] == "urn:taskapi:problem:malformed-request"
        assert "not valid JSON" in body["detail"]
        assert "errors" not in body


@pytest.mark.fr("003-platform/FR-001", "003-platform/FR-003")
class TestValidationError:
    async def test_is_422_problem_listing_each_issue(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await client.post(TASKS, json={"title": ""}, headers=user.headers)

        body = assert_problem(response, 422)
        assert body["type"] == "urn:taskapi:problem:validation-failed"
        assert len(body["errors"]) == 1
        issue = body["errors"][0]
        assert set(issue) == {"loc", "message", "type"}
        assert issue["loc"] == ["body", "title"]
        assert issue["message"]
        assert issue["type"] == "string_too_short"
        assert "body.title" in body["detail"]

    async def test_counts_every_invalid_input(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await client.post(
            TASKS, json={"title": "", "priority": "urgent"}, headers=user.headers
        )

        body = assert_problem(response, 422)
        assert sorted(issue["loc"] for issue in body["errors"]) == [
            ["body", "priority"],
            ["body", "title"],
        ]
        assert body["detail"].startswith("2 inputs are invalid")


@pytest.mark.fr("003-platform/FR-001", "003-platform/FR-004")
class TestBodySizeLimit:
    async def test_declared_content_length_over_1_mib_is_413_without_reading_the_body(
        self, client: httpx.AsyncClient
    ) -> None:
        source = ChunkSource(padded(registration(), ONE_MIB + 1))

        response = await client.post(
            REGISTER,
            content=source,
            headers={"Content-Type": "application/json", "Content-Length": str(ONE_MIB + 1)},
        )

        body = assert_problem(response, 413)
        assert body["type"] == "urn:taskapi:problem:payload-too-large"
        assert source.pulled == 0

    async def test_streamed_body_over_1_mib_is_413_and_not_read_past_the_limit(
        self, client: httpx.AsyncClient
    ) -> None:
        source = ChunkSource(padded(registration(), 4 * ONE_MIB))

        response = await client.post(
            REGISTER, content=source, headers={"Content-Type": "application/json"}
        )

        assert "content-length" not in response.request.headers
        assert_problem(response, 413)
        assert source.pulled <= ONE_MIB // 65_536 + 1 < len(source.chunks)

    async def test_rejected_registration_stores_nothing(self, client: httpx.AsyncClient) -> None:
        source = ChunkSource(padded(registration(), ONE_MIB + 1))
        rejected = await client.post(
            REGISTER, content=source, headers={"Content-Type": "application/json"}
        )
        assert rejected.status_code == 413

        again = await client.post(REGISTER, content=registration(), headers=_json())

        assert again.status_code == 201

    async def test_body_of_exactly_1_mib_is_processed(self, client: httpx.AsyncClient) -> None:
        content = padded(registration(), ONE_MIB)

        response = await client.post(REGISTER, content=content, headers=_json())

        assert response.request.headers["content-length"] == str(ONE_MIB)
        assert response.status_code == 201


def _json() -> dict[str, str]:
    return {"Content-Type": "application/json"}


async def _query_a_missing_table(session: SessionDep) -> None:
    await session.execute(text("SELECT secret_column FROM no_such_table_xyz"))


@pytest.fixture
async def failing_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The real app plus one route whose SQL fails in the database."""
    app.add_api_route("/boom", _query_a_missing_table, methods=["GET"])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.mark.fr("003-platform/FR-001", "003-platform/FR-005")
class TestUnexpectedError:
    async def test_is_generic_500_problem_with_the_request_id(
        self, failing_client: httpx.AsyncClient
    ) -> None:
        response = await failing_client.get("/boom", headers={"X-Request-ID": "boom-1"})

        body = assert_problem(response, 500)
        assert body["type"] == "about:blank"
        assert body["request_id"] == "boom-1"
        assert "boom-1" in body["detail"]
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value

    async def test_body_reveals_nothing_of_the_failure(
        self, failing_client: httpx.AsyncClient
    ) -> None:
        response = await failing_client.get("/boom")

        assert response.status_code == 500
        leaks = ("no_such_table", "secret_column", "SELECT", "Traceback", ".py", "sqlalchemy")
        leaks += ("ProgrammingError", "OperationalError")  # the class on each engine
        for leak in leaks:
            assert leak not in response.text, leak

    @pytest.mark.fr("003-platform/FR-006")
    async def test_log_holds_the_traceback_and_the_request_id(
        self, failing_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.ERROR, logger="taskapi.request")

        await failing_client.get("/boom", headers={"X-Request-ID": "boom-2"})

        records = [r for r in caplog.records if r.name == "taskapi.request"]
        assert len(records) == 1
        record = records[0]
        assert record.levelno == logging.ERROR
        assert "boom-2" in record.getMessage()
        assert record.__dict__["request_id"] == "boom-2"
        assert record.exc_info is not None
        assert "no_such_table_xyz" in caplog.text
        assert "Traceback" in caplog.text


@pytest.mark.fr("003-platform/FR-006")
class TestRequestId:
    @pytest.mark.parametrize("request_id", ["abc-123", "Req.1:2_" + "a" * 120])
    async def test_sane_id_is_echoed(self, client: httpx.AsyncClient, request_id: str) -> None:
        response = await client.get("/api/v1/nope", headers={"X-Request-ID": request_id})

        assert response.headers["x-request-id"] == request_id
        assert assert_problem(response, 404)["request_id"] == request_id

    async def test_is_generated_when_absent(self, client: httpx.AsyncClient) -> None:
        first = await client.get("/health/live")
        second = await client.get("/health/live")

        assert GENERATED_REQUEST_ID.match(first.headers["x-request-id"])
        assert first.headers["x-request-id"] != second.headers["x-request-id"]

    @pytest.mark.parametrize(
        "request_id",
        ["a" * 129, "has space", "<script>"],
        ids=["129-chars", "space", "markup"],
    )
    async def test_insane_id_is_replaced_not_reflected(
        self, client: httpx.AsyncClient, request_id: str
    ) -> None:
        response = await client.get("/api/v1/nope", headers={"X-Request-ID": request_id})

        assert GENERATED_REQUEST_ID.match(response.headers["x-request-id"])
        body = assert_problem(response, 404)
        assert body["request_id"] == response.headers["x-request-id"]


@pytest.mark.fr("003-platform/FR-007")
class TestSecurityHeaders:
    async def test_api_response_carries_them_and_the_strict_csp(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await client.get(TASKS, headers=user.headers)

        assert response.status_code == 200
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
        assert response.headers["content-security-policy"] == API_CSP

    async def test_problem_response_carries_them(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/nope")

        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
        assert response.headers["content-security-policy"] == API_CSP

    @pytest.mark.fr("003-platform/FR-009")
    async def test_docs_page_carries_them_but_not_the_api_csp(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/docs")

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
        assert response.headers.get("content-security-policy") != API_CSP


@pytest.mark.fr("003-platform/FR-012")
class TestHealth:
    @pytest.mark.fr("003-platform/FR-010")
    async def test_liveness_is_ok(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/health/live")

        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"status": "ok"}

    @pytest.mark.fr("003-platform/FR-011")
    async def test_readiness_is_ok_when_the_database_answers(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/health/ready")

        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port bound but never listened on: connecting to it is refused, every time."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
async def unreachable_db_client(closed_port: int) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port}/taskapi")
    application = create_app(settings)
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await application.state.database.close()


@pytest.mark.fr("003-platform/FR-011")
class TestHealthWithoutDatabase:
    async def test_readiness_is_503_problem(self, unreachable_db_client: httpx.AsyncClient) -> None:
        response = await unreachable_db_client.get("/health/ready")

        body = assert_problem(response, 503)
        assert body["type"] == "urn:taskapi:problem:service-unavailable"
        assert "127.0.0.1" not in response.text

    @pytest.mark.fr("003-platform/FR-006")
    async def test_the_failure_is_logged_with_the_request_id(
        self, unreachable_db_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.WARNING, logger="taskapi.health"):
            await unreachable_db_client.get("/health/ready", headers={"X-Request-ID": "probe-42"})

        records = [r for r in caplog.records if r.name == "taskapi.health"]
        assert records, "readiness failure was not logged"
        assert all(getattr(r, "request_id", None) == "probe-42" for r in records)

    @pytest.mark.fr("003-platform/FR-010")
    async def test_liveness_is_still_ok(self, unreachable_db_client: httpx.AsyncClient) -> None:
        response = await unreachable_db_client.get("/health/live")

        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


ORIGIN = "https://app.example"


@pytest.fixture
async def cors_client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(make_settings(database_url, cors_origins=[ORIGIN]))
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await application.state.database.close()


def _preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization, content-type, if-match",
    }


@pytest.mark.fr("003-platform/FR-008")
class TestCors:
    async def test_preflight_from_a_listed_origin_succeeds(
        self, cors_client: httpx.AsyncClient
    ) -> None:
        response = await cors_client.options(f"{TASKS}/{uuid.uuid4()}", headers=_preflight(ORIGIN))

        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == ORIGIN
        assert "PATCH" in response.headers["access-control-allow-methods"]
        allowed_headers = response.headers["access-control-allow-headers"].lower()
        assert {"authorization", "content-type", "if-match"} <= {
            h.strip() for h in allowed_headers.split(",")
        }

    async def test_response_to_a_listed_origin_exposes_etag_and_location(
        self, cors_client: httpx.AsyncClient
    ) -> None:
        response = await cors_client.get("/health/live", headers={"Origin": ORIGIN})

        assert response.headers["access-control-allow-origin"] == ORIGIN
        exposed = {
            h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
        }
        assert {"etag", "location", "x-request-id"} <= exposed

    async def test_preflight_from_an_unlisted_origin_gets_no_allow_origin(
        self, cors_client: httpx.AsyncClient
    ) -> None:
        response = await cors_client.options(TASKS, headers=_preflight("https://evil.example"))

        assert "access-control-allow-origin" not in response.headers

    async def test_without_configured_origins_no_cross_origin_access_is_granted(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/health/live", headers={"Origin": ORIGIN})

        assert response.status_code == 200
        assert "access-control-allow-origin" not in response.headers

    @pytest.mark.fr("003-platform/FR-001")
    async def test_rejected_preflight_is_a_problem_document(
        self, cors_client: httpx.AsyncClient
    ) -> None:
        response = await cors_client.options(TASKS, headers=_preflight("https://evil.example"))

        assert_problem(response, 400)
