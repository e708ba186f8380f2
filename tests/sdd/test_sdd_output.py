"""One output contract: the JSON envelope of every command, and what people see."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import click
import jsonschema
import pytest
import typer.main
from sdd_helpers import CliResult, run_sdd_process, write

import sdd
from sdd.cli import app

Cli = Callable[..., CliResult]
SRC = Path(sdd.__file__).resolve().parent  # the sdd under test, wherever it is installed

# One run of every command; the test below fails when a command is added without one.
RUNS: dict[str, list[list[str]]] = {
    "": [["--version"]],
    "init": [["init", "other"]],
    "where": [["where"]],
    "check": [["check"], ["check", "--strict"]],
    "schema": [["schema", "output"], ["schema", "adr"]],
    "spec new": [["spec", "new", "Task sharing"]],
    "spec list": [["spec", "list"]],
    "phr new": [["phr", "new", "--title", "Plan sharing", "--stage", "plan"]],
    "phr list": [["phr", "list"]],
    "phr show": [["phr", "show", "002-task-sharing/1"]],
    "phr search": [["phr", "search", "sharing"]],
    "adr new": [["adr", "new", "Share by link", "--status", "accepted"]],
    "adr accept": [["adr", "accept", "2"]],
    "adr reject": [["adr", "reject", "3"]],
    "adr deprecate": [["adr", "deprecate", "1"]],
    "adr status": [["adr", "status", "2", "on hold"]],
    "adr supersede": [["adr", "supersede", "2", "--by", "4"]],
    "adr link": [["adr", "link", "4", "1", "--type", "clarifies"]],
    "adr list": [["adr", "list"], ["adr", "list", "--status", "superseded"]],
    "adr show": [["adr", "show", "4"]],
    "adr search": [["adr", "search", "share"]],
    "adr index": [["adr", "index"]],
    "adr graph": [["adr", "graph"], ["adr", "graph", "--format", "dot"]],
    "contract diff": [["contract", "diff"]],
    "trace": [["trace"], ["trace", "--html", "trace.html"]],
}
# Commands that never print a JSON document, and why.
NOT_JSON = {"mcp": "serves MCP over stdio; its output is the protocol itself"}


def leaf_commands(command: click.Command, prefix: str = "") -> list[str]:
    """Every command path, lazily loaded groups included (through Click's public API)."""
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=prefix or "sdd")
        found: list[str] = []
        for name in command.list_commands(ctx):
            child = command.get_command(ctx, name)
            assert child is not None, name
            found += leaf_commands(child, f"{prefix} {name}".strip())
        return found
    return [prefix]


@pytest.fixture
def busy(cli: Cli, repo: Path) -> Path:
    """A repository with a spec, a PHR and four ADRs in every state the runs need."""
    write(repo / "specs" / "001-tasks" / "spec.md", "# Feature Specification: Tasks\n")
    cli("adr", "new", "Keep tasks", "--status", "accepted")
    cli("adr", "new", "Share tasks")
    cli("adr", "new", "Share by email")
    return repo


