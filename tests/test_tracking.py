"""Campaign identity across runs and the case's history (``distillscan.tracking``).

The unit tests give :func:`match` and :func:`history_rows` small membership tables; the
integration tests feed the shipped ``sample_logs`` to one case in three parts, as a daily job
would, and check that each campaign keeps its id, that the reports say what changed, and that
``--fail-on-new`` fails only on what is new.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from distillscan.cli import app
from distillscan.linking import campaign_id
from distillscan.tracking import (
    HISTORY_SCHEMA,
    Run,
    empty_history,
    history_rows,
    match,
    this_run,
)

SAMPLE = Path(__file__).resolve().parents[1] / "sample_logs"
DAY = datetime(2026, 1, 2)
NEXT_DAY = datetime(2026, 1, 3)


def _groups(*member_lists: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "campaign_id": [campaign_id(m) for m in member_lists],
            "members": [sorted(m) for m in member_lists],
        }
    )


def _previous(**campaigns: list[str]) -> pl.DataFrame:
    """A previous run's history rows (run 1) for the given ``id=members``."""
    rows = [
        {
            "run": 1,
            "data_through": DAY,
            "campaign_id": cid,
            "name": "x",
            "status": "new",
            "escalated": False,
            "severity": "medium",
            "score": 0.5,
            "n_accounts": len(members),
            "n_events": 10 * len(members),
            "first_seen": DAY,
            "last_seen": DAY,
            "first_run": 1,
            "first_named_through": DAY,
            "members": sorted(members),
            "added_members": sorted(members),
            "removed_members": [],
            "merged_from": [],
            "merged_into": None,
            "split_from": None,
        }
        for cid, members in campaigns.items()
    ]
    return pl.DataFrame(rows, schema=HISTORY_SCHEMA)


def _ids(identities: pl.DataFrame) -> dict[str, str]:
    named = identities.filter(pl.col("provisional_id").is_not_null())
    return dict(named.select("provisional_id", "campaign_id").iter_rows())


def test_a_growing_campaign_keeps_its_id() -> None:
    grown = [f"a{i}" for i in range(30)]
    identities = match(_groups(grown), _previous(**{"camp-old": ["a1", "a2", "a3"]}))
    assert _ids(identities) == {campaign_id(grown): "camp-old"}


def test_one_shared_account_does_not_carry_an_id() -> None:
    identities = match(
        _groups(["b1", "b2", "b3", "b4", "x"]), _previous(**{"camp-old": ["a1", "a2", "a3", "x"]})
    )
    assert _ids(identities) == {
        campaign_id(["b1", "b2", "b3", "b4", "x"]): campaign_id(["b1", "b2", "b3", "b4", "x"])
    }


def test_a_merge_keeps_the_larger_overlap_and_records_the_other() -> None:
    merged = ["a1", "a2", "a3", "a4", "b1", "b2"]
    identities = match(
        _groups(merged),
        _previous(**{"camp-a": ["a1", "a2", "a3", "a4"], "camp-b": ["b1", "b2"]}),
    )
    row = identities.filter(pl.col("provisional_id") == campaign_id(merged)).row(0, named=True)
    assert row["campaign_id"] == "camp-a" and row["merged_from"] == ["camp-b"]
    gone = identities.filter(pl.col("provisional_id").is_null()).row(0, named=True)
    assert gone["campaign_id"] == "camp-b" and gone["merged_into"] == "camp-a"


def test_a_merge_keeps_the_id_first_named() -> None:
    merged = ["a1", "a2", "b1", "b2", "b3", "b4"]
    previous = _previous(**{"camp-early": ["a1", "a2"], "camp-later": ["b1", "b2", "b3", "b4"]})
    previous = previous.with_columns(
        pl.when(pl.col("campaign_id") == "camp-later").then(2).otherwise(1).alias("first_run")
    )
    identities = match(_groups(merged), previous)
    assert _ids(identities) == {campaign_id(merged): "camp-early"}


def test_a_split_gives_the_smaller_part_a_new_id() -> None:
    big, small = ["a1", "a2", "a3", "a4"], ["a5", "a6"]
    identities = match(_groups(big, small), _previous(**{"camp-a": big + small}))
    assert _ids(identities)[campaign_id(big)] == "camp-a"
    row = identities.filter(pl.col("provisional_id") == campaign_id(small)).row(0, named=True)
    assert row["campaign_id"] == campaign_id(small) and row["split_from"] == "camp-a"


def test_matching_does_not_depend_on_row_order() -> None:
    groups = _groups(["a1", "a2"], ["b1", "b2"], ["c1", "c2", "a3"])
    previous = _previous(**{"camp-a": ["a1", "a2", "a3"], "camp-b": ["b1", "b2", "b9"]})
    forward = match(groups, previous)
    backward = match(groups.reverse(), previous.reverse())
    assert forward.equals(backward)


