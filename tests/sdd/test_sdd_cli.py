"""The command line as agents and CI see it: exit codes, JSON on stdout, lazy imports."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sdd_helpers import CliResult, run_sdd_process

from sdd import __version__
from sdd.records.schema import json_schema

Cli = Callable[..., CliResult]


@pytest.mark.fr("004-sdd-cli/FR-014")
class TestVersion:
    def test_text(self, cli: Cli) -> None:
        assert cli("--version").stdout == f"sdd {__version__}\n"

    def test_json(self, cli: Cli) -> None:
        assert cli("--version", "--json").json()["data"] == {"name": "sdd", "version": __version__}


@pytest.mark.fr("004-sdd-cli/FR-014", "004-sdd-cli/FR-017")
class TestUsageErrors:
    def test_unknown_option_exits_2_with_one_line(self, cli: Cli, repo: Path) -> None:
        result = cli("phr", "new", "--title", "x", "--bogus")
        assert result.exit_code == 2
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1

    def test_under_json_stdout_is_only_json(self, cli: Cli, repo: Path) -> None:
        result = cli("adr", "list", "--nope", "--json")
        assert result.exit_code == 2
        assert result.json()["ok"] is False
        assert "--nope" in result.json()["problems"][0]["message"]
        assert result.stderr == ""

    def test_missing_argument(self, cli: Cli) -> None:
        assert cli("adr", "show").exit_code == 2

    def test_unknown_command(self, cli: Cli) -> None:
        assert cli("frobnicate").exit_code == 2

    def test_input_error_under_json_is_a_json_document(self, cli: Cli, repo: Path) -> None:
        result = cli("adr", "show", "99", "--json")
        assert result.exit_code == 2
        assert result.json() == {
            "ok": False,
            "command": "adr show",
            "data": None,
            "problems": [
                {
                    "severity": "error",
                    "code": "not-found",
                    "message": "no ADR '99' in history/adr/",
                    "path": None,
                    "line": None,
                }
            ],
        }
        assert result.stderr == ""


@pytest.mark.fr("004-sdd-cli/FR-014")
class TestHelp:
    def test_help_exits_0(self, cli: Cli) -> None:
        result = cli("--help")
        assert result.exit_code == 0
        assert "phr" in result.stdout

    def test_subcommand_help(self, cli: Cli) -> None:
        result = cli("phr", "new", "--help")
        assert result.exit_code == 0
        assert "--title" in result.stdout


@pytest.mark.fr("004-sdd-cli/FR-013")
class TestSchemaCommand:
    @pytest.mark.parametrize("kind", ["phr", "adr"])
    def test_prints_the_schema(self, cli: Cli, kind: str) -> None:
        assert cli("schema", kind).json() == json_schema(kind)

    def test_adr_schema_requires_the_agreed_fields(self) -> None:
        assert json_schema("adr")["required"] == [
            "id",
            "title",
            "status",
            "date",
            "feature",
            "supersedes",
            "superseded_by",
            "links",
        ]

    def test_unknown_kind_exits_2(self, cli: Cli) -> None:
        assert cli("schema", "spec").exit_code == 2


@pytest.mark.fr("004-sdd-cli/FR-016")
class TestEdit:
    def test_opens_the_editor(self, cli: Cli, repo: Path, tmp_path: Path) -> None:
        log = tmp_path / "edited.txt"
        editor = tmp_path / "editor.py"
        editor.write_text(
            f"import sys\nopen({str(log)!r}, 'w').write(sys.argv[1])\n", encoding="utf-8"
        )
        result = cli("adr", "new", "X", "--edit", env={"EDITOR": f"{sys.executable} {editor}"})
        assert result.exit_code == 0
        assert log.read_text(encoding="utf-8").endswith("0001-x.md")

    def test_never_opened_without_the_flag(self, cli: Cli, repo: Path, tmp_path: Path) -> None:
        result = cli("adr", "new", "X", env={"EDITOR": "false-editor-that-does-not-exist"})
        assert result.exit_code == 0


@pytest.mark.fr("004-sdd-cli/FR-014")
class TestRealProcess:
    def test_phr_new_json_through_python_m(self, repo: Path) -> None:
        result = run_sdd_process(
            "phr",
            "new",
            "--title",
            'Ünïcode "quoted"',
            "--prompt",
            "-",
            "--json",
            cwd=repo,
            input=b"line\n",
        )
        assert result.exit_code == 0, result.stderr
        document = json.loads(result.stdout)["data"]["record"]
        assert document["title"] == 'Ünïcode "quoted"'
        assert (repo / document["path"]).read_text(encoding="utf-8").count("line") == 1

    def test_usage_error_exit_code(self, repo: Path) -> None:
        result = run_sdd_process("adr", "list", "--what", "--json", cwd=repo)
        assert result.exit_code == 2
        assert json.loads(result.stdout)["ok"] is False

    @pytest.mark.fr("004-sdd-cli/FR-016")
    def test_stdin_is_not_read_unless_asked(self, repo: Path) -> None:
        # A closed stdin that is not a TTY must not block or prompt.
        completed = subprocess.run(
            [sys.executable, "-m", "sdd", "phr", "new", "--title", "X", "--json"],
            cwd=repo,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert completed.returncode == 0

    @pytest.mark.fr("004-sdd-cli/FR-018")
    @pytest.mark.parametrize(
        "args",
        [["--help"], ["--version"], ["phr", "new", "--title", "Fast", "--json"]],
    )
    def test_start_up_does_not_import_heavy_modules(self, repo: Path, args: list[str]) -> None:
        heavy = (
            "yaml",
            "rich",
            "pydantic",
            "jsonschema",
            "tomllib",
            "sdd.check",
            "sdd.records.adr",
        )
        probe = (
            "import sys\n"
            "from sdd.cli import app\n"
            "import typer.main\n"
            "command = typer.main.get_command(app)\n"
            f"command.main(args={args!r}, prog_name='sdd', standalone_mode=False)\n"
            f"heavy = sorted(m for m in {heavy!r} if m in sys.modules)\n"
            "sys.stderr.write('HEAVY=' + ','.join(heavy))\n"
        )
        completed = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert completed.stderr.strip().endswith("HEAVY="), completed.stderr