@pytest.mark.fr("011-sdd-existing-repos/FR-011")
class TestEnvelope:
    def test_every_command_has_a_run(self) -> None:
        commands = set(leaf_commands(typer.main.get_command(app))) | {""}
        assert commands == set(RUNS) | set(NOT_JSON)

    def test_every_command_prints_the_envelope(self, cli: Cli, busy: Path) -> None:
        from sdd.cli.output_schema import output_schema

        schema = output_schema()
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(schema)
        for command, runs in RUNS.items():
            for args in runs:
                result = cli(*args, "--json")
                document = result.json()
                errors = [error.message for error in validator.iter_errors(document)]
                assert errors == [], (args, errors)
                assert document["command"] == command, args
                assert result.stderr == "", (args, result.stderr)
                assert result.exit_code in (0, 1), (args, document)

    def test_errors_are_enveloped_too(self, cli: Cli, busy: Path) -> None:
        from sdd.cli.output_schema import output_schema

        validator = jsonschema.Draft202012Validator(output_schema())
        for args in (["adr", "show", "99"], ["adr", "list", "--nope"], ["phr", "new"], ["nope"]):
            result = cli(*args, "--json")
            assert result.exit_code == 2
            assert result.stderr == ""
            document = result.json()
            assert list(validator.iter_errors(document)) == []
            assert (document["ok"], document["data"]) == (False, None)
            assert document["problems"][0]["severity"] == "error"

    def test_schema_catches_a_wrong_shape(self) -> None:
        from sdd.cli.output_schema import output_schema

        validator = jsonschema.Draft202012Validator(output_schema())
        wrong = {"ok": True, "command": "adr list", "data": {"records": 3}, "problems": []}
        assert list(validator.iter_errors(wrong))

    def test_check_lists_zero_counts(self, cli: Cli, repo: Path) -> None:
        checked = cli("check", "--json").json()["data"]["checked"]
        assert checked == {"adrs": 0, "phrs": 0, "specs": 0, "operations": 0}

    def test_records_is_always_a_list(self, cli: Cli, busy: Path) -> None:
        assert isinstance(cli("adr", "index", "--json").json()["data"].get("records", []), list)
        listed = cli("adr", "list", "--json").json()["data"]
        assert (isinstance(listed["records"], list), listed["count"]) == (True, 3)

    def test_phr_new_and_adr_new_return_the_same_record_shape_as_list(
        self, cli: Cli, busy: Path
    ) -> None:
        phr = cli("phr", "new", "--title", "X", "--json").json()["data"]["record"]
        assert phr == cli("phr", "list", "--json").json()["data"]["records"][0]
        adr = cli("adr", "new", "Y", "--json").json()["data"]["record"]
        assert adr == cli("adr", "list", "--json").json()["data"]["records"][-1]

    def test_notes_go_into_problems_in_json_and_to_stderr_in_text(
        self, cli: Cli, busy: Path
    ) -> None:
        result = cli("phr", "new", "--title", "Chosen for me", "--stage", "red", "--json")
        (note,) = result.json()["problems"]
        assert (note["severity"], note["code"]) == ("info", "feature")
        assert "001-tasks" in note["message"]
        assert result.json()["data"]["feature_source"] == "highest-numbered spec"
        text = cli("phr", "new", "--title", "Again", "--stage", "red")
        assert text.stderr.startswith("sdd: note: feature 001-tasks")


@pytest.mark.fr("011-sdd-existing-repos/FR-012")
class TestForPeople:
    def test_piped_output_is_plain_tab_separated(self, cli: Cli, busy: Path) -> None:
        out = cli("adr", "list").stdout
        assert out.splitlines()[0] == "REF\tSTATUS\tDATE\tTITLE"
        assert "\x1b[" not in out

    def test_terminal_gets_aligned_columns_and_colour(self) -> None:
        from sdd.cli.output import Terminal, table

        terminal = Terminal(_Tty(), environ={})
        rendered = table(
            ["REF", "STATUS"],
            [["1", "accepted"], ["12", "proposed"]],
            terminal,
            styles=lambda column, cell: ("green",) if cell == "accepted" else (),
        )
        lines = rendered.splitlines()
        assert lines[0] == "\x1b[1mREF\x1b[0m  \x1b[1mSTATUS\x1b[0m"
        assert lines[1] == "1    \x1b[32maccepted\x1b[0m"
        assert lines[2] == "12   proposed"

    def test_no_color_turns_colour_off_on_a_terminal(self) -> None:
        from sdd.cli.output import Terminal, table

        terminal = Terminal(_Tty(), environ={"NO_COLOR": "1"})
        rendered = table(["REF"], [["1"]], terminal)
        assert "\x1b[" not in rendered
        assert rendered == "REF\n1"

    def test_long_titles_are_cut_to_the_terminal_width(self) -> None:
        from sdd.cli.output import Terminal, table

        terminal = Terminal(_Tty(), environ={"NO_COLOR": "1"})
        terminal.width = 30
        rendered = table(["REF", "TITLE"], [["1", "x" * 80]], terminal)
        assert max(len(line) for line in rendered.splitlines()) <= 30
        assert rendered.endswith("…")

    def test_a_real_terminal_through_a_pty(self, busy: Path) -> None:
        import pty

        controller, follower = pty.openpty()
        env = {**os.environ, "TERM": "xterm", "COLUMNS": "80"}
        env.pop("NO_COLOR", None)
        completed = subprocess.run(
            [sys.executable, "-m", "sdd", "adr", "list"],
            cwd=busy,
            stdout=follower,
            stderr=subprocess.PIPE,
            env=env,
            timeout=60,
            check=False,
        )
        os.close(follower)
        output = os.read(controller, 65536).decode("utf-8")
        os.close(controller)
        assert completed.returncode == 0
        assert "\x1b[1mREF" in output
        assert "\x1b[32maccepted" in output


