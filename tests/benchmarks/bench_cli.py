"""Measure sdd start-up and every read command on a generated repository (`make bench-cli`).

The corpus has ``--records`` records (500 by default): half ADRs in sdd, MADR and adr-tools
form, half Spec-Kit Plus PHRs spread over feature folders, plus specs and a contract. Each
command runs as a real child process, the way agents and CI call it; the median of ``--runs``
runs is compared with the budget (150 ms). Beside them, in the same run, the same command
shape is timed on bare interpreters and minimal apps in argparse, Click and the installed
Typer (and, with ``--compare NAME=PYTHON``, any other interpreter, e.g. one with another
Typer), so a number can be read as a ratio to its floor. Results go to ``--output`` as JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from sdd import __version__

BUDGET_MS = 150.0
READ_COMMANDS = [
    ["adr", "list", "--json"],
    ["adr", "list"],
    ["adr", "show", "250"],
    ["adr", "search", "database", "--json"],
    ["adr", "graph", "--format", "dot"],
    ["phr", "list", "--json"],
    ["phr", "show", "003-feature-3/7", "--json"],
    ["phr", "search", "paging", "--json"],
    ["spec", "list", "--json"],
    ["check", "--json"],
    ["where", "--json"],
]
PROBE = {
    "argparse": """
        import argparse, sys
        parser = argparse.ArgumentParser(prog="sdd")
        groups = parser.add_subparsers(dest="group")
        for group in ("spec", "phr", "adr", "schema"):
            commands = groups.add_parser(group).add_subparsers(dest="command")
            for name in ("new", "list", "show", "search", "accept", "reject", "index", "graph"):
                command = commands.add_parser(name)
                for option in ("--title", "--status", "--feature", "--stage"):
                    command.add_argument(option)
                command.add_argument("--label", action="append")
                command.add_argument("--json", action="store_true")
        parser.parse_args(sys.argv[1:])
        sys.stdout.write("{}\\n")
    """,
    "click": """
        import sys
        import click
        @click.group()
        def root(): pass
        for group_name in ("spec", "phr", "adr", "schema"):
            group = click.Group(group_name)
            root.add_command(group)
            for name in ("new", "list", "show", "search", "accept", "reject", "index", "graph"):
                def command(**kwargs): sys.stdout.write("{}\\n")
                for option in ("--title", "--status", "--feature", "--stage"):
                    command = click.option(option)(command)
                command = click.option("--label", multiple=True)(command)
                command = click.option("--json", "as_json", is_flag=True)(command)
                group.add_command(click.command(name)(command))
        root(prog_name="sdd")
    """,
    "typer": """
        import sys
        from typing import Annotated
        import typer
        app = typer.Typer(
            add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False
        )
        def make():
            def command(
                title: Annotated[str | None, typer.Option("--title")] = None,
                status: Annotated[str | None, typer.Option("--status")] = None,
                feature: Annotated[str | None, typer.Option("--feature")] = None,
                stage: Annotated[str | None, typer.Option("--stage")] = None,
                label: Annotated[list[str] | None, typer.Option("--label")] = None,
                as_json: Annotated[bool, typer.Option("--json")] = False,
            ) -> None:
                sys.stdout.write("{}\\n")
            return command
        for group_name in ("spec", "phr", "adr", "schema"):
            group = typer.Typer()
            app.add_typer(group, name=group_name)
            for name in ("new", "list", "show", "search", "accept", "reject", "index", "graph"):
                group.command(name)(make())
        app(prog_name="sdd")
    """,
}


def sdd_command() -> list[str]:
    """The installed console script when present, else ``python -m sdd``."""
    script = Path(sys.executable).parent / ("sdd.exe" if os.name == "nt" else "sdd")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sdd"]


def child_environment() -> dict[str, str]:
    """This environment with bytecode caching on: an installed sdd runs from cached bytecode,
    and a shell or CI job that sets PYTHONDONTWRITEBYTECODE would otherwise have every timed
    run compile sdd's modules again (the warm-up round writes the caches)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_once(command: list[str], *, cwd: Path) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) milliseconds of one child process."""
    environment = child_environment()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, env=environment, capture_output=True, check=False)
    wall = (time.perf_counter() - started) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode not in (0, 1):
        raise SystemExit(f"{command} failed: {completed.stderr.decode()[:400]}")
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def time_all(
    commands: dict[str, list[str]], *, cwd: Path, runs: int
) -> dict[str, list[tuple[float, float]]]:
    """Every command once per round, rounds interleaved, so all see the same machine load."""
    timings: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for round_number in range(runs + 1):  # round 0 only warms the file cache
        for name, command in commands.items():
            measured = run_once(command, cwd=cwd)
            if round_number:
                timings[name].append(measured)
    return timings


