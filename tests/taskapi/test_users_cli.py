"""`python -m taskapi users create-admin`: the first administrator, from the command line.

The command runs as a real subprocess against the test's database (SQLite and PostgreSQL);
what it did is then checked through the API.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_JWT_SECRET, SignedInUser

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery staple"
TOKEN = "/api/v1/auth/token"
ADMIN_USERS = "/api/v1/admin/users"


def environment(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "TASKAPI_ENV": "test",
        "TASKAPI_DATABASE_URL": database_url,
        "TASKAPI_JWT_SECRET": TEST_JWT_SECRET,
        "TASKAPI_ARGON2_TIME_COST": "1",
        "TASKAPI_ARGON2_MEMORY_COST_KIB": "1024",
    }


def create_admin(
    database_url: str, *args: str, stdin: str = "", **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "taskapi", "users", "create-admin", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment(database_url),
        timeout=120,
        check=False,
        **kwargs,
    )


def create_admin_at_a_terminal(database_url: str, email: str, password: str) -> str:
    """Run the command with a pseudo-terminal as stdin and type the password at each prompt."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "taskapi", "users", "create-admin", email],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        # Unbuffered, so that each prompt arrives before the program waits for the answer.
        env={**environment(database_url), "PYTHONUNBUFFERED": "1"},
        start_new_session=True,  # no controlling terminal: the prompt reads this one
    )
    assert process.stdout is not None
    output = b""
    try:
        # The space after each prompt is written once the terminal stopped echoing and was
        # flushed: only text typed after it is read.
        for prompt in (b"Password: ", b"Repeat for confirmation: "):
            deadline = time.monotonic() + 60
            while prompt not in output:
                ready, _, _ = select.select([process.stdout], [], [], 1)
                if ready:
                    output += os.read(process.stdout.fileno(), 1024)
                assert time.monotonic() < deadline, output
            os.write(controller, password.encode() + b"\n")
            output = output.replace(prompt, b"", 1)
        rest, _ = process.communicate(timeout=60)
    finally:
        process.kill() if process.poll() is None else None
        os.close(terminal)
        os.close(controller)
    assert process.returncode == 0, output + rest
    return (output + rest).decode()


async def admin_headers(client: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    response = await client.post(TOKEN, data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.mark.fr("005-accounts/FR-018")
class TestCreateAdmin:
    async def test_creates_an_admin_with_the_password_from_stdin(
        self, client: httpx.AsyncClient, database_url: str
    ) -> None:
        done = create_admin(database_url, "Ada@Example.com", stdin=PASSWORD + "\n")

        assert done.returncode == 0, done.stderr
        assert "Created administrator ada@example.com" in done.stdout
        headers = await admin_headers(client, "ada@example.com", PASSWORD)
        listed = await client.get(ADMIN_USERS, headers=headers)
        assert listed.status_code == 200
        assert [(u["email"], u["role"]) for u in listed.json()["items"]] == [
            ("ada@example.com", "admin")
        ]

    async def test_json_output_is_one_document(self, database_url: str) -> None:
        done = create_admin(database_url, "ada@example.com", "--json", stdin=PASSWORD)

        assert done.returncode == 0, done.stderr
        document = json.loads(done.stdout)
        assert document["ok"] is True and document["created"] is True
        assert document["user"]["email"] == "ada@example.com"
        assert document["user"]["role"] == "admin"

    async def test_asks_twice_on_a_terminal(
        self, client: httpx.AsyncClient, database_url: str
    ) -> None:
        output = create_admin_at_a_terminal(database_url, "ada@example.com", PASSWORD)

        assert "Created administrator ada@example.com" in output
        assert PASSWORD not in output  # the typing is not echoed
        await admin_headers(client, "ada@example.com", PASSWORD)

    async def test_a_weak_password_is_refused_and_nothing_is_stored(
        self, client: httpx.AsyncClient, database_url: str
    ) -> None:
        done = create_admin(database_url, "ada@example.com", stdin="password123\n")

        assert done.returncode == 1
        assert done.stdout == ""
        errors = done.stderr.strip().splitlines()
        assert len(errors) == 1 and "too easy to guess" in errors[0]
        refused = await client.post(TOKEN, data={"username": "ada@example.com", "password": "x"})
        assert refused.status_code == 401

    async def test_an_existing_account_becomes_an_active_admin_and_keeps_its_password(
        self, client: httpx.AsyncClient, database_url: str, user: SignedInUser
    ) -> None:
        done = create_admin(database_url, user.email, stdin="")

        assert done.returncode == 0, done.stderr
        assert "already registered" in done.stdout
        headers = await admin_headers(client, user.email, user.password)
        assert (await client.get(ADMIN_USERS, headers=headers)).status_code == 200
        # The token signed in before is admin too: roles are read on each request.
        assert (await client.get(ADMIN_USERS, headers=user.headers)).status_code == 200

    async def test_an_invalid_email_is_a_usage_error(self, database_url: str) -> None:
        done = create_admin(database_url, "not-an-email", stdin=PASSWORD)

        assert done.returncode == 2
        assert done.stderr.strip() == "error: 'not-an-email' is not a valid email address"

    async def test_no_password_on_stdin_is_a_usage_error(self, database_url: str) -> None:
        done = create_admin(database_url, "ada@example.com", stdin="")

        assert done.returncode == 2
        assert "no password on stdin" in done.stderr


@pytest.mark.fr("005-accounts/FR-018")
class TestWithoutADatabase:
    def test_a_missing_sqlite_file_is_refused_and_not_created(self, tmp_path: Path) -> None:
        path = tmp_path / "missing.db"

        done = create_admin(f"sqlite+aiosqlite:///{path}", "ada@example.com", stdin=PASSWORD)

        assert done.returncode == 1
        assert "migrations" in done.stderr and len(done.stderr.strip().splitlines()) == 1
        assert not path.exists()

    def test_an_unmigrated_database_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "empty.db"
        path.touch()

        done = create_admin(f"sqlite+aiosqlite:///{path}", "ada@example.com", stdin=PASSWORD)

        assert done.returncode == 1
        assert "apply the migrations first" in done.stderr
