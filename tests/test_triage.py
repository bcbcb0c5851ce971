"""Triage decisions and allowlists (``distillscan.triage``): kept in the case, shown in every
report, printed literally, and only ever changing what fails a CI run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from distillscan.cli import app
from distillscan.errors import ConfigError
from distillscan.triage import allowlisted, allowlisted_end_users, decisions, load_allowlist
from tests.cases import Scenario

runner = CliRunner()
HOSTILE_NOTE = "[bold red]looks fine[/] :warning: \x1b[2J | =cmd() <b>x</b>"


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "100", "NO_COLOR": "1"})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def case(scenario: Scenario, tmp_path: Path) -> Path:
    """A writable copy of the scenario's investigated case (one critical campaign)."""
    copy = tmp_path / "case"
    shutil.copytree(scenario.case, copy)
    return copy


def _campaign_id(case: Path) -> str:
    return str(pl.read_parquet(case / "campaigns.parquet")["campaign_id"][0])


def test_a_decision_is_kept_with_who_and_when_and_listed(case: Path) -> None:
    campaign = _campaign_id(case)
    code, out, _ = _run(
        "triage", str(case), campaign[:9], "--status", "confirmed", "--note", "T-1", "--by", "ana"
    )
    assert code == 0 and campaign in out and "confirmed" in out
    (decision,) = decisions(case)
    assert (decision.kind, decision.target, decision.status, decision.by) == (
        "campaign",
        campaign,
        "confirmed",
        "ana",
    )
    assert decision.at.endswith("Z")
    code, out, _ = _run("triage", str(case))
    assert code == 0 and campaign in out and "T-1" in out


def _resellers(case: Path) -> list[str]:
    accounts = pl.read_parquet(case / "accounts.parquet")
    return accounts.filter(pl.col("is_mixed").fill_null(False))["account_id"].to_list()


def _dismiss_resellers(case: Path) -> None:
    """Mark the scenario's reseller (a mixed account, a finding of its own) as handled."""
    for reseller in _resellers(case):
        _run("triage", str(case), reseller, "--status", "suppressed", "--note", "handled")


def test_a_suppressed_campaign_is_still_reported_but_no_longer_fails(case: Path) -> None:
    campaign = _campaign_id(case)
    assert _run("report", str(case), "--fail-on", "low")[0] == 1
    assert _run("report", str(case), "--fail-on-new", "low")[0] == 1
    _run("triage", str(case), campaign, "--status", "suppressed", "--note", "red team", "--by", "x")
    # The reseller hiding a harvesting tenant is a finding of its own: it still fails the run.
    assert _run("report", str(case), "--fail-on", "low")[0] == 1
    _dismiss_resellers(case)
    assert _run("report", str(case), "--fail-on", "low")[0] == 0
    assert _run("report", str(case), "--fail-on-new", "low")[0] == 0
    _, out, _ = _run("report", str(case), "-f", "json")
    document = json.loads(out)
    assert [c["campaign_id"] for c in document["campaigns"]] == [campaign]
    assert document["campaigns"][0]["triage"]["status"] == "suppressed"
    # The latest decision counts: confirming it again makes it fail again.
    _run("triage", str(case), campaign, "--status", "confirmed", "--note", "real", "--by", "x")
    assert _run("report", str(case), "--fail-on", "low")[0] == 1
    assert len(decisions(case)) == 2 + len(_resellers(case))


def test_accounts_marked_benign_one_by_one_dismiss_their_campaign(case: Path) -> None:
    _dismiss_resellers(case)
    members = pl.read_parquet(case / "campaigns.parquet")["members"][0].to_list()
    for account in members[:-1]:
        _run("triage", str(case), account, "--status", "benign", "--note", "customer", "--by", "x")
    assert _run("report", str(case), "--fail-on", "low")[0] == 1
    _run("triage", str(case), members[-1], "--status", "benign", "--note", "customer", "--by", "x")
    assert _run("report", str(case), "--fail-on", "low")[0] == 0
    _, out, _ = _run("report", str(case), "-f", "markdown")
    assert "(benign)" in out  # each member still listed, marked
    code, out, _ = _run("show", str(case), "account", members[0])
    assert code == 0 and "triage: benign" in out and "customer" in out


