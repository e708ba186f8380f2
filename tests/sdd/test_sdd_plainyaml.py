"""The fast front-matter reader agrees with PyYAML wherever it answers at all."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdd.records.frontmatter import encode_value
from sdd.records.plainyaml import read

# The fast reader is what keeps PyYAML out of start-up for plain records.
pytestmark = pytest.mark.fr("004-sdd-cli/FR-018")

WORDS = st.sampled_from(
    [
        "null",
        "Null",
        "~",
        "true",
        "True",
        "yes",
        "No",
        "on",
        "y",
        "0",
        "007",
        "0008",
        "0010",
        "12",
        "-3",
        "+4",
        "1e3",
        "1.5",
        ".5",
        "0x1f",
        "1_000",
        "12:30",
        "2026-11-22",
        "2026-02-30",
        "002-tasks",
        "ADR-0003",
        "a: b",
        "a #b",
        "@x",
        "`x",
        "=",
        "-",
        "- x",
        "[x]",
        "{x}",
        "'q'",
        '"q"',
        "it's",
        "Café",
        "x\u0085y",
        "tab\there",
        "end:",
        "",
    ]
)
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), max_codepoint=0x2FFF), max_size=12
)
SCALAR_TEXT = st.one_of(WORDS, TEXT)


def styles(value: str) -> st.SearchStrategy[str]:
    quoted = json.dumps(value, ensure_ascii=False)
    single = "'" + value.replace("'", "''") + "'"
    return st.sampled_from([value, quoted, single, encode_value(value)])


@st.composite
def documents(draw: st.DrawFn) -> str:
    lines = []
    for index in range(draw(st.integers(1, 6))):
        key = draw(st.sampled_from(["id", "title", "status", "date", "tags", "links", f"k{index}"]))
        shape = draw(st.sampled_from(["scalar", "flow", "block", "mapping", "empty"]))
        if shape == "scalar":
            lines.append(f"{key}: {draw(styles(draw(SCALAR_TEXT)))}")
        elif shape == "flow":
            items = [draw(styles(draw(SCALAR_TEXT))) for _ in range(draw(st.integers(0, 3)))]
            lines.append(f"{key}: [{', '.join(items)}]")
        elif shape == "block":
            lines.append(f"{key}:")
            indent = draw(st.sampled_from(["", "  "]))
            lines += [f"{indent}- {draw(styles(draw(SCALAR_TEXT)))}" for _ in range(2)]
        elif shape == "mapping":
            lines.append(f"{key}:")
            lines += [f"  {name}: {draw(styles(draw(SCALAR_TEXT)))}" for name in ("spec", "pr")]
        else:
            lines.append(f"{key}:")
    return "\n".join(lines)


def pyyaml(text: str) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return "rejected"


@settings(
    max_examples=600, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(documents())
def test_agrees_with_pyyaml_or_declines(text: str) -> None:
    fast = read(text)
    if fast is not None:
        assert fast == pyyaml(text), text


@settings(max_examples=300, deadline=None, derandomize=True)
@given(SCALAR_TEXT)
def test_what_sdd_writes_reads_back_fast(value: str) -> None:
    text = f"title: {encode_value(value)}\nlabels: {encode_value([value])}"
    fast = read(text)
    if fast is not None:
        assert fast == {"title": value, "labels": [value]}


def test_record_front_matter_takes_the_fast_path() -> None:
    text = (
        'id: 12\ntitle: "Use: PostgreSQL"\nstatus: accepted\ndate: 2026-11-22\nfeature: 002-tasks\n'
        "supersedes: []\nsuperseded_by: [3, 4]\nlinks:\n  spec: specs/002-tasks/spec.md\n"
        "  ticket: null\nfiles:\n  - src/x.py\n  - none\n"
    )
    assert read(text) == {
        "id": 12,
        "title": "Use: PostgreSQL",
        "status": "accepted",
        "date": dt.date(2026, 11, 22),
        "feature": "002-tasks",
        "supersedes": [],
        "superseded_by": [3, 4],
        "links": {"spec": "specs/002-tasks/spec.md", "ticket": None},
        "files": ["src/x.py", "none"],
    }


def test_anything_unusual_is_left_to_pyyaml() -> None:
    for text in (
        "a: &x 1",
        "a: !!str 1",
        "a: |\n  text",
        "a: 1 # note",
        "a:\n  b:\n    c: 1",
        "a: yes",
    ):
        assert read(text) is None, text
