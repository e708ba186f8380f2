"""`make soak`: sustained mixed load, then a database outage, with every write accounted for.

Two API processes (started as production starts them) share one PostgreSQL database
through a TCP proxy this script controls (tests/benchmarks/tcp_proxy.py). 64 keep-alive
connections create, read, list, edit and delete tasks, each on its own tasks, and record
every answer.

1. Load: `--load-minutes` (10) of that mix. Pass: no 5xx at all.
2. Outage: the proxy is cut for `--outage-seconds` (10) under the same load, then restored.
   Pass: readiness is 503 during the cut; requests are answered (503 problem) in well under
   a second instead of hanging; both processes recover on their own (same PIDs) within 15 s;
   no 5xx once readiness is back; no 500 ever.

After each phase the database is read directly and compared with what the clients were
told: every acknowledged create is there exactly once with its last acknowledged title,
every acknowledged delete is gone, nothing is duplicated, and a checksum over (id, title)
of what must be there matches. Writes answered with an error may or may not have happened,
and are only checked for duplication. Bounded, loopback only; results in var/bench/soak.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.benchmarks.harness import (
    HOST,
    BenchmarkError,
    Server,
    machine_info,
    new_secret,
    plain_dsn,
    postgres_admin_url,
    register,
    run_main,
    running_server,
    server_environment,
    stop_process,
    throwaway_database,
)
from tests.support_server import free_port

USERS = 8
REQUEST_TIMEOUT_S = 10.0
RECOVERY_LIMIT_S = 15.0
QUICK_FAILURE_S = 1.0
SLOWEST_FAILURE_S = 5.0


# ---------------------------------------------------------------------------------------------
# A small keep-alive HTTP/1.1 client: the load must not be limited by the client library
# ---------------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int  # 0: the connection failed or timed out
    headers: dict[str, str]
    body: bytes
    started: float
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)


class Connection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, *, token: str | None = None, body: Any = None, **extra: str
    ) -> Answer:
        started = time.monotonic()
        payload = json.dumps(body).encode() if body is not None else b""
        head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        for name, value in extra.items():
            head += f"{name.replace('_', '-')}: {value}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                if self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
                assert self.reader is not None
                self.writer.write(head.encode() + b"\r\n" + payload)
                raw = await self.reader.readuntil(b"\r\n\r\n")
                lines = raw.decode("latin-1").split("\r\n")
                status = int(lines[0].split(" ", 2)[1])
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                content = await self.reader.readexactly(length) if length else b""
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            self.close()
            return Answer(0, {}, b"", started, time.monotonic() - started)
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Answer(status, headers, content, started, time.monotonic() - started)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.transport.abort()
        self.reader = self.writer = None


# ---------------------------------------------------------------------------------------------
# What the clients were told
# ---------------------------------------------------------------------------------------------


@dataclass
class OwnTask:
    id: str
    url: str
    etag: str
    title: str


@dataclass
class Ledger:
    """Every write's outcome as the clients saw it, for the tasks titled with `prefix`."""

    prefix: str
    created: dict[str, str] = field(default_factory=dict)  # id -> title, acknowledged
    titles_of: dict[str, set[str]] = field(default_factory=dict)  # id -> titles it may have
    deleted: set[str] = field(default_factory=set)  # acknowledged deletes
    maybe_deleted: set[str] = field(default_factory=set)
    uncertain_titles: set[str] = field(default_factory=set)  # creates answered with an error
    anomalies: list[str] = field(default_factory=list)


@dataclass
class Tally:
    statuses: Counter[str] = field(default_factory=Counter)
    answers: list[Answer] = field(default_factory=list)

    def add(self, operation: str, answer: Answer) -> None:
        self.statuses[f"{operation} {answer.status}"] += 1
        self.answers.append(answer)


