"""Scoring an investigation against ground truth, on small hand-made tables."""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from distillscan.cli import app
from distillscan.errors import CaseError, InputError
from distillscan.evaluate import (
    DayFindings,
    Truth,
    evaluate,
    load_findings,
    load_truth,
    time_to_detect,
)

TRUTH_ACCOUNTS = pl.DataFrame(
    {
        "account_id": ["a1", "a2", "a3", "b1", "b2", "h1", "h2", "u1", "u2", "e1"],
        "kind": [
            "campaign_a",
            "campaign_a",
            "campaign_a",
            "campaign_b",
            "campaign_b",
            "hydra_reseller",
            "hydra_reseller",
            "university",
            "university",
            "enterprise_app",
        ],
        "label": [
            "campaign",
            "campaign",
            "campaign",
            "campaign",
            "campaign",
            "mixed",
            "mixed",
            "benign",
            "benign",
            "benign",
        ],
        "campaign_id": ["A", "A", "A", "B", "B", "D", "D", None, None, None],
        "contamination_share": [1.0, 1.0, 1.0, 1.0, 1.0, 0.25, 0.5, 0.0, 0.0, 0.0],
    }
)
CAMPAIGNS = [
    {"id": "A", "name": "reasoning", "members": ["a1", "a2", "a3"]},
    {"id": "B", "name": "agentic", "members": ["b1", "b2"]},
    {"id": "D", "name": "tenant", "members": ["h1", "h2"]},
]
END_USERS = pl.DataFrame(
    {
        "account_id": ["h1", "h1", "h2", "h2"],
        "end_user_id": ["t9-1", "t1-5", "t9-1", "t9-2"],
        "is_campaign": [True, False, True, True],
    }
)
TRUTH = Truth(TRUTH_ACCOUNTS, CAMPAIGNS, END_USERS)


def findings() -> pl.DataFrame:
    """A plausible investigation: A found whole, B split with a benign account, one FP."""
    return pl.DataFrame(
        {
            "account_id": ["a1", "a2", "a3", "b1", "b2", "h1", "h2", "u1", "u2", "e1"],
            "score": [0.9, 0.9, 0.8, 0.7, 0.3, 0.6, 0.2, 0.7, 0.1, 0.0],
            "severity": [
                "high",
                "high",
                "high",
                "medium",
                "low",
                "medium",
                "low",
                "medium",
                "none",
                "none",
            ],
            "campaign_id": ["c1", "c1", "c1", "c2", None, None, None, "c2", None, None],
            "is_mixed": [False, False, False, False, False, True, False, False, False, False],
            "contamination_share": [None, None, None, None, None, 0.3, None, None, None, None],
            "implicated_end_users": [[], [], [], [], [], ["t9-1", "t1-5"], [], [], [], []],
        }
    )


def test_account_metrics() -> None:
    result = evaluate(findings(), TRUTH).to_dict()["accounts"]
    # flagged: a1 a2 a3 b1 h1 (true) and u1 (false); missed: b2 h2
    assert result["true_positives"] == 5
    assert result["false_positives"] == 1
    assert result["false_negatives"] == 2
    assert result["true_negatives"] == 2
    assert result["precision"] == round(5 / 6, 4)
    assert result["recall"] == round(5 / 7, 4)
    assert result["f1"] == round(2 * (5 / 6) * (5 / 7) / (5 / 6 + 5 / 7), 4)


def test_false_positives_per_benign_kind() -> None:
    kinds = evaluate(findings(), TRUTH).to_dict()["benign_kinds"]
    assert kinds == [
        {"kind": "enterprise_app", "accounts": 1, "false_positives": 0, "false_positive_rate": 0.0},
        {"kind": "university", "accounts": 2, "false_positives": 1, "false_positive_rate": 0.5},
    ]


