"""Log text that carries Rich markup, ANSI/OSC escapes, Markdown, HTML or spreadsheet formulas
reaches every output format inert. The assertions are on the raw bytes (or on what a real
Markdown or HTML parser makes of them), never on what a renderer says it did.
"""

from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser
from xml.etree import ElementTree

from markdown_it import MarkdownIt
from rich.console import Console

from distillscan.render import drilldown, html, json_report, markdown, terminal
from distillscan.report import drilldown as report_drilldown
from distillscan.report.loader import load_investigation
from tests.cases import Scenario
from tests.render.scenario import HOSTILE_ACCOUNT, HOSTILE_AGENT, HOSTILE_END_USER

#: Control bytes that must never be written from log text: ESC, BEL, and C1 controls (U+0080-9F
#: are single-byte CSI/OSC in some terminals), in their UTF-8 encoding.
FORBIDDEN = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")
#: The only escape sequences allowed in coloured terminal output: Rich's own SGR styling.
SGR = re.compile(rb"\x1b\[[0-9;]*m")


def _coloured_terminal(scenario: Scenario) -> bytes:
    """The report as a real colour terminal would receive it."""
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=True,
        color_system="truecolor",
        width=120,
        highlight=False,
        markup=False,
        emoji=False,
    )
    for renderable in terminal.render(scenario.report, case="CASE"):
        console.print(renderable)
    investigation = load_investigation(scenario.case)
    campaign_id = scenario.report["campaigns"][0]["campaign_id"]
    for renderable in drilldown.render_campaign(
        report_drilldown.campaign_detail(investigation, campaign_id), "CASE"
    ):
        console.print(renderable)
    for renderable in drilldown.render_account(
        report_drilldown.account_detail(investigation, HOSTILE_ACCOUNT)
    ):
        console.print(renderable)
    return buffer.getvalue().encode("utf-8")


def test_hostile_values_reach_the_report(hostile: Scenario) -> None:
    """The fixture works: the hostile account is a campaign member, its tenant implicated."""
    campaign = hostile.report["campaigns"][0]
    assert HOSTILE_ACCOUNT in campaign["accounts"]
    assert any(e["value"] == HOSTILE_AGENT for e in campaign["infrastructure"])
    assert HOSTILE_END_USER in hostile.report["mixed_accounts"][0]["implicated_end_users"]
    prompts = [e["prompt"] or "" for e in campaign["evidence"]]
    assert any("\x1b" in p for p in prompts)


def test_terminal_shows_markup_and_escapes_as_text(hostile: Scenario) -> None:
    raw = _coloured_terminal(hostile)
    assert FORBIDDEN.search(SGR.sub(b"", raw)) is None
    assert b"\x1b]" not in raw  # no OSC: no hyperlinks, no title changes
    text = SGR.sub(b"", raw).decode("utf-8")
    assert "acct-[bold]h4x[/bold]" in text  # the markup is printed, not applied
    assert "[red]ua[/red]" in text
    assert "\\x1b]0;owned\\x07" in text  # the escape sequence is shown, visibly
    assert "[link=https://evil.example]93[/link]" in text or "tenant-[link=" in text


def test_plain_terminal_text_is_free_of_control_bytes(hostile: Scenario) -> None:
    raw = terminal.plain_text(hostile.report, case="CASE").encode("utf-8")
    assert FORBIDDEN.search(raw) is None
    assert b"\x1b" not in raw


def _table_rows(text: str) -> list[list[str]]:
    """Markdown table lines split on unescaped pipes (as GitHub splits cells)."""
    rows = []
    for line in text.splitlines():
        if line.startswith("| ") and line.endswith(" |"):
            rows.append(re.split(r"(?<!\\)\|", line)[1:-1])
    return rows


def test_markdown_cannot_be_broken_by_log_text(hostile: Scenario) -> None:
    text = markdown.render(hostile.report)
    raw = text.encode("utf-8")
    assert FORBIDDEN.search(raw) is None
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    flat = [t for token in tokens for t in [token, *(token.children or [])]]
    kinds = {t.type for t in flat}
    assert "html_block" not in kinds
    # The only inline HTML is the report's own line breaks inside table cells.
    assert {t.content for t in flat if t.type == "html_inline"} <= {"<br>"}
    assert "image" not in kinds
    links = [t.attrs.get("href") for t in flat if t.type == "link_open"]
    assert links and all(str(href).startswith("#") for href in links)  # only our own anchors
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert not any("Injected" in h for h in headings)
    # Every table row has as many cells as its header: no pipe in a value split a cell.
    tables: list[list[list[str]]] = []
    for row in _table_rows(text):
        if tables and len(row) and row[0].strip() in ("---", "--:") and len(tables[-1]) == 1:
            tables[-1].append(row)
        elif not tables or len(tables[-1][0]) != len(row) or row[0].startswith(" Account"):
            tables.append([row])
        else:
            tables[-1].append(row)
    for table in tables:
        assert {len(r) for r in table} == {len(table[0])}
    # Spreadsheet formula prefixes never start a table cell.
    for row in _table_rows(text):
        for cell in row:
            stripped = cell.strip().strip("`").strip()
            assert not stripped.startswith(("=", "+", "@")), cell


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "ul", "li", "table",
    "thead", "tbody", "tr", "th", "td", "code", "pre", "span", "a", "br", "strong", "em",
    "section", "div", "figure", "figcaption", "details", "summary", "svg", "line", "rect",
    "circle", "text", "nav",
}  # fmt: skip


def test_html_is_self_contained_and_inert(hostile: Scenario) -> None:
    text = html.render(hostile.report)
    raw = text.encode("utf-8")
    assert FORBIDDEN.search(raw) is None
    parser = _Collector()
    parser.feed(text)
    tags = {tag for tag, _ in parser.tags}
    assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
    for tag, attrs in parser.tags:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert name not in ("src", "srcset", "action", "formaction"), (tag, name)
            if name == "href":
                assert value is not None and value.startswith("#"), value
    assert "<script" not in text
    assert "&lt;script&gt;ua()&lt;/script&gt;" in text  # shown, escaped
    assert "default-src 'none'" in text  # and a CSP forbids scripts and fetches anyway
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    charts = re.findall(r"<svg.*?</svg>", text, re.S)
    assert len(charts) == len(hostile.report["campaigns"])  # activity (linkage is a table)
    for chart in charts:
        ElementTree.fromstring(chart)  # well-formed SVG, hostile titles included


def test_json_is_ascii_and_keeps_values_exact(hostile: Scenario) -> None:
    text = json_report.render(hostile.report)
    raw = text.encode("utf-8")
    assert all(byte < 0x80 for byte in raw)
    assert FORBIDDEN.search(raw.replace(b"\n", b"")) is None
    assert b"<" not in raw and b">" not in raw
    document = json.loads(text)
    assert HOSTILE_ACCOUNT in document["campaigns"][0]["accounts"]  # data is not altered
