"""The JSON report validates against the documented schema, whatever the data looks like."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from distillscan.render import json_report
from distillscan.report import drilldown
from distillscan.report.loader import load_investigation
from distillscan.report.redact import redact
from tests.cases import Scenario
from tests.render.schema_check import validate

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "output-schema.json").read_text("utf-8")
)


@pytest.mark.parametrize("which", ["scenario", "hostile", "benign"])
def test_report_json_matches_the_schema(which: str, request: pytest.FixtureRequest) -> None:
    scenario: Scenario = request.getfixturevalue(which)
    for report in (scenario.report, redact(scenario.report)):
        document = json.loads(json_report.render(report))
        assert validate(document, SCHEMA) == []


def test_report_json_has_the_contracted_top_level_keys(scenario: Scenario) -> None:
    document = json.loads(json_report.render(scenario.report))
    assert list(document)[:2] == ["schema_version", "run"]
    for key in ("manifest", "passes", "campaigns", "accounts"):
        assert key in document
    campaign = document["campaigns"][0]
    for key in ("campaign_id", "name", "severity", "score", "accounts", "evidence"):
        assert key in campaign
    scored = {a["account_id"] for a in document["accounts"]}
    assert set(campaign["accounts"]) <= scored
    assert len(document["accounts"]) == scenario.report["scope"]["accounts"]
    assert all(p["ran"] or p["skipped_reason"] for p in document["passes"])


def test_the_validator_rejects_what_the_schema_forbids(scenario: Scenario) -> None:
    document = json.loads(json_report.render(scenario.report))
    broken = copy.deepcopy(document)
    broken["campaigns"][0]["severity"] = "extreme"
    broken["campaigns"][0]["score"] = 1.5
    del broken["accounts"][0]["contributions"]
    broken["accounts"][1]["surprise"] = True
    broken["scope"]["first_event"] = "yesterday"
    errors = validate(broken, SCHEMA)
    assert any("severity" in e and "extreme" in e for e in errors)
    assert any(".score: 1.5 > 1" in e for e in errors)
    assert any("missing 'contributions'" in e for e in errors)
    assert any("unexpected key 'surprise'" in e for e in errors)
    assert any("first_event" in e for e in errors)


def test_drilldown_json_is_plain_json(scenario: Scenario) -> None:
    investigation = load_investigation(scenario.case)
    campaign_id = scenario.report["campaigns"][0]["campaign_id"]
    detail = drilldown.campaign_detail(investigation, campaign_id[:8])
    campaign = json.loads(json_report.render(detail))["campaign"]
    assert validate(campaign, {**SCHEMA, "$ref": "#/$defs/Campaign"}) == []
    account = drilldown.account_detail(investigation, campaign["accounts"][0])
    assert json.loads(json_report.render(account))["account"]["campaign_id"] == campaign_id
