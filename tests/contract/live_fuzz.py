"""`make fuzz`: the Schemathesis CLI against a live server on loopback and a fresh database.

Starts uvicorn on a free 127.0.0.1 port against a temporary migrated SQLite database, waits for
readiness, signs a user up through the API, and runs `schemathesis run` on the contract file with
every check, a fixed seed, a bounded budget and the stateful phase. The JUnit report goes to
var/fuzz/junit.xml. The server is stopped in every case; the exit code is Schemathesis'.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import httpx

from taskapi.migrations import upgrade
from tests.contract.conftest import CONTRACT_PATH, REPO_ROOT, SCHEMATHESIS_CONFIG_PATH
from tests.support_server import live_server

JUNIT_PATH = REPO_ROOT / "var" / "fuzz" / "junit.xml"
SEED = 20261120
MAX_EXAMPLES = 50


def sign_up(base_url: str) -> str:
    """Register a throwaway user and return its access token."""
    email = f"fuzz-{uuid.uuid4().hex[:12]}@example.com"
    password = secrets.token_urlsafe(16)
    with httpx.Client(base_url=base_url, timeout=10) as http:
        registered = http.post("/api/v1/auth/register", json={"email": email, "password": password})
        registered.raise_for_status()
        issued = http.post("/api/v1/auth/token", data={"username": email, "password": password})
        issued.raise_for_status()
    token: str = issued.json()["access_token"]
    return token


def schemathesis_command(base_url: str, token: str) -> list[str]:
    binary = Path(sys.executable).with_name("schemathesis")
    return [
        str(binary),
        "--config-file",
        str(SCHEMATHESIS_CONFIG_PATH),
        "run",
        str(CONTRACT_PATH.relative_to(REPO_ROOT)),
        "--url",
        base_url,
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {token}",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--seed",
        str(SEED),
        "--generation-deterministic",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--workers",
        "1",
        "--report",
        "junit",
        "--report-junit-path",
        str(JUNIT_PATH.relative_to(REPO_ROOT)),
    ]


def main() -> int:
    JUNIT_PATH.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="taskapi-fuzz-") as tmp:
        database_url = f"sqlite+aiosqlite:///{Path(tmp) / 'fuzz.db'}"
        upgrade(database_url)
        with live_server(database_url) as base_url:
            token = sign_up(base_url)
            return subprocess.run(
                schemathesis_command(base_url, token), cwd=REPO_ROOT, check=False
            ).returncode


if __name__ == "__main__":
    sys.exit(main())
