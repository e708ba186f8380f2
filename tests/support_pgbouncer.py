"""A real PgBouncer in transaction pooling mode, started in front of a PostgreSQL server.

Used by the pooler tests and by `make bench`. PgBouncer comes from the system package
(`pgbouncer`; `.ci/run` installs it). It refuses to run as root, so as root it runs as the
`postgres` account, like the throwaway PostgreSQL cluster.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.support_server import free_port

_BINARY_PLACES = ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer", "/usr/local/bin/pgbouncer")
READY_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class PgBouncer:
    host: str
    port: int
    user: str
    version: str

    def url_for(self, database: str, *, driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://{self.user}@{self.host}:{self.port}/{database}"


def pgbouncer_binary() -> str | None:
    found = shutil.which("pgbouncer")
    if found:
        return found
    return next((place for place in _BINARY_PLACES if os.access(place, os.X_OK)), None)


def _as_unprivileged() -> tuple[list[str], str | None] | None:
    """The command prefix and account to run as (None: as root with no 'postgres' account)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return [], None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return None
    runuser = shutil.which("runuser")
    return ([runuser, "-u", "postgres", "--"], "postgres") if runuser else None


@contextlib.contextmanager
def pgbouncer_in_front_of(
    admin_url: str, *, pool_size: int = 4, max_client_conn: int = 400
) -> Iterator[PgBouncer | str]:
    """Yield a running PgBouncer (transaction mode) for the server `admin_url` points at.

    Yields a string saying why there is none when the binary is missing or cannot run.
    `pool_size` server connections per database and user: fewer than the clients, so the
    pooler really does hand one backend to many clients in turn.
    """
    binary = pgbouncer_binary()
    if binary is None:
        yield "no pgbouncer: install the 'pgbouncer' system package"
        return
    prefix = _as_unprivileged()
    if prefix is None:
        yield "no pgbouncer: it refuses to run as root and there is no 'postgres' account"
        return
    command_prefix, account = prefix
    upstream = make_url(admin_url)
    user = upstream.username or "postgres"
    version = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, check=False
    ).stdout.split("\n", 1)[0]
    with tempfile.TemporaryDirectory(prefix="taskapi-pgbouncer-") as tmp:
        folder = Path(tmp)
        port = free_port()
        password = upstream.password or ""
        (folder / "users.txt").write_text(f'"{user}" "{password}"\n', encoding="utf-8")
        upstream_auth = f" password={password}" if password else ""
        (folder / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={upstream.host or '127.0.0.1'} port={upstream.port or 5432}"
            f" user={user}{upstream_auth}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {port}\n"
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {folder / 'users.txt'}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {pool_size}\n"
            "min_pool_size = 0\n"
            f"max_client_conn = {max_client_conn}\n"
            "server_reset_query =\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
            f"logfile = {folder / 'pgbouncer.log'}\n"
            "log_connections = 0\n"
            "log_disconnections = 0\n",
            encoding="utf-8",
        )
        if account:
            shutil.chown(folder, user=account)
            for path in folder.iterdir():
                shutil.chown(path, user=account)
        process = subprocess.Popen(
            [*command_prefix, binary, str(folder / "pgbouncer.ini")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + READY_TIMEOUT_S
            while True:
                if process.poll() is not None:
                    log = (folder / "pgbouncer.log").read_text(errors="replace")[-500:]
                    yield f"no pgbouncer: it exited with {process.returncode}: {log}"
                    return
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                    break
                if time.monotonic() > deadline:
                    yield f"no pgbouncer: not listening within {READY_TIMEOUT_S:.0f} s"
                    return
                time.sleep(0.05)
            yield PgBouncer(host="127.0.0.1", port=port, user=user, version=version)
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
