"""`make bench`: the API's reads as a ratio to a raw ceiling served beside it, in one run.

Both servers are started by `python -m taskapi.server` (the production definition; the
ceiling is served through `--app`) on one pinned core, against the same seeded PostgreSQL
database; wrk drives them from the other core, one after the other, alternating which goes
first. Before each measurement the machine is given a bounded wait to go quiet, and how
quiet it was is recorded. Every scenario is measured `--runs` times; the medians give
`ratio = api / ceiling` (req/s) and p50/p99, directly and through PgBouncer in transaction
mode, written to `var/bench/api.json`.

Add a scenario by adding an entry to SCENARIOS.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.benchmarks.harness import (
    CEILING_APP,
    HOST,
    BenchmarkError,
    Database,
    Server,
    busy_pct,
    cpu_times,
    machine_info,
    new_secret,
    pick_cores,
    plain_dsn,
    postgres_admin_url,
    process_cpu_seconds,
    register,
    run_main,
    running_server,
    seed_tasks,
    server_environment,
    throwaway_database,
    user_id_of,
    wait_until_quiet,
)

ROWS = 10_000
OTHER_USERS = 3
OTHER_ROWS_PER_USER = 500
TARGET_RATIO = 0.6
TARGET_P99_OVER_P50 = 3.0
# Both servers get the same pool; one core never needs more connections than this.
POOL_SIZE, MAX_OVERFLOW = 8, 4

_WRK_SCRIPT = """
local token = os.getenv("BENCH_TOKEN")
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
local headers = {["Authorization"] = "Bearer " .. token, ["Accept"] = "application/json"}
math.randomseed(20261122)
request = function()
  return wrk.format("GET", paths[math.random(#paths)], headers)
end
"""


@dataclass(frozen=True)
class Context:
    task_ids: list[str]
    cursor: str


@dataclass(frozen=True)
class Scenario:
    description: str
    paths: Callable[[Context], list[str]]


SCENARIOS: dict[str, Scenario] = {
    "get_one": Scenario(
        "GET one task (random among 10,000)",
        lambda c: [f"/api/v1/tasks/{task_id}" for task_id in c.task_ids],
    ),
    "list_20": Scenario("list 20, newest first", lambda c: ["/api/v1/tasks?limit=20"]),
    "list_20_filtered": Scenario(
        "list 20, status=todo", lambda c: ["/api/v1/tasks?limit=20&status=todo"]
    ),
    "list_20_cursor": Scenario(
        "list 20, the second page (cursor)",
        lambda c: [f"/api/v1/tasks?limit=20&cursor={c.cursor}"],
    ),
}


# ---------------------------------------------------------------------------------------------
# wrk
# ---------------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise BenchmarkError("wrk is not installed (`make bench` installs the 'wrk' package)")
    return found


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)(us|ms|s)", text.strip()).groups()  # type: ignore[union-attr]
    return round(float(number) * _UNITS[unit], 3)


def parse_wrk(output: str) -> dict[str, Any]:
    rps = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    percentiles = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    if rps is None or not {"50", "90", "99"} <= percentiles.keys():
        raise BenchmarkError(f"unexpected wrk output:\n{output[-1500:]}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    requests = re.search(r"(\d+) requests in", output)
    return {
        "rps": float(rps.group(1)),
        "requests": int(requests.group(1)) if requests else None,
        "p50_ms": _ms(percentiles["50"]),
        "p90_ms": _ms(percentiles["90"]),
        "p99_ms": _ms(percentiles["99"]),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(int(n) for n in sockets.groups()) if sockets else 0,
    }


def run_wrk(
    wrk: str,
    server: Server,
    *,
    paths_file: Path,
    script: Path,
    token: str,
    options: argparse.Namespace,
    core: int | None,
) -> dict[str, Any]:
    def command(seconds: int) -> list[str]:
        argv = [wrk, "-t1", f"-c{options.connections}", f"-d{seconds}s", "--latency"]
        argv += ["-s", str(script), "--timeout", "10s", f"http://{HOST}:{server.port}"]
        return ["taskset", "-c", str(core), *argv] if core is not None else argv

    env = {**os.environ, "BENCH_TOKEN": token, "BENCH_PATHS": str(paths_file)}
    # Warm-up, not measured: connections, pools and statement caches.
    subprocess.run(command(2), env=env, capture_output=True, check=False, timeout=60)
    server_before = process_cpu_seconds(server.pid)
    machine_before = cpu_times()
    started = time.monotonic()
    completed = subprocess.run(
        command(options.duration),
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=options.duration + 60,
    )
    elapsed = time.monotonic() - started
    if completed.returncode != 0:
        raise BenchmarkError(f"wrk failed: {completed.stderr[-1500:]}")
    result = parse_wrk(completed.stdout)
    server_after = process_cpu_seconds(server.pid)
    result["server_cpu_pct"] = (
        round(100 * (server_after - server_before) / elapsed, 1)
        if server_before is not None and server_after is not None
        else None
    )
    result["machine_cpu_pct"] = busy_pct(machine_before, cpu_times())
    return result


# ---------------------------------------------------------------------------------------------
# Routes to the database: direct, and through PgBouncer
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str
    app_url: str  # for the API
    ceiling_dsn: str
    api_env: dict[str, str]
    ceiling_env: dict[str, str]


@contextlib.contextmanager
def routes(database: Database, options: argparse.Namespace) -> Iterator[list[Route]]:
    direct = Route(
        "direct",
        database.url,
        plain_dsn(database.url),
        {"TASKAPI_DB_POOLER": "none"},
        {},
    )
    if options.no_pgbouncer:
        yield [direct]
        return
    from tests.support_pgbouncer import pgbouncer_in_front_of

    # As many server connections as the app's pool: the pooler multiplexes, it does not starve.
    with pgbouncer_in_front_of(database.admin_url, pool_size=POOL_SIZE + MAX_OVERFLOW) as bouncer:
        if isinstance(bouncer, str):
            print(f"WARNING: {bouncer}; measuring the direct route only", file=sys.stderr)
            yield [direct]
            return
        pooled_url = bouncer.url_for(database.name)
        pooled = Route(
            "pgbouncer",
            pooled_url,
            plain_dsn(pooled_url),
            {"TASKAPI_DB_POOLER": "transaction"},
            {"BENCH_CEILING_STATEMENT_CACHE": "0"},
        )
        print(f"{bouncer.version} (transaction mode) on port {bouncer.port}")
        yield [direct, pooled]


# ---------------------------------------------------------------------------------------------
# Orchestration
# ---------------------------------------------------------------------------------------------


def _same_answers(
    api: Server, ceiling: Server, token: str, paths: list[str], *, identical: bool
) -> None:
    """Both servers must give byte-identical bodies and the same ETag, or the ratio lies.

    An older checkout (`--api-checkout`) only has to answer 200: it may render differently.
    """
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    for path in paths:
        ours = httpx.get(api.base_url + path, headers=headers, timeout=30)
        theirs = httpx.get(ceiling.base_url + path, headers=headers, timeout=30)
        if ours.status_code != 200 or theirs.status_code != 200:
            raise BenchmarkError(f"{path}: api {ours.status_code}, ceiling {theirs.status_code}")
        if not identical:
            continue
        if ours.content != theirs.content or ours.headers["etag"] != theirs.headers["etag"]:
            raise BenchmarkError(f"{path}: the API and the ceiling answer differently")


def _per_server_cpu_second(result: dict[str, Any]) -> float | None:
    cpu = result.get("server_cpu_pct")
    return result["rps"] / (cpu / 100) if cpu else None


def _cpu_ratio(api: dict[str, Any], ceiling: dict[str, Any]) -> float | None:
    """Requests per second of server CPU, api / ceiling.

    On a busy machine neither server gets its whole core, and not equally; the work each
    does per request is what this compares. It is reported beside the ratio, not instead.
    """
    ours, theirs = _per_server_cpu_second(api), _per_server_cpu_second(ceiling)
    return round(ours / theirs, 3) if ours and theirs else None


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    api_rps = [run["api"]["rps"] for run in runs]
    ceiling_rps = [run["ceiling"]["rps"] for run in runs]
    ratios = [run["ratio"] for run in runs]
    api_p50 = _median([run["api"]["p50_ms"] for run in runs])
    api_p99 = _median([run["api"]["p99_ms"] for run in runs])
    ratio = _median(ratios)
    cpu_ratios = [run["cpu_ratio"] for run in runs if run.get("cpu_ratio")]
    return {
        "ratio": ratio,
        "cpu_ratio": _median(cpu_ratios) if cpu_ratios else None,
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "api_rps": _median(api_rps),
        "ceiling_rps": _median(ceiling_rps),
        "api_p50_ms": api_p50,
        "api_p99_ms": api_p99,
        "ceiling_p50_ms": _median([run["ceiling"]["p50_ms"] for run in runs]),
        "ceiling_p99_ms": _median([run["ceiling"]["p99_ms"] for run in runs]),
        "api_p99_over_p50": round(api_p99 / api_p50, 2) if api_p50 else None,
        "meets_ratio": ratio >= TARGET_RATIO,
        "meets_tail": bool(api_p50) and api_p99 / api_p50 <= TARGET_P99_OVER_P50,
    }


def measure_route(
    route: Route,
    database: Database,
    context: Context,
    token: str,
    secret: str,
    options: argparse.Namespace,
    scratch: Path,
) -> dict[str, Any]:
    wrk = ensure_wrk()
    server_core, client_core = pick_cores()
    script = scratch / "paths.lua"
    script.write_text(_WRK_SCRIPT, encoding="utf-8")
    pools = {"TASKAPI_DB_POOL_SIZE": str(POOL_SIZE), "TASKAPI_DB_MAX_OVERFLOW": str(MAX_OVERFLOW)}
    api_env = server_environment(route.app_url, secret, **pools, **route.api_env)
    ceiling_env = server_environment(
        route.app_url, secret, BENCH_CEILING_DSN=route.ceiling_dsn, **pools, **route.ceiling_env
    )
    selected = {
        name: s for name, s in SCENARIOS.items() if not options.only or name in options.only
    }
    results: dict[str, Any] = {}
    with (
        running_server(
            "api",
            api_env,
            scratch / f"api-{route.name}.log",
            core=server_core,
            checkout=options.api_checkout,
        ) as api,
        running_server(
            "ceiling",
            ceiling_env,
            scratch / f"ceiling-{route.name}.log",
            app=CEILING_APP,
            core=server_core,
        ) as ceiling,
    ):
        for name, scenario in selected.items():
            paths = scenario.paths(context)
            _same_answers(api, ceiling, token, paths[:3], identical=options.api_checkout is None)
            paths_file = scratch / f"{name}.paths"
            paths_file.write_text("\n".join(paths) + "\n", encoding="utf-8")
            runs = []
            for number in range(options.runs):
                # Alternate who goes first, so a drift in the machine's load hits both alike.
                order = [("ceiling", ceiling), ("api", api)]
                if number % 2:
                    order.reverse()
                run: dict[str, Any] = {}
                for label, server in order:
                    quiet = wait_until_quiet(
                        threshold_pct=options.quiet_threshold, max_wait_s=options.quiet_wait
                    )
                    result = run_wrk(
                        wrk,
                        server,
                        paths_file=paths_file,
                        script=script,
                        token=token,
                        options=options,
                        core=client_core,
                    )
                    result["before"] = quiet
                    if result["non_2xx"] or result["socket_errors"]:
                        raise BenchmarkError(
                            f"{route.name}/{name}/{label}: {result['non_2xx']} non-2xx responses, "
                            f"{result['socket_errors']} socket errors"
                        )
                    run[label] = result
                run["ratio"] = round(run["api"]["rps"] / run["ceiling"]["rps"], 3)
                run["cpu_ratio"] = _cpu_ratio(run["api"], run["ceiling"])
                runs.append(run)
                print(
                    f"  {route.name:<9} {name:<17} run {number + 1}: api {run['api']['rps']:>7.0f} "
                    f"req/s, ceiling {run['ceiling']['rps']:>7.0f} req/s, ratio {run['ratio']:.2f}"
                    f" (per server CPU second {run['cpu_ratio']})"
                    f"  (machine busy before: {run['api']['before']['busy_pct']} % / "
                    f"{run['ceiling']['before']['busy_pct']} %)"
                )
            results[name] = {
                "description": scenario.description,
                "runs": runs,
                "median": summarise(runs),
            }
    return results


def benchmark(options: argparse.Namespace) -> dict[str, Any]:
    import httpx

    machine = machine_info()
    secret = new_secret()
    admin_url = postgres_admin_url(options.database_url)
    with (
        tempfile.TemporaryDirectory(prefix="taskapi-bench-") as scratch_name,
        throwaway_database(admin_url, "taskapi_bench") as database,
    ):
        scratch = Path(scratch_name)
        # Seed through a short-lived API server: registration stores real Argon2 hashes.
        env = server_environment(database.url, secret)
        with (
            running_server("setup", env, scratch / "setup.log") as setup,
            httpx.Client(base_url=setup.base_url, timeout=30) as client,
        ):
            emails = [f"bench-{n}@example.com" for n in range(OTHER_USERS + 1)]
            token = register(client, emails[0])
            for email in emails[1:]:
                register(client, email)
            owners = {asyncio.run(user_id_of(database.url, emails[0])): options.rows}
            for email in emails[1:]:
                owners[asyncio.run(user_id_of(database.url, email))] = OTHER_ROWS_PER_USER
            task_ids = asyncio.run(seed_tasks(database.url, owners, options.seed))
            page = client.get(
                "/api/v1/tasks", params={"limit": 20}, headers={"Authorization": f"Bearer {token}"}
            ).json()
            if not page.get("next_cursor"):
                raise BenchmarkError("the first page of 20 has no next_cursor")
        context = Context(task_ids=task_ids, cursor=page["next_cursor"])
        print(f"seeded {sum(owners.values())} tasks in database {database.name}")
        measured: dict[str, Any] = {}
        with routes(database, options) as available:
            for route in available:
                measured[route.name] = measure_route(
                    route, database, context, token, secret, options, scratch
                )
    from taskapi.server import server_options

    return {
        "benchmark": "taskapi reads as a ratio to a raw ceiling served beside them",
        "command": "make bench",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "postgresql": database.server_version,
        "parameters": {
            "rows": options.rows,
            "other_rows": OTHER_USERS * OTHER_ROWS_PER_USER,
            "connections": options.connections,
            "duration_s": options.duration,
            "warmup_s": 2,
            "runs": options.runs,
            "pool": {"size": POOL_SIZE, "max_overflow": MAX_OVERFLOW},
            "server": server_options(),
            "quiet_threshold_pct": options.quiet_threshold,
            "quiet_max_wait_s": options.quiet_wait,
        },
        "api_checkout": str(options.api_checkout) if options.api_checkout else None,
        "output": str(options.output),
        "targets": {"ratio": TARGET_RATIO, "p99_over_p50": TARGET_P99_OVER_P50},
        "routes": measured,
    }


def print_summary(document: dict[str, Any]) -> None:
    params = document["parameters"]
    print(
        f"\nPostgreSQL {document['postgresql']}, {params['rows']} rows, "
        f"{params['connections']} connections, median of {params['runs']} x "
        f"{params['duration_s']:g} s"
    )
    header = (
        f"  {'route':<9} {'scenario':<17} {'api req/s':>9} {'ceiling':>8} {'ratio':>6} "
        f"{'api p50':>8} {'api p99':>8} {'p99/p50':>7} {'per-CPU':>7}  verdict"
    )
    print(header)
    noisy = 0
    for route, scenarios in document["routes"].items():
        for name, result in scenarios.items():
            m = result["median"]
            verdict = "ok" if m["meets_ratio"] and m["meets_tail"] else "BELOW TARGET"
            print(
                f"  {route:<9} {name:<17} {m['api_rps']:>9.0f} {m['ceiling_rps']:>8.0f} "
                f"{m['ratio']:>6.2f} {m['api_p50_ms']:>6.2f}ms {m['api_p99_ms']:>6.2f}ms "
                f"{m['api_p99_over_p50']:>7} {m['cpu_ratio'] or '-':>7}  {verdict}"
            )
            noisy += sum(
                1
                for run in result["runs"]
                for side in ("api", "ceiling")
                if run[side]["before"]["quiet"] is False
            )
    if noisy:
        print(
            f"  WARNING: {noisy} measurements started on a busy machine (see 'before' in the "
            "JSON); the ratios hold up better than the req/s, but re-run on a quiet machine "
            "for figures to publish."
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=Path("var/bench/api.json"))
    parser.add_argument("--database-url", help="PostgreSQL server to create the database on")
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=15, help="measured seconds per run")
    parser.add_argument("--runs", type=int, default=3, help="runs per scenario (median)")
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS), help="repeatable")
    parser.add_argument("--no-pgbouncer", action="store_true", help="measure the direct route only")
    parser.add_argument("--quiet-threshold", type=float, default=20.0, help="machine busy %%")
    parser.add_argument("--quiet-wait", type=float, default=20.0, help="max seconds to wait")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument(
        "--api-checkout",
        type=Path,
        help="serve the API from another working tree (e.g. the commit before a change)",
    )
    return parser.parse_args(argv)


def main() -> int:
    # Speed is reported, never asserted: a non-zero exit means the measurement itself failed.
    document = run_main(benchmark, parse_args(), name="benchmark")
    if isinstance(document, int):
        return document
    print_summary(document)
    print(f"wrote {document['output']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
