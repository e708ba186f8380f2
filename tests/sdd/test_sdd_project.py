"""Project discovery and [tool.sdd] settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from sdd_helpers import write

from sdd.errors import SddError
from sdd.project import discover, find_root, load_project


@pytest.mark.fr("004-sdd-cli/FR-002")
class TestFindRoot:
    def test_walks_up_from_a_subfolder(self, repo: Path) -> None:
        nested = repo / "src" / "deep"
        nested.mkdir(parents=True)
        assert find_root(nested)[0] == repo.resolve()

    def test_without_any_marker_the_working_directory_is_the_root(self, tmp_path: Path) -> None:
        assert find_root(tmp_path) == (tmp_path.resolve(), find_root(tmp_path)[1])
        assert "no marker" in find_root(tmp_path)[1]


@pytest.mark.fr("004-sdd-cli/FR-002")
class TestSettings:
    def test_defaults_without_pyproject(self, repo: Path) -> None:
        project = load_project(repo)
        assert project.specs_dir == repo.resolve() / "specs"
        assert project.contract_path == repo.resolve() / "openapi" / "openapi.yaml"
        assert project.prompts_dir == repo.resolve() / "history" / "prompts"

    def test_tool_sdd_overrides_paths(self, repo: Path) -> None:
        write(repo / "pyproject.toml", '[tool.sdd]\nspecs = "docs/specs"\ncontract = "api.yaml"\n')
        project = discover(repo)
        assert project.specs_dir == repo.resolve() / "docs" / "specs"
        assert project.contract_path == repo.resolve() / "api.yaml"

    def test_models_detected_under_src(self, repo: Path) -> None:
        models = write(repo / "src" / "pkg" / "contract" / "models.py", "")
        assert load_project(repo).models_path == models.resolve()

    def test_path_escaping_the_root_is_rejected(self, repo: Path) -> None:
        write(repo / "pyproject.toml", '[tool.sdd]\nhistory = "../elsewhere"\n')
        with pytest.raises(SddError, match="inside the repository"):
            load_project(repo)

    def test_non_string_setting_is_rejected(self, repo: Path) -> None:
        write(repo / "pyproject.toml", "[tool.sdd]\nspecs = 3\n")
        with pytest.raises(SddError, match="non-empty string"):
            load_project(repo)

    def test_unknown_key_only_warns(self, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
        write(repo / "pyproject.toml", '[tool.sdd]\ncolour = "blue"\n')
        load_project(repo)
        assert "colour" in capsys.readouterr().err