def test_triage_needs_a_status_a_note_and_one_target(case: Path) -> None:
    code, _, err = _run("triage", str(case), _campaign_id(case), "--status", "benign")
    assert code == 2 and "--note" in err
    code, _, err = _run(
        "triage", str(case), "nothing-like-this", "--status", "benign", "--note", "x"
    )
    assert code == 2 and "is not a campaign or an account" in err
    code, _, err = _run("triage", str(case), "", "--status", "benign", "--note", "x")
    assert code == 2 and "matches several" in err
    code, _, err = _run(
        "triage", str(case.parent / "nope"), "x", "--status", "benign", "--note", "x"
    )
    assert code == 2 and "not a case folder" in err


def test_a_hostile_note_is_printed_as_text_everywhere(case: Path) -> None:
    campaign = _campaign_id(case)
    code, out, _ = _run(
        "triage", str(case), campaign, "--status", "benign", "--note", HOSTILE_NOTE, "--by", "x"
    )
    assert code == 0 and "[bold red]looks fine[/]" in out and "\x1b" not in out
    code, out, _ = _run("report", str(case))
    assert "[bold red]looks fine[/]" in out and ":warning:" in out and "\x1b" not in out
    code, out, _ = _run("report", str(case), "-f", "html")
    assert "<b>x</b>" not in out and "&lt;b&gt;x&lt;/b&gt;" in out
    code, out, _ = _run("report", str(case), "-f", "markdown")
    line = next(x for x in out.splitlines() if x.startswith("- Triage:"))
    assert line.count("`") >= 2 and "<b>" in line  # inside a code span: shown, not rendered


def test_redaction_hides_the_accounts_in_decisions(case: Path) -> None:
    account = pl.read_parquet(case / "campaigns.parquet")["members"][0][0]
    _run("triage", str(case), account, "--status", "benign", "--note", f"{account} ok", "--by", "x")
    code, out, _ = _run("report", str(case), "-f", "json", "--redact")
    assert code == 0 and account not in out
    (entry,) = json.loads(out)["triage"]
    assert entry["target"].startswith("acct-") and entry["kind"] == "account"


