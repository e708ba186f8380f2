"""Id allocation: parallel writers never collide and readers never see half a record."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from sdd.errors import SddError
from sdd.project import Project
from sdd.records.frontmatter import split
from sdd.records.ids import STALE_AFTER_SECONDS, allocate, publish_file

PARALLEL = 20


def spawn(args: list[str], cwd: Path) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            [sys.executable, "-m", "sdd", *[a.format(i=i) for a in args]],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(PARALLEL)
    ]


def finish(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()


def front_matter(path: Path) -> dict[str, object]:
    block = split(path.read_text(encoding="utf-8"))
    assert block is not None
    data = yaml.safe_load(block.yaml_text)
    assert isinstance(data, dict)
    return data


@pytest.mark.fr("004-sdd-cli/FR-015")
class TestParallelProcesses:
    def test_phr_new(self, repo: Path) -> None:
        (repo / "specs" / "001-a").mkdir()
        (repo / "specs" / "002-b").mkdir()
        # Two route folders written at once: ids are unique within each folder.
        processes = spawn(
            ["phr", "new", "--title", "Record {i}", "--stage", "general", "--json"], repo
        )
        processes += spawn(
            ["phr", "new", "--title", "Spec {i}", "--stage", "spec", "--feature", "001-a"], repo
        )
        finish(processes)
        prompts = repo / "history" / "prompts"
        for route in ("general", "001-a"):
            found = sorted(int(front_matter(p)["id"]) for p in (prompts / route).glob("*.md"))  # type: ignore[call-overload]
            assert found == list(range(1, PARALLEL + 1))
        paths = sorted(prompts.rglob("*.prompt.md"))
        for path in paths:
            assert path.read_text(encoding="utf-8").rstrip().endswith("_Not recorded._")
            assert int(path.name[:4]) == front_matter(path)["id"]

    def test_adr_new(self, repo: Path) -> None:
        finish(spawn(["adr", "new", "Decision {i}", "--json"], repo))
        paths = sorted((repo / "history" / "adr").glob("0*.md"))
        assert [front_matter(path)["id"] for path in paths] == list(range(1, PARALLEL + 1))
        assert len({front_matter(path)["title"] for path in paths}) == PARALLEL
        leftovers = [p for p in (repo / "history").rglob(".*") if p.name != ".gitkeep"]
        assert leftovers == []
        assert list((repo / ".specify" / ".sdd" / "reservations" / "adr").iterdir()) == []


@pytest.mark.fr("004-sdd-cli/FR-015")
class TestAllocate:
    def test_skips_a_number_reserved_by_someone_else(
        self, project: Project, tmp_path: Path
    ) -> None:
        reservations = project.state_dir / "reservations" / "test"
        reservations.mkdir(parents=True)
        (reservations / "1").touch()
        number, _ = allocate(
            state_dir=project.state_dir, kind="test", taken=set, publish=lambda n: tmp_path / str(n)
        )
        assert number == 2

    def test_stale_reservation_is_reclaimed(self, project: Project, tmp_path: Path) -> None:
        reservations = project.state_dir / "reservations" / "test"
        reservations.mkdir(parents=True)
        stale = reservations / "1"
        stale.touch()
        old = time.time() - STALE_AFTER_SECONDS - 5
        os.utime(stale, (old, old))
        number, _ = allocate(
            state_dir=project.state_dir, kind="test", taken=set, publish=lambda n: tmp_path / str(n)
        )
        assert number == 1

    def test_number_taken_after_reservation_is_skipped(
        self, project: Project, tmp_path: Path
    ) -> None:
        scans = iter([set(), {1}, set()])
        number, _ = allocate(
            state_dir=project.state_dir,
            kind="test",
            taken=lambda: next(scans),
            publish=lambda n: tmp_path / str(n),
        )
        assert number == 2

    def test_requested_number_in_use(self, project: Project, tmp_path: Path) -> None:
        with pytest.raises(SddError, match="already taken"):
            allocate(
                state_dir=project.state_dir,
                kind="test",
                taken=lambda: {3},
                publish=lambda n: tmp_path,
                requested=3,
            )

    def test_failed_publish_releases_the_reservation(self, project: Project) -> None:
        def publish(number: int) -> Path:
            raise OSError("disk full")

        with pytest.raises(OSError, match="disk full"):
            allocate(state_dir=project.state_dir, kind="test", taken=set, publish=publish)
        assert list((project.state_dir / "reservations" / "test").iterdir()) == []

    def test_state_folder_is_git_ignored(self, project: Project, tmp_path: Path) -> None:
        allocate(state_dir=project.state_dir, kind="test", taken=set, publish=lambda n: tmp_path)
        assert (project.state_dir / ".gitignore").read_text(encoding="utf-8").splitlines()[
            -1
        ] == "*"


@pytest.mark.fr("004-sdd-cli/FR-015")
class TestPublishFile:
    def test_existing_name_is_not_overwritten(self, tmp_path: Path) -> None:
        target = tmp_path / "0001-x.md"
        target.write_text("original", encoding="utf-8")
        with pytest.raises(FileExistsError):
            publish_file(target, "new")
        assert target.read_text(encoding="utf-8") == "original"
        assert [p.name for p in tmp_path.iterdir()] == ["0001-x.md"]

    def test_write_failure_leaves_nothing(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def broken_link(source: object, target: object) -> None:
            raise OSError(5, "I/O error")

        monkeypatch.setattr(os, "link", broken_link)
        with pytest.raises(OSError, match="I/O error"):
            publish_file(tmp_path / "0001-x.md", "text")
        assert list(tmp_path.iterdir()) == []

    def test_without_hard_links_falls_back_to_replace(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import errno

        def no_links(source: object, target: object) -> None:
            raise OSError(errno.EPERM, "not permitted")

        monkeypatch.setattr(os, "link", no_links)
        publish_file(tmp_path / "0001-x.md", "text")
        assert [(p.name, p.read_text(encoding="utf-8")) for p in tmp_path.iterdir()] == [
            ("0001-x.md", "text")
        ]
