"""What `make bench` and `make soak` share: a throwaway seeded database, servers started
exactly as production starts them, pinned cores, and a check that the machine is quiet."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import random
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.support_server import free_port

HOST = "127.0.0.1"
PASSWORD = "bench-password-1234"  # only ever used against a throwaway database
READY_TIMEOUT_S = 60.0
CEILING_APP = "tests.benchmarks.ceiling_app:create_app"

STATUSES = ("todo", "in_progress", "done")
PRIORITIES = ("low", "medium", "high")
TAGS = ("work", "home", "urgent", "errand", "reading", "finance", "health", "q3", "team-a")
WORDS = (
    *("review", "quarterly", "report", "draft", "email", "invoice", "call", "supplier", "plan"),
    *("sprint", "fix", "login", "bug", "update", "docs", "order", "parts", "book", "venue"),
    *("renew", "licence", "prepare", "slides", "clean", "backlog"),
)


class BenchmarkError(Exception):
    """The measurement could not be made, or could not be trusted."""


class Terminated(BaseException):
    """SIGTERM, raised like Ctrl-C so every `finally` still stops servers and drops databases."""


def handle_signals() -> None:
    def _on_sigterm(_signum: int, _frame: object) -> None:
        raise Terminated

    signal.signal(signal.SIGTERM, _on_sigterm)
    # A shell that starts us in the background leaves SIGINT ignored; Ctrl-C must still clean up.
    signal.signal(signal.SIGINT, signal.default_int_handler)


# ---------------------------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------------------------


def plain_dsn(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def admin(admin_url: str, *statements: str) -> str:
    import asyncpg

    connection = await asyncpg.connect(plain_dsn(admin_url), timeout=5)
    try:
        for statement in statements:
            await connection.execute(statement)
        version: str = await connection.fetchval("SHOW server_version")
        return version
    finally:
        await connection.close()


def postgres_admin_url(explicit: str | None) -> str:
    return (
        explicit
        or os.environ.get("BENCH_DATABASE_URL")
        or os.environ.get("TEST_DATABASE_URL")
        or f"postgresql+asyncpg://postgres@{HOST}:5432/postgres"
    )


@dataclass(frozen=True)
class Database:
    url: str  # what the app is given (postgresql+asyncpg://...)
    name: str
    admin_url: str
    server_version: str


@contextlib.contextmanager
def throwaway_database(admin_url: str, prefix: str) -> Iterator[Database]:
    """A new, migrated PostgreSQL database, dropped afterwards whatever happens."""
    from sqlalchemy.engine import make_url

    from taskapi.migrations import upgrade

    try:
        version = asyncio.run(admin(admin_url))
    except Exception as exc:  # refused, timed out, or asyncpg's auth/database errors
        raise BenchmarkError(
            f"PostgreSQL is not reachable at {make_url(admin_url).render_as_string()}: {exc}; "
            "set BENCH_DATABASE_URL (or TEST_DATABASE_URL)"
        ) from exc
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    url = (
        make_url(admin_url)
        .set(drivername="postgresql+asyncpg", database=name)
        .render_as_string(hide_password=False)
    )
    asyncio.run(admin(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        upgrade(url)
        yield Database(url, name, admin_url, version)
    finally:
        asyncio.run(admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        print(f"dropped database {name}")


def _sentence(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def task_rows(owner_id: uuid.UUID, count: int, rng: random.Random) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    rows = []
    for number in range(count):
        created = now - timedelta(seconds=rng.randint(0, 365 * 86_400))
        updated = created + timedelta(seconds=rng.randint(0, 30 * 86_400))
        roll = rng.random()
        rows.append(
            {
                "id": uuid.UUID(int=rng.getrandbits(128), version=4),
                "owner_id": owner_id,
                "title": f"{_sentence(rng, 2, 7).capitalize()} #{number}",
                "description": None if roll < 0.25 else _sentence(rng, 5, 60),
                "status": rng.choice(STATUSES),
                "priority": rng.choice(PRIORITIES),
                "due_at": None if roll > 0.7 else created + timedelta(days=rng.randint(1, 90)),
                "tags": rng.sample(TAGS, rng.choice((0, 0, 1, 1, 2, 3))),
                "created_at": created,
                "updated_at": min(updated, now),
                "version": rng.randint(1, 5),
            }
        )
    return rows


async def seed_tasks(url: str, owners: Mapping[uuid.UUID, int], seed: int) -> list[str]:
    """Bulk-insert tasks through the app's own table definition; the first owner's ids."""
    from sqlalchemy import insert, text
    from sqlalchemy.ext.asyncio import create_async_engine

    from taskapi.tasks.tables import TaskRow

    rng = random.Random(seed)  # noqa: S311 - reproducible seed data, not a secret
    table = TaskRow.__table__  # type: ignore[attr-defined]
    engine = create_async_engine(url)
    first_owner_ids: list[str] = []
    try:
        async with engine.begin() as connection:
            for index, (owner_id, count) in enumerate(owners.items()):
                rows = task_rows(owner_id, count, rng)
                for start in range(0, len(rows), 2000):
                    await connection.execute(insert(table), rows[start : start + 2000])
                if index == 0:
                    first_owner_ids = [str(row["id"]) for row in rows]
        async with engine.connect() as connection:
            await connection.execute(text("ANALYZE"))
    finally:
        await engine.dispose()
    return first_owner_ids


async def user_id_of(url: str, email: str) -> uuid.UUID:
    import asyncpg

    connection = await asyncpg.connect(plain_dsn(url), timeout=5)
    try:
        found = await connection.fetchval("SELECT id FROM users WHERE email = $1", email)
    finally:
        await connection.close()
    if found is None:
        raise BenchmarkError(f"registered user {email} not found in the database")
    return uuid.UUID(str(found))


# ---------------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------------


def pick_cores() -> tuple[int | None, int | None]:
    """(server core, load generator core)."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return cores[0], cores[0]
    return cores[0], cores[1]


