"""Every output format ingests with zero quarantined rows and the same canonical values."""

from __future__ import annotations

from pathlib import Path

from distillscan.case import Case
from distillscan.ingest import ingest
from distillscan.simulate import SimulationConfig


def test_canonical_output_ingests_cleanly(
    small_export: Path, small_config: SimulationConfig, tmp_path: Path
) -> None:
    case = tmp_path / "case"
    report = ingest([small_export], case)
    assert report.errors == []
    assert report.rows_quarantined == 0
    assert (
        report.rows_loaded
        == small_config.events
        + sum(1 for _ in (small_export / "accounts.csv").open(encoding="utf-8"))
        - 1
    )
    assert {"path": "export/truth/", "reason": "ground truth folder (not events)"} in report.skipped
    con = Case(case).connect()
    [(events, n_accounts)] = con.sql(
        "SELECT count(*), count(DISTINCT account_id) FROM events"
    ).fetchall()
    assert events == small_config.events
    [(known,)] = con.sql("SELECT count(*) FROM accounts WHERE created_at IS NOT NULL").fetchall()
    assert known == n_accounts
    con.close()
