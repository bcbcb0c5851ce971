"""``distillscan report`` and ``show`` from the command line: outputs, exit codes, errors."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from distillscan.case import Case
from distillscan.cli import app
from tests.cases import Scenario

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "100", "NO_COLOR": "1"})
    return result.exit_code, result.stdout, result.stderr


def test_report_formats_to_stdout_and_file(scenario: Scenario, tmp_path: Path) -> None:
    code, out, _ = _run("report", str(scenario.case), "--format", "json")
    assert code == 0
    assert json.loads(out)["schema_version"] == "1.2"
    code, out, _ = _run("report", str(scenario.case), "-f", "markdown")
    assert code == 0 and out.startswith("# distillscan report: 1 suspected")
    target = tmp_path / "report.html"
    code, out, _ = _run("report", str(scenario.case), "-f", "html", "-o", str(target))
    assert code == 0 and out == ""
    assert target.read_text("utf-8").startswith("<!DOCTYPE html>")
    code, out, _ = _run("report", str(scenario.case))
    assert code == 0
    assert "Suspected campaigns" in out and "Why it was named" in out


def test_report_formats_come_from_the_registry(scenario: Scenario) -> None:
    from distillscan.render.formats import RENDERERS

    code, out, _ = _run("report", "--help")
    assert all(name in out for name in RENDERERS)
    code, _, err = _run("report", str(scenario.case), "-f", "pdf")
    assert code == 2 and "not an output format" in err and "markdown" in err


def test_brief_shows_the_overview_first_and_no_evidence_panels(scenario: Scenario) -> None:
    code, full, _ = _run("report", str(scenario.case))
    assert code == 0
    code, brief, _ = _run("report", str(scenario.case), "--brief")
    assert code == 0
    assert "Suspected campaigns" in brief and "Why it was named" not in brief
    assert "Why it was named" in full
    # The overview (campaigns, flagged accounts, mixed accounts) comes before the panels.
    assert full.index("Mixed accounts (reseller") < full.index("Why it was named")
    assert "digits shown as 0" in full


def test_html_has_contents_every_section_and_a_linkage_table(scenario: Scenario) -> None:
    code, out, _ = _run("report", str(scenario.case), "-f", "html")
    assert code == 0
    for campaign in scenario.report["campaigns"]:
        assert f'<a href="#{campaign["campaign_id"]}">' in out
    assert '<a href="#methodology">' in out and 'id="methodology"' in out
    assert "Largest group by these links alone" in out
    if scenario.report["mixed_accounts"]:
        assert '<a href="#mixed-accounts">' in out


def test_report_is_byte_identical_across_runs(scenario: Scenario, tmp_path: Path) -> None:
    for fmt in ("json", "markdown"):
        first, second = tmp_path / f"one.{fmt}", tmp_path / f"two.{fmt}"
        assert _run("report", str(scenario.case), "-f", fmt, "-o", str(first))[0] == 0
        assert _run("report", str(scenario.case), "-f", fmt, "-o", str(second))[0] == 0
        assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize(("severity", "expected"), [("low", 1), ("high", 1), ("critical", 1)])
def test_fail_on_exits_1_when_a_campaign_reaches_it(
    scenario: Scenario, severity: str, expected: int
) -> None:
    assert scenario.report["campaigns"][0]["severity"] == "critical"
    code, out, _ = _run("report", str(scenario.case), "-f", "json", "--fail-on", severity)
    assert code == expected
    assert json.loads(out)["summary"]["campaigns"] == 1  # the report is still written


def test_fail_on_accepts_the_severity_as_reports_print_it(scenario: Scenario) -> None:
    code, _, err = _run("report", str(scenario.case), "-f", "json", "--fail-on", "CRITICAL")
    assert code == 1, err


def test_investigating_another_window_says_it_replaces_the_stored_one(
    scenario: Scenario, tmp_path: Path
) -> None:
    case = tmp_path / "case"
    shutil.copytree(scenario.case, case)
    start = str(scenario.report["scope"]["first_event"])[:10]
    code, _, err = _run("investigate", "--case", str(case), "--from", start, "-q")
    assert code == 0, err
    assert "replaced the one the case held for another window (start → end)" in " ".join(
        err.split()
    )
    code, _, err = _run("investigate", "--case", str(case), "--from", start, "-q")
    assert code == 0 and "replaced" not in err


def test_simulate_quiet_prints_nothing(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    code, stdout, stderr = _run("simulate", "--out", str(out), "--events", "500", "-q")
    assert code == 0 and stdout == "" and stderr == ""
    assert (out / "truth" / "accounts.csv").is_file()


def test_fail_on_without_campaigns_still_counts_a_reseller_hiding_a_tenant(
    benign: Scenario,
) -> None:
    assert benign.report["campaigns"] == []
    code, out, _ = _run("report", str(benign.case), "-f", "json", "--fail-on", "low")
    document = json.loads(out)
    assert document["summary"]["highest_severity"] is None
    (mixed,) = document["mixed_accounts"]
    assert code == 1  # the reseller's harvesting tenant is a finding of its own
    assert _run("report", str(benign.case), "--fail-on", "critical")[0] == (
        1 if mixed["severity"] == "critical" else 0
    )


def test_usage_and_input_errors_exit_2(scenario: Scenario, tmp_path: Path) -> None:
    assert _run("report", str(tmp_path / "missing"))[0] == 2
    assert _run("report", str(scenario.case), "-f", "pdf")[0] == 2
    assert _run("report", str(scenario.case), "--fail-on", "severe")[0] == 2
    code, _, err = _run("report", str(scenario.case), "-o", str(tmp_path / "no" / "dir.md"))
    assert code == 2 and "cannot write" in err
    assert _run("show", str(scenario.case), "campaign", "camp-ffffffffff")[0] == 2
    assert _run("show", str(scenario.case), "account", "nobody")[0] == 2
    assert _run("show", str(scenario.case), "thing", "x")[0] == 2


def test_report_refuses_a_case_being_written(scenario: Scenario) -> None:
    with Case(scenario.case).lock():  # an ingest or investigate is writing
        code, _, err = _run("report", str(scenario.case), "-f", "json")
        assert code == 2 and "another distillscan command" in err
        assert _run("show", str(scenario.case), "account", "acct-dana")[0] == 2
    with Case(scenario.case).lock(shared=True):  # another reader is fine
        assert _run("report", str(scenario.case), "-f", "json")[0] == 0


def test_report_does_not_create_a_missing_case(tmp_path: Path) -> None:
    assert _run("report", str(tmp_path / "typo"))[0] == 2
    assert not (tmp_path / "typo").exists()


def test_report_on_an_ingested_but_not_investigated_case(tmp_path: Path) -> None:
    log = tmp_path / "one.jsonl"
    log.write_text(
        '{"timestamp": "2026-02-02T00:00:00Z", "account_id": "a", "prompt": "hi"}\n', "utf-8"
    )
    assert _run("ingest", str(log), "--case", str(tmp_path / "case"))[0] == 0
    code, _, err = _run("report", str(tmp_path / "case"))
    assert code == 2
    assert "investigate" in err


def test_help_names_values_not_python_types() -> None:
    commands = ("investigate", "report", "ingest", "simulate", "eval", "sql", "verify", "show")
    for command in (*commands, "triage"):
        code, out, _ = _run(command, "--help")
        assert code == 0
        # Arguments and options alike (the --help option itself is the library's own).
        ours = "\n".join(line for line in out.splitlines() if "--help" not in line).lower()
        for python_type in ("<str>", "<path>", "<int>", "<datetime>", "<severity>", "<bool>"):
            assert python_type not in ours, (command, python_type)
        assert "<list" not in ours and "list[" not in ours, command
    _, out, _ = _run("report", "--help")
    assert "low, medium, high, critical" in " ".join(out.replace("│", " ").split())
    _, out, _ = _run("ingest", "--help")
    assert "paths...      PATH..." in out
    _, out, _ = _run("show", "--help")
    assert "<campaign|account|end-user>" in out  # a choice keeps its list


def test_shell_completion_is_on() -> None:
    result = runner.invoke(app, ["--show-completion", "bash"], env={"SHELL": "/bin/bash"})
    assert result.exit_code == 0 and "COMPREPLY" in result.stdout


def test_help_documents_exit_codes() -> None:
    code, out, _ = _run("report", "--help")
    assert code == 0
    assert "Exit codes" in out and "--fail-on" in out


def test_show_campaign_and_account(scenario: Scenario) -> None:
    campaign = scenario.report["campaigns"][0]
    code, out, _ = _run("show", str(scenario.case), "campaign", campaign["campaign_id"][:9])
    assert code == 0
    assert "Evidence" in out and "api-export.jsonl:" in out
    member = campaign["members"][0]["account_id"]
    code, out, _ = _run("show", str(scenario.case), "account", member)
    assert code == 0
    assert "Signals" in out and campaign["campaign_id"] in out
    code, out, _ = _run("show", str(scenario.case), "account", member, "-f", "json")
    assert code == 0
    detail = json.loads(out)
    assert detail["account"]["account_id"] == member
    assert {row["signal"] for row in detail["signals"]} >= {"elicitation", "template", "sync"}
    assert any(e["source_file"] for e in detail["evidence"])


def test_show_an_end_user_names_its_accounts_and_whether_it_is_implicated(
    scenario: Scenario,
) -> None:
    mixed = scenario.report["mixed_accounts"][0]
    tenant = mixed["implicated_end_users"][0]
    code, out, _ = _run("show", str(scenario.case), "end-user", tenant)
    assert code == 0
    assert mixed["account_id"] in out and "implicated" in out and "First events" in out
    code, out, _ = _run("show", str(scenario.case), "end-user", tenant, "-f", "json")
    detail = json.loads(out)
    assert detail["end_user_id"] == tenant
    assert detail["accounts"][0]["account_id"] == mixed["account_id"]
    assert detail["accounts"][0]["implicated"] is True
    assert detail["first_events"] and detail["first_events"][0]["source_file"]
    code, _, err = _run("show", str(scenario.case), "end-user", "nobody-at-all")
    assert code == 2 and "not an end user of this case" in err


def test_show_finds_an_account_by_a_unique_start_of_its_id(scenario: Scenario) -> None:
    accounts = sorted(a["account_id"] for a in scenario.report["accounts"])
    member = scenario.report["campaigns"][0]["members"][0]["account_id"]
    start = next(
        member[:n]
        for n in range(1, len(member) + 1)
        if sum(a.startswith(member[:n]) for a in accounts) == 1
    )
    code, out, _ = _run("show", str(scenario.case), "account", start, "-f", "json")
    assert code == 0 and json.loads(out)["account"]["account_id"] == member
    shared = member[: len(start) - 1]
    if shared and sum(a.startswith(shared) for a in accounts) > 1:
        code, _, err = _run("show", str(scenario.case), "account", shared)
        assert code == 2 and "matches several accounts" in err


def test_ids_and_sources_are_never_cut_at_80_columns(scenario: Scenario) -> None:
    """Evidence an investigator copies (ids, file:line) folds onto the next line at 80 columns
    (what CI and redirected output get); only prompts are shortened, with a visible marker."""
    campaign = scenario.report["campaigns"][0]
    member = campaign["members"][0]["account_id"]
    for args in (
        ("report", str(scenario.case)),
        ("show", str(scenario.case), "campaign", campaign["campaign_id"]),
        ("show", str(scenario.case), "account", member),
    ):
        result = runner.invoke(app, list(args), env={"COLUMNS": "80", "NO_COLOR": "1"})
        assert result.exit_code == 0
        cut = re.findall(r"\S+…(?!\[\+)", result.stdout)
        assert cut == [], (args, cut)


def test_investigate_prints_the_report_and_no_progress_when_piped(tmp_path: Path) -> None:
    from tests.render.scenario import write_scenario

    log = write_scenario(tmp_path / "logs")
    code, out, err = _run(
        "investigate", str(log), "--case", str(tmp_path / "case"), "--fail-on", "high"
    )
    assert code == 1
    assert "Suspected campaigns" in out
    assert "⠋" not in err and "running passes" not in err  # stderr is not a terminal


def test_investigate_says_why_nothing_was_loaded(tmp_path: Path) -> None:
    """A log no format knows: investigate gives ingest's reason (file and line), exit 2, not
    'the case holds no events'."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "weird.jsonl").write_text('{"foo": 1}\n', encoding="utf-8")
    code, _out, err = _run("investigate", str(logs), "--case", str(tmp_path / "case"))
    assert code == 2
    message = " ".join(err.split())
    assert "no events loaded" in message
    assert "weird.jsonl:1: cannot tell the log format" in message
    assert "holds no events" not in message
    assert not (tmp_path / "case").exists()  # no empty case folder left behind


