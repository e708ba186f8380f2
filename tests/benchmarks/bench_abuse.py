"""Abuse scenarios for `make bench`: each prints a ratio measured side by side in one run.

    python -m tests.benchmarks.bench_abuse [--output var/bench/abuse.json] [--quick]

1. limiter_cost: GET one task with the per-user budget on (never refusing) ÷ off, both servers
   up at once and measured alternately `--repeats` times (medians, with the spread of the
   per-pair ratios), and the same as server CPU time per request (off ÷ on), which a busy
   machine disturbs far less than throughput. Target ≥ 0.95 (the in-memory limit costs at
   most 5% of read throughput). A microbenchmark times one spend in process beside it.
2. server_cost: GET one task on the production server (granian) ÷ uvicorn+httptools, the
   server it replaced (which has no header limit or header timeout), measured the same way.
3. sign_in_flood: 50 connections (wrk, a Lua script, on the load generator's core) sending
   wrong passwords back to back for unknown accounts (as from many addresses: the per-address
   budgets are raised, so the hashing bound is what is measured) while an ordinary client reads
   /users/me. The server gets one core, as in the read scenarios. One wrk run covers warm-up
   and window (verifications/s over the whole run), then the left-over hashes drain before the
   next quiet phase. Targets: verifications/s ≥ 0.9 x the Argon2 capacity (one verify's
   time on the server's core, measured before and after, at normal priority), and /users/me
   p99 ≤ 2 x its p99 without the flood (quiet and flooded phases alternated `--repeats`
   times, medians).
4. hostile_clients: /health/live p99 while a 64 MB header, 50 slowloris and 200 silent
   connections attack ÷ its p99 without them. Target ≤ 2.

Each server runs on one core and the load on the other (when there are two), everything on
loopback, each phase bounded in time. The machine is shared: every measurement records how
busy the whole machine was meanwhile. Speed is reported, never asserted: the exit code is
non-zero only when a measurement could not be made.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.benchmarks.bench_api import parse_wrk
from tests.benchmarks.harness import Server, busy_pct, cpu_times, process_cpu_seconds

HOST = "127.0.0.1"
PASSWORD = "bench-password-1234"  # only ever used against a throwaway database
READY_TIMEOUT_S = 60.0
TARGETS = {
    "limiter_cost": ">= 0.95",
    "sign_in_throughput": ">= 0.9",
    "sign_in_flood_p99": "<= 2",
    "hostile_clients_p99": "<= 2",
}


class BenchmarkError(Exception):
    """The benchmark could not produce a trustworthy measurement."""


# ---------------------------------------------------------------------------------------------
# Load generator: a child process pinned to the other core, driving streams of requests
# ---------------------------------------------------------------------------------------------


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


def _request(stream: dict[str, Any], port: int, n: int) -> bytes:
    body = stream.get("body", "").replace("{n}", str(n)).encode()
    head = f"{stream['method']} {stream['path']} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
    for name, value in stream.get("headers", {}).items():
        head += f"{name}: {value}\r\n"
    if body:
        head += f"Content-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


async def _connection(
    stream: dict[str, Any], port: int, window: tuple[float, float], out: dict[str, Any], seed: int
) -> None:
    start, stop = window
    pause = stream.get("pause_s", 0.0)
    reader, writer = await asyncio.open_connection(HOST, port)
    n = seed * 1_000_000
    try:
        while (began := time.perf_counter()) < stop:
            n += 1
            try:
                async with asyncio.timeout(30):
                    status = await _exchange(reader, writer, _request(stream, port, n))
            except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                out["errors"].append(type(exc).__name__)
                return
            ended = time.perf_counter()
            if began >= start and ended <= stop:
                out["latencies"].append(ended - began)
            if start <= ended <= stop:  # throughput: answers completed in the window
                out["statuses"][str(status)] = out["statuses"].get(str(status), 0) + 1
            if pause:
                await asyncio.sleep(pause)
    finally:
        writer.close()


async def _drive(plan: dict[str, Any]) -> dict[str, Any]:
    now = time.perf_counter()
    window = (now + plan["warmup_s"], now + plan["warmup_s"] + plan["duration_s"])
    results: dict[str, Any] = {}
    tasks = []
    for stream in plan["streams"]:
        out: dict[str, Any] = {"latencies": [], "statuses": {}, "errors": []}
        results[stream["name"]] = out
        for seed in range(stream["connections"]):
            tasks.append(_connection(stream, plan["port"], window, out, seed))
    async with asyncio.timeout(plan["warmup_s"] + plan["duration_s"] + 40):
        await asyncio.gather(*tasks)
    summary = {}
    for name, out in results.items():
        ordered = sorted(out["latencies"])
        summary[name] = {
            "requests": len(ordered),
            "rps": round(len(ordered) / plan["duration_s"], 1),
            "p50_ms": _percentile(ordered, 0.50),
            "p99_ms": _percentile(ordered, 0.99),
            "statuses": out["statuses"],
            "errors": len(out["errors"]),
        }
    return summary


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return round(ordered[index] * 1000, 2)


def _loadgen_main() -> int:
    plan = json.load(sys.stdin)
    if plan.get("core") is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {plan["core"]})
    json.dump(asyncio.run(_drive(plan)), sys.stdout)
    return 0


def drive(plan: dict[str, Any], core: int | None) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.bench_abuse", "--loadgen"],
        input=json.dumps({**plan, "core": core}),
        capture_output=True,
        text=True,
        timeout=plan["warmup_s"] + plan["duration_s"] + 90,
        check=False,
    )
    if completed.returncode != 0:
        raise BenchmarkError(f"load generator failed:\n{completed.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(completed.stdout)
    for name, stream in result.items():
        if stream["errors"] or not stream["statuses"]:
            raise BenchmarkError(f"{name}: no measurement ({stream}); all streams: {result}")
    return result


# ---------------------------------------------------------------------------------------------
# Servers and data
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
    return (cores[0], cores[-1]) if cores else (None, None)


@contextlib.contextmanager
def running_server(
    database_url: str,
    *,
    secret: str,
    core: int | None,
    scratch: Path,
    server: str = "production",
    environment: dict[str, str] | None = None,
    header_timeout_seconds: float | None = None,
) -> Iterator[Server]:
    """Serve the app on a free port; `server` is "production" (taskapi.server) or "uvicorn"."""
    port = _free_port()
    if server == "production":
        # The production server definition; its options come from the environment below.
        command = [sys.executable, "-m", "taskapi.server", "--host", HOST, "--port", str(port)]
        command += ["--no-access-log"]
    else:
        command = [sys.executable, "-m", "uvicorn", "taskapi.main:create_app", "--factory"]
        command += ["--host", HOST, "--port", str(port), "--no-access-log"]
        command += ["--log-level", "warning", "--http", "httptools"]
    env = {
        **os.environ,
        "TASKAPI_ENV": "production",
        "TASKAPI_DATABASE_URL": database_url,
        "TASKAPI_JWT_SECRET": secret,
        "TASKAPI_LOG_LEVEL": "WARNING",
        "TASKAPI_ACCESS_TOKEN_TTL_SECONDS": "3600",
        # Budgets far above what a throughput scenario sends: the limiter runs, never refuses.
        "TASKAPI_RATE_LIMIT_USER": "100000000/minute",
        "TASKAPI_RATE_LIMIT_REGISTER": "100000/minute",
        **(
            {"TASKAPI_HEADER_TIMEOUT_SECONDS": str(header_timeout_seconds)}
            if header_timeout_seconds is not None
            else {}
        ),
        **(environment or {}),
    }

    def pin() -> None:  # before exec, so the server's worker processes inherit the core
        if core is not None:
            os.sched_setaffinity(0, {core})

    log_path = scratch / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=pin,  # noqa: PLW1509 - only sched_setaffinity, no locks or threads
        )
    try:
        _wait_ready(process, port, log_path)
        yield Server(server, port, process, log_path)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


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


def prepare_database(scratch: Path) -> str:
    """A migrated SQLite file (the embedded default): ratios, not PostgreSQL absolutes."""
    from taskapi.migrations import upgrade

    url = f"sqlite+aiosqlite:///{scratch / 'abuse.db'}"
    upgrade(url)
    return url


def sign_up(port: int) -> tuple[str, str]:
    """Register a user, sign in, create a task; returns the token and the task's path."""
    import httpx

    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=30) as client:
        registered = client.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
        )
        if registered.status_code != 201:
            raise BenchmarkError(f"register: {registered.status_code} {registered.text[:300]}")
        token = client.post(
            "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        created = client.post("/api/v1/tasks", json={"title": "Bench"}, headers=headers)
        if created.status_code != 201:
            raise BenchmarkError(f"create: {created.status_code} {created.text[:300]}")
    return token, created.headers["Location"]


def read_stream(token: str, path: str, connections: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": "read",
        "method": "GET",
        "path": path,
        "headers": {"Authorization": f"Bearer {token}"},
        "connections": connections,
        **extra,
    }


# ---------------------------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------------------------


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise BenchmarkError("wrk is not installed (`make bench` installs the 'wrk' package)")
    return found


def _wrk(
    core: int | None, *argv: str, env: dict[str, str] | None = None, timeout: float = 120
) -> str:
    command = [ensure_wrk(), *argv]
    if core is not None:
        command = ["taskset", "-c", str(core), *command]
    completed = subprocess.run(
        command,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise BenchmarkError(f"wrk failed: {completed.stderr[-1500:]}")
    return completed.stdout


class Meter:
    """Server CPU seconds and how busy the whole machine was, over one measured phase."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.cpu = process_cpu_seconds(server.pid)
        self.machine = cpu_times()
        self.started = time.monotonic()

    def read(self) -> dict[str, Any]:
        cpu = process_cpu_seconds(self.server.pid)
        return {
            "elapsed_s": round(time.monotonic() - self.started, 2),
            "server_cpu_s": round(cpu - self.cpu, 3) if cpu is not None and self.cpu else None,
            "machine_busy_pct": busy_pct(self.machine, cpu_times()),
        }


_READ_SCRIPT = """
local token = os.getenv("BENCH_TOKEN")
local path = os.getenv("BENCH_PATH")
local headers = {["Authorization"] = "Bearer " .. token}
request = function() return wrk.format("GET", path, headers) end
"""


def wrk_reads(server: Server, token: str, path: str, ctx: dict[str, Any]) -> dict[str, Any]:
    """GET `path` with 32 connections from the load generator's core: warm-up, then measured."""
    script = ctx["server"]["scratch"] / "read.lua"
    script.write_text(_READ_SCRIPT, encoding="utf-8")
    env = {"BENCH_TOKEN": token, "BENCH_PATH": path}

    def argv(seconds: float) -> list[str]:
        return [
            "-t1",
            "-c32",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"http://{HOST}:{server.port}",
        ]

    _wrk(ctx["client_core"], *argv(ctx["warmup"]), env=env)
    meter = Meter(server)
    result = parse_wrk(_wrk(ctx["client_core"], *argv(ctx["duration"]), env=env))
    result |= meter.read()
    if result["non_2xx"] or result["socket_errors"]:
        raise BenchmarkError(f"reads: {result}")
    requests = result["requests"] or 0
    result["server_cpu_ms_per_request"] = (
        round(1000 * result["server_cpu_s"] / requests, 4)
        if requests and result["server_cpu_s"]
        else None
    )
    return result


def alternated_reads(
    ctx: dict[str, Any], variants: dict[str, dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """GET one task on each server variant, all up at once, measured in turn `repeats` times.

    The order alternates (A B, B A, ...) so that a drift in the machine's load hits both alike.
    """
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in variants}
    with contextlib.ExitStack() as stack:
        served = {}
        for label, options in variants.items():
            server = stack.enter_context(running_server(**{**ctx["server"], **options}))
            token, path = sign_up(server.port)
            served[label] = (server, token, path)
        labels = list(variants)
        for number in range(ctx["repeats"]):
            for label in labels if number % 2 == 0 else labels[::-1]:
                server, token, path = served[label]
                result = wrk_reads(server, token, path, ctx)
                runs[label].append(result)
                print(
                    f"    {label:<10} {result['rps']:>8.1f} req/s, "
                    f"{result['server_cpu_ms_per_request']} ms server CPU/request, "
                    f"machine {result['machine_busy_pct']} % busy",
                    flush=True,
                )
    return runs


def compare(runs: dict[str, list[dict[str, Any]]], a: str, b: str) -> dict[str, Any]:
    """a ÷ b: throughput (medians, and each pair's ratio) and CPU per request (b ÷ a)."""
    pair_ratios = [x["rps"] / y["rps"] for x, y in zip(runs[a], runs[b], strict=True)]
    cpu_a = [r["server_cpu_ms_per_request"] for r in runs[a] if r["server_cpu_ms_per_request"]]
    cpu_b = [r["server_cpu_ms_per_request"] for r in runs[b] if r["server_cpu_ms_per_request"]]
    return {
        f"rps_{a}": [r["rps"] for r in runs[a]],
        f"rps_{b}": [r["rps"] for r in runs[b]],
        "ratio": round(
            _median([r["rps"] for r in runs[a]]) / _median([r["rps"] for r in runs[b]]), 3
        ),
        "pair_ratios": [round(r, 3) for r in pair_ratios],
        "pair_ratio_spread": [round(min(pair_ratios), 3), round(max(pair_ratios), 3)],
        f"cpu_ms_per_request_{a}": cpu_a,
        f"cpu_ms_per_request_{b}": cpu_b,
        # Work per request, b ÷ a: the throughput ratio a server with a whole core would see.
        "cpu_ratio": round(_median(cpu_b) / _median(cpu_a), 3) if cpu_a and cpu_b else None,
        "machine_busy_pct": [r["machine_busy_pct"] for r in runs[a] + runs[b]],
    }


def spend_microbenchmark(rounds: int = 7, calls: int = 20_000) -> dict[str, Any]:
    """One RateLimiter.spend of the per-user budget, in process, with the default store (µs)."""
    from starlette.requests import Request

    from taskapi.core.config import Settings
    from taskapi.core.ratelimit import RateLimiter

    limiter = RateLimiter(
        Settings(env="test", jwt_secret="x" * 48, rate_limit_user="100000000/minute")
    )
    subject = uuid.uuid4().hex

    async def run() -> list[float]:
        timings = []
        for _ in range(rounds):
            scopes = [{"type": "http", "headers": [], "state": {}} for _ in range(calls)]
            requests = [Request(scope) for scope in scopes]
            began = time.thread_time()
            for request in requests:
                await RateLimiter.spend(limiter, request, limiter.budgets.user, subject)
            timings.append((time.thread_time() - began) / calls * 1e6)
        return timings

    timings = asyncio.run(run())
    return {
        "spend_us_median": round(statistics.median(timings), 2),
        "spend_us_min": round(min(timings), 2),
        "spend_us_max": round(max(timings), 2),
        "clock": "thread CPU time",
    }


def limiter_cost(ctx: dict[str, Any]) -> dict[str, Any]:
    """GET one task with the per-user limit on ÷ off (in-memory store)."""
    runs = alternated_reads(
        ctx,
        {
            "on": {"environment": {"TASKAPI_RATE_LIMIT_ENABLED": "true"}},
            "off": {"environment": {"TASKAPI_RATE_LIMIT_ENABLED": "false"}},
        },
    )
    result = compare(runs, "on", "off")
    micro = spend_microbenchmark()
    off_cpu = result["cpu_ms_per_request_off"]
    result["spend"] = micro
    # One spend as a share of what a request costs the server without the limit.
    result["spend_share_of_request_pct"] = (
        round(100 * micro["spend_us_median"] / (1000 * _median(off_cpu)), 2) if off_cpu else None
    )
    result["target"] = TARGETS["limiter_cost"]
    return result


def server_cost(ctx: dict[str, Any]) -> dict[str, Any]:
    """GET one task on granian (production) ÷ on uvicorn+httptools."""
    runs = alternated_reads(
        ctx, {"granian": {"server": "production"}, "uvicorn": {"server": "uvicorn"}}
    )
    return compare(runs, "granian", "uvicorn")


def argon2_capacity(concurrency: int, core: int | None, *, niceness: int = 0) -> dict[str, Any]:
    """Verifications per second the shipped Argon2 settings allow with `concurrency` workers
    on the server's core (this thread is pinned there for the measurement, at `niceness`)."""
    import threading

    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    from taskapi.core.config import Settings

    fields = Settings.model_fields
    hasher = PasswordHash(
        (
            Argon2Hasher(
                time_cost=fields["argon2_time_cost"].default,
                memory_cost=fields["argon2_memory_cost_kib"].default,
            ),
        )
    )
    stored = hasher.hash(PASSWORD)
    timings: list[float] = []

    def measure() -> None:
        if core is not None:
            os.sched_setaffinity(0, {core})  # this thread only
        if niceness:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
        for _ in range(10):
            began = time.perf_counter()
            hasher.verify("not the password", stored)
            timings.append(time.perf_counter() - began)

    machine = cpu_times()
    cpu_before = time.process_time()  # Argon2's lanes run on threads of their own
    worker = threading.Thread(target=measure)
    worker.start()
    worker.join()
    cpu_per_verify = (time.process_time() - cpu_before) / len(timings)
    one = statistics.median(timings)
    cores = 1 if core is not None else (os.cpu_count() or 1)
    return {
        "verify_ms": round(one * 1000, 1),
        "verify_cpu_ms": round(cpu_per_verify * 1000, 1),
        "per_second": round(min(concurrency, cores) / one, 2),
        "niceness": niceness,
        "machine_busy_pct": busy_pct(machine, cpu_times()),
    }


_FLOOD_SCRIPT = """
local prefix = os.getenv("BENCH_PREFIX")
local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
local counter = 0
local threads = {}
statuses = {}
function setup(thread) table.insert(threads, thread) end
request = function()
  -- A different unknown account per attempt: per-account budgets never apply.
  counter = counter + 1
  return wrk.format("POST", "/api/v1/auth/token", headers,
    "username=" .. prefix .. "-" .. counter .. "%40example.com&password=wrong-password")
end
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
done = function(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  io.write("STATUSES")
  for status, n in pairs(counts) do io.write(" " .. status .. "=" .. n) end
  io.write("\\n")
end
"""


def wrk_flood(server: Server, ctx: dict[str, Any], seconds: float) -> dict[str, Any]:
    script = ctx["server"]["scratch"] / "flood.lua"
    script.write_text(_FLOOD_SCRIPT, encoding="utf-8")
    output = _wrk(
        ctx["client_core"],
        "-t1",
        "-c50",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(script),
        f"http://{HOST}:{server.port}",
        env={"BENCH_PREFIX": f"flood-{uuid.uuid4().hex[:8]}"},
    )
    line = next((x for x in output.splitlines() if x.startswith("STATUSES")), None)
    took = re.search(r"requests in ([0-9.]+)(ms|s|m)", output)
    if line is None or took is None:
        raise BenchmarkError(f"unexpected wrk output:\n{output[-1500:]}")
    statuses = dict(pair.split("=") for pair in line.split()[1:])
    parsed = parse_wrk(output)
    return {
        "seconds": float(took.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[took.group(2)],
        "statuses": {code: int(n) for code, n in statuses.items()},
        "p50_ms": parsed["p50_ms"],
        "p99_ms": parsed["p99_ms"],
        "socket_errors": parsed["socket_errors"],
    }


def wait_until_idle(server: Server, *, max_wait_s: float = 60.0) -> float:
    """Wait until the server has finished the hashes its flood left behind; seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < max_wait_s:
        before = process_cpu_seconds(server.pid)
        time.sleep(0.5)
        after = process_cpu_seconds(server.pid)
        if before is None or after is None or after - before < 0.05:
            break
    return round(time.monotonic() - started, 1)


def sign_in_flood(ctx: dict[str, Any]) -> dict[str, Any]:
    from taskapi.core.config import Settings

    concurrency = ctx["hash_concurrency"]
    niceness = ctx["hash_niceness"]
    if niceness is None:
        niceness = Settings.model_fields["password_hash_niceness"].default
    environment = {
        "TASKAPI_PASSWORD_HASH_CONCURRENCY": str(concurrency),
        "TASKAPI_PASSWORD_HASH_NICENESS": str(niceness),
        # As from many addresses: per-address budgets and back-off must not be what stops it.
        "TASKAPI_RATE_LIMIT_SIGN_IN_ADDRESS": "100000000/minute",
        "TASKAPI_SIGN_IN_FREE_FAILURES_ADDRESS": "100000000",
    }
    if ctx["refusal_delay"] is not None:
        environment["TASKAPI_PASSWORD_BUSY_REFUSAL_DELAY_SECONDS"] = str(ctx["refusal_delay"])
    server_core = ctx["server"]["core"]
    with running_server(**ctx["server"], environment=environment) as server:
        token, _ = sign_up(server.port)
        me = read_stream(token, "/api/v1/users/me", 1, pause_s=0.01)
        timing = {"port": server.port, "warmup_s": ctx["warmup"], "duration_s": ctx["duration"]}
        capacities = [argon2_capacity(concurrency, server_core)]
        quiet_runs, flood_runs = [], []
        for _ in range(ctx["repeats"]):
            meter = Meter(server)
            quiet = drive({**timing, "streams": [me]}, ctx["client_core"])["read"]
            quiet |= meter.read()
            _expect_only(quiet, "200")
            quiet_runs.append(quiet)
            # The prober runs its warm-up while wrk warms the flood up, then both measure.
            plan = ctx["server"]["scratch"] / "prober.json"
            plan.write_text(json.dumps({**timing, "streams": [me], "core": ctx["client_core"]}))
            with plan.open() as plan_file:
                prober = subprocess.Popen(
                    [sys.executable, "-m", "tests.benchmarks.bench_abuse", "--loadgen"],
                    stdin=plan_file,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            # One wrk run for the prober's warm-up and window: a second run would find the
            # waiting room full of hashes for the first run's closed connections.
            meter = Meter(server)
            flood = wrk_flood(server, ctx, ctx["warmup"] + ctx["duration"])
            flood |= meter.read()
            flood["drain_s"] = wait_until_idle(server)
            out, err = prober.communicate(timeout=ctx["warmup"] + ctx["duration"] + 60)
            if prober.returncode != 0:
                raise BenchmarkError(f"prober failed:\n{err[-2000:]}")
            read = json.loads(out)["read"]
            _expect_only(read, "200")
            flood["verified_per_second"] = round(
                flood["statuses"].get("401", 0) / flood["seconds"], 2
            )
            flood["refused_503_per_second"] = round(
                flood["statuses"].get("503", 0) / flood["seconds"], 1
            )
            flood["users_me"] = read
            # Of the CPU the server got, the share that became verifications: what a busy
            # machine does not take away from the comparison.
            cpu_per_verify = capacities[0]["verify_cpu_ms"] / 1000
            flood["cpu_throughput_ratio"] = (
                round(flood["statuses"].get("401", 0) * cpu_per_verify / flood["server_cpu_s"], 3)
                if flood["server_cpu_s"]
                else None
            )
            flood_runs.append(flood)
            print(
                f"    quiet /users/me p99 {quiet['p99_ms']} ms; flood: "
                f"{flood['verified_per_second']} verified/s, {flood['refused_503_per_second']} "
                f"refused/s, /users/me p99 {read['p99_ms']} ms, server CPU "
                f"{flood['server_cpu_s']} s of {flood['seconds']:.1f}, per server CPU second "
                f"{flood['cpu_throughput_ratio']}, machine {flood['machine_busy_pct']} % busy",
                flush=True,
            )
        capacities.append(argon2_capacity(concurrency, server_core))
        low_priority = argon2_capacity(concurrency, server_core, niceness=niceness)
    capacity = _median([c["per_second"] for c in capacities])
    verified = _median([f["verified_per_second"] for f in flood_runs])
    quiet_p99 = _median([q["p99_ms"] for q in quiet_runs])
    flood_p99 = _median([f["users_me"]["p99_ms"] for f in flood_runs])
    return {
        "argon2_capacity": capacities,
        "argon2_capacity_at_hashing_niceness": low_priority,
        "hash_workers": concurrency,
        "hash_niceness": niceness,
        "refusal_delay_s": ctx["refusal_delay"],
        "server_core": server_core,
        "capacity_per_second": capacity,
        "verified_per_second": verified,
        "refused_503_per_second": _median([f["refused_503_per_second"] for f in flood_runs]),
        "users_me_quiet_p99_ms": quiet_p99,
        "users_me_flood_p99_ms": flood_p99,
        "quiet_runs": quiet_runs,
        "flood_runs": flood_runs,
        "throughput_ratio": round(verified / capacity, 3),
        "throughput_ratios": [round(f["verified_per_second"] / capacity, 3) for f in flood_runs],
        "cpu_throughput_ratio": _median(
            [f["cpu_throughput_ratio"] for f in flood_runs if f["cpu_throughput_ratio"]] or [0.0]
        ),
        "p99_ratio": round(flood_p99 / quiet_p99, 3),
        "p99_ratios": [
            round(f["users_me"]["p99_ms"] / q["p99_ms"], 3)
            for f, q in zip(flood_runs, quiet_runs, strict=True)
        ],
        "targets": {
            "throughput_ratio": TARGETS["sign_in_throughput"],
            "p99_ratio": TARGETS["sign_in_flood_p99"],
        },
    }


async def _attack(port: int, seconds: float) -> dict[str, Any]:
    """64 MB header, 50 slowloris and 200 silent connections, for `seconds` at most."""
    stop_at = time.monotonic() + seconds
    outcome: dict[str, Any] = {}

    async def huge_header() -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        began = time.perf_counter()
        writer.write(b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Padding: ")
        sent = 0
        with contextlib.suppress(ConnectionError):
            while sent < 64 * 1024 * 1024 and not reader.at_eof():
                writer.write(b"a" * 65_536)
                await writer.drain()
                sent += 65_536
        with contextlib.suppress(ConnectionError, TimeoutError):
            await asyncio.wait_for(reader.read(), 5)
        outcome["huge_header"] = {
            "bytes_sent_before_cut": sent,
            "cut_after_ms": round((time.perf_counter() - began) * 1000, 1),
        }
        writer.close()

    async def slowloris() -> None:
        pairs = [await asyncio.open_connection(HOST, port) for _ in range(50)]
        for _, writer in pairs:
            writer.write(b"GET /health/live HTTP/1.1\r\nHost: x\r\n")
        while time.monotonic() < stop_at:
            for reader, writer in pairs:
                if not reader.at_eof() and not writer.is_closing():
                    with contextlib.suppress(ConnectionError, RuntimeError):
                        writer.write(b"X")
            await asyncio.sleep(1)
            for reader, _ in pairs:  # notice the connections the server has closed
                with contextlib.suppress(ConnectionError, TimeoutError):
                    await asyncio.wait_for(reader.read(1), 0.001)
        outcome["slowloris_closed_by_server"] = sum(reader.at_eof() for reader, _ in pairs)
        for _, writer in pairs:
            writer.close()

    async def silent() -> None:
        pairs = [await asyncio.open_connection(HOST, port) for _ in range(200)]
        while time.monotonic() < stop_at:
            await asyncio.sleep(0.5)
            for reader, _ in pairs:
                with contextlib.suppress(ConnectionError, TimeoutError):
                    await asyncio.wait_for(reader.read(1), 0.001)
        outcome["silent_closed_by_server"] = sum(reader.at_eof() for reader, _ in pairs)
        for _, writer in pairs:
            writer.close()

    await asyncio.gather(huge_header(), slowloris(), silent())
    return outcome


def hostile_clients(ctx: dict[str, Any]) -> dict[str, Any]:
    with running_server(**ctx["server"], header_timeout_seconds=2) as server:
        port = server.port
        live = {"name": "read", "method": "GET", "path": "/health/live"}
        live |= {"connections": 1, "pause_s": 0.01}
        timing = {"port": port, "warmup_s": ctx["warmup"], "duration_s": ctx["duration"]}
        quiet = drive({**timing, "streams": [live]}, ctx["client_core"])["read"]
        with _attacking(port, ctx["warmup"] + ctx["duration"] + 1) as attack:
            loud = drive({**timing, "streams": [live]}, ctx["client_core"])["read"]
    return {
        "attack": attack,
        "health_live_quiet": quiet,
        "health_live_attacked": loud,
        "p99_ratio": round(loud["p99_ms"] / quiet["p99_ms"], 3),
        "target": TARGETS["hostile_clients_p99"],
    }


@contextlib.contextmanager
def _attacking(port: int, seconds: float) -> Iterator[dict[str, Any]]:
    """Run the attack in a thread of its own (its own event loop) while the block runs."""
    import threading

    outcome: dict[str, Any] = {}

    def run() -> None:
        outcome.update(asyncio.run(_attack(port, seconds)))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield outcome
    finally:
        thread.join(timeout=seconds + 30)


def _expect_only(result: dict[str, Any], status: str) -> None:
    others = {code: count for code, count in result["statuses"].items() if code != status}
    if others:
        raise BenchmarkError(f"expected only {status}, got {result['statuses']}")


# ---------------------------------------------------------------------------------------------
# Orchestration
# ---------------------------------------------------------------------------------------------


SCENARIOS = {
    "limiter_cost": limiter_cost,
    "server_cost": server_cost,
    "sign_in_flood": sign_in_flood,
    "hostile_clients": hostile_clients,
}


def benchmark(options: argparse.Namespace) -> dict[str, Any]:
    server_core, client_core = pick_cores()
    load_before = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    machine_before = cpu_times()
    results = {}
    with tempfile.TemporaryDirectory(prefix="taskapi-abuse-") as scratch_name:
        scratch = Path(scratch_name)
        ctx = {
            "server": {
                "database_url": prepare_database(scratch),
                "secret": secrets.token_urlsafe(48),
                "core": server_core,
                "scratch": scratch,
            },
            "client_core": client_core,
            "warmup": options.warmup,
            "duration": options.duration,
            "repeats": options.repeats,
            "hash_concurrency": options.hash_concurrency,
            "hash_niceness": options.hash_niceness,
            "refusal_delay": options.refusal_delay,
        }
        for name, scenario in SCENARIOS.items():
            if options.only and name not in options.only:
                continue
            print(f"running {name} ...", flush=True)
            results[name] = scenario(ctx)
    return {
        "benchmark": "taskapi abuse scenarios",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(terse=True),
            "load_average_1m_at_start": load_before,
            "busy_pct_over_run": busy_pct(machine_before, cpu_times()),
            "server_core": server_core,
            "load_generator_core": client_core,
        },
        "engine": "sqlite",
        "warmup_s": options.warmup,
        "duration_s": options.duration,
        "repeats": options.repeats,
        "results": results,
    }


def print_summary(document: dict[str, Any]) -> None:
    results = document["results"]
    machine = document["machine"]
    print(
        f"\nabuse scenarios, {document['duration_s']:g} s each, {document['repeats']} repeats; "
        f"load average {machine['load_average_1m_at_start']} at the start, machine "
        f"{machine['busy_pct_over_run']} % busy over the run (ours included)"
    )
    if "limiter_cost" in results:
        r = results["limiter_cost"]
        print(
            f"  limiter_cost     ratio {r['ratio']:.3f} (target {r['target']}; pairs "
            f"{r['pair_ratio_spread'][0]}-{r['pair_ratio_spread'][1]}), per server CPU "
            f"{r['cpu_ratio']}: GET one task {r['rps_on']} req/s with the per-user limit, "
            f"{r['rps_off']} without; one spend {r['spend']['spend_us_median']} µs = "
            f"{r['spend_share_of_request_pct']} % of a request's server CPU"
        )
    if "server_cost" in results:
        r = results["server_cost"]
        print(
            f"  server_cost      ratio {r['ratio']:.3f} (pairs {r['pair_ratio_spread'][0]}-"
            f"{r['pair_ratio_spread'][1]}), per server CPU {r['cpu_ratio']}: GET one task "
            f"{r['rps_granian']} req/s on granian, {r['rps_uvicorn']} on uvicorn+httptools"
        )
    if "sign_in_flood" in results:
        r = results["sign_in_flood"]
        print(
            f"  sign_in_flood    throughput ratio {r['throughput_ratio']:.3f} (target "
            f"{r['targets']['throughput_ratio']}; runs {r['throughput_ratios']}): "
            f"{r['verified_per_second']} verifications/s of {r['capacity_per_second']} "
            f"({r['hash_workers']} worker(s) at nice {r['hash_niceness']}, "
            f"{[c['verify_ms'] for c in r['argon2_capacity']]} ms each at normal priority, "
            f"{r['argon2_capacity_at_hashing_niceness']['verify_ms']} ms at the workers' nice); "
            f"{r['refused_503_per_second']} refused/s; per server CPU second "
            f"{r['cpu_throughput_ratio']}"
        )
        print(
            f"                   p99 ratio {r['p99_ratio']:.3f} (target "
            f"{r['targets']['p99_ratio']}; runs {r['p99_ratios']}): /users/me p99 "
            f"{r['users_me_flood_p99_ms']} ms in the flood, {r['users_me_quiet_p99_ms']} ms "
            f"without; machine {[f['machine_busy_pct'] for f in r['flood_runs']]} % busy"
        )
    if "hostile_clients" in results:
        r = results["hostile_clients"]
        print(
            f"  hostile_clients  p99 ratio {r['p99_ratio']:.3f} (target {r['target']}): "
            f"/health/live p99 {r['health_live_attacked']['p99_ms']} ms attacked, "
            f"{r['health_live_quiet']['p99_ms']} ms quiet; {r['attack']}"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=Path("var/bench/abuse.json"))
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds, not measured")
    parser.add_argument("--duration", type=float, default=8.0, help="measured seconds")
    parser.add_argument("--repeats", type=int, default=4, help="alternated runs per variant")
    parser.add_argument("--hash-concurrency", type=int, default=1, help="Argon2 workers")
    parser.add_argument(
        "--hash-niceness", type=int, default=None, help="the hashing threads' nice value"
    )
    parser.add_argument(
        "--refusal-delay",
        type=float,
        default=None,
        help="seconds before a 503 (default: the app's)",
    )
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS))
    parser.add_argument("--loadgen", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main() -> int:
    options = parse_args()
    if options.loadgen:
        return _loadgen_main()
    try:
        document = benchmark(options)
    except BenchmarkError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print_summary(document)
    print(f"wrote {options.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
