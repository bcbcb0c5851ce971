"""Pieces of the report model and the escaping helpers, on small hand-made inputs."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from markdown_it import MarkdownIt

from distillscan.render import markdown
from distillscan.render.escape import formula_safe, html_text, md_block, md_code
from distillscan.report import facts
from distillscan.report.model import flagged_outside_campaigns, member_links
from tests.cases import Scenario, build


def test_member_links_are_deduplicated_and_sorted() -> None:
    row = {
        "pass_id": "sync",
        "event_id": None,
        "source_file": None,
        "source_line": None,
        "ts": None,
        "model": None,
        "prompt": None,
        "prompt_chars": None,
    }
    evidence = [
        {**row, "account_id": "b: x", "kind": "link:sync", "partner_id": "a", "weight": 0.7},
        {**row, "account_id": "a", "kind": "link:sync", "partner_id": "b: x", "weight": 0.7},
        {**row, "account_id": "a", "kind": "link:template", "partner_id": "out", "weight": 0.5},
        {**row, "account_id": "a", "kind": "cot_elicitation", "partner_id": None, "weight": None},
    ]
    for e in evidence:
        e["detail"] = f"with {e['partner_id']}: ..."  # words for people; never parsed
    # Ids may hold ": " (the separator of the detail sentence): the partner is a column.
    links = member_links(evidence, {"a", "b: x"})  # type: ignore[arg-type]
    assert links == [{"account_a": "a", "account_b": "b: x", "kind": "sync"}]


def test_timeline_buckets_stay_small_and_aligned() -> None:
    start = datetime(2026, 2, 2, 0, 12)
    assert facts.bucket_hours(start, datetime(2026, 2, 2, 20)) == 1
    assert facts.bucket_hours(start, datetime(2026, 2, 5, 0, 4)) == 2
    assert facts.bucket_hours(start, datetime(2026, 3, 2)) == 24
    assert facts.bucket_hours(start, datetime(2027, 2, 2)) == 168
    assert facts.bucket_start(datetime(2026, 2, 3, 13, 59), 6) == datetime(2026, 2, 3, 12)


def test_daily_rows_merge_buckets_by_day() -> None:
    buckets = [
        {"start": "2026-02-02T00:00:00Z", "events": 3, "on_release_model": 0, "accounts": 2},
        {"start": "2026-02-02T12:00:00Z", "events": 4, "on_release_model": 1, "accounts": 3},
        {"start": "2026-02-03T00:00:00Z", "events": 5, "on_release_model": 5, "accounts": 1},
    ]
    days = markdown.daily(buckets)  # type: ignore[arg-type]
    assert [(d["start"], d["events"], d["on_release_model"]) for d in days] == [
        ("2026-02-02", 7, 1),
        ("2026-02-03", 5, 5),
    ]


def test_markdown_code_spans_survive_backticks_pipes_and_newlines() -> None:
    parser = MarkdownIt("commonmark").enable("table")
    for value in ("a`b", "``x``", "`lead", "trail`", "p|q", "line\nbreak", "<b>x</b>"):
        span = md_code(value, in_table=False)
        tokens = parser.parseInline(span)[0].children or []
        assert [t.type for t in tokens] == ["code_inline"], value
        assert tokens[0].content.replace("\\n", "\n") == value, value
    row = f"| {md_code('p|q')} | {md_code('x')} |"
    table = parser.render(f"| a | b |\n| --- | --- |\n{row}\n")
    assert table.count("<td>") == 2 and "p|q" in table
    assert md_code("") == "-" and md_code(None) == "-"


def test_fenced_blocks_cannot_be_closed_from_inside() -> None:
    block = md_block("before\n```\n# heading\n````\nafter")
    tokens = MarkdownIt("commonmark").parse(block)
    assert [t.type for t in tokens] == ["fence"]
    assert "# heading" in tokens[0].content


def test_formula_prefixes_get_a_visible_quote() -> None:
    assert formula_safe("=SUM(A1)") == "'=SUM(A1)"
    assert md_code("+cmd", in_table=False) == "`'+cmd`"
    assert html_text("@x") == "&#x27;@x"
    assert formula_safe("plain") == "plain"


def test_skipped_passes_are_reported_not_zeroed(tmp_path: Path, scenario: Scenario) -> None:
    """A metadata-only export: content passes are skipped, and every output says so."""
    folder = tmp_path / "meta" / "logs"
    folder.mkdir(parents=True)
    lines = (scenario.root / "logs" / "api-export.jsonl").read_text("utf-8").splitlines()
    stripped = []
    for line in lines:
        record = json.loads(line)
        record.pop("messages", None)
        stripped.append(json.dumps(record))
    (folder / "metadata.jsonl").write_text("\n".join(stripped) + "\n", "utf-8")
    result = build(tmp_path / "meta", existing=folder / "metadata.jsonl")
    skipped = {p["id"]: p["skipped_reason"] for p in result.report["passes"] if not p["ran"]}
    assert "cot_elicitation" in skipped and "prompt" in (skipped["cot_elicitation"] or "")
    text = markdown.render(result.report)
    assert "Passes skipped:" in text and "cot_elicitation" in text
    for campaign in result.report["campaigns"]:
        rows = {r["signal"]: r for r in campaign["signals"]}
        assert rows["elicitation"]["figure"].startswith("not measured: cot_elicitation")


def test_report_facts_work_within_a_memory_cap_and_retry_without_it(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The facts connection is capped (a large case spills instead of holding 10 GiB); if DuckDB
    cannot finish within the cap, the report is built again within DuckDB's own limit."""
    from distillscan.report import model
    from distillscan.report.loader import load_investigation

    limits: list[str | None] = []
    opened = facts.open_events

    def recording(case: Path, window: tuple, memory_limit: str | None = facts.FACTS_MEMORY_LIMIT):
        limits.append(memory_limit)
        con = opened(case, window, memory_limit=memory_limit)
        setting = con.sql("SELECT current_setting('memory_limit')").fetchall()[0][0]
        assert (memory_limit is None) or setting == "4.0 GiB", setting
        return con

    built = model._build
    calls = 0

    def failing_once(*args: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise duckdb.OutOfMemoryException("could not allocate")
        return built(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(facts, "open_events", recording)
    monkeypatch.setattr(model, "_build", failing_once)
    report = model.build_report(load_investigation(scenario.case))
    assert limits == [facts.FACTS_MEMORY_LIMIT, None]
    assert report == scenario.report


def test_a_reseller_is_shown_once_with_its_tenant_not_as_a_flagged_account(
    scenario: Scenario,
) -> None:
    """The tenant is the finding: a mixed account is listed in the mixed accounts section with
    the one campaign its tenant shares the most templates with, not under every campaign and
    not again among the flagged accounts outside campaigns."""
    mixed = scenario.report["mixed_accounts"]
    assert mixed, "the scenario plants a reseller with a harvesting tenant"
    assert all(len(m["campaigns"]) <= 1 for m in mixed)
    outside = {a["account_id"] for a in flagged_outside_campaigns(scenario.report)}
    assert not outside & {m["account_id"] for m in mixed}
    for campaign in scenario.report["campaigns"]:
        shown = set(campaign["mixed_accounts"])
        assert all(
            campaign["campaign_id"] in m["campaigns"] for m in mixed if m["account_id"] in shown
        )
