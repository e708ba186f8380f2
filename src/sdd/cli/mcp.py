"""``sdd mcp``: serve sdd's operations to coding agents over MCP (stdio)."""

from sdd.cli.application import CommandGroup, application

app = CommandGroup()


@app.command("mcp")
def mcp_command() -> None:
    """Serve list/show/search, new PHR/ADR/spec, status changes and check over MCP (stdio)."""
    from sdd.errors import SddError

    try:
        from sdd.mcp_server import serve
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.split(".")[0] == "mcp":
            raise SddError(
                "sdd mcp needs the MCP SDK, an optional extra: pip install 'specfirst-taskapi[mcp]'"
            ) from None
        raise
    from sdd.project import Overrides

    app_ = application()
    serve(Overrides(app_.adr_dir, app_.prompts_dir))