def test_campaign_recall_split_and_purity() -> None:
    campaigns = {c["id"]: c for c in evaluate(findings(), TRUTH).to_dict()["campaigns"]}
    assert campaigns["A"]["recall"] == 1.0
    assert campaigns["A"]["split_into"] == 1
    assert campaigns["A"]["purity"] == 1.0
    assert campaigns["B"]["recall"] == 0.5
    assert campaigns["B"]["reported"] == [
        {"reported_campaign": "c2", "size": 2, "members": 1, "purity": 0.5}
    ]
    assert campaigns["D"]["split_into"] == 0
    assert campaigns["D"]["purity"] is None  # reported in no campaign: undefined, not 0


def test_a_campaign_of_benign_accounts_is_reported() -> None:
    frame = findings().with_columns(
        pl.when(pl.col("account_id") == "u2")
        .then(pl.lit("c9"))
        .otherwise(pl.col("campaign_id"))
        .alias("campaign_id")
    )
    assert evaluate(frame, TRUTH).to_dict()["false_campaigns"] == [
        {"reported_campaign": "c9", "size": 1, "kinds": {"university": 1}}
    ]


def test_mixed_accounts() -> None:
    mixed = evaluate(findings(), TRUTH).to_dict()["mixed"]
    assert mixed["accounts"] == 2
    assert mixed["reported_mixed"] == 1
    assert mixed["share_mean_absolute_error"] == 0.05  # only h1 was estimated: |0.3 - 0.25|
    # h1 implicated t9-1 (right) and t1-5 (wrong); h2's t9-1 and t9-2 were missed
    assert mixed["end_user_precision"] == 0.5
    assert mixed["end_user_recall"] == round(1 / 3, 4)


def test_accounts_missing_from_the_investigation_count_as_not_flagged() -> None:
    result = evaluate(findings().filter(pl.col("account_id") != "a3"), TRUTH).to_dict()
    assert result["accounts"]["false_negatives"] == 3
    assert result["accounts"]["not_in_investigation"] == 1


def test_a_truth_that_shares_no_account_with_the_case_is_an_error_not_zero_recall() -> None:
    """``eval --truth`` pointed at another export's truth: say so, instead of 0% recall."""
    other = findings().with_columns(("other-" + pl.col("account_id")).alias("account_id"))
    with pytest.raises(InputError, match="none of the 10 accounts of the truth is in the case"):
        evaluate(other, TRUTH)


def test_nothing_flagged_gives_undefined_precision() -> None:
    quiet = findings().with_columns(
        pl.lit("none").alias("severity"), pl.lit(None, pl.String).alias("campaign_id")
    )
    result = evaluate(quiet, TRUTH)
    assert math.isnan(result.accounts["precision"])
    assert result.to_dict()["accounts"]["precision"] is None
    assert result.accounts["recall"] == 0.0


def test_json_is_stable(tmp_path: Path) -> None:
    first = evaluate(findings(), TRUTH).to_json()
    assert first == evaluate(findings().reverse(), TRUTH).to_json()
    assert json.loads(first)["accounts"]["true_positives"] == 5


def _write_truth(folder: Path) -> None:
    folder.mkdir(parents=True)
    TRUTH_ACCOUNTS.write_csv(folder / "accounts.csv")
    (folder / "campaigns.json").write_text(json.dumps(CAMPAIGNS), "utf-8")
    END_USERS.with_columns(
        pl.when(pl.col("is_campaign")).then(pl.lit("true")).otherwise(pl.lit("false"))
    ).write_csv(folder / "end_users.csv")


