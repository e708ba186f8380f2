"""``sdd phr``: record and read Prompt History Records."""

import datetime as dt
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from sdd.cli.application import CommandGroup, application
from sdd.cli.output import table
from sdd.errors import SddError

app = CommandGroup(help="Record and read Prompt History Records.")
TEXT_ARG = "TEXT, @FILE, or - for stdin."


def parse_date(value: str | None, *, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise SddError(f"{option} {value!r} is not an ISO date (YYYY-MM-DD)") from None


@app.command("new")
def phr_new(
    title: Annotated[str, typer.Option("--title", help="One-line title.")],
    stage: Annotated[
        str,
        typer.Option(
            "--stage",
            help="constitution, spec, plan, tasks, red, green, refactor, explainer, misc, general.",
        ),
    ] = "general",
    feature: Annotated[
        str | None,
        typer.Option(
            "--feature",
            help="Spec folder, e.g. 002-tasks (else SPECIFY_FEATURE, the branch, the last spec).",
        ),
    ] = None,
    prompt: Annotated[str | None, typer.Option("--prompt", help=f"The prompt: {TEXT_ARG}")] = None,
    response: Annotated[
        str | None, typer.Option("--response", help=f"The response: {TEXT_ARG}")
    ] = None,
    outcome: Annotated[str | None, typer.Option("--outcome", help=f"Outcome: {TEXT_ARG}")] = None,
    evaluation: Annotated[
        str | None, typer.Option("--evaluation", help=f"Evaluation notes: {TEXT_ARG}")
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
    link: Annotated[
        list[str] | None,
        typer.Option("--link", help="spec=…, ticket=…, adr=… or pr=… (repeatable)."),
    ] = None,
    date: Annotated[str | None, typer.Option("--date", help="ISO date (default: today).")] = None,
    edit: Annotated[
        bool, typer.Option("--edit", help="Open the new file in $VISUAL/$EDITOR.")
    ] = False,
) -> None:
    """Record a Prompt History Record under history/prompts/<route>/."""
    from sdd.editor import editor_command, open_in_editor
    from sdd.gitinfo import user_name
    from sdd.naming import record_path
    from sdd.records.common import parse_links
    from sdd.records.phr import PhrInput, create_phr
    from sdd.textinput import read_text_arguments

    app_ = application()
    project = app_.project()
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
            date=parse_date(date, option="--date"),
        ),
    )
    if created.note:
        app_.note(created.note, code="feature")
    if editor:
        open_in_editor(editor, created.path)
    app_.emit(
        {"record": created.summary(), "feature_source": created.feature_source},
        text=created.relative_path,
    )


def _rows(records: list[Any]) -> list[list[str]]:
    return [
        [record.ref, record.stage or "?", record.date or "?", record.title or ""]
        for record in records
    ]


@app.command("list")
def phr_list(
    feature: Annotated[str | None, typer.Option("--feature", help="Only this feature.")] = None,
    stage: Annotated[str | None, typer.Option("--stage", help="Only this stage.")] = None,
    label: Annotated[
        list[str] | None, typer.Option("--label", help="Only records with this label (repeatable).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only records dated on or after this ISO date.")
    ] = None,
) -> None:
    """List PHRs by folder and id."""
    from sdd.records.phr import filter_phrs, scan_phrs

    app_ = application()
    scan = scan_phrs(app_.project())
    records = filter_phrs(
        scan.records,
        feature=feature,
        stage=stage,
        labels=label or [],
        since=parse_date(since, option="--since"),
    )
    app_.emit(
        {"records": [record.summary() for record in records], "count": len(records)},
        text=lambda: table(["REF", "STAGE", "DATE", "TITLE"], _rows(records), app_.terminal),
        problems=scan.problems,
    )


@app.command("show")
def phr_show(
    ref: Annotated[
        str,
        typer.Argument(help="FEATURE/ID, a path, a file name, a slug, or an id that is unique."),
    ],
) -> None:
    """Show one PHR."""
    from sdd.records.common import jsonable, sections
    from sdd.records.phr import find_phr

    app_ = application()
    record = find_phr(app_.project(), ref, cwd=Path(os.getcwd()))
    app_.emit(
        {
            "record": record.summary()
            | {
                "front_matter": jsonable(record.front_matter),
                "sections": sections(record.text),
                "text": record.text,
            }
        },
        text=record.text,
    )


@app.command("search")
def phr_search(
    text: Annotated[str, typer.Argument(help="Text to look for (case-insensitive).")],
) -> None:
    """Find PHRs whose text contains TEXT."""
    from sdd.records.phr import search_phrs

    app_ = application()
    hits = search_phrs(app_.project(), text)
    terminal = app_.terminal

    def render() -> str:
        return "\n".join(
            f"{terminal.style(record.relative_path, 'cyan')}:{n}: {line}"
            for record, lines in hits
            for n, line in lines
        )

    app_.emit(
        {
            "query": text,
            "records": [
                record.summary() | {"matches": [{"line": n, "text": t} for n, t in lines]}
                for record, lines in hits
            ],
            "count": len(hits),
        },
        text=render,
    )
