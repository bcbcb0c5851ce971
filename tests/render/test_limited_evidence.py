"""A report on logs without prompt text says so in every format, found campaigns or not."""

from __future__ import annotations

import copy

import pytest

from distillscan.render import html, markdown, terminal
from distillscan.report.model import Report
from tests.cases import Scenario

FORMATS = {
    "terminal": lambda report: terminal.plain_text(report, case="CASE", width=100),
    "markdown": markdown.render,
    "html": html.render,
}


def _without_text(report: Report, campaigns: bool) -> Report:
    changed = copy.deepcopy(report)
    changed["summary"]["unmeasured_content"] = ["elicitation", "breadth", "agentic"]
    if not campaigns:
        changed["campaigns"] = []
        changed["summary"]["campaigns"] = 0
        changed["summary"]["highest_severity"] = None
    return changed


@pytest.mark.parametrize("name", sorted(FORMATS))
@pytest.mark.parametrize("campaigns", [True, False])
def test_unmeasured_content_is_stated(name: str, campaigns: bool, scenario: Scenario) -> None:
    text = FORMATS[name](_without_text(scenario.report, campaigns))
    assert "content not measured: elicitation, breadth, agentic" in " ".join(text.split())


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_a_report_with_text_has_no_caveat(name: str, scenario: Scenario) -> None:
    assert scenario.report["summary"]["unmeasured_content"] == []
    assert "content not measured" not in FORMATS[name](scenario.report)
