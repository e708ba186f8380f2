"""The traceability page: one self-contained HTML file, readable offline and in CI artefacts.

Styles are inline and the page loads nothing (its Content-Security-Policy forbids it); the
"only gaps" filter is a checkbox and a CSS rule, not a script. Every piece of text is escaped.
"""

from __future__ import annotations

import os
import re
from html import escape
from pathlib import Path

from sdd.records.ids import temporary_sibling, write_file
from sdd.trace import OperationTrace, Row, Trace

_CODE_SPAN = re.compile(r"`([^`]+)`")
STYLE = """
:root { --gap: #b42318; --gap-bg: #fef3f2; --ok: #067647; --ok-bg: #ecfdf3; --muted: #667085;
  --line: #eaecf0; --ink: #101828; --head: #f9fafb; --warn: #b54708; --warn-bg: #fffaeb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
  color: var(--ink); background: #fff; }
header, main, footer { padding: 0 28px; }
header { padding-top: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; }
.meta { color: var(--muted); margin: 0 0 16px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 0 0 12px; }
.card { border: 1px solid var(--line); border-radius: 10px; padding: 10px 16px; min-width: 150px; }
.card b { display: block; font-size: 26px; line-height: 1.2; }
.card.gap b { color: var(--gap); } .card.ok b { color: var(--ok); }
.bar { height: 8px; background: var(--gap-bg); border-radius: 4px; overflow: hidden;
  margin: 0 0 18px; border: 1px solid var(--line); }
.bar span { display: block; height: 100%; background: var(--ok); }
.filter { display: inline-flex; gap: 6px; align-items: center; margin: 0 0 10px; cursor: pointer; }
#only-gaps:checked ~ table tr.traced { display: none; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 8px 10px;
  border-bottom: 1px solid var(--line); }
thead th { position: sticky; top: 0; background: var(--head); font-size: 12px;
  text-transform: uppercase; letter-spacing: .04em; color: var(--muted); z-index: 1; }
tr.spec th { background: #f2f4f7; font-size: 15px; padding-top: 14px; }
tr.spec .status { font-weight: normal; color: var(--muted); }
tr.gap td { background: var(--gap-bg); }
tr.gap td:first-child { box-shadow: inset 4px 0 0 var(--gap); }
tr.traced td:first-child { box-shadow: inset 4px 0 0 var(--ok); }
.req b { white-space: nowrap; }
.text { color: #344054; max-width: 46ch; }
.where, small { color: var(--muted); }
code { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  word-break: break-all; }
ul { margin: 4px 0 0; padding-left: 18px; }
.missing { color: var(--gap); font-weight: 600; }
.na { color: var(--muted); }
.badge { display: inline-block; border-radius: 999px; padding: 1px 9px; font-size: 12px;
  font-weight: 600; white-space: nowrap; }
.badge.traced, .badge.passed { color: var(--ok); background: var(--ok-bg); }
.badge.gap, .badge.failed, .badge.not-in-report, .badge.disabled {
  color: #fff; background: var(--gap); }
.badge.in-fuzzed-contract { color: var(--warn); background: var(--warn-bg); }
.badge.none { color: var(--muted); background: var(--head); }
.text code { word-break: normal; }
details summary { cursor: pointer; white-space: nowrap; }
footer { color: var(--muted); padding-bottom: 28px; }
"""


