"""The ``sdd`` command line: Typer wiring, output and exit codes; the work lives elsewhere.

Exit codes: 0 success, 1 ``sdd check`` found problems, 2 usage or input errors (click's
own usage errors included). Heavy modules (PyYAML and the record readers) are imported
inside the commands that need them, so ``sdd --help`` and ``sdd phr new`` start fast.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer._click import exceptions as click_errors
from typer.core import TyperGroup

from sdd import __version__, param_coercion
from sdd.errors import SddError
from sdd.output import emit_json, emit_text, report_error, table

param_coercion.install()

if TYPE_CHECKING:
    from sdd.project import Project
    from sdd.records.adr import AdrRecord
    from sdd.records.phr import PhrRecord


class SddGroup(TyperGroup):
    """Runs every invocation non-standalone so that all failures share one exit-code policy."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        # Decided before parsing, so that even a usage error answers in JSON.
        as_json = "--json" in argv
        extra.setdefault("obj", {"json": as_json})
        try:
            result = super().main(
                args=argv,
                prog_name=prog_name or "sdd",
                complete_var=complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
            code = result if isinstance(result, int) else 0
        except SddError as exc:
            report_error(exc.message, exit_code=exc.exit_code, as_json=as_json)
            code = exc.exit_code
        except click_errors.NoArgsIsHelpError as exc:
            sys.stderr.write(exc.ctx.get_help() + "\n" if exc.ctx else "")
            code = 2
        except click_errors.UsageError as exc:
            hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
            report_error(exc.format_message() + hint, exit_code=2, as_json=as_json)
            code = 2
        except click_errors.ClickException as exc:
            report_error(exc.format_message(), exit_code=exc.exit_code, as_json=as_json)
            code = exc.exit_code
        except (typer.Abort, KeyboardInterrupt):
            report_error("interrupted", exit_code=130, as_json=as_json)
            code = 130
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    cls=SddGroup,
    name="sdd",
    help="Specs, prompt history and decision records for spec-first projects.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
spec_app = typer.Typer(help="Create and list feature specs.", no_args_is_help=True)
phr_app = typer.Typer(help="Record and read Prompt History Records.", no_args_is_help=True)
adr_app = typer.Typer(
    help="Record and manage Architectural Decision Records.", no_args_is_help=True
)
app.add_typer(spec_app, name="spec")
app.add_typer(phr_app, name="phr")
app.add_typer(adr_app, name="adr")

Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
Edit = Annotated[bool, typer.Option("--edit", help="Open the new file in $VISUAL/$EDITOR.")]
Links = Annotated[
    list[str] | None,
    typer.Option("--link", help="spec=…, ticket=…, adr=… or pr=… (repeatable)."),
]
TextArg = "TEXT, @FILE, or - for stdin."


def _json(ctx: typer.Context, flag: bool) -> bool:
    return flag or bool((ctx.obj or {}).get("json"))


def _project() -> Project:
    from sdd.project import discover

    return discover()


def _date(value: str | None, *, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise SddError(f"{option} {value!r} is not an ISO date (YYYY-MM-DD)") from None


def _version(ctx: typer.Context, value: bool) -> None:
    if not value:
        return
    if (ctx.obj or {}).get("json"):
        emit_json({"name": "sdd", "version": __version__})
    else:
        emit_text(f"sdd {__version__}")
    raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_version, help="Print the version."),
    ] = False,
    as_json: Json = False,
) -> None:
    """Specs, prompt history and decision records for spec-first projects."""


# init -----------------------------------------------------------------------------------


@app.command("init")
def init_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Project root to scaffold.")] = Path(),
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
    as_json: Json = False,
) -> None:
    """Scaffold .specify/, specs/, history/ and a minimal OpenAPI 3.1 contract."""
    from sdd.scaffold import init_project

    actions = init_project(path, force=force)
    if _json(ctx, as_json):
        emit_json({"root": str(path.resolve()), "files": [a.__dict__ for a in actions]})
    else:
        emit_text("\n".join(f"{a.action:<11} {a.path}" for a in actions))