class _Tty:
    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return len(text)


@pytest.mark.fr("011-sdd-existing-repos/FR-012")
class TestCompletion:
    @pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
    def test_completion_script_for_each_shell(self, repo: Path, shell: str) -> None:
        result = run_sdd_process("--show-completion", shell, cwd=repo)
        assert result.exit_code == 0, result.stderr
        assert "_SDD_COMPLETE" in result.stdout

    def test_completion_answers_with_commands(self, repo: Path) -> None:
        env = {"_SDD_COMPLETE": "complete_bash", "COMP_WORDS": "sdd ad", "COMP_CWORD": "1"}
        result = run_sdd_process(cwd=repo, env=env)
        assert "adr" in result.stdout.split()

    def test_install_completion_is_offered(self, cli: Cli) -> None:
        assert "--install-completion" in cli("--help").stdout


@pytest.mark.fr("011-sdd-existing-repos/FR-014")
class TestNoPrivateInternals:
    def test_src_imports_no_private_module_of_any_library(self) -> None:
        offenders = []
        sources = sorted(SRC.rglob("*.py"))
        assert len(sources) > 20  # the scan really saw sdd's modules
        for path in sources:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                for name in names:
                    parts = name.split(".")
                    if parts[0] != "sdd" and any(
                        p.startswith("_") and p != "__future__" for p in parts
                    ):
                        offenders.append(f"{path.relative_to(SRC)}: {name}")
        assert offenders == []

    def test_no_library_module_is_patched(self) -> None:
        source = "\n".join(p.read_text(encoding="utf-8") for p in SRC.rglob("*.py"))
        assert "vars(typer" not in source
        assert "setattr(typer" not in source
        assert "setattr(click" not in source


@pytest.mark.fr("011-sdd-existing-repos/FR-014")
class TestStartUp:
    @pytest.mark.fr("011-sdd-existing-repos/FR-013", "004-sdd-cli/FR-018")
    @pytest.mark.parametrize(
        "args",
        [
            ["--help"],
            ["--version"],
            ["phr", "new", "--title", "Fast", "--json"],
            ["adr", "list", "--json"],
        ],
    )
    def test_start_up_imports_no_pydantic_rich_or_mcp(self, repo: Path, args: list[str]) -> None:
        heavy = ("rich", "pydantic", "mcp", "jsonschema", "sdd.mcp_server")
        probe = (
            "import sys\n"
            "from sdd.cli import app\n"
            "import typer.main\n"
            "command = typer.main.get_command(app)\n"
            f"command.main(args={args!r}, prog_name='sdd', standalone_mode=False)\n"
            f"loaded = sorted(m for m in {heavy!r} if m in sys.modules)\n"
            "sys.stderr.write('HEAVY=' + ','.join(loaded))\n"
        )
        completed = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert completed.stderr.strip().endswith("HEAVY="), completed.stderr

    def test_json_flag_is_declared_once(self) -> None:
        source = "\n".join(p.read_text(encoding="utf-8") for p in (SRC / "cli").glob("*.py"))
        assert source.count('["--json"]') == 1
        assert 'Annotated[bool, typer.Option("--json"' not in source


@pytest.mark.fr("011-sdd-existing-repos/FR-011")
def test_show_json_roundtrips(cli: Cli, busy: Path) -> None:
    record = cli("adr", "show", "1", "--json").json()["data"]["record"]
    assert json.loads(json.dumps(record)) == record