@dataclass
class Worker:
    """One keep-alive connection acting for one user, only ever on the tasks it created."""

    number: int
    connection: Connection
    token: str
    ledger: Ledger
    tally: Tally
    mine: list[OwnTask] = field(default_factory=list)
    counter: int = 0

    async def create(self) -> None:
        title = f"{self.ledger.prefix} {self.number}-{self.counter} {uuid.uuid4().hex}"
        answer = await self.connection.request(
            "POST", "/api/v1/tasks", token=self.token, body={"title": title}
        )
        self.tally.add("create", answer)
        if answer.status != 201:
            self.ledger.uncertain_titles.add(title)
            return
        task_id = answer.json()["id"]
        self.ledger.created[task_id] = title
        self.ledger.titles_of[task_id] = {title}
        location, etag = answer.headers["location"], answer.headers["etag"]
        self.mine.append(OwnTask(task_id, location, etag, title))

    async def read(self, task: OwnTask) -> None:
        answer = await self.connection.request("GET", task.url, token=self.token)
        self.tally.add("get", answer)
        if answer.status == 404:
            self.ledger.anomalies.append(f"acknowledged task {task.id} answered 404")
        elif answer.status == 200:
            task.etag = answer.headers["etag"]

    async def list(self) -> None:
        answer = await self.connection.request("GET", "/api/v1/tasks?limit=20", token=self.token)
        self.tally.add("list", answer)

    async def update(self, task: OwnTask) -> None:
        title = f"{self.ledger.prefix} edited {self.number}-{self.counter} {uuid.uuid4().hex}"
        answer = await self.connection.request(
            "PATCH", task.url, token=self.token, body={"title": title}, If_Match=task.etag
        )
        self.tally.add("update", answer)
        possible = self.ledger.titles_of[task.id]
        if answer.status == 200:
            self.ledger.titles_of[task.id] = {title}
            task.etag, task.title = answer.headers["etag"], title
        elif answer.status == 412:
            # Only this worker edits this task: a stale tag means an edit it was told failed
            # did happen, which is only possible after such a failure.
            if len(possible) == 1:
                self.ledger.anomalies.append(f"412 on {task.id} with no earlier failure")
            await self.read(task)
        else:
            possible.add(title)

    async def delete(self, task: OwnTask) -> None:
        answer = await self.connection.request("DELETE", task.url, token=self.token)
        self.tally.add("delete", answer)
        if answer.status == 204:
            self.ledger.deleted.add(task.id)
        elif answer.status == 404 and task.id not in self.ledger.maybe_deleted:
            self.ledger.anomalies.append(f"delete of acknowledged task {task.id} was 404")
        else:
            self.ledger.maybe_deleted.add(task.id)

    async def run(self, stop_at: float) -> None:
        rng = random.Random(self.number)  # noqa: S311 - a reproducible mix, not a secret
        try:
            while time.monotonic() < stop_at:
                roll = rng.random()
                self.counter += 1
                if not self.mine or roll < 0.25:
                    await self.create()
                elif roll < 0.55:
                    await self.read(rng.choice(self.mine))
                elif roll < 0.80:
                    await self.list()
                elif roll < 0.93:
                    await self.update(rng.choice(self.mine))
                else:
                    await self.delete(self.mine.pop(rng.randrange(len(self.mine))))
        finally:
            self.connection.close()


async def run_load(
    ports: list[int], tokens: list[str], ledger: Ledger, seconds: float, connections: int
) -> Tally:
    tally = Tally()
    stop_at = time.monotonic() + seconds
    async with asyncio.timeout(seconds + REQUEST_TIMEOUT_S + 30):
        await asyncio.gather(
            *(
                Worker(
                    n, Connection(ports[n % len(ports)]), tokens[n % len(tokens)], ledger, tally
                ).run(stop_at)
                for n in range(connections)
            )
        )
    return tally


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000, 2)


