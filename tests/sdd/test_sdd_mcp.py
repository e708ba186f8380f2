"""``sdd mcp``: the same operations over MCP, driven by the SDK's own client over stdio."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from sdd_helpers import FIXTURES

mcp_client = pytest.importorskip(
    "mcp.client.stdio", reason="the optional MCP extra is not installed"
)
from mcp import Client  # noqa: E402
from mcp.client.stdio import StdioServerParameters  # noqa: E402


def call(root: Path, steps: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """Start ``python -m sdd mcp`` in ``root`` and run each tool call over one connection."""
    results: list[Any] = []

    async def connect() -> None:
        server = StdioServerParameters(command=sys.executable, args=["-m", "sdd", "mcp"], cwd=root)
        with anyio.fail_after(120):
            await talk(server)

    async def talk(server: StdioServerParameters) -> None:
        async with Client(server) as client:
            tools = await client.list_tools()
            results.append(sorted(tool.name for tool in tools.tools))
            for name, arguments in steps:
                results.append(await client.call_tool(name, arguments))

    anyio.run(connect)
    return results


@pytest.fixture
def adr_tools(tmp_path: Path) -> Path:
    root = tmp_path / "adr-tools"
    shutil.copytree(FIXTURES / "adr-tools", root)
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    return root


@pytest.mark.fr("011-sdd-existing-repos/FR-013")
def test_tools_are_offered(adr_tools: Path) -> None:
    (names,) = call(adr_tools, [])
    assert names == [
        "check",
        "link_adrs",
        "list_records",
        "new_adr",
        "new_phr",
        "new_spec",
        "search_records",
        "set_adr_status",
        "show_record",
        "where",
    ]


@pytest.mark.fr("011-sdd-existing-repos/FR-013")
def test_the_trail_is_kept_without_shelling_out(adr_tools: Path) -> None:
    _, listed, created, status, linked, phr, shown, checked = call(
        adr_tools,
        [
            ("list_records", {"kind": "adr", "status": "superseded"}),
            ("new_adr", {"title": "Use structured errors", "context": "Errors were strings."}),
            ("set_adr_status", {"ref": "6", "status": "accepted"}),
            ("link_adrs", {"source": "6", "target": "3", "type": "clarifies"}),
            ("new_phr", {"title": "Decide on errors", "prompt": "Make errors structured."}),
            ("show_record", {"kind": "adr", "ref": "3"}),
            ("check", {}),
        ],
    )
    assert [r["ref"] for r in listed.structured_content["records"]] == ["2"]
    assert created.structured_content["record"]["path"] == (
        "docs/architecture/decisions/0006-use-structured-errors.md"
    )
    assert status.structured_content["record"]["status"] == "accepted"
    assert linked.structured_content["changed"] is True
    assert phr.structured_content["record"]["path"] == (
        "history/prompts/general/0001-decide-on-errors.general.prompt.md"
    )
    links = shown.structured_content["record"]["links"]
    assert {
        "type": "clarified",
        "direction": "in",
        "label": "clarified by",
        "target": "6",
        "resolved": True,
    } in links
    assert checked.structured_content["ok"] is True
    text = (adr_tools / "docs/architecture/decisions/0006-use-structured-errors.md").read_text(
        "utf-8"
    )
    assert "## Status\n\nAccepted\n\nClarifies [3. Log as JSON](0003-log-as-json.md)" in text


@pytest.mark.fr("011-sdd-existing-repos/FR-013")
def test_a_refused_operation_is_a_tool_error(adr_tools: Path) -> None:
    _, missing = call(adr_tools, [("show_record", {"kind": "adr", "ref": "99"})])
    assert missing.is_error is True
    assert "no ADR '99'" in missing.content[0].text
