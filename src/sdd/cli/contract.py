"""``sdd contract``: the contract compared with an earlier version of itself."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from sdd.cli.application import CommandGroup, application

app = CommandGroup(help="Compare the contract with an earlier version of itself.")


@app.callback()
def contract() -> None:
    """Compare the contract with an earlier version of itself."""


@app.command("diff")
def contract_diff(
    base: Annotated[
        str | None,
        typer.Option(
            "--base",
            help="Git ref to compare with (default: the merge base with main, else the "
            "latest tag, else HEAD).",
        ),
    ] = None,
    head: Annotated[
        str | None,
        typer.Option("--head", help="Git ref to compare (default: the working tree)."),
    ] = None,
    base_file: Annotated[
        Path | None,
        typer.Option("--base-file", help="Compare with this contract file instead of a ref."),
    ] = None,
    breaking_only: Annotated[
        bool, typer.Option("--breaking-only", help="List only the breaking changes.")
    ] = False,
) -> None:
    """Classify every contract change as breaking or not; exit 1 on a breaking change
    unless the major part of info.version was raised."""
    from sdd.contract_diff import diff_project, render_text

    app_ = application()
    project = app_.project()
    report = diff_project(project.contract_path, base_ref=base, head_ref=head, base_file=base_file)
    if not app_.json:
        sys.stderr.write(f"sdd contract diff: {report.head} against {report.base}\n")
    listing = render_text(report, breaking_only=breaking_only)
    app_.emit(report.to_json(), text=listing, ok=report.ok)
    if not app_.json:
        sys.stderr.write(f"sdd contract diff: {report.verdict()}\n")
    if not report.ok:
        raise typer.Exit(1)