def summary(tally: Tally, window: tuple[float, float] | None = None) -> dict[str, Any]:
    answers = [a for a in tally.answers if window is None or window[0] <= a.started < window[1]]
    seconds = [a.seconds for a in answers]
    return {
        "requests": len(answers),
        "status_5xx": sum(1 for a in answers if a.status >= 500),
        "status_500": sum(1 for a in answers if a.status == 500),
        "no_answer": sum(1 for a in answers if a.status == 0),
        "p50_ms": _percentile(seconds, 0.50),
        "p99_ms": _percentile(seconds, 0.99),
        "max_ms": round(max(seconds) * 1000, 2) if seconds else None,
    }


# ---------------------------------------------------------------------------------------------
# The database, read directly (not through the proxy)
# ---------------------------------------------------------------------------------------------


async def verify_writes(database_url: str, ledger: Ledger) -> dict[str, Any]:
    import asyncpg

    connection = await asyncpg.connect(plain_dsn(database_url), timeout=10)
    try:
        # Only this phase's tasks: their titles start with the ledger's prefix.
        rows = await connection.fetch(
            "SELECT id, title FROM tasks WHERE starts_with(title, $1)", ledger.prefix + " "
        )
    finally:
        await connection.close()
    stored = {str(row["id"]): row["title"] for row in rows}
    title_counts = Counter(stored.values())
    duplicated = sorted(t for t, n in title_counts.items() if n > 1)
    lost = []
    wrong_title = []
    expected = {}
    for task_id, _title in ledger.created.items():
        if task_id in ledger.deleted:
            if task_id in stored:
                lost.append(f"{task_id} was deleted (acknowledged) but is still there")
            continue
        if task_id not in stored:
            if task_id not in ledger.maybe_deleted:
                lost.append(f"{task_id} was created (acknowledged) but is missing")
            continue
        if stored[task_id] not in ledger.titles_of[task_id]:
            wrong_title.append(task_id)
        if len(ledger.titles_of[task_id]) == 1 and task_id not in ledger.maybe_deleted:
            expected[task_id] = next(iter(ledger.titles_of[task_id]))
    known_titles = {t for titles in ledger.titles_of.values() for t in titles}
    unexplained = [
        task_id
        for task_id, title in stored.items()
        if task_id not in ledger.created
        and title not in ledger.uncertain_titles
        and title not in known_titles
    ]

    def checksum(pairs: dict[str, str]) -> str:
        digest = hashlib.sha256()
        for task_id in sorted(pairs):
            digest.update(f"{task_id}\t{pairs[task_id]}\n".encode())
        return digest.hexdigest()

    actual = {task_id: stored[task_id] for task_id in expected if task_id in stored}
    return {
        "rows": len(stored),
        "acknowledged_creates": len(ledger.created),
        "acknowledged_deletes": len(ledger.deleted),
        "uncertain_writes": len(ledger.uncertain_titles) + len(ledger.maybe_deleted),
        "lost": lost[:20],
        "lost_count": len(lost),
        "duplicated": duplicated[:20],
        "wrong_title": wrong_title[:20],
        "unexplained_rows": unexplained[:20],
        "checksum_expected": checksum(expected),
        "checksum_stored": checksum(actual),
        "anomalies": ledger.anomalies[:20],
        "ok": not (lost or duplicated or wrong_title or unexplained or ledger.anomalies)
        and checksum(expected) == checksum(actual),
    }


# ---------------------------------------------------------------------------------------------
# Orchestration
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def tcp_proxy(target_port: int, log_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.benchmarks.tcp_proxy",
                "--listen",
                f"{HOST}:{port}",
                "--target",
                f"{HOST}:{target_port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[2],
        )
    try:
        deadline = time.monotonic() + 10
        while "listening" not in log_path.read_text():
            if time.monotonic() > deadline or process.poll() is not None:
                raise BenchmarkError(f"the TCP proxy did not start: {log_path.read_text()}")
            time.sleep(0.05)
        yield process, port
    finally:
        stop_process(process)