def test_investigate_fails_on_a_file_it_cannot_load_unless_told_to_skip(tmp_path: Path) -> None:
    """One unrecognised file among good ones: exit 2 naming it; with --skip-unrecognised the
    run goes on, and the manifest and every report list the file as left out, with its reason."""
    from tests.render.scenario import write_scenario

    logs = tmp_path / "logs"
    write_scenario(logs)
    (logs / "weird.jsonl").write_text('{"foo": 1}\n', encoding="utf-8")
    case = tmp_path / "case"
    code, _out, err = _run("investigate", str(logs), "--case", str(case))
    assert code == 2
    message = " ".join(err.split())
    assert "1 file(s) could not be loaded" in message and "weird.jsonl:1" in message
    assert "--skip-unrecognised" in message

    code, out, err = _run("investigate", str(logs), "--case", str(case), "--skip-unrecognised")
    assert code == 0, err
    skipped = json.loads((case / "manifest.json").read_text())["skipped"]
    assert [s["path"] for s in skipped] == ["logs/weird.jsonl"]
    assert skipped[0]["reason"].startswith("not loaded: line 1: cannot tell the log format")
    assert "left out" in out and "logs/weird.jsonl: not loaded: line 1" in " ".join(out.split())
    code, markdown, _ = _run("report", str(case), "-f", "markdown")
    assert code == 0 and "`logs/weird.jsonl`: `not loaded: line 1:" in markdown
    code, report, _ = _run("report", str(case), "-f", "json")
    assert code == 0
    assert json.loads(report)["manifest"]["skipped"][0]["path"] == "logs/weird.jsonl"


def test_investigate_takes_a_mapping_like_ingest(tmp_path: Path) -> None:
    data = Path(__file__).resolve().parents[1] / "data" / "ingest" / "mapping"
    code, out, err = _run(
        "investigate",
        str(data / "gateway.jsonl"),
        "--mapping",
        str(data / "acme-gateway.toml"),
        "--case",
        str(tmp_path / "case"),
    )
    assert code == 0, err
    assert (
        "mapping:acme-gateway"
        in json.loads((tmp_path / "case" / "manifest.json").read_text())["inputs"][0]["format"]
    )
    assert "distillscan report" in out