# spec -------------------------------------------------------------------------------------


@spec_app.command("new")
def spec_new(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="Feature title.")],
    short_name: Annotated[
        str | None, typer.Option("--short-name", help="Slug for the folder.")
    ] = None,
    number: Annotated[int | None, typer.Option("--number", help="Use this number.")] = None,
    edit: Edit = False,
    as_json: Json = False,
) -> None:
    """Create specs/NNN-slug/{spec,plan,tasks}.md from the templates."""
    from sdd.editor import editor_command, open_in_editor
    from sdd.specs import create_spec

    project = _project()
    editor = editor_command() if edit else None
    created = create_spec(project, title=title, short_name=short_name, number=number)
    if editor:
        open_in_editor(editor, created.files[0])
    files = [project.relative(path) for path in created.files]
    if _json(ctx, as_json):
        emit_json(
            {
                "number": created.number,
                "feature": created.folder.name,
                "slug": created.slug,
                "path": project.relative(created.folder),
                "files": files,
            }
        )
    else:
        emit_text("\n".join(files))


@spec_app.command("list")
def spec_list(ctx: typer.Context, as_json: Json = False) -> None:
    """List specs with number, slug, title, status and operations."""
    from sdd.specs import list_specs

    project = _project()
    specs = list_specs(project)
    rows = [
        {
            "number": spec.number,
            "feature": spec.name,
            "slug": spec.slug,
            "title": spec.title,
            "status": spec.status,
            "operations": spec.operation_ids(),
            "path": project.relative(spec.spec_path),
        }
        for spec in specs
    ]
    if _json(ctx, as_json):
        emit_json({"specs": rows})
        return
    emit_text(
        table(
            [
                [
                    f"{spec.number:03d}",
                    spec.slug,
                    spec.title or "",
                    spec.status or "?",
                    ", ".join(spec.operation_ids()) or "none",
                ]
                for spec in specs
            ],
            ["NUM", "SLUG", "TITLE", "STATUS", "OPERATIONS"],
        )
    )


# phr ----------------------------------------------------------------------------------------


