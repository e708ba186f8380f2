"""Measure API read req/s and latency on a seeded throwaway database (`make bench`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
ROWS = 10_000
OTHER_USERS = 3
OTHER_ROWS_PER_USER = 500
PASSWORD = "bench-password-1234"  # only ever used against a throwaway database
READY_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 10.0

# Performance budget from the architecture notes: req/s on a 2-core machine, server on one
# core, 32 connections, PostgreSQL, 10k rows, JWT checked on every request.
REFERENCE = {
    "sync_sqlmodel_threadpool": {"get_one": 460, "list_20": 230},
    "async_sqlmodel_orm": {"get_one": 840, "list_20": 550},
    "fastapi_pydantic_raw_asyncpg": {"get_one": 2100, "list_20": 1700},
    "ceiling_starlette_asyncpg_orjson": {"get_one": 3400, "list_20": 2700},
}
TARGET_FRACTION_OF_CEILING = 0.6
_CEILING = REFERENCE["ceiling_starlette_asyncpg_orjson"]
# A cursor page costs the same query shape as the first page, so it shares list_20's target.
TARGETS = {
    "get_one": _CEILING["get_one"] * TARGET_FRACTION_OF_CEILING,
    "list_20": _CEILING["list_20"] * TARGET_FRACTION_OF_CEILING,
    "list_20_cursor": _CEILING["list_20"] * TARGET_FRACTION_OF_CEILING,
}

STATUSES = ("todo", "in_progress", "done")
PRIORITIES = ("low", "medium", "high")
TAGS = ("work", "home", "urgent", "errand", "reading", "finance", "health", "q3", "team-a")
WORDS = (
    *("review", "quarterly", "report", "draft", "email", "invoice", "call", "supplier", "plan"),
    *("sprint", "fix", "login", "bug", "update", "docs", "order", "parts", "book", "venue"),
    *("renew", "licence", "prepare", "slides", "clean", "backlog"),
)


class BenchmarkError(Exception):
    """The benchmark could not produce a trustworthy measurement."""


class _Terminated(BaseException):
    """SIGTERM, raised like Ctrl-C so every `finally` still stops the server and drops the DB."""


# ---------------------------------------------------------------------------------------------
# Load generator (runs in its own process, pinned to the core the server does not use)
# ---------------------------------------------------------------------------------------------


@dataclass
class _Tally:
    latencies_ns: list[int] = field(default_factory=list)
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Status code and whether the server keeps the connection; the body is read and dropped."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = None
    keep_alive = True
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            keep_alive = False
    if length is None:
        # Every endpoint measured here answers with a Content-Length; anything else (chunked)
        # would need a different parser, so fail loudly instead of mis-framing the stream.
        raise BenchmarkError(f"response without Content-Length (status {status})")
    await reader.readexactly(length)
    return status, keep_alive


async def _connection(
    port: int, requests: list[bytes], tally: _Tally, window: tuple[float, float], seed: int
) -> None:
    """One keep-alive connection issuing requests back to back until the window closes."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible request mix, not a secret
    start, stop = window
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        while True:
            began = time.perf_counter()
            if began >= stop:
                return
            writer.write(requests[rng.randrange(len(requests))])
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT_S):
                    status, keep_alive = await _read_response(reader)
            except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                tally.errors += 1
                key = type(exc).__name__
                tally.statuses[key] = tally.statuses.get(key, 0) + 1
                return
            ended = time.perf_counter()
            # Only requests that both start and finish inside the window count, so warm-up
            # and the drain at the end do not distort the rate.
            if began >= start and ended <= stop:
                tally.latencies_ns.append(int((ended - began) * 1e9))
                if status != 200:
                    tally.errors += 1
                    tally.statuses[str(status)] = tally.statuses.get(str(status), 0) + 1
            if not keep_alive:
                writer.close()
                reader, writer = await asyncio.open_connection(HOST, port)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def _process_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process from /proc (Linux); None where that does not exist."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy() -> tuple[int, int] | None:
    """(busy, total) jiffies over all cores, to see whether anything else competed."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return None
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


async def _sample_cpu(
    server_pid: int | None, window: tuple[float, float], usage: dict[str, float | None]
) -> None:
    """CPU share of the server and of this client during the window.

    A server below ~95 % of its core is waiting on something else (the database, the client,
    or other work on the machine), so its req/s would understate what the app can do.
    """
    start, stop = window
    await asyncio.sleep(max(0.0, start - time.perf_counter()))
    server_before = _process_cpu_seconds(server_pid) if server_pid else None
    client_before = time.process_time()
    machine_before = _machine_busy()
    await asyncio.sleep(max(0.0, stop - time.perf_counter()))
    elapsed = stop - start
    server_after = _process_cpu_seconds(server_pid) if server_pid else None
    usage["server_cpu_pct"] = (
        round(100 * (server_after - server_before) / elapsed, 1)
        if server_before is not None and server_after is not None
        else None
    )
    usage["client_cpu_pct"] = round(100 * (time.process_time() - client_before) / elapsed, 1)
    machine_after = _machine_busy()
    usage["machine_cpu_pct"] = (
        round(
            100
            * (machine_after[0] - machine_before[0])
            / max(1, machine_after[1] - machine_before[1]),
            1,
        )
        if machine_before and machine_after
        else None
    )


def _percentile(ordered: list[int], fraction: float) -> float:
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return round(ordered[index] / 1e6, 2)


async def _drive(config: dict[str, Any]) -> dict[str, Any]:
    token = config["token"]
    requests = [
        (
            f"GET {path} HTTP/1.1\r\nHost: {HOST}:{config['port']}\r\n"
            f"Authorization: Bearer {token}\r\nAccept: application/json\r\n\r\n"
        ).encode("ascii")
        for path in config["paths"]
    ]
    tally = _Tally()
    now = time.perf_counter()
    start = now + config["warmup_s"]
    stop = start + config["duration_s"]
    workers = [
        _connection(config["port"], requests, tally, (start, stop), seed)
        for seed in range(config["connections"])
    ]
    usage: dict[str, float | None] = {}
    # The hard bound: even a server that stops answering cannot keep us running.
    async with asyncio.timeout(config["warmup_s"] + config["duration_s"] + REQUEST_TIMEOUT_S + 5):
        await asyncio.gather(*workers, _sample_cpu(config.get("server_pid"), (start, stop), usage))
    ordered = sorted(tally.latencies_ns)
    return {
        **usage,
        "requests": len(ordered),
        "rps": round(len(ordered) / config["duration_s"], 1),
        "p50_ms": _percentile(ordered, 0.50),
        "p90_ms": _percentile(ordered, 0.90),
        "p99_ms": _percentile(ordered, 0.99),
        "max_ms": round(ordered[-1] / 1e6, 2) if ordered else None,
        "errors": tally.errors,
        "error_kinds": tally.statuses,
    }


def _loadgen_main() -> int:
    config = json.load(sys.stdin)
    if config.get("core") is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {config["core"]})
    result = asyncio.run(_drive(config))
    json.dump(result, sys.stdout)
    return 0


def run_scenario(
    *,
    port: int,
    server_pid: int,
    token: str,
    paths: list[str],
    options: argparse.Namespace,
    core: int | None,
) -> dict[str, Any]:
    config = {
        "port": port,
        "server_pid": server_pid,
        "token": token,
        "paths": paths,
        "connections": options.connections,
        "warmup_s": options.warmup,
        "duration_s": options.duration,
        "core": core,
    }
    limit = options.warmup + options.duration + REQUEST_TIMEOUT_S + 30
    completed = subprocess.run(
        [sys.executable, __file__, "--loadgen"],
        input=json.dumps(config),
        capture_output=True,
        text=True,
        timeout=limit,
        check=False,
    )
    if completed.returncode != 0:
        raise BenchmarkError(f"load generator failed:\n{completed.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


# ---------------------------------------------------------------------------------------------
# Database: a throwaway database, migrated and seeded
# ---------------------------------------------------------------------------------------------


@dataclass
class Database:
    engine: str  # "postgresql" | "sqlite"
    url: str  # what the app is given
    name: str
    admin_url: str | None = None  # PostgreSQL only: where CREATE/DROP DATABASE run
    server_version: str | None = None


def _plain_dsn(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(admin_url: str, *statements: str) -> str:
    import asyncpg

    connection = await asyncpg.connect(_plain_dsn(admin_url), timeout=5)
    try:
        for statement in statements:
            await connection.execute(statement)
        version: str = await connection.fetchval("SHOW server_version")
        return version
    finally:
        await connection.close()


def postgres_admin_url(options: argparse.Namespace) -> str | None:
    url = options.database_url or os.environ.get("BENCH_DATABASE_URL")
    if url:
        return str(url)
    test_url = os.environ.get("TEST_DATABASE_URL")
    if test_url:
        return test_url
    # The usual local development server, as documented for the test suite.
    return f"postgresql+asyncpg://postgres@{HOST}:5432/postgres"


@contextlib.contextmanager
def throwaway_database(options: argparse.Namespace, scratch: Path) -> Iterator[Database]:
    from sqlalchemy.engine import make_url

    from taskapi.migrations import upgrade

    name = f"taskapi_bench_{uuid.uuid4().hex[:10]}"
    admin_url = postgres_admin_url(options)
    reason = None
    server_version = None
    if admin_url:
        try:
            server_version = asyncio.run(_admin(admin_url))
        except Exception as exc:  # refused, timed out, or asyncpg's auth/database errors
            reason = f"{type(exc).__name__}: {exc}"
    if admin_url and reason is None:
        url = (
            make_url(admin_url)
            .set(drivername="postgresql+asyncpg", database=name)
            .render_as_string(hide_password=False)
        )
        asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
        database = Database("postgresql", url, name, admin_url, server_version)
        try:
            upgrade(url)
            yield database
        finally:
            asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            print(f"dropped database {name}")
        return
    print(
        f"WARNING: no PostgreSQL reachable ({reason or 'no URL'}); falling back to SQLite. "
        "These numbers are NOT comparable with the PostgreSQL budget.",
        file=sys.stderr,
    )
    url = f"sqlite+aiosqlite:///{scratch / (name + '.db')}"
    upgrade(url)
    # The file lives in the scratch directory, which is removed with everything else.
    yield Database("sqlite", url, name)


def _sentence(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def _task_rows(owner_id: uuid.UUID, count: int, rng: random.Random) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    rows = []
    for number in range(count):
        created = now - timedelta(seconds=rng.randint(0, 365 * 86_400))
        updated = created + timedelta(seconds=rng.randint(0, 30 * 86_400))
        roll = rng.random()
        rows.append(
            {
                "id": uuid.uuid4(),
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


async def _seed_tasks(url: str, owners: dict[uuid.UUID, int], seed: int) -> list[str]:
    """Bulk-insert tasks through the app's own table definition (so types match the app)."""
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
                rows = _task_rows(owner_id, count, rng)
                for start in range(0, len(rows), 2000):
                    await connection.execute(insert(table), rows[start : start + 2000])
                if index == 0:
                    first_owner_ids = [str(row["id"]) for row in rows]
        if engine.dialect.name == "postgresql":
            async with engine.connect() as connection:
                await connection.execute(text("ANALYZE"))
    finally:
        await engine.dispose()
    return first_owner_ids


