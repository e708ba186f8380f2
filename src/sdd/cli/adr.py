"""``sdd adr``: record, change, link, list, index and graph Architectural Decision Records."""

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from sdd.cli.application import CommandGroup, application
from sdd.cli.output import status_style, table
from sdd.cli.phr import TEXT_ARG, parse_date

app = CommandGroup(
    help="Record and manage Architectural Decision Records (sdd, adr-tools, MADR, log4brains)."
)
AdrRef = Annotated[str, typer.Argument(help="ADR number (3, ADR-0003), folder/3, slug or path.")]


@app.command("new")
def adr_new(
    title: Annotated[str, typer.Argument(help="Decision title.")],
    status: Annotated[str, typer.Option("--status", help="proposed or accepted.")] = "proposed",
    context: Annotated[str | None, typer.Option("--context", help=f"Context: {TEXT_ARG}")] = None,
    decision: Annotated[
        str | None, typer.Option("--decision", help=f"Decision: {TEXT_ARG}")
    ] = None,
    consequences: Annotated[
        str | None, typer.Option("--consequences", help=f"Consequences: {TEXT_ARG}")
    ] = None,
    alternatives: Annotated[
        str | None, typer.Option("--alternatives", help=f"Alternatives: {TEXT_ARG}")
    ] = None,
    feature: Annotated[
        str | None, typer.Option("--feature", help="Spec folder, e.g. 002-tasks.")
    ] = None,
    supersedes: Annotated[
        list[str] | None, typer.Option("--supersedes", help="ADR this one replaces (repeatable).")
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
    """Record an ADR, named and written like the records already in the folder."""
    from sdd.editor import editor_command, open_in_editor
    from sdd.records.adr import AdrInput, create_adr
    from sdd.records.common import parse_links
    from sdd.textinput import read_text_arguments

    app_ = application()
    project = app_.project()
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
            supersedes=supersedes or [],
            links=parse_links(link or []),
            date=parse_date(date, option="--date"),
        ),
    )
    if editor:
        open_in_editor(editor, record.path)
    app_.emit({"record": record.summary()}, text=record.relative_path)


def _status_command(ref: str, *, action: str | None = None, status: str | None = None) -> None:
    from sdd.records.adr import change_status

    app_ = application()
    result = change_status(app_.project(), ref, action=action, status=status)
    verb = "now" if result.changed else "already"
    app_.emit(
        {
            "record": result.record.summary(),
            "previous_status": result.previous,
            "changed": result.changed,
        },
        text=f"{result.record.relative_path}: {verb} {result.record.status}",
    )


@app.command("accept")
def adr_accept(ref: AdrRef) -> None:
    """Mark an ADR accepted."""
    _status_command(ref, action="accept")


@app.command("reject")
def adr_reject(ref: AdrRef) -> None:
    """Mark an ADR rejected."""
    _status_command(ref, action="reject")


@app.command("deprecate")
def adr_deprecate(ref: AdrRef) -> None:
    """Mark an accepted ADR deprecated."""
    _status_command(ref, action="deprecate")


@app.command("status")
def adr_status(
    ref: AdrRef,
    status: Annotated[str, typer.Argument(help="Any status the format allows, e.g. 'on hold'.")],
) -> None:
    """Set an ADR's status to any word or phrase (MADR and log4brains allow any)."""
    _status_command(ref, status=status)


@app.command("supersede")
def adr_supersede(
    old: AdrRef,
    by: Annotated[str, typer.Option("--by", help="The ADR that replaces OLD.")],
) -> None:
    """Mark OLD superseded by another ADR, updating both records in one step."""
    from sdd.records.adr import supersede

    app_ = application()
    old_record, new_record, changed = supersede(app_.project(), old, by=by)
    verb = "now" if changed else "already"
    app_.emit(
        {"old": old_record.summary(), "new": new_record.summary(), "changed": changed},
        text=f"{old_record.relative_path}: {verb} superseded by {new_record.relative_path}",
    )