@phr_app.command("new")
def phr_new(
    ctx: typer.Context,
    title: Annotated[str, typer.Option("--title", help="One-line title.")],
    stage: Annotated[
        str,
        typer.Option(
            "--stage",
            help="constitution, spec, plan, tasks, red, green, refactor, explainer, misc, general.",
        ),
    ] = "general",
    feature: Annotated[
        str | None, typer.Option("--feature", help="Spec folder, e.g. 002-tasks.")
    ] = None,
    prompt: Annotated[str | None, typer.Option("--prompt", help=f"The prompt: {TextArg}")] = None,
    response: Annotated[
        str | None, typer.Option("--response", help=f"The response: {TextArg}")
    ] = None,
    outcome: Annotated[str | None, typer.Option("--outcome", help=f"Outcome: {TextArg}")] = None,
    evaluation: Annotated[
        str | None, typer.Option("--evaluation", help=f"Evaluation notes: {TextArg}")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Model that answered.")] = None,
    command: Annotated[str | None, typer.Option("--command", help="Command that was run.")] = None,
    surface: Annotated[
        str, typer.Option("--surface", help="Where the prompt was given.")
    ] = "agent",
    user: Annotated[
        str | None, typer.Option("--user", help="Who gave the prompt (default: git user.name).")
    ] = None,
    label: Annotated[list[str] | None, typer.Option("--label", help="Label (repeatable).")] = None,
    file: Annotated[
        list[str] | None, typer.Option("--file", help="File touched (repeatable).")
    ] = None,
    test: Annotated[
        list[str] | None, typer.Option("--test", help="Test run or added (repeatable).")
    ] = None,
    link: Links = None,
    date: Annotated[str | None, typer.Option("--date", help="ISO date (default: today).")] = None,
    edit: Edit = False,
    as_json: Json = False,
) -> None:
    """Record a Prompt History Record under history/prompts/<route>/."""
    from sdd.editor import editor_command, open_in_editor
    from sdd.gitinfo import user_name
    from sdd.naming import record_path
    from sdd.records.phr import PhrInput, create_phr, parse_links
    from sdd.textinput import read_text_arguments

    project = _project()
    cwd = Path(os.getcwd())
    texts = read_text_arguments(
        {
            "--prompt": prompt,
            "--response": response,
            "--outcome": outcome,
            "--evaluation": evaluation,
        },
        cwd=cwd,
    )
    editor = editor_command() if edit else None
    created = create_phr(
        project,
        PhrInput(
            title=title,
            stage=stage,
            feature=feature,
            prompt=texts["--prompt"],
            response=texts["--response"],
            outcome=texts["--outcome"],
            evaluation=texts["--evaluation"],
            model=model,
            command=command,
            surface=surface,
            user=user if user is not None else user_name(project.root),
            labels=label or [],
            files=[record_path(item, root=project.root, cwd=cwd) for item in file or []],
            tests=test or [],
            links=parse_links(link or []),
            date=_date(date, option="--date"),
        ),
    )
    if editor:
        open_in_editor(editor, created.path)
    if _json(ctx, as_json):
        emit_json(
            {
                "id": created.id,
                "path": created.relative_path,
                "stage": created.stage,
                "feature": created.feature,
                "route": created.route,
                "title": title.strip(),
            }
        )
    else:
        emit_text(created.relative_path)


def _phr_rows(records: Sequence[PhrRecord]) -> str:
    return table(
        [
            [
                f"{record.id:04d}" if record.id is not None else "?",
                record.stage or "?",
                record.feature or "-",
                record.date or "?",
                record.title or "",
            ]
            for record in records
        ],
        ["ID", "STAGE", "FEATURE", "DATE", "TITLE"],
    )


@phr_app.command("list")
def phr_list(
    ctx: typer.Context,
    feature: Annotated[str | None, typer.Option("--feature", help="Only this feature.")] = None,
    stage: Annotated[str | None, typer.Option("--stage", help="Only this stage.")] = None,
    label: Annotated[
        list[str] | None, typer.Option("--label", help="Only records with this label (repeatable).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only records dated on or after this ISO date.")
    ] = None,
    as_json: Json = False,
) -> None:
    """List PHRs, oldest first."""
    from sdd.records.phr import list_phrs

    records = list_phrs(
        _project(),
        feature=feature,
        stage=stage,
        labels=label or [],
        since=_date(since, option="--since"),
    )
    if _json(ctx, as_json):
        emit_json({"records": [record.summary() for record in records]})
    else:
        emit_text(_phr_rows(records))


@phr_app.command("show")
def phr_show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Id, path, file name or slug.")],
    as_json: Json = False,
) -> None:
    """Show one PHR."""
    from sdd.records.phr import find_phr, jsonable, sections

    record = find_phr(_project(), ref, cwd=Path(os.getcwd()))
    if _json(ctx, as_json):
        emit_json(
            record.summary()
            | {"front_matter": jsonable(record.front_matter), "sections": sections(record.text)}
        )
    else:
        emit_text(record.text)


@phr_app.command("search")
def phr_search(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="Text to look for (case-insensitive).")],
    as_json: Json = False,
) -> None:
    """Find PHRs whose text contains TEXT."""
    from sdd.records.phr import search_phrs

    hits = search_phrs(_project(), text)
    if _json(ctx, as_json):
        emit_json(
            {
                "query": text,
                "records": [
                    record.summary() | {"matches": [{"line": n, "text": t} for n, t in lines]}
                    for record, lines in hits
                ],
            }
        )
        return
    emit_text(
        "\n".join(f"{record.relative_path}:{n}: {t}" for record, lines in hits for n, t in lines)
    )


