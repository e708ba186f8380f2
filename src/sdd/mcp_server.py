"""sdd's operations served over MCP (stdio) with the official SDK, for coding agents.

Each tool returns the same ``data`` that ``sdd ... --json`` prints, and finds the project the
way the CLI does, on every call (records change between calls). A refused operation (an
unknown record, a bad status) comes back as a tool error with sdd's one-line message.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from sdd import __version__
from sdd.errors import SddError
from sdd.project import Overrides, Project, discover

T = TypeVar("T")
Kind = Literal["adr", "phr", "spec"]
INSTRUCTIONS = (
    "sdd keeps a project's decision trail: feature specs, Prompt History Records (PHRs) and "
    "Architectural Decision Records (ADRs), in whatever format the repository already uses "
    "(sdd, adr-tools, MADR, log4brains, Spec-Kit Plus). Record significant prompts with "
    "new_phr and decisions with new_adr; run check before finishing."
)


def _guarded(work: Callable[[], T]) -> T:
    try:
        return work()
    except SddError as exc:
        raise ToolError(exc.message) from exc


def build_server(overrides: Overrides | None = None) -> MCPServer:
    """The MCP server; ``overrides`` are the folders given to ``sdd mcp`` itself."""
    server = MCPServer(name="sdd", instructions=INSTRUCTIONS, version=__version__)

    def project() -> Project:
        return discover(overrides=overrides)

    _reading_tools(server, project)
    _writing_tools(server, project)
    _check_tool(server, project)
    return server


def _reading_tools(server: MCPServer, project: Callable[[], Project]) -> None:
    """Where the records are, and listing, showing and searching them."""

    @server.tool()
    def where() -> dict[str, Any]:
        """Which folders sdd reads and writes in this repository, and why it chose each."""

        def run() -> dict[str, Any]:
            found = project()
            return {
                "root": found.root.as_posix(),
                "adr_dir": found.relative(found.adr_dir),
                "adr_source": found.adr.source,
                "prompts_dir": found.relative(found.prompts_dir),
                "specs_dir": found.relative(found.specs_dir),
                "traceability": found.traceability,
            }

        return _guarded(run)

    @server.tool()
    def list_records(
        kind: Kind,
        status: str | None = None,
        feature: str | None = None,
        stage: str | None = None,
    ) -> dict[str, Any]:
        """List ADRs (filter by status), PHRs (by feature or stage) or specs."""

        def run() -> dict[str, Any]:
            found = project()
            if kind == "adr":
                from sdd.records.adr import all_adrs

                records = [r.summary() for r in all_adrs(found, status=status)]
            elif kind == "phr":
                from sdd.records.phr import list_phrs

                records = [r.summary() for r in list_phrs(found, feature=feature, stage=stage)]
            else:
                from sdd.cli.spec import spec_json
                from sdd.specs import list_specs

                records = [spec_json(s, found.relative(s.spec_path)) for s in list_specs(found)]
            return {"records": records, "count": len(records)}

        return _guarded(run)

    @server.tool()
    def show_record(kind: Literal["adr", "phr"], ref: str) -> dict[str, Any]:
        """One ADR (number, folder/number, slug or path) or PHR (FEATURE/ID, slug or path)."""

        def run() -> dict[str, Any]:
            found = project()
            if kind == "adr":
                from sdd.records.adr import find_adr, show_json

                return {"record": show_json(find_adr(found, ref))}
            from sdd.records.common import jsonable, sections
            from sdd.records.phr import find_phr

            record = find_phr(found, ref, cwd=Path(os.getcwd()))
            return {
                "record": record.summary()
                | {
                    "front_matter": jsonable(record.front_matter),
                    "sections": sections(record.text),
                    "text": record.text,
                }
            }

        return _guarded(run)

    @server.tool()
    def search_records(kind: Literal["adr", "phr"], text: str) -> dict[str, Any]:
        """Records whose text contains TEXT (case-insensitive), with the matching lines."""

        def run() -> dict[str, Any]:
            from sdd.records.adr import search_adrs
            from sdd.records.phr import search_phrs

            search = search_adrs if kind == "adr" else search_phrs
            hits = search(project(), text)
            records = [
                record.summary() | {"matches": [{"line": n, "text": t} for n, t in lines]}
                for record, lines in hits
            ]
            return {"query": text, "records": records, "count": len(records)}

        return _guarded(run)


def _writing_tools(server: MCPServer, project: Callable[[], Project]) -> None:
    """New PHRs, ADRs and specs, status changes and links."""

    @server.tool()
    def new_phr(
        title: str,
        prompt: str,
        stage: str = "general",
        feature: str | None = None,
        response: str | None = None,
        outcome: str | None = None,
        files: list[str] | None = None,
        labels: list[str] | None = None,
        model: str | None = None,
    ) -> dict[str, Any]:
        """Record a Prompt History Record; the prompt is kept verbatim."""

        def run() -> dict[str, Any]:
            from sdd.naming import record_path
            from sdd.records.phr import PhrInput, create_phr

            found = project()
            cwd = Path(os.getcwd())
            created = create_phr(
                found,
                PhrInput(
                    title=title,
                    stage=stage,
                    feature=feature,
                    prompt=prompt,
                    response=response,
                    outcome=outcome,
                    model=model,
                    labels=labels or [],
                    files=[record_path(f, root=found.root, cwd=cwd) for f in files or []],
                ),
            )
            return {"record": created.summary(), "feature_source": created.feature_source}

        return _guarded(run)

    @server.tool()
    def new_adr(
        title: str,
        context: str | None = None,
        decision: str | None = None,
        consequences: str | None = None,
        alternatives: str | None = None,
        status: str = "proposed",
        supersedes: list[str] | None = None,
    ) -> dict[str, Any]:
        """Record an ADR, written like the records already in the ADR folder."""

        def run() -> dict[str, Any]:
            from sdd.records.adr import AdrInput, create_adr

            record = create_adr(
                project(),
                AdrInput(
                    title=title,
                    status=status,
                    context=context,
                    decision=decision,
                    consequences=consequences,
                    alternatives=alternatives,
                    supersedes=supersedes or [],
                ),
            )
            return {"record": record.summary()}

        return _guarded(run)

    @server.tool()
    def new_spec(title: str, short_name: str | None = None) -> dict[str, Any]:
        """Create specs/NNN-slug/{spec,plan,tasks}.md from the templates."""

        def run() -> dict[str, Any]:
            from sdd.cli.spec import spec_json
            from sdd.specs import create_spec, read_spec

            found = project()
            created = create_spec(found, title=title, short_name=short_name)
            spec = read_spec(created.folder, number=created.number, slug=created.slug)
            return {
                "spec": spec_json(spec, found.relative(created.folder)),
                "files": [found.relative(path) for path in created.files],
                "branch": None,
            }

        return _guarded(run)

    @server.tool()
    def set_adr_status(ref: str, status: str) -> dict[str, Any]:
        """accepted, rejected, deprecated (checked transitions) or any word the format allows."""

        def run() -> dict[str, Any]:
            from sdd.records.adr import change_status

            actions = {"accepted": "accept", "rejected": "reject", "deprecated": "deprecate"}
            wanted = status.strip().lower()
            action = actions.get(wanted)
            change = change_status(project(), ref, action=action, status=None if action else wanted)
            return {
                "record": change.record.summary(),
                "previous_status": change.previous,
                "changed": change.changed,
            }

        return _guarded(run)

    @server.tool()
    def link_adrs(source: str, target: str, type: str = "supersedes") -> dict[str, Any]:
        """Link two ADRs both ways: SOURCE <type> TARGET (supersedes, amends, clarifies...)."""

        def run() -> dict[str, Any]:
            from sdd.records.adr import link_adrs as link

            change = link(project(), source, target, link_type=type)
            return {
                "source": change.source.summary(),
                "target": change.target.summary(),
                "type": change.kind,
                "changed": change.changed,
            }

        return _guarded(run)


def _check_tool(server: MCPServer, project: Callable[[], Project]) -> None:
    """The same check as ``sdd check``."""

    @server.tool()
    def check(strict: bool = False) -> dict[str, Any]:
        """Check every record by its own format (and sdd's rules when strict); list problems."""

        def run() -> dict[str, Any]:
            from sdd.check import run_check

            report = run_check(project(), strict=strict or None)
            return report.to_json() | {
                "ok": report.ok,
                "problems": [problem.to_json() for problem in report.problems],
            }

        return _guarded(run)


def serve(overrides: Overrides | None = None) -> None:
    """Serve over stdio until the client closes the connection."""
    build_server(overrides).run("stdio")
