"""Title prefixes and link verbs, the small rules every ADR format shares."""

from __future__ import annotations

import pytest

from sdd.errors import SddError
from sdd.records.common import link_kind, parse_link_type, strip_title_number


@pytest.mark.parametrize(
    ("heading", "title"),
    [
        ("1. Record architecture decisions", "Record architecture decisions"),
        ("0019. Resection state", "Resection state"),
        ("ADR-0001: Use X", "Use X"),
        ("ADR 002: Backend strategy", "Backend strategy"),
        ("Decision 3: Cache lists", "Cache lists"),
        ("Decision 12 about paging", "Decision 12 about paging"),
        ("2024 roadmap", "2024 roadmap"),
        ("Use HTTP/2", "Use HTTP/2"),
    ],
)
def test_title_number_prefixes(heading: str, title: str) -> None:
    assert strip_title_number(heading) == title


@pytest.mark.parametrize(
    ("phrase", "kind"),
    [
        ("Supersedes", ("superseded", "out")),
        ("Supercedes", ("superseded", "out")),
        ("Superseded by", ("superseded", "in")),
        ("Superceded by", ("superseded", "in")),
        ("Amends", ("amended", "out")),
        ("Amended by", ("amended", "in")),
        ("Clarifies", ("clarified", "out")),
        ("Clarified by", ("clarified", "in")),
        ("Relates to", None),
        ("Accepted", None),
        ("Decided. We revisit it", None),
    ],
)
def test_link_phrases_pair_up(phrase: str, kind: tuple[str, str] | None) -> None:
    assert link_kind(phrase) == kind


@pytest.mark.parametrize("value", ["amends", "amend", "Amends"])
def test_link_type_forms(value: str) -> None:
    assert parse_link_type(value) == ("amended", "amends")


def test_link_type_must_be_a_word() -> None:
    with pytest.raises(SddError, match="not a verb"):
        parse_link_type("1")