# adr ----------------------------------------------------------------------------------------


def _adr_json(record: AdrRecord) -> dict[str, Any]:
    return record.summary()


@adr_app.command("new")
def adr_new(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="Decision title.")],
    status: Annotated[str, typer.Option("--status", help="proposed or accepted.")] = "proposed",
    context: Annotated[str | None, typer.Option("--context", help=f"Context: {TextArg}")] = None,
    decision: Annotated[str | None, typer.Option("--decision", help=f"Decision: {TextArg}")] = None,
    consequences: Annotated[
        str | None, typer.Option("--consequences", help=f"Consequences: {TextArg}")
    ] = None,
    alternatives: Annotated[
        str | None, typer.Option("--alternatives", help=f"Alternatives: {TextArg}")
    ] = None,
    feature: Annotated[
        str | None, typer.Option("--feature", help="Spec folder, e.g. 002-tasks.")
    ] = None,
    supersedes: Annotated[
        list[str] | None, typer.Option("--supersedes", help="ADR this one replaces (repeatable).")
    ] = None,
    link: Links = None,
    date: Annotated[str | None, typer.Option("--date", help="ISO date (default: today).")] = None,
    edit: Edit = False,
    as_json: Json = False,
) -> None:
    """Record an ADR as history/adr/NNNN-slug.md."""
    from sdd.editor import editor_command, open_in_editor
    from sdd.records.adr import AdrInput, create_adr, parse_adr_number
    from sdd.records.phr import parse_links
    from sdd.textinput import read_text_arguments

    project = _project()
    texts = read_text_arguments(
        {
            "--context": context,
            "--decision": decision,
            "--consequences": consequences,
            "--alternatives": alternatives,
        },
        cwd=Path(os.getcwd()),
    )
    editor = editor_command() if edit else None
    record = create_adr(
        project,
        AdrInput(
            title=title,
            status=status,
            context=texts["--context"],
            decision=texts["--decision"],
            consequences=texts["--consequences"],
            alternatives=texts["--alternatives"],
            feature=feature,
            supersedes=[parse_adr_number(item) for item in supersedes or []],
            links=parse_links(link or []),
            date=_date(date, option="--date"),
        ),
    )
    if editor:
        open_in_editor(editor, record.path)
    if _json(ctx, as_json):
        emit_json(_adr_json(record))
    else:
        emit_text(record.relative_path)


def _status_command(ctx: typer.Context, ref: str, *, action: str, as_json: bool) -> None:
    from sdd.records.adr import change_status, parse_adr_number

    result = change_status(_project(), parse_adr_number(ref), action=action)
    if _json(ctx, as_json):
        emit_json(
            _adr_json(result.record)
            | {"previous_status": result.previous, "changed": result.changed}
        )
    else:
        verb = "now" if result.changed else "already"
        emit_text(f"{result.record.relative_path}: {verb} {result.record.status}")


AdrRef = Annotated[str, typer.Argument(help="ADR number, e.g. 3 or ADR-0003.")]


@adr_app.command("accept")
def adr_accept(ctx: typer.Context, number: AdrRef, as_json: Json = False) -> None:
    """Mark a proposed ADR accepted."""
    _status_command(ctx, number, action="accept", as_json=as_json)


@adr_app.command("reject")
def adr_reject(ctx: typer.Context, number: AdrRef, as_json: Json = False) -> None:
    """Mark a proposed ADR rejected."""
    _status_command(ctx, number, action="reject", as_json=as_json)


@adr_app.command("deprecate")
def adr_deprecate(ctx: typer.Context, number: AdrRef, as_json: Json = False) -> None:
    """Mark an accepted ADR deprecated."""
    _status_command(ctx, number, action="deprecate", as_json=as_json)