async def _user_id(url: str, email: str) -> uuid.UUID:
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import create_async_engine

    from taskapi.users.tables import UserRow

    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            table = UserRow.__table__  # type: ignore[attr-defined]
            found = await connection.scalar(select(table.c.id).where(table.c.email == email))
    finally:
        await engine.dispose()
    if found is None:
        raise BenchmarkError(f"registered user {email} not found in the database")
    return uuid.UUID(str(found))


# ---------------------------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def pick_cores() -> tuple[int | None, int | None]:
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return cores[0], cores[0]
    return cores[0], cores[1]


@contextlib.contextmanager
def running_server(
    database: Database, options: argparse.Namespace, core: int | None, log_path: Path
) -> Iterator[tuple[int, int]]:
    port = _free_port()
    env = {
        **os.environ,
        "TASKAPI_DATABASE_URL": database.url,
        "TASKAPI_ENV": "production",
        "TASKAPI_JWT_SECRET": secrets.token_urlsafe(48),
        "TASKAPI_LOG_LEVEL": "WARNING",
        # Long enough that a slow run never sees its token expire mid-scenario.
        "TASKAPI_ACCESS_TOKEN_TTL_SECONDS": "3600",
    }
    if options.pool_size is not None:
        env["TASKAPI_DB_POOL_SIZE"] = str(options.pool_size)
    if options.max_overflow is not None:
        env["TASKAPI_DB_MAX_OVERFLOW"] = str(options.max_overflow)
    # cProfile covers the event loop thread, where all request handling happens here.
    profiler = (
        ["-m", "cProfile", "-o", str(options.profile_server)] if options.profile_server else []
    )
    command = [
        sys.executable,
        *profiler,
        "-m",
        "uvicorn",
        options.app,
        "--factory",
        "--host",
        HOST,
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    with log_path.open("wb") as log:
        # Own session: a Ctrl-C reaches only us, and we shut the server down in order.
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        if core is not None:
            os.sched_setaffinity(process.pid, {core})
        _wait_ready(process, port, log_path)
        yield port, process.pid
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        print("server stopped")


def _wait_ready(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    import httpx

    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise BenchmarkError(f"the server exited with {process.returncode}:\n{tail}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"http://{HOST}:{port}/health/ready", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise BenchmarkError(f"the server was not ready within {READY_TIMEOUT_S:.0f} s")


# ---------------------------------------------------------------------------------------------
# Orchestration
# ---------------------------------------------------------------------------------------------


def register(client: Any, email: str) -> str:
    """Register through the API (so the stored hash is a real Argon2 one) and log in."""
    response = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    if response.status_code != 201:
        raise BenchmarkError(f"register {email}: {response.status_code} {response.text[:300]}")
    response = client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    if response.status_code != 200:
        raise BenchmarkError(f"token {email}: {response.status_code} {response.text[:300]}")
    token: str = response.json()["access_token"]
    return token


def sanity_check(
    client: Any, token: str, own_ids: list[str], foreign_id: str, limit: int
) -> str | None:
    """Prove each scenario returns what it claims before timing it; returns page 2's cursor."""
    auth = {"Authorization": f"Bearer {token}"}
    one = client.get(f"/api/v1/tasks/{own_ids[0]}", headers=auth)
    if one.status_code != 200 or one.json()["id"] != own_ids[0]:
        raise BenchmarkError(f"GET one task: {one.status_code} {one.text[:300]}")
    # Another user's task must be invisible, or the isolation filter is not being exercised.
    other = client.get(f"/api/v1/tasks/{foreign_id}", headers=auth)
    if other.status_code != 404:
        raise BenchmarkError(f"another user's task answered {other.status_code}, expected 404")
    page = client.get("/api/v1/tasks", params={"limit": limit}, headers=auth)
    body = page.json()
    if page.status_code != 200 or len(body["items"]) != limit:
        raise BenchmarkError(f"list {limit}: {page.status_code} {page.text[:300]}")
    cursor: str | None = body.get("next_cursor")
    return cursor


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


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
        "implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
        # Other work on the machine skews every number; a high figure here means re-run.
        "load_average_1m_at_start": round(os.getloadavg()[0], 2)
        if hasattr(os, "getloadavg")
        else None,
    }


def benchmark(options: argparse.Namespace) -> dict[str, Any]:
    import httpx

    from taskapi.core.config import Settings

    machine = machine_info()  # before our own load, so the load average is other work's
    server_core, client_core = pick_cores()
    with (
        tempfile.TemporaryDirectory(prefix="taskapi-bench-") as scratch_name,
        throwaway_database(options, Path(scratch_name)) as database,
        running_server(database, options, server_core, Path(scratch_name) / "server.log") as (
            port,
            server_pid,
        ),
        httpx.Client(base_url=f"http://{HOST}:{port}", timeout=30) as client,
    ):
        print(f"engine {database.engine}, database {database.name}, server on port {port}")
        emails = [f"bench-{n}@example.com" for n in range(OTHER_USERS + 1)]
        token = register(client, emails[0])
        for email in emails[1:]:
            register(client, email)
        owners = {asyncio.run(_user_id(database.url, emails[0])): options.rows}
        for email in emails[1:]:
            owners[asyncio.run(_user_id(database.url, email))] = OTHER_ROWS_PER_USER
        started = time.perf_counter()
        task_ids = asyncio.run(_seed_tasks(database.url, owners, options.seed))
        print(f"seeded {sum(owners.values())} tasks in {time.perf_counter() - started:.1f} s")
        foreign_id = asyncio.run(_any_task_of(database.url, list(owners)[1]))
        cursor = sanity_check(client, token, task_ids, foreign_id, 20)
        if cursor is None:
            raise BenchmarkError("the first page of 20 has no next_cursor")

        scenarios = {
            "get_one": [f"/api/v1/tasks/{task_id}" for task_id in task_ids],
            "list_20": ["/api/v1/tasks?limit=20"],
            "list_20_cursor": [f"/api/v1/tasks?limit=20&cursor={cursor}"],
        }
        results = {}
        for name, paths in scenarios.items():
            if options.only and name not in options.only:
                continue
            print(f"running {name}: {options.warmup:g} s warm-up + {options.duration:g} s ...")
            result = run_scenario(
                port=port,
                server_pid=server_pid,
                token=token,
                paths=paths,
                options=options,
                core=client_core,
            )
            result["target_rps"] = TARGETS[name]
            result["within_target"] = result["rps"] >= TARGETS[name]
            results[name] = result
    defaults = Settings.model_fields
    return {
        "benchmark": "taskapi read API",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "engine": database.engine,
        "server_version": database.server_version,
        "rows": options.rows,
        "other_users": OTHER_USERS,
        "other_rows": OTHER_USERS * OTHER_ROWS_PER_USER,
        "connections": options.connections,
        "warmup_s": options.warmup,
        "duration_s": options.duration,
        "server": {
            "runner": "uvicorn, 1 worker, access log off",
            "app": options.app,
            # uvicorn picks these C speed-ups when installed and falls back to pure Python.
            "event_loop": "uvloop" if _importable("uvloop") else "asyncio",
            "http_parser": "httptools" if _importable("httptools") else "h11",
            "profiled": options.profile_server is not None,
            "core": server_core,
            "load_generator_core": client_core,
            "db_pool_size": options.pool_size or defaults["db_pool_size"].default,
            "db_max_overflow": (
                options.max_overflow
                if options.max_overflow is not None
                else defaults["db_max_overflow"].default
            ),
        },
        # The budget was measured on PostgreSQL; a SQLite run only shows relative costs.
        "comparable_to_reference": database.engine == "postgresql",
        "reference_rps": REFERENCE,
        "target_fraction_of_ceiling": TARGET_FRACTION_OF_CEILING,
        "target_rps": TARGETS,
        "results": results,
    }


async def _any_task_of(url: str, owner_id: uuid.UUID) -> str:
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import create_async_engine

    from taskapi.tasks.tables import TaskRow

    table = TaskRow.__table__  # type: ignore[attr-defined]
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            found = await connection.scalar(
                select(table.c.id).where(table.c.owner_id == owner_id).limit(1)
            )
    finally:
        await engine.dispose()
    return str(found)


def print_summary(document: dict[str, Any]) -> None:
    print(
        f"\n{document['engine']} {document.get('server_version') or ''}".rstrip()
        + f", {document['rows']} rows, "
        f"{document['connections']} connections, {document['duration_s']:g} s per scenario"
    )
    server = document["server"]
    print(
        f"uvicorn on {server['event_loop']} + {server['http_parser']}, pool "
        f"{server['db_pool_size']}+{server['db_max_overflow']}, load average before start "
        f"{document['machine']['load_average_1m_at_start']}"
        + (" (server under cProfile: rates are not comparable)" if server["profiled"] else "")
    )
    for name, result in document["results"].items():
        verdict = "ok" if result["within_target"] else "BELOW TARGET"
        print(
            f"  {name:<15} {result['rps']:>8.1f} req/s  p50 {result['p50_ms']:>7.2f} ms"
            f"  p90 {result['p90_ms']:>7.2f} ms  p99 {result['p99_ms']:>7.2f} ms"
            f"  errors {result['errors']}  [{verdict}, target {result['target_rps']:.0f}]"
        )
        print(
            f"  {'':<15} CPU during the window: server {result['server_cpu_pct']} %, "
            f"client {result['client_cpu_pct']} %, whole machine {result['machine_cpu_pct']} %"
        )
    if not document["comparable_to_reference"]:
        print("  (SQLite run: not comparable with the PostgreSQL budget)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__,
        epilog="PostgreSQL from --database-url, BENCH_DATABASE_URL or TEST_DATABASE_URL "
        "(else the local default server); SQLite, labelled as such, only when none answers.",
    )
    parser.add_argument("--output", type=Path, default=Path("var/bench/api.json"))
    parser.add_argument("--database-url", help="PostgreSQL server to create the database on")
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds, not measured")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--pool-size", type=int, help="TASKAPI_DB_POOL_SIZE for the server")
    parser.add_argument("--max-overflow", type=int, help="TASKAPI_DB_MAX_OVERFLOW for the server")
    parser.add_argument("--only", action="append", choices=sorted(TARGETS), help="repeatable")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument(
        "--app",
        default="taskapi.main:create_app",
        help="app factory to serve; change it only to compare an experimental variant",
    )
    parser.add_argument("--profile-server", type=Path, help="write a cProfile of the server here")
    parser.add_argument("--loadgen", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main() -> int:
    # Speed is reported, never asserted: a non-zero exit means the measurement itself failed
    # (no server, a failed sanity check, or any non-200 response), not that it was slow.
    options = parse_args()
    if options.loadgen:
        return _loadgen_main()

    def _on_sigterm(_signum: int, _frame: object) -> None:
        raise _Terminated

    signal.signal(signal.SIGTERM, _on_sigterm)
    # A shell that starts us in the background leaves SIGINT ignored; Ctrl-C must still clean up.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        document = benchmark(options)
    except BenchmarkError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, _Terminated):
        print("interrupted; server stopped and database dropped", file=sys.stderr)
        return 130
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print_summary(document)
    print(f"wrote {options.output}")
    errors = sum(result["errors"] for result in document["results"].values())
    if errors:
        print(f"benchmark failed: {errors} non-200 responses or broken connections")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
