"""``sdd trace``: one row per spec requirement, from contract to handler, tests and fuzzing."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from sdd.cli.application import CommandGroup, application
from sdd.errors import SddError

app = CommandGroup()


@app.command("trace")
def trace_command(
    html: Annotated[
        Path | None, typer.Option("--html", help="Write the self-contained HTML page here.")
    ] = None,
    source: Annotated[
        Path | None, typer.Option("--source", help="Where handlers live (default: src).")
    ] = None,
    tests: Annotated[
        Path | None, typer.Option("--tests", help="Where tests live (default: tests).")
    ] = None,
    fuzz_report: Annotated[
        list[Path] | None,
        typer.Option(
            "--fuzz-report",
            help="Schemathesis JUnit report (repeatable; default: var/fuzz/*.xml).",
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 when a requirement has a gap.")
    ] = False,
) -> None:
    """One row per spec requirement: operations, handler file:line, tests, fuzzing, gaps."""
    from sdd.trace import build_trace, render_text, summary

    app_ = application()
    project = app_.project()
    cwd = Path.cwd()
    for option, folder in (("--source", source), ("--tests", tests)):
        if folder is not None and not (cwd / folder).is_dir():
            raise SddError(f"{option} {folder} is not a folder")
    for report in fuzz_report or []:
        if not (cwd / report).is_file():
            raise SddError(f"--fuzz-report {report} does not exist")
    trace = build_trace(
        project,
        source_dir=cwd / source if source else None,
        tests_dir=cwd / tests if tests else None,
        reports=[cwd / report for report in fuzz_report] if fuzz_report else None,
    )
    if html is not None:
        from sdd.trace.html import write_html

        try:
            write_html(trace, cwd / html)
        except OSError as exc:
            raise SddError(f"cannot write {html}: {exc.strerror or exc}") from None
    ok = not (strict and (trace.gaps or trace.unknown))
    text = f"{html}: {summary(trace)}" if html is not None else render_text(trace)
    app_.emit(trace.to_json() | {"html": str(html) if html else None}, text=text, ok=ok)
    if html is None and not app_.json:
        sys.stderr.write(f"sdd trace: {summary(trace)}\n")
    if not ok:
        raise typer.Exit(1)