def _allowlist(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "allow.toml"
    path.write_text(text, "utf-8")
    return path


def test_allowlist_files_are_checked(tmp_path: Path) -> None:
    good = load_allowlist(
        _allowlist(
            tmp_path,
            '[[accounts]]\nid = "a1"\nreason = "QA"\n[[networks]]\ncidr = "10.1.2.3/8"\n'
            'reason = "lab"\n[[orgs]]\nid = "o1"\nreason = "partner"\n',
        )
    )
    assert good.accounts == {"a1": "QA"} and good.networks == {"10.0.0.0/8": "lab"}
    for text, message in (
        ('[[people]]\nid = "a"\nreason = "r"\n', "unknown allowlist table"),
        ('[[accounts]]\nid = "a"\n', "needs id and reason"),
        ('[[networks]]\ncidr = "10.0.0.300/8"\nreason = "r"\n', "is not a network"),
        ("accounts = 3\n", "array of tables"),
        ("[[accounts]\n", "not valid TOML"),
    ):
        with pytest.raises(ConfigError, match=message):
            load_allowlist(_allowlist(tmp_path, text))


def test_an_allowlist_covers_an_account_only_for_all_of_its_traffic(tmp_path: Path) -> None:
    con = duckdb.connect()
    con.execute(
        """CREATE TABLE events AS SELECT * FROM (VALUES
            ('lab', '10.1.1.1', 'o9'), ('lab', '10.2.2.2', 'o9'),
            ('half', '10.1.1.1', 'o9'), ('half', '203.0.113.9', 'o9'),
            ('partner', '198.51.100.1', 'o1'), ('partner', '198.51.100.2', 'o1'),
            ('mostly', '198.51.100.1', 'o1'), ('mostly', '198.51.100.1', NULL),
            ('listed', '203.0.113.1', NULL)
        ) AS t(account_id, source_ip, org_id)"""
    )
    allowlist = load_allowlist(
        _allowlist(
            tmp_path,
            '[[accounts]]\nid = "listed"\nreason = "QA"\n[[accounts]]\nid = "absent"\n'
            'reason = "x"\n[[networks]]\ncidr = "10.0.0.0/8"\nreason = "lab"\n'
            '[[orgs]]\nid = "o1"\nreason = "partner"\n',
        )
    )
    covered = dict(allowlisted(con, allowlist).iter_rows())
    assert covered == {
        "lab": "allowlisted network: lab",
        "listed": "allowlisted: QA",
        "partner": "allowlisted organisation: partner",
    }


def test_investigate_applies_an_allowlist(scenario: Scenario, tmp_path: Path) -> None:
    case = tmp_path / "case"
    shutil.copytree(scenario.case, case)
    members = pl.read_parquet(case / "campaigns.parquet")["members"][0].to_list()
    known = [*members, *_resellers(case)]
    entries = "".join(f'[[accounts]]\nid = "{m}"\nreason = "known customer"\n' for m in known)
    allow = _allowlist(tmp_path, entries)
    code, _, _ = _run(
        "investigate", "--case", str(case), "-q", "--brief", "--allowlist", str(allow)
    )
    assert code == 0
    accounts = pl.read_parquet(case / "accounts.parquet")
    assert accounts.filter(pl.col("allowlisted").is_not_null())["account_id"].sort().to_list() == (
        sorted(known)
    )
    assert _run("report", str(case), "--fail-on", "low")[0] == 0
    record = json.loads((case / "investigation.json").read_text("utf-8"))
    assert len(record["allowlist"]["accounts"]) == len(known)
    code, _, err = _run("investigate", "--case", str(case), "--allowlist", str(tmp_path / "no"))
    assert code == 2 and "cannot read the allowlist" in err


def test_a_resellers_end_users_are_allowlisted_with_their_account(tmp_path: Path) -> None:
    allowlist = load_allowlist(
        _allowlist(
            tmp_path,
            '[[end_users]]\naccount = "r1"\nid = "t1"\nreason = "lab"\n'
            '[[end_users]]\naccount = "r1"\nid = "t2"\nreason = "lab"\n'
            '[[end_users]]\naccount = "r2"\nid = "t1"\nreason = "other"\n',
        )
    )
    accounts = pl.DataFrame(
        {
            "account_id": ["r1", "r2", "r3"],
            "implicated_end_users": [["t1", "t2"], ["t1", "t9"], ["t1"]],
        }
    )
    rows = {r["account_id"]: r for r in allowlisted_end_users(accounts, allowlist).to_dicts()}
    assert rows["r1"]["allowlisted_end_users"] == ["t1", "t2"]
    assert rows["r1"]["reason"] == "all implicated end users allowlisted: lab"
    # Only some of r2's tenant is known: shown, but the account is not covered.
    assert rows["r2"]["allowlisted_end_users"] == ["t1"] and rows["r2"]["reason"] is None
    assert "r3" not in rows  # end-user ids are the reseller's own: r1's t1 is not r3's
    with pytest.raises(ConfigError, match="needs account"):
        load_allowlist(_allowlist(tmp_path, '[[end_users]]\nid = "t1"\nreason = "x"\n'))


def test_a_linked_triage_file_is_refused(case: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text('{"decisions": []}', "utf-8")
    (case / "triage.json").symlink_to(elsewhere)
    code, _, err = _run(
        "triage", str(case), _campaign_id(case), "--status", "benign", "--note", "x"
    )
    assert code == 2 and "triage.json" in err and "link" in err
    assert elsewhere.read_text("utf-8") == '{"decisions": []}'
    assert _run("report", str(case))[0] == 2