def summarise(timings: list[tuple[float, float]], floor_ms: float | None) -> dict[str, Any]:
    walls = sorted(wall for wall, _ in timings)
    median = statistics.median(walls)
    return {
        "median_ms": round(median, 1),
        "p90_ms": round(walls[max(0, int(len(walls) * 0.9) - 1)], 1),
        "min_ms": round(walls[0], 1),
        "max_ms": round(walls[-1], 1),
        "median_cpu_ms": round(statistics.median(cpu for _, cpu in timings), 1),
        "ratio_to_interpreter": round(median / floor_ms, 2) if floor_ms else None,
        "within_budget": median <= BUDGET_MS,
    }


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def make_corpus(root: Path, records: int) -> dict[str, int]:
    """A repository with ``records`` records in the formats sdd reads, seeded and fixed."""
    adrs, phrs = records // 2, records - records // 2
    day = dt.date(2025, 1, 1)
    write(root / ".specify" / "memory" / "constitution.md", "# Constitution\n")
    write(
        root / "openapi" / "openapi.yaml",
        "openapi: 3.1.0\ninfo: {title: T, version: '1'}\npaths: {}\n",
    )
    for feature in range(1, 11):
        write(
            root / "specs" / f"{feature:03d}-feature-{feature}" / "spec.md",
            f"# Feature Specification: Feature {feature}\n\n"
            "**Status**: Draft\n**Operations**: none\n",
        )
    folder = root / "history" / "adr"
    for number in range(1, adrs + 1):
        date = (day + dt.timedelta(days=number)).isoformat()
        title = f"Decision {number} about the database and paging"
        shape = number % 3
        if shape == 0:
            text = (
                f"---\nid: {number}\ntitle: {title}\nstatus: accepted\ndate: {date}\n"
                "feature: null\n"
                "supersedes: []\nsuperseded_by: []\nlinks:\n  spec: null\n  ticket: null\n"
                f"  adr: null\n  pr: null\n---\n\n# ADR-{number:04d}: {title}\n\n## Context\n\n"
                "Why.\n\n## Decision\n\nWhat.\n"
            )
        elif shape == 1:
            text = (
                f"---\nstatus: accepted\ndate: {date}\ndeciders: Ada\n---\n\n# {title}\n\n"
                "## Context and Problem Statement\n\nWhy.\n\n## Decision Outcome\n\nWhat.\n"
            )
        else:
            text = (
                f"# {number}. {title}\n\nDate: {date}\n\n## Status\n\nAccepted\n\n"
                "## Context\n\nWhy.\n\n## Decision\n\nWhat.\n"
            )
        write(folder / f"{number:04d}-decision-{number}.md", text)
    for index in range(phrs):
        feature = index % 10 + 1
        route = f"{feature:03d}-feature-{feature}"
        number = index // 10 + 1
        write(
            root / "history" / "prompts" / route / f"{number:04d}-step-{number}.green.prompt.md",
            f"---\nid: {number}\ntitle: Step {number} of feature {feature}\nstage: green\n"
            f"date: {(day + dt.timedelta(days=index)).isoformat()}\nsurface: agent\nmodel: null\n"
            f'feature: {route}\nbranch: {route}\nuser: Ada\ncommand: null\nlabels: ["paging"]\n'
            "links:\n  spec: null\n  ticket: null\n  adr: null\n  pr: null\nfiles: []\ntests: []\n"
            f"---\n\n# Step {number}\n\n## Prompt\n\n"
            f"```text\nImplement paging step {number}.\n```\n",
        )
    return {"adrs": adrs, "phrs": phrs, "specs": 10}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=Path("var/bench/cli.json"))
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="NAME=PYTHON",
        help="Also time the Typer probe with another interpreter (e.g. a venv with another Typer).",
    )
    parser.add_argument("--fail-over-budget", action="store_true", help="exit 1 when over")
    options = parser.parse_args()

    sdd = sdd_command()
    with tempfile.TemporaryDirectory(prefix="sdd-bench-") as scratch:
        root = Path(scratch) / "repo"
        corpus = make_corpus(root, options.records)
        probes = Path(scratch) / "probes"
        for name, source in PROBE.items():
            write(probes / f"probe_{name}.py", textwrap.dedent(source))
        floors: dict[str, list[str]] = {
            "python -S -c pass": [sys.executable, "-S", "-c", "pass"],
            "python -c pass": [sys.executable, "-c", "pass"],
        }
        floors |= {
            f"{name} app (adr list --json)": [
                sys.executable,
                str(probes / f"probe_{name}.py"),
                "adr",
                "list",
                "--json",
            ]
            for name in PROBE
        }
        for pair in options.compare:
            name, _, python = pair.partition("=")
            floors[f"typer app on {name}"] = [
                python,
                str(probes / "probe_typer.py"),
                "adr",
                "list",
                "--json",
            ]
        commands = {
            "sdd " + " ".join(args): [*sdd, *args] for args in [["--version"], *READ_COMMANDS]
        }
        timings = time_all(floors | commands, cwd=root, runs=options.runs)
        interpreter = statistics.median(wall for wall, _ in timings["python -c pass"])
        floor_results = {name: summarise(timings[name], interpreter) for name in floors}
        for result in floor_results.values():
            result.pop("within_budget")
        results = {name: summarise(timings[name], interpreter) for name in commands}

    document = {
        "tool": "sdd",
        "version": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "cpu_count": os.cpu_count(),
        "runs": options.runs,
        "corpus": corpus,
        "budget_ms": BUDGET_MS,
        "floors": floor_results,
        "results": results,
        "ok": all(result["within_budget"] for result in results.values()),
    }
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    for name, result in floor_results.items():
        ratio = result["ratio_to_interpreter"]
        print(
            f"{name:<44} median {result['median_ms']:>7.1f} ms"
            f"  cpu {result['median_cpu_ms']:>6.1f} ms  ({ratio}x python)"
        )
    for name, result in results.items():
        verdict = "ok" if result["within_budget"] else "OVER BUDGET"
        print(
            f"{name:<44} median {result['median_ms']:>7.1f} ms  p90 {result['p90_ms']:>7.1f} ms"
            f"  cpu {result['median_cpu_ms']:>6.1f} ms  ({result['ratio_to_interpreter']}x python)"
            f" [{verdict}, budget {BUDGET_MS:.0f} ms]"
        )
    print(f"wrote {options.output}")
    return 1 if options.fail_over_budget and not document["ok"] else 0


if __name__ == "__main__":
    sys.exit(main())