def render_html(trace: Trace) -> str:
    traced = len(trace.rows) - len(trace.gaps)
    share = 100 * traced / len(trace.rows) if trace.rows else 100.0
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>Traceability · {escape(trace.project)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>Traceability: {escape(trace.project)}</h1>",
        f'<p class="meta">Generated {escape(trace.generated_at)} by <code>sdd trace</code>. '
        f"Spec requirement → contract operation → handler → tests → fuzzing. "
        f"Fuzz evidence: {escape(trace.fuzz_source)}.</p>",
        '<div class="cards">',
        _card("Requirements", len(trace.rows), ""),
        _card("Traced", traced, "ok"),
        _card("With gaps", len(trace.gaps), "gap" if trace.gaps else "ok"),
        _card("Tests", trace.test_count, ""),
        _card("Tests naming no requirement", len(trace.unmarked_tests), ""),
        _card("Unknown requirements named", len(trace.unknown), "gap" if trace.unknown else "ok"),
        "</div>",
        f'<div class="bar" title="{traced} of {len(trace.rows)} traced">'
        f'<span style="width: {share:.1f}%"></span></div>',
        "</header>",
        "<main>",
        '<input type="checkbox" id="only-gaps" class="filter-box">',
        '<label class="filter" for="only-gaps">Show only requirements with gaps</label>',
        '<table id="trace">',
        "<thead><tr><th>Requirement</th><th>Operations</th><th>Handler</th><th>Tests</th>"
        "<th>Fuzzing</th><th>Status</th></tr></thead>",
        "<tbody>",
    ]
    by_feature: dict[str, list[Row]] = {}
    for row in trace.rows:
        by_feature.setdefault(row.feature, []).append(row)
    for spec in trace.specs:
        rows = by_feature.get(spec.feature, [])
        if not rows:
            continue
        gaps = sum(1 for row in rows if row.gaps)
        parts.append(
            f'<tr class="spec"><th colspan="6">{escape(spec.feature)}: {escape(spec.title)} '
            f'<span class="status">({escape(spec.status)}; {len(rows)} requirements, '
            f"{gaps} with gaps)</span></th></tr>"
        )
        parts += [_row(row) for row in rows]
    parts += ["</tbody>", "</table>"]
    parts += _extras(trace)
    parts += [
        "</main>",
        "<footer><p>Conventions: a test names what it exercises with "
        '<code>@pytest.mark.fr("NNN-feature/FR-###")</code>; a handler is found by its '
        "<code>operation_id=</code>. Regenerate with <code>make trace</code>.</p></footer>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts)


def _card(label: str, value: int, tone: str) -> str:
    return f'<div class="card {tone}"><b>{value}</b>{escape(label)}</div>'


def _row(row: Row) -> str:
    anchor = escape("req-" + row.key.replace("/", "-"))
    requirement = (
        f'<td class="req"><b>{escape(row.requirement)}</b>'
        f'<div class="text">{_prose(row.text)}</div>'
        f'<div class="where"><code>{escape(row.spec)}:{row.line}</code></div></td>'
    )
    if row.operations:
        operations = "<td>" + "<br>".join(_operation(op) for op in row.operations) + "</td>"
        handlers = "<td>" + "<br>".join(_handler(op) for op in row.operations) + "</td>"
        fuzz = "<td>" + "<br>".join(_fuzz(op) for op in row.operations) + "</td>"
    else:
        operations = '<td class="na">none</td>'
        handlers = '<td class="na">n/a</td>'
        fuzz = '<td class="na">n/a</td>'
    if row.tests:
        items = "".join(
            f"<li><code>{escape(t.node_id)}</code> <small>line {t.line}</small></li>"
            for t in row.tests
        )
        noun = "test" if len(row.tests) == 1 else "tests"
        summary = f"<summary>{len(row.tests)} {noun}</summary>"
        tests = f"<td><details>{summary}<ul>{items}</ul></details></td>"
    else:
        tests = '<td class="missing">none</td>'
    gaps = "".join(f"<li>{escape(gap)}</li>" for gap in row.gaps)
    status = (
        f'<td><span class="badge {row.status}">{row.status}</span>'
        + (f'<ul class="gaps">{gaps}</ul>' if gaps else "")
        + "</td>"
    )
    return (
        f'<tr class="{row.status}" id="{anchor}">'
        + requirement
        + operations
        + handlers
        + tests
        + fuzz
        + status
        + "</tr>"
    )


def _prose(text: str) -> str:
    """Escaped text with Markdown's `code` spans rendered as code."""
    return _CODE_SPAN.sub(lambda m: f"<code>{m.group(1)}</code>", escape(text))


def _operation(op: OperationTrace) -> str:
    name = f"<code>{escape(op.operation_id)}</code>"
    if not op.in_contract:
        return f'{name} <span class="missing">not in the contract</span>'
    return f"{name}<br><small>{escape(op.method or '')} {escape(op.path or '')}</small>"


def _handler(op: OperationTrace) -> str:
    if not op.in_contract:
        return '<span class="na">n/a</span>'
    if not op.handlers:
        return f'<span class="missing">none found for {escape(op.operation_id)}</span>'
    return "<br>".join(
        f"<code>{escape(h.where)}</code> <small>{escape(h.function)}</small>" for h in op.handlers
    )


def _fuzz(op: OperationTrace) -> str:
    css = op.fuzz.state.replace(" ", "-")
    return (
        f'<span class="badge {css}" title="{escape(op.fuzz.detail)}">'
        f"{escape(op.fuzz.state)}</span> <small>{escape(op.operation_id)}</small>"
    )


def _extras(trace: Trace) -> list[str]:
    parts: list[str] = []
    if trace.unknown:
        parts.append("<h2>Tests naming a requirement no spec defines</h2><ul>")
        parts += [
            f'<li class="missing"><code>{escape(key)}</code> in '
            f"<code>{escape(test.node_id)}</code> <small>{escape(test.where)}</small></li>"
            for test, key in trace.unknown
        ]
        parts.append("</ul>")
    if trace.unclaimed_operations:
        parts.append("<h2>Contract operations no requirement names</h2><ul>")
        parts += [f"<li><code>{escape(op)}</code></li>" for op in trace.unclaimed_operations]
        parts.append("</ul>")
    if trace.unmarked_tests:
        parts.append(
            f"<h2>Tests naming no requirement ({len(trace.unmarked_tests)})</h2>"
            f"<details><summary>Show them</summary><ul>"
        )
        parts += [f"<li><code>{escape(t.node_id)}</code></li>" for t in trace.unmarked_tests]
        parts.append("</ul></details>")
    return parts


def write_html(trace: Trace, path: Path) -> None:
    """Write the page atomically: the file appears complete, or not at all."""
    text = render_html(trace)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_sibling(path)
    try:
        write_file(temporary, text)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
