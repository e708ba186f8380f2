"""A real server for tests and `make fuzz`: the production server on a free loopback port.

Started as `python -m taskapi.server`, the same definition as `make run`, and stopped in any
case. Its options (header limit and timeout) come from the TASKAPI_* environment given.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support_limits import generous_limits_environment

REPO_ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_environment(database_url: str, **overrides: str) -> dict[str, str]:
    """The environment of a test server: cheap Argon2, generous budgets, a random secret."""
    return {
        **os.environ,
        **generous_limits_environment(),
        "TASKAPI_ENV": "test",
        "TASKAPI_DATABASE_URL": database_url,
        "TASKAPI_JWT_SECRET": secrets.token_urlsafe(48),
        "TASKAPI_ARGON2_TIME_COST": "1",
        "TASKAPI_ARGON2_MEMORY_COST_KIB": "1024",
        "TASKAPI_LOG_LEVEL": "WARNING",
        **overrides,
    }


@contextmanager
def live_server(database_url: str, environment: Mapping[str, str] | None = None) -> Iterator[str]:
    """Yield the base URL of the production server serving the app; stop it however it ends."""
    port = free_port()
    # The production server definition (taskapi.server), not a copy of its options.
    command = [sys.executable, "-m", "taskapi.server", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--no-access-log"]
    env = dict(environment) if environment is not None else server_environment(database_url)
    # Its own process group: granian serves from a worker process, stopped with it.
    server = subprocess.Popen(command, cwd=REPO_ROOT, env=env, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(server, base_url)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def wait_until_ready(server: subprocess.Popen[bytes], base_url: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            msg = f"the server exited with {server.returncode} before it was ready"
            raise RuntimeError(msg)
        try:
            if httpx.get(f"{base_url}/health/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    msg = f"the server was not ready within {READY_TIMEOUT_SECONDS:.0f}s"
    raise RuntimeError(msg)