def _campaigns(identities: pl.DataFrame, groups: pl.DataFrame, **fields: object) -> pl.DataFrame:
    ids = _ids(identities)
    return groups.with_columns(
        pl.col("campaign_id").replace_strict(ids),
        pl.lit("x").alias("name"),
        pl.lit(fields.get("severity", "medium")).alias("severity"),
        pl.lit(0.6).alias("score"),
        pl.col("members").list.len().cast(pl.Int64).alias("n_accounts"),
        pl.lit(100).alias("n_events"),
        pl.lit(DAY).alias("first_seen"),
        pl.lit(fields.get("last_seen", NEXT_DAY)).alias("last_seen"),
    )


def test_history_rows_say_new_growing_quiet_escalated_and_ended() -> None:
    previous = _previous(
        **{
            "camp-grow": ["a1", "a2"],
            "camp-quiet": ["q1", "q2"],
            "camp-gone": ["g1", "g2"],
        }
    )
    groups = _groups(["a1", "a2", "a3"], ["n1", "n2"])
    identities = match(groups, previous)
    campaigns = _campaigns(identities, groups, severity="high")
    quiet = _campaigns(match(_groups(["q1", "q2"]), previous), _groups(["q1", "q2"]), last_seen=DAY)
    run = Run(2, NEXT_DAY, "k2")
    rows = history_rows(
        pl.concat([campaigns, quiet.with_columns(pl.lit("medium").alias("severity"))]),
        pl.concat([identities, match(_groups(["q1", "q2"]), previous)]),
        previous,
        run,
        DAY,
    )
    by_id = {r["campaign_id"]: r for r in rows.iter_rows(named=True)}
    assert by_id["camp-grow"]["status"] == "growing"
    assert by_id["camp-grow"]["escalated"] and by_id["camp-grow"]["previous_severity"] == "medium"
    assert by_id["camp-grow"]["added_members"] == ["a3"]
    assert by_id["camp-grow"]["first_run"] == 1
    assert by_id["camp-quiet"]["status"] == "quiet"
    assert by_id[campaign_id(["n1", "n2"])]["status"] == "new"
    assert by_id[campaign_id(["n1", "n2"])]["first_run"] == 2
    assert by_id["camp-gone"]["status"] == "ended"
    assert rows.schema == HISTORY_SCHEMA


def test_the_same_inputs_remake_the_last_run() -> None:
    runs = [{"run": 1, "key": "a"}, {"run": 2, "key": "b"}]
    run, earlier = this_run(runs, "b", NEXT_DAY)
    assert run.number == 2 and earlier == runs[:1]
    run, earlier = this_run(runs, "c", NEXT_DAY)
    assert run.number == 3 and earlier == runs
    run, earlier = this_run([], "a", None)
    assert run.number == 1 and earlier == [] and empty_history().is_empty()


runner = CliRunner()


def _investigate(case: Path, *paths: Path, extra: tuple[str, ...] = ()) -> int:
    result = runner.invoke(
        app,
        ["investigate", *map(str, paths), "--case", str(case), "-q", "--brief", *extra],
        env={"COLUMNS": "100", "NO_COLOR": "1"},
    )
    return result.exit_code