async def probe_readiness(
    servers: list[Server], until: float, interval: float = 0.5
) -> list[dict[str, Any]]:
    probes = []
    connections = {server.name: Connection(server.port) for server in servers}
    while time.monotonic() < until:
        for server in servers:
            answer = await connections[server.name].request("GET", "/health/ready")
            probes.append(
                {
                    "server": server.name,
                    "at": round(answer.started, 3),
                    "status": answer.status,
                    "ms": round(answer.seconds * 1000, 1),
                }
            )
        await asyncio.sleep(interval)
    for connection in connections.values():
        connection.close()
    return probes


async def outage(
    servers: list[Server],
    proxy: subprocess.Popen[bytes],
    tokens: list[str],
    ledger: Ledger,
    options: argparse.Namespace,
    normal_p99_ms: float,
) -> dict[str, Any]:
    ports = [s.port for s in servers]
    before_s, after_s = 15.0, 30.0
    total = before_s + options.outage_seconds + after_s
    started = time.monotonic()
    load = asyncio.create_task(run_load(ports, tokens, ledger, total, options.connections))
    await asyncio.sleep(before_s)
    cut_at = time.monotonic()
    proxy.send_signal(signal.SIGUSR1)
    during = await probe_readiness(servers, cut_at + options.outage_seconds)
    restored_at = time.monotonic()
    proxy.send_signal(signal.SIGUSR2)
    recovered_at: dict[str, float | None] = {s.name: None for s in servers}
    after = []
    while time.monotonic() < restored_at + RECOVERY_LIMIT_S and None in recovered_at.values():
        for probe in await probe_readiness(servers, time.monotonic() + 0.01, interval=0.0):
            after.append(probe)
            if probe["status"] == 200 and recovered_at[probe["server"]] is None:
                recovered_at[probe["server"]] = probe["at"]
        await asyncio.sleep(0.25)
    tally = await load
    recovered = all(v is not None for v in recovered_at.values())
    back = max((v for v in recovered_at.values() if v is not None), default=restored_at)
    # Readiness may answer 200 from the first probe on; give requests in flight 2 s to drain.
    settled = back + 2.0
    cut_window = summary(tally, (cut_at + 0.5, restored_at))
    after_window = summary(tally, (settled, started + total + REQUEST_TIMEOUT_S))
    late_probes = [p for p in during if p["at"] >= cut_at + 1.0]
    ready_503 = bool(late_probes) and all(p["status"] == 503 for p in late_probes)
    alive = all(s.process.poll() is None for s in servers)
    result = {
        "cut_seconds": options.outage_seconds,
        "readiness_during_cut": Counter(str(p["status"]) for p in during),
        "readiness_503_throughout": ready_503,
        "readiness_max_ms_during_cut": max((p["ms"] for p in during), default=None),
        "requests_during_cut": cut_window,
        "recovered_in_s": {
            name: round(at - restored_at, 2) if at is not None else None
            for name, at in recovered_at.items()
        },
        "same_processes": alive,
        "requests_after_recovery": after_window,
        "whole_phase": summary(tally),
        "statuses": dict(tally.statuses),
    }
    # Answered quickly: a 503 waits in the same queue as a normal request on a saturated
    # server, so the yardstick is the p99 under normal load (or a second, if that is less);
    # and nothing may come near a hang (the connect timeout, 5 s).
    yardstick = max(QUICK_FAILURE_S * 1000, 2 * normal_p99_ms)
    quick = (cut_window["p99_ms"] or 0) <= yardstick and (
        cut_window["max_ms"] or 0
    ) <= SLOWEST_FAILURE_S * 1000
    result["quick_failure_limit_ms"] = yardstick
    result["passed"] = bool(
        ready_503
        and recovered
        and alive
        and quick
        and cut_window["no_answer"] == 0
        and after_window["status_5xx"] == 0
        and summary(tally)["status_500"] == 0
    )
    return result


