"""Tracking: a campaign keeps its id from run to run, and the case keeps each campaign's history.

A case grows as days are added (``investigate NEW_FILES --case CASE``) and every run links its
accounts afresh: the campaign that had 40 members yesterday has 43 today. Its id must not change
with that (a daily CI job compares runs by id, and an investigator's triage is keyed by it), so
each run's campaigns are matched to the previous run's by their members:

* a new group and a previous campaign are candidates when they share at least half the members
  of the smaller of the two: a campaign that grows from 10 accounts to 300 still holds its 10,
  while two campaigns that merely share one attached account do not match;
* candidates are taken greedily, each side at most once, the campaign named first first (then
  most shared members, then the ids): the group takes the previous campaign's id. So when two
  campaigns turn out to be one, the merged campaign keeps the id it was first known by, and when
  one splits, its largest part keeps it;
* a previous campaign left without a match but a candidate of a matched group was merged into
  it (``merged_from``/``merged_into``); a group left without a match but a candidate of a
  matched previous campaign split from it (``split_from``) and gets an id of its own;
* a group that matches nothing is new, with the id of its members (:func:`linking.campaign_id`);
  a previous campaign that matches nothing has ended.

Each run then adds one history row per campaign it names and per campaign that ended, with its
status: ``new`` (first named in this run), ``growing`` (more members than in the previous run),
``quiet`` (the data moved on, the campaign's traffic did not), ``steady``, or ``ended``; and
whether its severity ``escalated``.

A run is the analysis of one set of inputs, window and configuration (its ``key``): running
``investigate`` again on the same inputs replaces the last run rather than adding one, so a
re-run gives the same history and reports, byte for byte.

What it cannot follow: a campaign whose accounts all change between two runs shares no member
with its past and is named as new (with the whole case analysed, the default, a campaign's
old accounts stay in it, so this happens only when a ``--window`` lets them leave).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from distillscan.severity import SEVERITIES, rank

#: A run's campaign statuses, in the order reports list them.
STATUSES = ("new", "growing", "steady", "quiet", "ended")

#: One row per campaign per run (``history.parquet``).
HISTORY_SCHEMA = pl.Schema(
    {
        "run": pl.Int64(),
        "data_through": pl.Datetime("us"),
        "campaign_id": pl.String(),
        "name": pl.String(),
        "status": pl.String(),
        "escalated": pl.Boolean(),
        "severity": pl.String(),
        "previous_severity": pl.String(),
        "score": pl.Float64(),
        "n_accounts": pl.Int64(),
        "previous_n_accounts": pl.Int64(),
        "n_events": pl.Int64(),
        "first_seen": pl.Datetime("us"),
        "last_seen": pl.Datetime("us"),
        "first_run": pl.Int64(),
        "first_named_through": pl.Datetime("us"),
        "members": pl.List(pl.String()),
        "added_members": pl.List(pl.String()),
        "removed_members": pl.List(pl.String()),
        "merged_from": pl.List(pl.String()),
        "merged_into": pl.String(),
        "split_from": pl.String(),
    }
)

#: Columns ``campaigns.parquet`` takes from the campaign's history row.
LINEAGE_COLUMNS = (
    "status",
    "escalated",
    "previous_severity",
    "first_run",
    "first_named_through",
    "merged_from",
    "split_from",
)


@dataclass(frozen=True)
class Run:
    """One analysis of the case: its number, the last event it saw, and what it analysed."""

    number: int
    data_through: datetime | None
    key: str
    #: The mixed accounts it reported (resellers hiding a harvesting tenant), sorted.
    mixed_accounts: tuple[str, ...] = ()

    def record(self) -> dict[str, Any]:
        """The run as ``investigation.json`` lists it."""
        through = self.data_through.isoformat() if self.data_through else None
        return {
            "run": self.number,
            "data_through": through,
            "key": self.key,
            "mixed_accounts": list(self.mixed_accounts),
        }


def run_key(inputs: list[dict[str, Any]], window: dict[str, str | None], config: Any) -> str:
    """What a run analysed, as one digest: its inputs' contents, its window, its configuration."""
    loaded = sorted(
        (str(e.get("path")), str(e.get("sha256")), str(e.get("target") or "events")) for e in inputs
    )
    text = json.dumps([loaded, window, config], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def this_run(
    past_runs: list[dict[str, Any]],
    key: str,
    data_through: datetime | None,
    mixed_accounts: list[str] | None = None,
) -> tuple[Run, list[dict[str, Any]]]:
    """The run about to be made, and the runs before it.

    The same key as the last run's re-makes that run (same number, same predecessor).
    """
    earlier = list(past_runs)
    if earlier and earlier[-1].get("key") == key:
        earlier.pop()
    number = int(earlier[-1]["run"]) + 1 if earlier else 1
    return Run(number, data_through, key, tuple(sorted(mixed_accounts or []))), earlier


def previous_campaigns(history: pl.DataFrame, previous_run: int | None) -> pl.DataFrame:
    """The campaigns the previous run named (its history rows, ended ones left out)."""
    if previous_run is None:
        return history.clear()
    return history.filter((pl.col("run") == previous_run) & (pl.col("status") != "ended"))


def match(groups: pl.DataFrame, previous: pl.DataFrame) -> pl.DataFrame:
    """Each group's id in this run, from the previous run's campaigns (see the module docstring).

    Args:
        groups: This run's campaigns: ``campaign_id`` (from their members) and ``members``.
        previous: The previous run's campaigns: ``campaign_id``, ``members``, ``first_run``.

    Returns:
        One row per group: ``provisional_id``, ``campaign_id``, ``previous_id`` (the campaign it
        continues, or null), ``split_from``, ``merged_from``; and one row per previous campaign
        merged into another, with a null ``provisional_id`` and its ``merged_into``.
    """
    out_schema = pl.Schema(
        {
            "provisional_id": pl.String(),
            "campaign_id": pl.String(),
            "previous_id": pl.String(),
            "split_from": pl.String(),
            "merged_from": pl.List(pl.String()),
            "merged_into": pl.String(),
        }
    )
    sizes_new = groups.select(
        pl.col("campaign_id").alias("provisional_id"), pl.col("members").list.len().alias("n_new")
    )
    sizes_old = previous.select(
        pl.col("campaign_id").alias("previous_id"),
        pl.col("members").list.len().alias("n_old"),
        "first_run",
    )
    new_members = groups.select(pl.col("campaign_id").alias("provisional_id"), "members").explode(
        "members"
    )
    old_members = previous.select(pl.col("campaign_id").alias("previous_id"), "members").explode(
        "members"
    )
    candidates = (
        new_members.join(old_members, on="members")
        .group_by("provisional_id", "previous_id")
        .agg(pl.len().alias("shared"))
        .join(sizes_new, on="provisional_id")
        .join(sizes_old, on="previous_id")
        .filter(pl.col("shared") * 2 >= pl.min_horizontal("n_new", "n_old"))
        # The campaign named first keeps its id through a merge; its largest part through a split.
        .sort(
            "first_run",
            "shared",
            "previous_id",
            "provisional_id",
            descending=[False, True, False, False],
        )
    )
    # Greedy one-to-one over the candidate pairs (a few per campaign, never per event).
    continues: dict[str, str] = {}
    taken: set[str] = set()
    for provisional_id, previous_id in candidates.select(
        "provisional_id", "previous_id"
    ).iter_rows():
        if provisional_id not in continues and previous_id not in taken:
            continues[provisional_id] = previous_id
            taken.add(previous_id)
    final = {p: continues.get(p) or _unclaimed(p, taken) for p in sizes_new["provisional_id"]}
    split_from: dict[str, str] = {}
    merged_into: dict[str, str] = {}
    for provisional_id, previous_id in candidates.select(
        "provisional_id", "previous_id"
    ).iter_rows():
        if provisional_id not in continues and previous_id in taken:
            split_from.setdefault(provisional_id, previous_id)
        if previous_id not in taken and provisional_id in continues:
            merged_into.setdefault(previous_id, final[provisional_id])
    rows = [
        {
            "provisional_id": p,
            "campaign_id": final[p],
            "previous_id": continues.get(p),
            "split_from": split_from.get(p),
            "merged_from": sorted(old for old, new in merged_into.items() if new == final[p]),
            "merged_into": None,
        }
        for p in sorted(final)
    ] + [
        {
            "provisional_id": None,
            "campaign_id": old,
            "previous_id": old,
            "split_from": None,
            "merged_from": [],
            "merged_into": new,
        }
        for old, new in sorted(merged_into.items())
    ]
    return pl.DataFrame(rows, schema=out_schema)


def history_rows(
    campaigns: pl.DataFrame,
    identities: pl.DataFrame,
    previous: pl.DataFrame,
    run: Run,
    previous_through: datetime | None,
) -> pl.DataFrame:
    """This run's history rows: one per campaign named, one per previous campaign that ended.

    Args:
        campaigns: This run's described campaigns, with their final ids.
        identities: :func:`match`'s output.
        previous: The previous run's campaigns (its history rows).
        run: This run.
        previous_through: The last event the previous run saw (None: no previous run).
    """
    before = previous.select(
        pl.col("campaign_id").alias("previous_id"),
        pl.col("severity").alias("previous_severity"),
        pl.col("n_accounts").alias("previous_n_accounts"),
        pl.col("members").alias("previous_members"),
        "first_run",
        "first_named_through",
    )
    named = identities.filter(pl.col("provisional_id").is_not_null()).drop(
        "provisional_id", "merged_into"
    )
    data_advanced = (
        run.data_through is not None
        and previous_through is not None
        and run.data_through > previous_through
    )
    current = (
        campaigns.join(named, on="campaign_id", how="left")
        .join(before, on="previous_id", how="left")
        .with_columns(
            pl.lit(run.number, pl.Int64).alias("run"),
            pl.lit(run.data_through, pl.Datetime("us")).alias("data_through"),
            pl.col("first_run").fill_null(run.number),
            pl.col("first_named_through").fill_null(pl.lit(run.data_through, pl.Datetime("us"))),
            pl.col("members")
            .list.set_difference(pl.col("previous_members").fill_null([]))
            .list.sort()
            .alias("added_members"),
            pl.col("previous_members")
            .fill_null([])
            .list.set_difference("members")
            .list.sort()
            .alias("removed_members"),
            (_severity_rank("severity") > _severity_rank("previous_severity"))
            .fill_null(False)
            .alias("escalated"),
            pl.lit(None, pl.String).alias("merged_into"),
        )
        .with_columns(
            pl.when(pl.col("previous_id").is_null())
            .then(pl.lit("new"))
            .when(pl.col("n_accounts") > pl.col("previous_n_accounts"))
            .then(pl.lit("growing"))
            .when(
                pl.lit(data_advanced)
                & (pl.col("last_seen") <= pl.lit(previous_through, pl.Datetime("us")))
            )
            .then(pl.lit("quiet"))
            .otherwise(pl.lit("steady"))
            .alias("status")
        )
    )
    still_named = set(named["previous_id"].drop_nulls().to_list())
    merged = identities.filter(pl.col("merged_into").is_not_null()).select(
        pl.col("previous_id").alias("campaign_id"), "merged_into"
    )
    ended = (
        previous.filter(~pl.col("campaign_id").is_in(sorted(still_named)))
        .drop("merged_into")
        .join(merged, on="campaign_id", how="left")
        .with_columns(
            pl.lit(run.number, pl.Int64).alias("run"),
            pl.lit(run.data_through, pl.Datetime("us")).alias("data_through"),
            pl.lit("ended").alias("status"),
            pl.lit(False).alias("escalated"),
            pl.col("severity").alias("previous_severity"),
            pl.col("n_accounts").alias("previous_n_accounts"),
            pl.lit([], pl.List(pl.String)).alias("added_members"),
            pl.lit([], pl.List(pl.String)).alias("removed_members"),
            pl.lit([], pl.List(pl.String)).alias("merged_from"),
            pl.lit(None, pl.String).alias("split_from"),
        )
    )
    rows = pl.concat(
        [
            current.select(list(HISTORY_SCHEMA)).cast(HISTORY_SCHEMA),
            ended.select(list(HISTORY_SCHEMA)).cast(HISTORY_SCHEMA),
        ]
    )
    return rows.sort("campaign_id")


def with_history(
    history: pl.DataFrame, rows: pl.DataFrame, earlier_runs: list[dict[str, Any]]
) -> pl.DataFrame:
    """The case's history with this run's rows (rows of runs that were re-made dropped)."""
    kept = {int(r["run"]) for r in earlier_runs}
    return (
        pl.concat([history.filter(pl.col("run").is_in(sorted(kept))), rows])
        .sort("run", "campaign_id")
        .cast(HISTORY_SCHEMA)
    )


def empty_history() -> pl.DataFrame:
    """A history with no run in it."""
    return pl.DataFrame(schema=HISTORY_SCHEMA)


def _unclaimed(provisional_id: str, taken: set[str]) -> str:
    """A new campaign's id: its members' id, unless a continuing campaign already holds it."""
    if provisional_id not in taken:
        return provisional_id
    digest = hashlib.sha256(f"split\n{provisional_id}".encode()).hexdigest()
    return f"camp-{digest[:10]}"


def _severity_rank(column: str) -> pl.Expr:
    return pl.col(column).replace_strict(
        {s: rank(s) for s in SEVERITIES}, default=None, return_dtype=pl.Int64
    )
