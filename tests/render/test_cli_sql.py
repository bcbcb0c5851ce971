"""``distillscan sql``: the case's views, wherever the folder is, and inert output."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from distillscan.case import Case
from tests.cases import Scenario
from tests.render.scenario import HOSTILE_ACCOUNT

runner = CliRunner()


def _sql(case: Path, query: str, *extra: str) -> tuple[int, str, str]:
    from distillscan.cli import app

    result = runner.invoke(
        app, ["sql", str(case), query, *extra], env={"COLUMNS": "200", "NO_COLOR": "1"}
    )
    return result.exit_code, result.stdout, result.stderr


def test_a_copied_case_reads_its_own_files(scenario: Scenario, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    shutil.copytree(scenario.case, first)
    shutil.copytree(first, second)
    for part in Case(first).parts("events"):
        part.unlink()  # the copy must not depend on the folder it was copied from
    code, out, err = _sql(second, "SELECT count(*) AS n FROM events", "-f", "json")
    assert code == 0, err
    events = json.loads(out)["n"]
    assert events > 0
    code, out, _ = _sql(
        second,
        "SELECT (SELECT count(*) FROM accounts) AS accounts, "
        "(SELECT count(*) FROM campaigns) AS campaigns, "
        "(SELECT count(*) FROM evidence WHERE partner_id IS NOT NULL) AS links",
        "-f",
        "json",
    )
    row = json.loads(out)
    assert row["accounts"] == len(scenario.report["accounts"])
    assert row["campaigns"] == len(scenario.report["campaigns"]) and row["links"] > 0


def test_results_are_inert_in_every_format(hostile: Scenario) -> None:
    query = "SELECT DISTINCT account_id, prompt FROM events WHERE account_id = ?"
    query = query.replace("?", "'" + HOSTILE_ACCOUNT.replace("'", "''") + "'")
    for fmt in ("table", "csv", "json"):
        code, out, err = _sql(hostile.case, query, "-f", fmt, "--limit", "50")
        assert code == 0, err
        assert "\x1b" not in out and "\x07" not in out
    _, out, _ = _sql(hostile.case, query, "-f", "csv", "--limit", "50")
    cells = [cell for row in csv.reader(io.StringIO(out)) for cell in row]
    assert any("HYPERLINK" in cell for cell in cells)
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)


def test_a_failing_query_is_an_input_error(scenario: Scenario) -> None:
    code, _, err = _sql(scenario.case, "SELEC 1")
    assert code == 2 and "query failed" in err and "views: events" in " ".join(err.split())
    code, _, err = _sql(scenario.case.parent / "nope", "SELECT 1")
    assert code == 2 and "not a case folder" in err


def test_a_table_nothing_was_loaded_into_reads_as_empty(tmp_path: Path) -> None:
    """A case with events but no quarantine, CloudTrail or account inputs: those views hold no
    rows (with their columns), rather than failing the query as missing."""
    from distillscan.ingest import ingest

    log = tmp_path / "one.jsonl"
    log.write_text(
        json.dumps(
            {
                "event_id": "e1",
                "timestamp": "2026-02-03T10:00:00Z",
                "account_id": "acct_1",
                "model": "m",
                "messages": [{"role": "user", "content": "hi"}],
            }
        )
        + "\n"
    )
    ingest([log], tmp_path / "case")
    code, out, _ = _sql(
        tmp_path / "case",
        "SELECT (SELECT count(*) FROM quarantine) AS q, (SELECT count(*) FROM cloudtrail) AS c, "
        "(SELECT count(source_line) FROM account_inputs) AS a, (SELECT count(*) FROM events) AS e",
        "--format",
        "csv",
    )
    assert code == 0, out
    assert out.splitlines() == ["q,c,a,e", "0,0,0,1"]