def soak(options: argparse.Namespace) -> dict[str, Any]:
    import httpx
    from sqlalchemy.engine import make_url

    admin_url = postgres_admin_url(options.database_url)
    secret = new_secret()
    document: dict[str, Any] = {
        "benchmark": "taskapi soak: sustained load and a database outage",
        "command": "make soak",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "parameters": {
            "load_minutes": options.load_minutes,
            "outage_seconds": options.outage_seconds,
            "connections": options.connections,
            "servers": 2,
            "users": USERS,
        },
    }
    with (
        tempfile.TemporaryDirectory(prefix="taskapi-soak-") as scratch_name,
        throwaway_database(admin_url, "taskapi_soak") as database,
    ):
        scratch = Path(scratch_name)
        upstream_port = make_url(database.url).port or 5432
        with tcp_proxy(upstream_port, scratch / "proxy.log") as (proxy, proxy_port):
            proxied = (
                make_url(database.url).set(port=proxy_port).render_as_string(hide_password=False)
            )
            env = server_environment(
                proxied, secret, TASKAPI_DB_POOL_SIZE="4", TASKAPI_DB_MAX_OVERFLOW="4"
            )
            with (
                running_server("api-1", env, scratch / "api-1.log") as first,
                running_server("api-2", env, scratch / "api-2.log") as second,
                httpx.Client(base_url=first.base_url, timeout=30) as client,
            ):
                tokens = [register(client, f"soak-{n}@example.com") for n in range(USERS)]
                servers = [first, second]
                ports = [first.port, second.port]

                print(
                    f"load: {options.load_minutes:g} min, {options.connections} connections, "
                    "2 processes"
                )
                ledger = Ledger("load")
                tally = asyncio.run(
                    run_load(ports, tokens, ledger, options.load_minutes * 60, options.connections)
                )
                load = {"requests": summary(tally), "statuses": dict(tally.statuses)}
                load["writes"] = asyncio.run(verify_writes(database.url, ledger))
                load["passed"] = load["requests"]["status_5xx"] == 0 and load["writes"]["ok"]
                document["load"] = load
                print(f"  {json.dumps(load['requests'])}  writes ok: {load['writes']['ok']}")

                print(f"outage: proxy cut for {options.outage_seconds:g} s under load")
                ledger = Ledger("outage")
                result = asyncio.run(
                    outage(servers, proxy, tokens, ledger, options, load["requests"]["p99_ms"] or 0)
                )
                result["writes"] = asyncio.run(verify_writes(database.url, ledger))
                result["passed"] = result["passed"] and result["writes"]["ok"]
                document["outage"] = result
                print(
                    f"  readiness during cut: {dict(result['readiness_during_cut'])}, "
                    f"requests during cut: {json.dumps(result['requests_during_cut'])}"
                )
                print(
                    f"  recovered in {result['recovered_in_s']} s, after: "
                    f"{json.dumps(result['requests_after_recovery'])}, "
                    f"writes ok: {result['writes']['ok']}"
                )
        # The servers' own logs (tracebacks of any 5xx, with request ids) outlive the run.
        logs = options.output.parent / "soak-logs"
        logs.mkdir(parents=True, exist_ok=True)
        for log in scratch.glob("*.log"):
            shutil.copyfile(log, logs / log.name)
        document["server_logs"] = str(logs)
    document["passed"] = document["load"]["passed"] and document["outage"]["passed"]
    return document


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=Path("var/bench/soak.json"))
    parser.add_argument("--database-url", help="PostgreSQL server to create the database on")
    parser.add_argument("--load-minutes", type=float, default=10.0)
    parser.add_argument("--outage-seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=64)
    return parser.parse_args(argv)


def main() -> int:
    options = parse_args()
    document = run_main(soak, options, name="soak")
    if isinstance(document, int):
        return document
    print(f"wrote {options.output}")
    print("soak PASSED" if document["passed"] else "soak FAILED")
    return 0 if document["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
