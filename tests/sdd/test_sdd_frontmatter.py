"""Front matter emitting (round-trip with PyYAML), parsing, and in-place edits."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from sdd.records.frontmatter import (
    FrontMatterError,
    encode_flow_list,
    encode_scalar,
    parse,
    parse_lenient,
    replace_field,
    split,
)

TRICKY = [
    "plain words",
    "Add: paging",
    "a # not a comment",
    "yes",
    "Null",
    "0010",
    "1.5",
    "2026-11-22",
    "12:30",
    '"quoted" and \\ backslash',
    "tab\there",
    "line\nbreak",
    "é and 漢字 and 🙂",
    "odd\u2028separator\u0085next",
    "- leading dash",
    "@at",
    "",
    " padded ",
]


@pytest.mark.fr("004-sdd-cli/FR-006")
class TestEncodeScalar:
    @pytest.mark.parametrize("value", TRICKY)
    def test_round_trips_through_pyyaml(self, value: str) -> None:
        assert yaml.safe_load(f"key: {encode_scalar(value)}")["key"] == value

    def test_date_is_written_unquoted(self) -> None:
        assert encode_scalar(dt.date(2026, 1, 2)) == "2026-01-02"

    def test_none_is_null(self) -> None:
        assert encode_scalar(None) == "null"

    def test_list_round_trips(self) -> None:
        values = ["a", "b: c", "漢字"]
        assert yaml.safe_load(f"k: {encode_flow_list(values)}")["k"] == values


@pytest.mark.fr("004-sdd-cli/FR-012")
class TestParse:
    def test_invalid_yaml_reports_the_file_line(self) -> None:
        block = split("---\nid: 1\ntitle: [unclosed\nstage: x\n---\nbody\n")
        assert block is not None
        with pytest.raises(FrontMatterError) as caught:
            parse(block)
        assert caught.value.line >= 3

    def test_non_mapping_is_an_error(self) -> None:
        block = split("---\n- a\n---\n")
        assert block is not None
        with pytest.raises(FrontMatterError, match="not a mapping"):
            parse(block)

    def test_unclosed_front_matter_is_not_front_matter(self) -> None:
        assert split("---\nid: 1\n") is None

    def test_lenient_parse_repairs_dash_in_flow_list(self) -> None:
        block = split("---\nid: 3\nfiles: [- none]\n---\n")
        assert block is not None
        assert parse_lenient(block)["files"] == ["none"]

    def test_lenient_parse_falls_back_to_lines(self) -> None:
        block = split("---\ntitle: ok\nbroken: [a, {\n---\n")
        assert block is not None
        assert parse_lenient(block)["title"] == "ok"


@pytest.mark.fr("004-sdd-cli/FR-010")
class TestReplaceField:
    TEXT = (
        "---\nid: 1\nstatus: proposed\nsupersedes:\n- 2\n- 3\nlinks:\n  spec: null\n---\n# Body\n"
    )

    def test_replaces_a_scalar(self) -> None:
        updated = replace_field(self.TEXT, "status", "accepted")
        assert "status: accepted\n" in updated
        assert updated.endswith("# Body\n")

    def test_replaces_a_block_list(self) -> None:
        updated = replace_field(self.TEXT, "supersedes", [4])
        block = split(updated)
        assert block is not None
        assert parse(block)["supersedes"] == [4]
        assert parse(block)["links"] == {"spec": None}

    def test_adds_a_missing_key(self) -> None:
        updated = replace_field(self.TEXT, "superseded_by", [5])
        block = split(updated)
        assert block is not None
        assert parse(block)["superseded_by"] == [5]