@pytest.fixture(scope="module")
def daily_case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``sample_logs`` fed to one case in three parts (days 1-5, 6-9, 10-14)."""
    case = tmp_path_factory.mktemp("daily") / "case"
    days = sorted((SAMPLE / "logs").iterdir())
    assert len(days) == 14
    code = _investigate(
        case, *days[:5], extra=("--accounts", str(SAMPLE / "accounts.csv"), "--fail-on-new", "high")
    )
    assert code == 1  # the first run names critical campaigns: all new
    shutil.copytree(case, case.parent / "after-run-1")
    # Days 6-9 bring no new campaign, but two more resellers start hiding a harvest: news.
    assert _investigate(case, *days[5:9], extra=("--fail-on-new", "high")) == 1
    shutil.copytree(case, case.parent / "after-run-2")
    assert _investigate(case, *days[9:], extra=("--fail-on-new", "high")) == 0
    return case


def test_daily_runs_keep_each_campaign_id(daily_case: Path) -> None:
    history = pl.read_parquet(daily_case / "history.parquet")
    assert history["run"].unique().sort().to_list() == [1, 2, 3]
    first = set(history.filter(pl.col("run") == 1)["campaign_id"])
    last = set(history.filter(pl.col("run") == 3)["campaign_id"])
    assert len(first) == 3 and first == last
    assert set(history.filter(pl.col("run") > 1)["status"]) <= {"steady", "growing", "quiet"}
    growing = history.filter(pl.col("status") == "growing")
    assert not growing.is_empty()
    assert (growing["n_accounts"] > growing["previous_n_accounts"]).all()


def test_the_last_daily_run_finds_what_one_full_run_finds(daily_case: Path, tmp_path: Path) -> None:
    full = tmp_path / "full"
    assert (
        _investigate(full, SAMPLE / "logs", extra=("--accounts", str(SAMPLE / "accounts.csv"))) == 0
    )
    daily = pl.read_parquet(daily_case / "campaigns.parquet")
    whole = pl.read_parquet(full / "campaigns.parquet")
    assert sorted(daily["members"].to_list()) == sorted(whole["members"].to_list())
    assert sorted(daily["severity"].to_list()) == sorted(whole["severity"].to_list())


def test_reports_open_with_what_changed(daily_case: Path) -> None:
    result = runner.invoke(app, ["report", str(daily_case), "-f", "json"])
    document = json.loads(result.stdout)
    changes = document["changes"]
    assert changes["run"] == 3 and changes["previous_run"] == 2
    assert changes["previous_data_through"] < changes["data_through"]
    grew = [c for c in changes["campaigns"] if c["status"] == "growing"]
    assert grew and all(c["added_members"] for c in grew)
    for campaign in document["campaigns"]:
        assert campaign["tracking"]["first_named_run"] == 1
    markdown = runner.invoke(app, ["report", str(daily_case), "-f", "markdown"]).stdout
    assert markdown.index("## Since the previous run") < markdown.index("## Summary")
    assert "run 3 of this case, since run 2" in markdown
    terminal = runner.invoke(
        app, ["report", str(daily_case)], env={"COLUMNS": "100", "NO_COLOR": "1"}
    ).stdout
    assert "run 3 of this case" in terminal and "grew from" in terminal


def test_new_mixed_accounts_are_news_once(daily_case: Path) -> None:
    second = daily_case.parent / "after-run-2"
    changes = json.loads(runner.invoke(app, ["report", str(second), "-f", "json"]).stdout)[
        "changes"
    ]
    assert len(changes["new_mixed_accounts"]) == 2
    terminal = runner.invoke(app, ["report", str(second)], env={"COLUMNS": "200"}).stdout
    assert "2 new mixed accounts" in terminal
    last = json.loads(runner.invoke(app, ["report", str(daily_case), "-f", "json"]).stdout)
    assert last["changes"]["new_mixed_accounts"] == [] and last["mixed_accounts"]
    # Still findings for --fail-on, not news for --fail-on-new.
    assert runner.invoke(app, ["report", str(daily_case), "--fail-on", "critical"]).exit_code == 1


def test_fail_on_new_ignores_known_campaigns_that_fail_on_still_counts(daily_case: Path) -> None:
    assert runner.invoke(app, ["report", str(daily_case), "--fail-on-new", "low"]).exit_code == 0
    assert runner.invoke(app, ["report", str(daily_case), "--fail-on", "high"]).exit_code == 1
    first = daily_case.parent / "after-run-1"
    assert runner.invoke(app, ["report", str(first), "--fail-on-new", "critical"]).exit_code == 1


def test_running_again_on_the_same_inputs_gives_the_same_bytes(daily_case: Path) -> None:
    copy = daily_case.parent / "again"
    shutil.copytree(daily_case, copy)
    before = {
        name: (copy / name).read_bytes()
        for name in ("history.parquet", "campaigns.parquet", "investigation.json")
    }
    assert _investigate(copy) == 0
    for name, data in before.items():
        assert (copy / name).read_bytes() == data, name


def test_the_same_sequence_of_days_gives_the_same_history_and_reports(
    daily_case: Path, tmp_path: Path
) -> None:
    twin = tmp_path / "twin"
    days = sorted((SAMPLE / "logs").iterdir())
    _investigate(twin, *days[:5], extra=("--accounts", str(SAMPLE / "accounts.csv")))
    _investigate(twin, *days[5:9])
    _investigate(twin, *days[9:])
    for name in ("history.parquet", "campaigns.parquet", "accounts.parquet"):
        assert (twin / name).read_bytes() == (daily_case / name).read_bytes(), name
    for fmt in ("json", "markdown"):
        ours = runner.invoke(app, ["report", str(daily_case), "-f", fmt]).stdout
        assert runner.invoke(app, ["report", str(twin), "-f", fmt]).stdout == ours, fmt


def test_a_rolling_window_counts_back_from_the_last_event(daily_case: Path) -> None:
    copy = daily_case.parent / "windowed"
    shutil.copytree(daily_case, copy)
    result = runner.invoke(app, ["investigate", "--case", str(copy), "--window", "3d", "--brief"])
    assert result.exit_code == 0, result.stderr
    assert "replaced the one the case held" not in result.stderr  # rolling by design
    record = json.loads((copy / "investigation.json").read_text("utf-8"))
    last = datetime.fromisoformat(record["runs"][-1]["data_through"])
    assert datetime.fromisoformat(record["window"]["from"]) == last - timedelta(days=3)
    assert record["runs"][-1]["run"] == 4  # another window is another run
    for bad in (
        ["--window", "3 days"],
        ["--window", "0h"],
        ["--window", "2d", "--from", "2026-02-10"],
    ):
        result = runner.invoke(app, ["investigate", "--case", str(copy), *bad])
        assert result.exit_code == 2 and "--window" in result.stderr, bad