@adr_app.command("supersede")
def adr_supersede(
    ctx: typer.Context,
    old: AdrRef,
    by: Annotated[str, typer.Option("--by", help="The ADR that replaces OLD.")],
    as_json: Json = False,
) -> None:
    """Mark OLD superseded by another ADR, updating both records in one step."""
    from sdd.records.adr import parse_adr_number, supersede

    old_record, new_record, changed = supersede(
        _project(), parse_adr_number(old), by=parse_adr_number(by)
    )
    if _json(ctx, as_json):
        emit_json({"old": _adr_json(old_record), "new": _adr_json(new_record), "changed": changed})
    else:
        verb = "now" if changed else "already"
        emit_text(f"{old_record.relative_path}: {verb} superseded by {new_record.relative_path}")


@adr_app.command("list")
def adr_list(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option("--status", help="Only ADRs with this status.")
    ] = None,
    as_json: Json = False,
) -> None:
    """List ADRs (sdd, MADR and adr-tools forms)."""
    from sdd.records.adr import all_adrs, finish_interrupted_update

    project = _project()
    finish_interrupted_update(project)
    records = all_adrs(project, status=status)
    if _json(ctx, as_json):
        emit_json({"records": [_adr_json(record) for record in records]})
        return
    emit_text(
        table(
            [
                [
                    f"{r.id:04d}" if r.id is not None else "?",
                    r.status or "?",
                    r.date or "?",
                    r.title or "",
                ]
                for r in records
            ],
            ["ID", "STATUS", "DATE", "TITLE"],
        )
    )


@adr_app.command("show")
def adr_show(ctx: typer.Context, number: AdrRef, as_json: Json = False) -> None:
    """Show one ADR."""
    from sdd.records.adr import finish_interrupted_update, get_adr, parse_adr_number
    from sdd.records.phr import jsonable, sections

    project = _project()
    finish_interrupted_update(project)
    record = get_adr(project, parse_adr_number(number))
    if _json(ctx, as_json):
        emit_json(
            _adr_json(record)
            | {
                "links": record.links,
                "front_matter": jsonable(record.front_matter),
                "sections": sections(record.text),
            }
        )
    else:
        emit_text(record.text)


@adr_app.command("index")
def adr_index(ctx: typer.Context, as_json: Json = False) -> None:
    """Regenerate history/adr/README.md: a table and a Mermaid supersede graph."""
    from sdd.records.adr import write_index

    project = _project()
    path, count = write_index(project)
    if _json(ctx, as_json):
        emit_json({"path": project.relative(path), "records": count})
    else:
        emit_text(f"{project.relative(path)}: {count} ADRs")


# check and schema -------------------------------------------------------------------------


@app.command("check")
def check_command(ctx: typer.Context, as_json: Json = False) -> None:
    """Check records, specs and contract traceability; exit 1 on any problem."""
    from sdd.check import run_check

    report = run_check(_project())
    if _json(ctx, as_json):
        emit_json(report.to_json())
    else:
        if report.problems:
            emit_text("\n".join(str(problem) for problem in report.problems))
        counts = ", ".join(f"{count} {kind}" for kind, count in sorted(report.counts.items()))
        verdict = f"{len(report.problems)} problem(s)" if report.problems else "no problems"
        sys.stderr.write(f"sdd check: {verdict} ({counts or 'nothing to check'})\n")
    if not report.ok:
        raise typer.Exit(1)


@app.command("schema")
def schema_command(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="phr or adr.")],
    as_json: Json = False,
) -> None:
    """Print the JSON Schema of PHR or ADR front matter."""
    from sdd.records.schema import FIELDS, json_schema

    if kind not in FIELDS:
        raise SddError(f"unknown schema {kind!r}; use phr or adr")
    emit_json(json_schema(kind))


def main() -> None:
    """Console-script entry point."""
    for stream in (sys.stdout, sys.stderr):
        # Records and JSON are UTF-8 everywhere, whatever the console's code page.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(encoding="utf-8", errors="backslashreplace")
    typer.main.get_command(app).main(prog_name="sdd")