def server_environment(database_url: str, secret: str, **extra: str) -> dict[str, str]:
    """Production mode, access log off, a token that outlives any run."""
    return {
        **os.environ,
        "TASKAPI_DATABASE_URL": database_url,
        "TASKAPI_ENV": "production",
        "TASKAPI_JWT_SECRET": secret,
        "TASKAPI_LOG_LEVEL": "WARNING",
        "TASKAPI_ACCESS_LOG": "false",
        "TASKAPI_ACCESS_TOKEN_TTL_SECONDS": "3600",
        # The per-user budget is spent on every request, as in production, but set far above
        # what one benchmark user sends, so it never refuses (its cost: bench_abuse).
        "TASKAPI_RATE_LIMIT_USER": "100000000/minute",
        **extra,
    }


def new_secret() -> str:
    return secrets.token_urlsafe(48)


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"


@contextlib.contextmanager
def running_server(
    name: str,
    env: Mapping[str, str],
    log_path: Path,
    *,
    app: str | None = None,
    core: int | None = None,
    checkout: Path | None = None,
) -> Iterator[Server]:
    """`python -m taskapi.server`: the production server definition, serving `app`.

    With `checkout`, the API of another working tree of this repository is served instead
    (its `src/` first on the path): how a change is measured against the code before it.
    A tree from before `taskapi.server` existed is served by uvicorn with the same options.
    """
    port = free_port()
    command = [sys.executable, "-m", "taskapi.server", "--host", HOST, "--port", str(port)]
    command += ["--no-access-log"]
    if app is not None:
        command += ["--app", app]
    cwd = Path(__file__).resolve().parents[2]
    if checkout is not None:
        cwd = checkout.resolve()
        env = {**env, "PYTHONPATH": str(cwd / "src")}
        if not (cwd / "src" / "taskapi" / "server.py").exists():
            command = [sys.executable, "-m", "uvicorn", "taskapi.main:create_app", "--factory"]
            command += ["--host", HOST, "--port", str(port), "--no-access-log"]
            command += ["--log-level", "warning", "--loop", "uvloop", "--http", "httptools"]

    def pin() -> None:  # in the child before exec, so the server's worker inherits the core
        if core is not None:
            os.sched_setaffinity(0, {core})

    with log_path.open("wb") as log:
        # Own session: a Ctrl-C reaches only us, and we shut the server down in order.
        process = subprocess.Popen(
            command,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=cwd,
            preexec_fn=pin,  # noqa: PLW1509 - only sched_setaffinity, no locks or threads
        )
    server = Server(name, port, process, log_path)
    try:
        wait_ready(server)
        yield server
    finally:
        stop(server)


