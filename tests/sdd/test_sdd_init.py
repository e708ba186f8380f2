"""sdd init: scaffolding without clobbering."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate
from sdd_helpers import CliResult, files_under

from sdd.scaffold import init_project
from sdd.templates import RECORD_TEMPLATES, builtin_text


@pytest.mark.fr("004-sdd-cli/FR-001")
class TestInitProject:
    def test_creates_the_layout(self, tmp_path: Path) -> None:
        init_project(tmp_path)
        created = files_under(tmp_path)
        assert ".specify/memory/constitution.md" in created
        assert {f".specify/templates/{name}" for name in RECORD_TEMPLATES} <= created
        assert "openapi/openapi.yaml" in created
        for folder in ("specs", "history/prompts", "history/adr"):
            assert (tmp_path / folder).is_dir()

    def test_contract_is_valid_openapi_3_1(self, tmp_path: Path) -> None:
        init_project(tmp_path)
        document = yaml.safe_load((tmp_path / "openapi/openapi.yaml").read_text(encoding="utf-8"))
        validate(document)
        assert document["openapi"].startswith("3.1")

    def test_existing_files_are_kept(self, tmp_path: Path) -> None:
        constitution = tmp_path / ".specify/memory/constitution.md"
        constitution.parent.mkdir(parents=True)
        constitution.write_text("mine", encoding="utf-8")
        actions = init_project(tmp_path)
        assert constitution.read_text(encoding="utf-8") == "mine"
        assert any(
            a.path == ".specify/memory/constitution.md" and a.action == "kept" for a in actions
        )

    def test_force_overwrites(self, tmp_path: Path) -> None:
        template = tmp_path / ".specify/templates/spec.md"
        template.parent.mkdir(parents=True)
        template.write_text("mine", encoding="utf-8")
        init_project(tmp_path, force=True)
        assert template.read_text(encoding="utf-8") == builtin_text("spec.md")

    @pytest.mark.fr("004-sdd-cli/FR-002")
    def test_respects_tool_sdd_paths(self, tmp_path: Path) -> None:
        (tmp_path / "pyproject.toml").write_text(
            '[tool.sdd]\nspecs = "docs/specs"\ncontract = "api/contract.yaml"\n', encoding="utf-8"
        )
        init_project(tmp_path)
        assert (tmp_path / "docs/specs").is_dir()
        assert (tmp_path / "api/contract.yaml").is_file()


@pytest.mark.fr("004-sdd-cli/FR-001", "004-sdd-cli/FR-014")
class TestInitCommand:
    def test_json_lists_actions(self, cli: Callable[..., CliResult], tmp_path: Path) -> None:
        result = cli("init", str(tmp_path / "new"), "--json")
        assert result.exit_code == 0
        actions = {item["path"]: item["action"] for item in result.json()["data"]["files"]}
        assert actions["openapi/openapi.yaml"] == "created"

    def test_second_run_keeps_everything(
        self, cli: Callable[..., CliResult], tmp_path: Path
    ) -> None:
        cli("init", str(tmp_path))
        result = cli("init", str(tmp_path), "--json")
        assert {item["action"] for item in result.json()["data"]["files"]} == {"kept"}

    def test_fresh_project_passes_check(
        self, cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        cli("init", str(tmp_path))
        monkeypatch.chdir(tmp_path)
        assert cli("check").exit_code == 0
