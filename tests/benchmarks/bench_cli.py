"""Measure sdd start-up and command latency in a throwaway repository (`make bench-cli`).

Each command runs as a real child process, the way agents and CI call it; the median of
``--runs`` runs is compared with the target. Results go to ``--output`` as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sdd import __version__
from sdd.project import load_project
from sdd.records.adr import AdrInput, create_adr
from sdd.scaffold import init_project


def sdd_command() -> list[str]:
    """The installed console script when present, else ``python -m sdd``."""
    script = Path(sys.executable).parent / ("sdd.exe" if os.name == "nt" else "sdd")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sdd"]


def time_runs(command: list[str], *, cwd: Path, runs: int, vary: bool = False) -> list[float]:
    timings = []
    for index in range(runs + 1):  # the first run only warms the file cache
        args = [part.replace("{i}", str(index)) for part in command] if vary else command
        started = time.perf_counter()
        subprocess.run(args, cwd=cwd, capture_output=True, check=True)
        if index:
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def summarise(timings: list[float], target_ms: float) -> dict[str, float | bool]:
    ordered = sorted(timings)
    median = statistics.median(ordered)
    return {
        "median_ms": round(median, 1),
        "p90_ms": round(ordered[max(0, int(len(ordered) * 0.9) - 1)], 1),
        "min_ms": round(ordered[0], 1),
        "max_ms": round(ordered[-1], 1),
        "within_target": median < target_ms,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=Path("var/bench/cli.json"))
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--adrs", type=int, default=100)
    parser.add_argument("--target-ms", type=float, default=250.0)
    parser.add_argument("--fail-over-target", action="store_true", help="exit 1 when over")
    options = parser.parse_args()

    sdd = sdd_command()
    with tempfile.TemporaryDirectory(prefix="sdd-bench-") as scratch:
        root = Path(scratch) / "repo"
        init_project(root)
        project = load_project(root)
        for number in range(options.adrs):
            create_adr(
                project, AdrInput(title=f"Decision {number}", context="Why.", decision="What.")
            )
        cases = {
            "sdd --version": ([*sdd, "--version"], False),
            "sdd phr new": (
                [*sdd, "phr", "new", "--title", "Bench {i}", "--prompt", "p", "--json"],
                True,
            ),
            f"sdd adr list ({options.adrs} ADRs)": ([*sdd, "adr", "list", "--json"], False),
        }
        results = {
            name: summarise(
                time_runs(command, cwd=root, runs=options.runs, vary=vary), options.target_ms
            )
            for name, (command, vary) in cases.items()
        }

    document = {
        "tool": "sdd",
        "version": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "cpu_count": os.cpu_count(),
        "runs": options.runs,
        "target_ms": options.target_ms,
        "results": results,
        "ok": all(result["within_target"] for result in results.values()),
    }
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    for name, result in results.items():
        verdict = "ok" if result["within_target"] else "OVER TARGET"
        print(
            f"{name:<28} median {result['median_ms']:>7.1f} ms  p90 {result['p90_ms']:>7.1f} ms"
            f"  [{verdict}, target {options.target_ms:.0f} ms]"
        )
    print(f"wrote {options.output}")
    return 1 if options.fail_over_target and not document["ok"] else 0


if __name__ == "__main__":
    sys.exit(main())