def stop(server: Server) -> None:
    stop_process(server.process, signal.SIGINT)


def stop_process(process: subprocess.Popen[bytes], how: int = signal.SIGTERM) -> None:
    """Ask a process we started to stop; kill it if it has not within 10 s."""
    if process.poll() is None:
        process.send_signal(how)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def run_main(
    measure: Callable[[Any], dict[str, Any]], options: Any, *, name: str
) -> dict[str, Any] | int:
    """Run a measurement with clean-up on Ctrl-C/SIGTERM; the document, or an exit status.

    A measurement that could not be made exits 2; an interrupted one 130. Whatever it
    started is stopped and its database dropped by the `finally` blocks on the way out.
    """
    handle_signals()
    try:
        document = measure(options)
    except BenchmarkError as exc:
        print(f"{name} failed to run: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Terminated):
        print(f"{name} interrupted; everything it started is stopped", file=sys.stderr)
        return 130
    output: Path = options.output
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    return document


def wait_ready(server: Server, timeout: float = READY_TIMEOUT_S) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log_path.read_text(errors="replace")[-3000:]
            raise BenchmarkError(f"{server.name} exited with {server.process.returncode}:\n{tail}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{server.base_url}/health/ready", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise BenchmarkError(f"{server.name} was not ready within {timeout:.0f} s")


def register(client: Any, email: str) -> str:
    """Register through the API (so the stored hash is a real Argon2 one) and sign in."""
    response = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    if response.status_code != 201:
        raise BenchmarkError(f"register {email}: {response.status_code} {response.text[:300]}")
    response = client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    if response.status_code != 200:
        raise BenchmarkError(f"token {email}: {response.status_code} {response.text[:300]}")
    token: str = response.json()["access_token"]
    return token


# ---------------------------------------------------------------------------------------------
# The machine
# ---------------------------------------------------------------------------------------------


def cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies over all cores."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return None
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def busy_pct(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    if before is None or after is None:
        return None
    return round(100 * (after[0] - before[0]) / max(1, after[1] - before[1]), 1)


def process_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process and its descendants (the server answers from a worker)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    for child in _children(pid):
        total += process_cpu_seconds(child) or 0.0
    return total


def _children(pid: int) -> list[int]:
    children: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            children += [int(c) for c in (task / "children").read_text().split()]
    return children


def wait_until_quiet(*, threshold_pct: float, max_wait_s: float) -> dict[str, Any]:
    """Wait (bounded) until the whole machine is mostly idle; report how quiet it got.

    Our own servers are idle between measurements, so what is busy here is other work: a
    test suite, a build. The ratio to the ceiling survives some of it; the absolute numbers
    do not, which is why they are recorded next to how busy the machine was.
    """
    started = time.monotonic()
    samples = []
    while True:
        before = cpu_times()
        time.sleep(1.0)
        busy = busy_pct(before, cpu_times())
        if busy is None:
            return {"quiet": None, "busy_pct": None, "waited_s": 0.0}
        samples.append(busy)
        waited = round(time.monotonic() - started, 1)
        if busy <= threshold_pct:
            return {"quiet": True, "busy_pct": busy, "waited_s": waited}
        if waited >= max_wait_s:
            return {"quiet": False, "busy_pct": min(samples), "waited_s": waited}


def machine_info() -> dict[str, Any]:
    model = None
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "load_average_1m_at_start": round(os.getloadavg()[0], 2)
        if hasattr(os, "getloadavg")
        else None,
    }
