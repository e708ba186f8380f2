"""Abuse scenarios for `make bench`: each prints a ratio measured side by side in one run.

    python -m tests.benchmarks.bench_abuse [--output var/bench/abuse.json] [--quick]

1. limiter_cost: GET one task with the per-user budget on (never refusing) ÷ off.
   Target ≥ 0.95 (the in-memory limit costs at most 5% of read throughput).
2. server_cost: GET one task on the production server (granian) ÷ uvicorn+httptools, the
   server it replaced (which has no header limit or header timeout).
3. sign_in_flood: 50 clients sending wrong passwords back to back (as from many addresses:
   the per-address budgets are raised, so the hashing bound is what is measured) while an
   ordinary client reads /users/me. Targets: verifications/s ≥ 0.9 x the Argon2 capacity
   (workers ÷ one verify's time, measured just before), and /users/me p99 ≤ 2 x its p99
   without the flood.
4. hostile_clients: /health/live p99 while a 64 MB header, 50 slowloris and 200 silent
   connections attack ÷ its p99 without them. Target ≤ 2.

Each server runs on one core and the load on the other (when there are two), everything on
loopback, each phase bounded in time. Speed is reported, never asserted: the exit code is
non-zero only when a measurement could not be made.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
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
) -> Iterator[int]:
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
        yield port
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


def _interleaved_ratio(runs: dict[str, list[float]], numerator: str, denominator: str) -> float:
    return round(statistics.median(runs[numerator]) / statistics.median(runs[denominator]), 3)


def read_rates(ctx: dict[str, Any], variants: dict[str, dict[str, Any]]) -> dict[str, list[float]]:
    """GET one task req/s for each server variant, alternating A/B/A/B to cancel drift."""
    runs: dict[str, list[float]] = {label: [] for label in variants}
    for _ in range(ctx["repeats"]):
        for label, server_options in variants.items():
            with running_server(**ctx["server"], **server_options) as port:
                token, path = sign_up(port)
                plan = {"port": port, "warmup_s": ctx["warmup"], "duration_s": ctx["duration"]}
                plan["streams"] = [read_stream(token, path, 32)]
                result = drive(plan, ctx["client_core"])["read"]
                _expect_only(result, "200")
                runs[label].append(result["rps"])
    return runs


def limiter_cost(ctx: dict[str, Any]) -> dict[str, Any]:
    """GET one task with the per-user limit on ÷ off (in-memory store)."""
    runs = read_rates(
        ctx,
        {
            "on": {"environment": {"TASKAPI_RATE_LIMIT_ENABLED": "true"}},
            "off": {"environment": {"TASKAPI_RATE_LIMIT_ENABLED": "false"}},
        },
    )
    return {
        "rps_limit_on": runs["on"],
        "rps_limit_off": runs["off"],
        "ratio": _interleaved_ratio(runs, "on", "off"),
        "target": TARGETS["limiter_cost"],
    }


def server_cost(ctx: dict[str, Any]) -> dict[str, Any]:
    """GET one task on granian (production) ÷ on uvicorn+httptools."""
    runs = read_rates(
        ctx, {"production": {"server": "production"}, "uvicorn": {"server": "uvicorn"}}
    )
    return {
        "rps_granian": runs["production"],
        "rps_uvicorn_httptools": runs["uvicorn"],
        "ratio": _interleaved_ratio(runs, "production", "uvicorn"),
    }


def argon2_capacity(concurrency: int) -> dict[str, Any]:
    """Verifications per second the shipped Argon2 settings allow on `concurrency` workers."""
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
    timings = []
    for _ in range(15):
        began = time.perf_counter()
        hasher.verify("not the password", stored)
        timings.append(time.perf_counter() - began)
    one = statistics.median(timings)
    return {"verify_ms": round(one * 1000, 1), "per_second": round(concurrency / one, 2)}


def sign_in_flood(ctx: dict[str, Any]) -> dict[str, Any]:
    concurrency = ctx["hash_concurrency"]
    environment = {
        "TASKAPI_PASSWORD_HASH_CONCURRENCY": str(concurrency),
        # As from many addresses: per-address budgets and back-off must not be what stops it.
        "TASKAPI_RATE_LIMIT_SIGN_IN_ADDRESS": "100000000/minute",
        "TASKAPI_SIGN_IN_FREE_FAILURES_ADDRESS": "100000000",
    }
    # Hashing needs a core of its own beside the event loop: this server gets every core
    # (and shares them with the load generator), unlike the single-core throughput scenarios.
    with running_server(**{**ctx["server"], "core": None}, environment=environment) as port:
        token, _ = sign_up(port)
        me = read_stream(token, "/api/v1/users/me", 1, pause_s=0.01)
        timing = {"port": port, "warmup_s": ctx["warmup"], "duration_s": ctx["duration"]}
        # Measured beside the flood, in this run: the Argon2 capacity, then the quiet p99.
        capacity = argon2_capacity(concurrency)
        quiet = drive({**timing, "streams": [me]}, None)["read"]
        flood = {
            "name": "flood",
            "method": "POST",
            "path": "/api/v1/auth/token",
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            # A different unknown account per attempt: per-account budgets never apply.
            "body": "username=flood-{n}%40example.com&password=wrong-password",
            "connections": 50,
        }
        loud = drive({**timing, "streams": [me, flood]}, None)
    _expect_only(quiet, "200")
    _expect_only(loud["read"], "200")
    verified = loud["flood"]["statuses"].get("401", 0) / ctx["duration"]
    return {
        "argon2": capacity,
        "hash_workers": concurrency,
        "verified_per_second": round(verified, 2),
        "refused_503_per_second": round(
            loud["flood"]["statuses"].get("503", 0) / ctx["duration"], 1
        ),
        "flood_statuses": loud["flood"]["statuses"],
        "flood_p50_ms": loud["flood"]["p50_ms"],
        "users_me_quiet": quiet,
        "users_me_flood": loud["read"],
        "throughput_ratio": round(verified / capacity["per_second"], 3),
        "p99_ratio": round(loud["read"]["p99_ms"] / quiet["p99_ms"], 3),
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
    with running_server(**ctx["server"], header_timeout_seconds=2) as port:
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
    print(f"\nabuse scenarios, {document['duration_s']:g} s each, load {document['machine']}")
    if "limiter_cost" in results:
        r = results["limiter_cost"]
        print(
            f"  limiter_cost     ratio {r['ratio']:.3f} (target {r['target']}): GET one task "
            f"{r['rps_limit_on']} req/s with the per-user limit, {r['rps_limit_off']} without"
        )
    if "server_cost" in results:
        r = results["server_cost"]
        print(
            f"  server_cost      ratio {r['ratio']:.3f}: GET one task {r['rps_granian']} req/s "
            f"on granian, {r['rps_uvicorn_httptools']} on uvicorn+httptools"
        )
    if "sign_in_flood" in results:
        r = results["sign_in_flood"]
        print(
            f"  sign_in_flood    throughput ratio {r['throughput_ratio']:.3f} (target "
            f"{r['targets']['throughput_ratio']}): {r['verified_per_second']} verifications/s "
            f"of {r['argon2']['per_second']} ({r['hash_workers']} worker(s), "
            f"{r['argon2']['verify_ms']} ms each); {r['refused_503_per_second']} refused/s"
        )
        print(
            f"                   p99 ratio {r['p99_ratio']:.3f} (target "
            f"{r['targets']['p99_ratio']}): /users/me p99 {r['users_me_flood']['p99_ms']} ms "
            f"in the flood, {r['users_me_quiet']['p99_ms']} ms without"
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
    parser.add_argument("--repeats", type=int, default=2, help="A/B pairs for the cost ratios")
    parser.add_argument("--hash-concurrency", type=int, default=1, help="Argon2 workers")
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
