"""`make fuzz`: the Schemathesis CLI against a live server on loopback and a fresh database.

Starts uvicorn on a free 127.0.0.1 port against a temporary migrated SQLite database, waits for
readiness, and runs `schemathesis run` on the contract file with every check, a fixed seed, a
bounded budget and the stateful phase. Credentials come per case from the hooks module
(tests/contract/fuzz_hooks.py: a fresh session, account or administrator per case, see
fuzz_accounts.py), so fuzzing sign-out or account deletion cannot spoil the cases after it. The
JUnit report goes to var/fuzz/junit.xml. The server is stopped in every case; the exit code is
Schemathesis'.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from taskapi.migrations import upgrade
from tests.contract.conftest import CONTRACT_PATH, REPO_ROOT, SCHEMATHESIS_CONFIG_PATH
from tests.contract.fuzz_accounts import BASE_URL_VARIABLE, DATABASE_URL_VARIABLE
from tests.support_server import live_server

JUNIT_PATH = REPO_ROOT / "var" / "fuzz" / "junit.xml"
SEED = 20261120
MAX_EXAMPLES = 50


def schemathesis_command(base_url: str) -> list[str]:
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
            environment = {
                **os.environ,
                "SCHEMATHESIS_HOOKS": "tests.contract.fuzz_hooks",
                BASE_URL_VARIABLE: base_url,
                DATABASE_URL_VARIABLE: database_url,
            }
            return subprocess.run(
                schemathesis_command(base_url), cwd=REPO_ROOT, env=environment, check=False
            ).returncode


if __name__ == "__main__":
    sys.exit(main())
