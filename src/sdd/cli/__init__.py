"""The ``sdd`` command line: the root application and its wiring, nothing else.

Each command group is one module in this package exposing ``app``; adding one is one entry
in ``GROUPS`` below, and the group is imported only when its name is used. Heavy modules
(PyYAML, the record readers, the MCP SDK) are imported inside the commands that need them,
so start-up stays cheap.
"""

import sys
from typing import Annotated

import typer

from sdd import __version__
from sdd.cli import mcp, project
from sdd.cli.application import CommandGroup, application, lazy_root

# Command groups: name -> the module whose ``app`` holds them, imported only when used.
# Adding a group is one module in this package and one line here.
GROUPS = {
    "spec": "sdd.cli.spec",
    "phr": "sdd.cli.phr",
    "adr": "sdd.cli.adr",
    "contract": "sdd.cli.contract",
    "trace": "sdd.cli.trace",  # a single command: its app has no callback
}

app = CommandGroup(
    name="sdd",
    help="Specs, prompt history and decision records for spec-first projects.",
    add_completion=True,
    cls=lazy_root(GROUPS),
)
app.add_typer(project.app)
app.add_typer(mcp.app)


def _version(value: bool) -> None:
    if value:
        application().emit({"name": "sdd", "version": __version__}, text=f"sdd {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_version, help="Print the version."),
    ] = False,
) -> None:
    """Specs, prompt history and decision records for spec-first projects."""


def main() -> None:
    """Console-script entry point."""
    for stream in (sys.stdout, sys.stderr):
        # Records and JSON are UTF-8 everywhere, whatever the console's code page.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(encoding="utf-8", errors="backslashreplace")
    app(prog_name="sdd")