def test_loaders_and_cli(tmp_path: Path) -> None:
    truth_dir, case = tmp_path / "truth", tmp_path / "case"
    _write_truth(truth_dir)
    case.mkdir()
    findings().write_parquet(case / "accounts.parquet")
    pl.DataFrame({"campaign_id": ["c1", "c2"]}).write_parquet(case / "campaigns.parquet")
    loaded = load_truth(truth_dir)
    assert loaded.accounts["account_id"].to_list() == TRUTH_ACCOUNTS["account_id"].to_list()
    accounts, _ = load_findings(case)
    assert evaluate(accounts, loaded).to_json() == evaluate(findings(), TRUTH).to_json()

    runner = CliRunner()
    as_json = runner.invoke(app, ["eval", str(case), "--truth", str(truth_dir), "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["accounts"]["false_positives"] == 1
    tables = runner.invoke(app, ["eval", str(case), "--truth", str(truth_dir)])
    assert tables.exit_code == 0
    assert "Planted campaigns" in tables.stdout and "university" in tables.stdout


def test_missing_inputs_are_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a ground-truth folder"):
        load_truth(tmp_path)
    with pytest.raises(CaseError, match="no investigation results"):
        load_findings(tmp_path)
    result = CliRunner().invoke(app, ["eval", str(tmp_path), "--truth", str(tmp_path)])
    assert result.exit_code == 2


def _day(name: str, through: datetime, accounts: pl.DataFrame) -> DayFindings:
    campaigns = (
        accounts.filter(pl.col("campaign_id").is_not_null())
        .group_by("campaign_id")
        .agg(pl.col("account_id").sort().alias("members"))
        .sort("campaign_id")
    )
    return DayFindings(name, through, accounts, campaigns)


def test_time_to_detect_names_each_campaign_on_its_first_day() -> None:
    first = pl.DataFrame(
        {
            "account_id": ["a1", "a2", "a3", "b1", "b2", "h1", "h1", "h2", "u1"],
            "end_user_id": [None] * 5 + ["t1-5", "t9-1", "t9-1", None],
            "first_event": [datetime(2026, 1, 1, 6)] * 3
            + [datetime(2026, 1, 2, 12)] * 2
            + [datetime(2026, 1, 1), datetime(2026, 1, 2, 20), datetime(2026, 1, 2, 21)]
            + [datetime(2026, 1, 2, 12)],
        }
    )
    quiet = findings().with_columns(
        pl.lit(None, pl.String).alias("campaign_id"),
        pl.lit("none").alias("severity"),
        pl.lit(False).alias("is_mixed"),
    )
    days = [
        _day("2026-01-01", datetime(2026, 1, 2), quiet),
        _day("2026-01-02", datetime(2026, 1, 3), findings()),
        _day("2026-01-03", datetime(2026, 1, 4), findings()),
    ]
    result = time_to_detect(days, TRUTH, first)
    by_id = {c["id"]: c for c in result["campaigns"]}
    assert by_id["A"]["named_on"] == "2026-01-02" and by_id["A"]["delay_hours"] == 42.0
    assert by_id["A"]["campaign_ids"] == ["c1"]
    # Only one of B's accounts is in a campaign (c2, beside a benign one): never named.
    assert by_id["B"]["named_on"] is None and by_id["B"]["delay_hours"] is None
    # D lives in mixed accounts: named when one of them is reported as mixed, its delay counted
    # from its tenant's first request (20:00), not the reseller's (midnight).
    assert by_id["D"]["campaign_ids"] == ["h1"]
    assert by_id["D"]["first_event"] == "2026-01-02T20:00:00" and by_id["D"]["delay_hours"] == 4.0
    assert [d["benign_flagged"] for d in result["days"]] == [0, 1, 1]
    assert [d["false_campaigns"] for d in result["days"]] == [0, 0, 0]


def test_a_campaign_never_named_has_no_delay() -> None:
    first = pl.DataFrame(
        {"account_id": ["a1"], "end_user_id": [None], "first_event": [datetime(2026, 1, 1)]},
        schema_overrides={"end_user_id": pl.String},
    )
    lone = findings().with_columns(pl.lit(None, pl.String).alias("campaign_id"))
    result = time_to_detect([_day("2026-01-01", datetime(2026, 1, 2), lone)], TRUTH, first)
    assert {c["id"]: c["named_on"] for c in result["campaigns"]}["A"] is None
    assert {c["id"]: c["delay_hours"] for c in result["campaigns"]}["A"] is None