@app.command("link")
def adr_link(
    source: AdrRef,
    target: Annotated[str, typer.Argument(help="The ADR that SOURCE acts on.")],
    link_type: Annotated[
        str, typer.Option("--type", help="The verb: amends, clarifies, extends, supersedes, ...")
    ] = "amends",
) -> None:
    """Link two ADRs both ways: SOURCE amends TARGET, TARGET is amended by SOURCE."""
    from sdd.records.adr import link_adrs
    from sdd.records.common import forward_label

    app_ = application()
    change = link_adrs(app_.project(), source, target, link_type=link_type)
    verb = "now" if change.changed else "already"
    app_.emit(
        {
            "source": change.source.summary(),
            "target": change.target.summary(),
            "type": change.kind,
            "changed": change.changed,
        },
        text=f"{change.source.ref} {verb} {forward_label(change.kind)} {change.target.ref}",
    )


def _adr_rows(records: list[Any]) -> list[list[str]]:
    return [[r.ref, r.status or "?", r.date or "?", r.title or ""] for r in records]


@app.command("list")
def adr_list(
    status: Annotated[
        str | None,
        typer.Option("--status", help="Only ADRs with this status (any word, e.g. 'on hold')."),
    ] = None,
) -> None:
    """List ADRs of every format, by folder and number."""
    from sdd.records.adr import finish_interrupted_update, scan_adrs

    app_ = application()
    project = app_.project()
    finish_interrupted_update(project)
    scan = scan_adrs(project)
    records = scan.records
    if status is not None:
        wanted = " ".join(status.strip().lower().split())
        records = [record for record in records if record.status == wanted]
    terminal = app_.terminal
    app_.emit(
        {"records": [record.summary() for record in records], "count": len(records)},
        text=lambda: table(
            ["REF", "STATUS", "DATE", "TITLE"],
            _adr_rows(records),
            terminal,
            styles=lambda column, cell: status_style(cell) if column == 1 else (),
        ),
        problems=scan.problems,
    )


@app.command("show")
def adr_show(ref: AdrRef) -> None:
    """Show one ADR."""
    from sdd.records.adr import find_adr, finish_interrupted_update, show_json

    app_ = application()
    project = app_.project()
    finish_interrupted_update(project)
    record = find_adr(project, ref)
    app_.emit({"record": show_json(record)}, text=record.text)


@app.command("search")
def adr_search(
    text: Annotated[str, typer.Argument(help="Text to look for (case-insensitive).")],
) -> None:
    """Find ADRs whose text contains TEXT."""
    from sdd.records.adr import search_adrs

    app_ = application()
    hits = search_adrs(app_.project(), text)
    terminal = app_.terminal
    app_.emit(
        {
            "query": text,
            "records": [
                record.summary() | {"matches": [{"line": n, "text": t} for n, t in lines]}
                for record, lines in hits
            ],
            "count": len(hits),
        },
        text=lambda: "\n".join(
            f"{terminal.style(record.relative_path, 'cyan')}:{n}: {line}"
            for record, lines in hits
            for n, line in lines
        ),
    )


@app.command("index")
def adr_index(
    output: Annotated[
        str | None,
        typer.Option(
            "--output", help="Write the index here (default: README.md in the ADR folder)."
        ),
    ] = None,
) -> None:
    """Write the ADR index (a table and a graph of every link); never over a hand-written file."""
    from sdd.records.adr import write_index

    app_ = application()
    project = app_.project()
    path, count = write_index(project, output=output)
    app_.emit(
        {"path": project.relative(path), "count": count},
        text=f"{project.relative(path)}: {count} ADRs",
    )


@app.command("graph")
def adr_graph(
    graph_format: Annotated[str, typer.Option("--format", help="mermaid or dot.")] = "mermaid",
) -> None:
    """Print every link between ADRs (supersedes, amends, ...) as Mermaid or Graphviz dot."""
    from sdd.errors import SddError
    from sdd.records.adr import edges, render_dot, render_mermaid, scan_adrs

    if graph_format not in ("mermaid", "dot"):
        raise SddError(f"unknown graph format {graph_format!r}; use mermaid or dot")
    app_ = application()
    scan = scan_adrs(app_.project())
    source = render_mermaid(scan.records) if graph_format == "mermaid" else render_dot(scan.records)
    app_.emit(
        {
            "format": graph_format,
            "graph": source,
            "nodes": [record.ref for record in scan.records],
            "edges": [{"source": s, "target": t, "type": k} for s, t, k in edges(scan.records)],
        },
        text=source,
        problems=scan.problems,
    )
