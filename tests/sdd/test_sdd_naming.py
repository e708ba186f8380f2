"""Slugs, titles, feature names and repository-relative record paths."""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath

import pytest

from sdd.errors import SddError
from sdd.naming import record_path, require_feature_name, require_title, slugify


@pytest.mark.fr("004-sdd-cli/FR-004")
class TestSlugify:
    @pytest.mark.parametrize(
        ("title", "slug"),
        [
            ("Add paging to tasks", "add-paging-to-tasks"),
            ("Café: déjà vu!", "cafe-deja-vu"),
            ("  --Hello__World--  ", "hello-world"),
        ],
    )
    def test_slug(self, title: str, slug: str) -> None:
        assert slugify(title) == slug

    def test_long_titles_are_cut_at_a_word(self) -> None:
        slug = slugify("word " * 30)
        assert len(slug) <= 50
        assert not slug.endswith("-")
        assert slug.endswith("word")


@pytest.mark.fr("004-sdd-cli/FR-017")
class TestRequireTitle:
    def test_title_without_letters_is_rejected(self) -> None:
        with pytest.raises(SddError, match="no letters or digits"):
            require_title("!!! ???")

    def test_multi_line_title_is_rejected(self) -> None:
        with pytest.raises(SddError, match="single line"):
            require_title("one\ntwo")

    def test_title_is_trimmed(self) -> None:
        assert require_title("  Keep me  ") == "Keep me"


@pytest.mark.fr("004-sdd-cli/FR-017")
class TestRequireFeatureName:
    @pytest.mark.parametrize("name", ["../etc", "a/b", "a\\b", "..", "x..y", "-x", ""])
    def test_unsafe_names_are_rejected(self, name: str) -> None:
        with pytest.raises(SddError, match="plain folder name"):
            require_feature_name(name)

    def test_plain_name_passes(self) -> None:
        assert require_feature_name("002-tasks") == "002-tasks"


@pytest.mark.fr("004-sdd-cli/FR-006")
class TestRecordPath:
    def test_windows_relative_path(self) -> None:
        root = PurePosixPath("/repo")
        assert record_path("src\\taskapi\\main.py", root=root, cwd=root) == "src/taskapi/main.py"

    def test_windows_absolute_path_under_root(self) -> None:
        root = PureWindowsPath("C:/repo")
        assert record_path("C:\\repo\\src\\x.py", root=root, cwd=root) == "src/x.py"

    def test_windows_drive_letter_case_is_ignored(self) -> None:
        root = PureWindowsPath("C:/Repo")
        assert record_path("c:\\repo\\src\\x.py", root=root, cwd=root) == "src/x.py"

    def test_relative_to_working_directory(self) -> None:
        root = PurePosixPath("/repo")
        assert record_path("./main.py", root=root, cwd=root / "src") == "src/main.py"

    def test_dot_dot_is_resolved(self) -> None:
        root = PurePosixPath("/repo")
        assert record_path("src/../docs/a.md", root=root, cwd=root) == "docs/a.md"

    @pytest.mark.parametrize("value", ["/etc/passwd", "../outside.py", "D:\\other\\x.py"])
    def test_paths_outside_the_root_are_rejected(self, value: str) -> None:
        with pytest.raises(SddError, match="outside the repository"):
            record_path(value, root=PurePosixPath("/repo"), cwd=PurePosixPath("/repo"))
