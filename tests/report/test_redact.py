"""``--redact`` leaves no raw account id, end-user id, IP address, email or prompt text."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from distillscan.cli import app
from distillscan.render import html, json_report, markdown, terminal
from distillscan.report.redact import Redactor, redact
from tests.cases import Scenario

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _log_values(scenario: Scenario) -> dict[str, set[str]]:
    """Every id, address, email and prompt in the scenario's raw log."""
    values: dict[str, set[str]] = {"ids": set(), "ips": set(), "emails": set(), "prompts": set()}
    for path in (scenario.root / "logs").iterdir():
        text = path.read_text("utf-8")
        values["emails"].update(EMAIL.findall(text))
        for line in text.splitlines():
            record = json.loads(line)
            values["ids"].add(record["account_id"])
            if "end_user_id" in record:
                values["ids"].add(record["end_user_id"])
            if "source_ip" in record:
                values["ips"].add(record["source_ip"])
            values["prompts"].add(record["messages"][-1]["content"])
    return values


@pytest.mark.parametrize("which", ["scenario", "hostile"])
def test_redacted_outputs_leak_nothing(which: str, request: pytest.FixtureRequest) -> None:
    scenario: Scenario = request.getfixturevalue(which)
    report = redact(scenario.report)
    outputs = {
        "json": json.dumps(json.loads(json_report.render(report)), ensure_ascii=False),
        "markdown": markdown.render(report),
        "html": html.render(report),
        "terminal": terminal.plain_text(report, case="CASE", width=200),
    }
    values = _log_values(scenario)
    assert values["emails"], "the scenario should carry an email to redact"
    for name, text in outputs.items():
        for account in values["ids"]:
            assert account not in text, (name, account)
        for ip in values["ips"]:
            assert ip not in text, (name, ip)
            prefix = ip.rsplit(".", 1)[0] + "."
            assert prefix not in text, (name, prefix)
        for email in values["emails"]:
            assert email not in text, (name, email)
        for prompt in values["prompts"]:
            # Pieces of prompts (skeletons are case folded) must not survive either.
            for piece in (prompt[:32], prompt[-32:]):
                assert piece not in text and piece.lower() not in text, (name, piece)


def test_redaction_keeps_the_findings(scenario: Scenario) -> None:
    report = redact(scenario.report)
    before, after = scenario.report["campaigns"][0], report["campaigns"][0]
    assert report["run"]["redacted"] is True
    assert after["campaign_id"] == before["campaign_id"]
    assert after["n_accounts"] == before["n_accounts"]
    assert [s["value"] for s in after["signals"]] == [s["value"] for s in before["signals"]]
    assert len(set(after["accounts"])) == len(before["accounts"])
    # One account keeps one pseudonym everywhere in the report.
    members = {m["account_id"] for m in after["members"]}
    assert members == set(after["accounts"])
    assert {link["account_a"] for link in after["links"]} <= members
    assert all(t["skeleton"].startswith("[prompt sha256:") for t in after["templates"])


def test_pseudonyms_are_stable_and_salted() -> None:
    one = Redactor("salt-a", ["acct-1", "acct-12"], ["user-7"])
    again = Redactor("salt-a", ["acct-12", "acct-1"], ["user-7"])
    other = Redactor("salt-b", ["acct-1"], [])
    assert one.account("acct-1") == again.account("acct-1")
    assert one.account("acct-1") != other.account("acct-1")
    # Longest id first, in one pass: acct-12 is not rewritten as acct-1 followed by "2".
    scrubbed = one.scrub("with acct-12: from 10.1.2.3 and 2001:db8::1, mail ops@corp.example")
    assert scrubbed is not None
    assert one.account("acct-12") in scrubbed
    for raw in ("acct-1", "10.1.2.3", "2001:db8::1", "ops@corp.example"):
        assert raw not in scrubbed


@pytest.mark.parametrize(
    "raw",
    [
        "josé@exämple.com",
        "ω@пример.рф",
        "user@例え.jp",
        "::1",
        "fe80::1%eth0",
        "::ffff:10.0.0.1",
        "2001:0db8:0000:0000:0000:ff00:0042:8329",
        "2001:db8::/32",
    ],
)
def test_internationalised_mail_and_every_ipv6_form_are_scrubbed(raw: str) -> None:
    scrubbed = Redactor("salt", [], []).scrub(f"seen ({raw}) at 12:30:45")
    assert scrubbed is not None
    assert raw not in scrubbed and raw.split("%")[0] not in scrubbed
    assert scrubbed.endswith(") at 12:30:45")  # a time is not an address


@pytest.mark.parametrize("which", ["scenario", "hostile"])
def test_redacted_drill_downs_leak_nothing_and_use_the_reports_pseudonyms(
    which: str, request: pytest.FixtureRequest
) -> None:
    scenario: Scenario = request.getfixturevalue(which)
    runner = CliRunner()
    values = _log_values(scenario)
    report = json.loads(json_report.render(redact(scenario.report)))
    campaign = scenario.report["campaigns"][0]
    member = campaign["accounts"][0]
    mixed = scenario.report["mixed_accounts"]
    shown = [("campaign", campaign["campaign_id"]), ("account", member)]
    if mixed and mixed[0]["implicated_end_users"]:
        shown.append(("end-user", mixed[0]["implicated_end_users"][0]))
    for kind, item in shown:
        for fmt in ("json", "terminal"):
            result = runner.invoke(
                app,
                ["show", str(scenario.case), kind, item, "--redact", "-f", fmt],
                env={"COLUMNS": "200", "NO_COLOR": "1"},
            )
            assert result.exit_code == 0, result.stderr
            text = result.stdout
            for raw in values["ids"] | values["ips"] | values["emails"]:
                assert raw not in text, (kind, fmt, raw)
            for prompt in values["prompts"]:
                assert len(prompt) < 24 or prompt[:60] not in text, (kind, fmt)
    detail = json.loads(
        runner.invoke(
            app, ["show", str(scenario.case), "account", member, "--redact", "-f", "json"]
        ).stdout
    )
    assert detail["account"]["account_id"] in {a["account_id"] for a in report["accounts"]}
    detail = json.loads(
        runner.invoke(
            app,
            [
                "show",
                str(scenario.case),
                "campaign",
                campaign["campaign_id"],
                "--redact",
                "-f",
                "json",
            ],
        ).stdout
    )
    ours = next(c for c in report["campaigns"] if c["campaign_id"] == campaign["campaign_id"])
    assert detail["campaign"]["accounts"] == ours["accounts"]
