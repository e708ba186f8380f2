"""Top-level commands about the project as a whole: init, where, check and schema."""

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from sdd.cli.application import CommandGroup, application

app = CommandGroup()


@app.command("init")
def init_command(
    path: Annotated[Path, typer.Argument(help="Project root to scaffold.")] = Path(),
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Scaffold .specify/, specs/, history/ and a minimal OpenAPI 3.1 contract."""
    from sdd.scaffold import init_project

    actions = init_project(path, force=force)
    application().emit(
        {
            "root": str(path.resolve()),
            "files": [{"path": a.path, "action": a.action} for a in actions],
        },
        text="\n".join(f"{a.action:<11} {a.path}" for a in actions),
    )


def _choice_json(project: Any, choice: Any) -> dict[str, Any]:
    return {
        "path": project.relative(choice.path),
        "source": choice.source,
        "exists": choice.path.is_dir(),
        "considered": [{"rule": rule, "found": found} for rule, found in choice.considered],
    }


@app.command("where")
def where_command() -> None:
    """Say which folders sdd reads and writes here, and why it chose each."""
    from sdd.records.adr import detect_convention, scan_adrs

    app_ = application()
    project = app_.project()
    convention = detect_convention(project, scan_adrs(project).records)
    data = {
        "root": {"path": project.root.as_posix(), "reason": project.root_reason},
        "adr": _choice_json(project, project.adr)
        | {
            "convention": {
                "format": convention.format,
                "naming": convention.scheme,
                "source": convention.source,
            }
        },
        "prompts": _choice_json(project, project.prompts),
        "specs": {
            "path": project.relative(project.specs_dir),
            "exists": project.specs_dir.is_dir(),
        },
        "contract": {
            "path": project.relative(project.contract_path),
            "exists": project.contract_path.is_file(),
        },
        "traceability": {"enabled": project.traceability, "source": project.traceability_source},
        "strict": project.strict,
        "state": project.relative(project.state_dir),
    }

    def text() -> str:
        lines = [
            f"root      {project.root.as_posix()}  ({project.root_reason})",
            f"adr       {project.relative(project.adr_dir)}  ({project.adr.source}; "
            f"writes {convention.format}, {convention.scheme} names)",
            f"prompts   {project.relative(project.prompts_dir)}  ({project.prompts.source})",
            f"specs     {project.relative(project.specs_dir)}",
            f"contract  {project.relative(project.contract_path)}  "
            f"(traceability {'on' if project.traceability else 'off'}: "
            f"{project.traceability_source})",
        ]
        return "\n".join(lines)

    app_.emit(data, text=text)


@app.command("check")
def check_command(
    strict: Annotated[
        bool, typer.Option("--strict", help="Also demand sdd's own front matter, names and routes.")
    ] = False,
) -> None:
    """Check records, specs and contract traceability; exit 1 on any problem."""
    from sdd.check import run_check

    app_ = application()
    project = app_.project()
    report = run_check(project, strict=strict or None)

    def text() -> str:
        return "\n".join(str(problem) for problem in report.problems)

    app_.emit(
        report.to_json(), text=text, ok=report.ok, problems=report.problems if app_.json else ()
    )
    if not app_.json:
        counts = ", ".join(f"{count} {kind}" for kind, count in report.counts.items())
        verdict = f"{len(report.problems)} problem(s)" if report.problems else "no problems"
        mode = "strict" if report.strict else "each record by its own format"
        sys.stderr.write(f"sdd check: {verdict} ({counts}; {mode})\n")
    if not report.ok:
        raise typer.Exit(1)


@app.command("schema")
def schema_command(
    kind: Annotated[str, typer.Argument(help="phr, adr or output (the JSON envelope).")],
) -> None:
    """Print a JSON Schema: PHR or ADR front matter, or the --json output envelope."""
    import json

    from sdd.errors import SddError
    from sdd.records.schema import FIELDS, json_schema

    if kind == "output":
        from sdd.cli.output_schema import output_schema

        document = output_schema()
    elif kind in FIELDS:
        document = json_schema(kind)
    else:
        raise SddError(f"unknown schema {kind!r}; use phr, adr or output")
    application().emit(
        {"schema": document}, text=json.dumps(document, ensure_ascii=False, indent=2)
    )
