"""Scoring a finished investigation against ground truth (``distillscan eval``).

The truth is a ``distillscan simulate`` truth folder (``accounts.csv``, ``campaigns.json``,
``end_users.csv``); the investigation is a case folder's ``accounts.parquet`` and
``campaigns.parquet``. An account is *flagged* when its severity is medium or above, or it was
put in a reported campaign. Everything here is a pure function of those tables, so the metrics
can be tested on small hand-made frames.

Measured:

* account level: precision, recall and F1 of flagged accounts against accounts labelled
  ``campaign`` or ``mixed``;
* false positives per benign kind (the hard negatives are kinds: enterprise apps, evaluation
  teams, coding products, universities, resellers...);
* per planted campaign: the share of its accounts flagged (recall), how many reported campaigns
  it was split into, and the purity of each (the share of a reported campaign's accounts that
  belong to the planted one);
* reported campaigns made only of benign accounts;
* mixed accounts: whether each was reported as mixed, the error of the contamination estimate,
  and precision/recall of the implicated end users;
* with ``--by-day`` (:func:`time_to_detect`, over :mod:`distillscan.replay`): for each planted
  campaign its first request, the first daily run that named it and the delay, and the ids it
  was named under; and each day's false alarms.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from distillscan.errors import CaseError, InputError
from distillscan.severity import FLAGGED

#: Columns ``accounts.parquet`` must have for scoring.
ACCOUNT_COLUMNS = ("account_id", "severity", "campaign_id")
TRUTH_FILES = ("accounts.csv", "campaigns.json", "end_users.csv")


@dataclass(frozen=True, slots=True)
class Truth:
    """Ground truth written by ``distillscan simulate``.

    Attributes:
        accounts: account_id, kind, label (benign, campaign, mixed), campaign_id,
            contamination_share.
        campaigns: planted campaigns (id, name, kind, members, end_users, ...).
        end_users: account_id, end_user_id, is_campaign.
    """

    accounts: pl.DataFrame
    campaigns: list[dict[str, Any]]
    end_users: pl.DataFrame


@dataclass(slots=True)
class Evaluation:
    """All metrics; :meth:`to_dict` gives the stable JSON shape."""

    accounts: dict[str, Any] = field(default_factory=dict)
    benign_kinds: list[dict[str, Any]] = field(default_factory=list)
    campaigns: list[dict[str, Any]] = field(default_factory=list)
    false_campaigns: list[dict[str, Any]] = field(default_factory=list)
    mixed: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Metrics as plain data, floats rounded to 4 places."""
        data: dict[str, Any] = _rounded(
            {
                "accounts": self.accounts,
                "benign_kinds": self.benign_kinds,
                "campaigns": self.campaigns,
                "false_campaigns": self.false_campaigns,
                "mixed": self.mixed,
            }
        )
        return data

    def to_json(self) -> str:
        """Stable JSON: sorted keys, rounded floats, sorted rows."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


# --- loading --------------------------------------------------------------------------------


def load_truth(folder: Path) -> Truth:
    """Read a truth folder.

    Raises:
        InputError: the folder or one of its files is missing or unreadable.
    """
    missing = [name for name in TRUTH_FILES if not (folder / name).is_file()]
    if missing:
        raise InputError(
            f"{folder}: not a ground-truth folder (missing {', '.join(missing)})",
            hint="pass the truth/ folder written by `distillscan simulate`",
        )
    try:
        accounts = _read_csv(folder / "accounts.csv")
        end_users = _read_csv(folder / "end_users.csv")
        campaigns: list[dict[str, Any]] = json.loads((folder / "campaigns.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{folder}: cannot read the ground truth ({exc})") from None
    needed = {"account_id", "kind", "label", "campaign_id", "contamination_share"}
    if not needed <= set(accounts.columns):
        raise InputError(f"{folder / 'accounts.csv'}: expected columns {', '.join(sorted(needed))}")
    accounts = accounts.with_columns(
        pl.col("contamination_share").cast(pl.Float64),
        pl.col("campaign_id").replace("", None),
    )
    if end_users.height:
        end_users = end_users.with_columns(pl.col("is_campaign") == "true")
    return Truth(accounts, campaigns, end_users)


def _read_csv(path: Path) -> pl.DataFrame:
    """A CSV with every column as text (ids must never turn into numbers)."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        rows = [row for row in reader if row]
    return pl.DataFrame(
        {name: [row[i] for row in rows] for i, name in enumerate(header)},
        schema=dict.fromkeys(header, pl.String),
    )


def load_findings(case: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The investigation's ``accounts.parquet`` and ``campaigns.parquet``.

    Raises:
        CaseError: the case was not investigated, or the tables lack the columns scored.
    """
    accounts_path, campaigns_path = case / "accounts.parquet", case / "campaigns.parquet"
    if not accounts_path.is_file() or not campaigns_path.is_file():
        raise CaseError(
            f"{case}: no investigation results (accounts.parquet and campaigns.parquet)",
            hint="run `distillscan investigate` on the logs first",
        )
    try:
        accounts = pl.read_parquet(accounts_path)
        campaigns = pl.read_parquet(campaigns_path)
    except Exception as exc:  # a damaged Parquet file raises pyarrow/polars errors
        raise CaseError(f"{case}: cannot read the investigation results ({exc})") from None
    missing = [c for c in ACCOUNT_COLUMNS if c not in accounts.columns]
    if missing:
        raise CaseError(
            f"{accounts_path}: missing column(s) {', '.join(missing)}: not investigated yet?",
            hint="run `distillscan investigate` on the logs first",
        )
    return accounts, campaigns


# --- scoring --------------------------------------------------------------------------------


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else float("nan")


def _f1(precision: float, recall: float) -> float:
    if math.isnan(precision) or math.isnan(recall) or precision + recall == 0:
        return float("nan") if math.isnan(precision) or math.isnan(recall) else 0.0
    return 2 * precision * recall / (precision + recall)


def flagged(accounts: pl.DataFrame) -> pl.DataFrame:
    """``account_id`` and ``flagged`` for every reported account."""
    return accounts.select(
        pl.col("account_id").cast(pl.String),
        (pl.col("severity").cast(pl.String).is_in(FLAGGED) | pl.col("campaign_id").is_not_null())
        .fill_null(False)
        .alias("flagged"),
    )


def evaluate(accounts: pl.DataFrame, truth: Truth) -> Evaluation:
    """Score the investigation's per-account results against ``truth``.

    Args:
        accounts: The investigation's ``accounts.parquet`` (at least ``account_id``,
            ``severity``, ``campaign_id``; ``is_mixed``, ``contamination_share`` and
            ``implicated_end_users`` are used when present).
        truth: The ground truth.

    Raises:
        InputError: no truth account is in the investigation (the wrong truth folder).
    """
    investigated = set(accounts["account_id"].cast(pl.String).to_list())
    if truth.accounts.height and not investigated & set(truth.accounts["account_id"].to_list()):
        raise InputError(
            f"none of the {truth.accounts.height:,} accounts of the truth is in the case "
            f"({len(investigated):,} accounts investigated)",
            hint="is --truth the truth folder of the logs this case was made from?",
        )
    joined = truth.accounts.join(flagged(accounts), on="account_id", how="left").with_columns(
        pl.col("flagged").fill_null(False),
        pl.col("label").is_in(["campaign", "mixed"]).alias("positive"),
    )
    result = Evaluation()
    result.accounts = _account_metrics(joined, accounts, truth)
    result.benign_kinds = _benign_kinds(joined)
    result.campaigns, result.false_campaigns = _campaign_metrics(accounts, truth)
    result.mixed = _mixed_metrics(accounts, truth)
    return result


def _account_metrics(joined: pl.DataFrame, accounts: pl.DataFrame, truth: Truth) -> dict[str, Any]:
    tp = joined.filter(pl.col("positive") & pl.col("flagged")).height
    fp = joined.filter(~pl.col("positive") & pl.col("flagged")).height
    fn = joined.filter(pl.col("positive") & ~pl.col("flagged")).height
    tn = joined.filter(~pl.col("positive") & ~pl.col("flagged")).height
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    known = set(truth.accounts["account_id"].to_list())
    reported = set(accounts["account_id"].cast(pl.String).to_list())
    return {
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
        "true_negatives": tn,
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "truth_accounts": len(known),
        "reported_accounts": len(reported),
        "not_in_truth": len(reported - known),
        "not_in_investigation": len(known - reported),
    }


def _benign_kinds(joined: pl.DataFrame) -> list[dict[str, Any]]:
    rows = (
        joined.filter(~pl.col("positive"))
        .group_by("kind")
        .agg(pl.len().alias("accounts"), pl.col("flagged").sum().alias("false_positives"))
        .sort("kind")
    )
    return [
        {
            "kind": kind,
            "accounts": n,
            "false_positives": fp,
            "false_positive_rate": _ratio(fp, n),
        }
        for kind, n, fp in rows.iter_rows()
    ]


def _campaign_metrics(
    accounts: pl.DataFrame, truth: Truth
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    marks = flagged(accounts).join(
        accounts.select(pl.col("account_id").cast(pl.String), pl.col("campaign_id")),
        on="account_id",
    )
    reported = marks.filter(pl.col("campaign_id").is_not_null())
    sizes = dict(reported.group_by("campaign_id").len().iter_rows())
    flagged_ids = set(marks.filter(pl.col("flagged"))["account_id"].to_list())
    planted_members: dict[str, set[str]] = {c["id"]: set(c["members"]) for c in truth.campaigns}
    all_members = set().union(*planted_members.values()) if planted_members else set()
    out = []
    for campaign in sorted(truth.campaigns, key=lambda c: str(c["id"])):
        members = planted_members[campaign["id"]]
        hits = members & flagged_ids
        parts = (
            reported.filter(pl.col("account_id").is_in(sorted(members)))
            .group_by("campaign_id")
            .len()
            .sort("len", "campaign_id", descending=[True, False])
        )
        pieces = [
            {
                "reported_campaign": str(rid),
                "size": sizes[rid],
                "members": overlap,
                "purity": _ratio(overlap, sizes[rid]),
            }
            for rid, overlap in parts.iter_rows()
        ]
        in_campaigns = sum(p["members"] for p in pieces)
        out.append(
            {
                "id": campaign["id"],
                "name": campaign.get("name", campaign["id"]),
                "members": len(members),
                "flagged": len(hits),
                "recall": _ratio(len(hits), len(members)),
                "in_reported_campaigns": in_campaigns,
                "split_into": len(pieces),
                "purity": _ratio(sum(p["members"] for p in pieces), sum(p["size"] for p in pieces)),
                "reported": pieces,
            }
        )
    truth_kind = dict(truth.accounts.select("account_id", "kind").iter_rows())
    false = []
    for rid in sorted(sizes, key=str):
        ids = reported.filter(pl.col("campaign_id") == rid)["account_id"].to_list()
        if all_members & set(ids):
            continue
        kinds: dict[str, int] = {}
        for account in ids:
            kind = truth_kind.get(account, "unknown")
            kinds[kind] = kinds.get(kind, 0) + 1
        false.append({"reported_campaign": str(rid), "size": len(ids), "kinds": kinds})
    return out, false


def _mixed_metrics(accounts: pl.DataFrame, truth: Truth) -> dict[str, Any]:
    mixed = truth.accounts.filter(pl.col("label") == "mixed")
    if mixed.height == 0:
        return {"accounts": 0}
    columns = ["account_id"] + [
        c
        for c in ("is_mixed", "contamination_share", "implicated_end_users")
        if c in accounts.columns
    ]
    found = accounts.select(columns).with_columns(pl.col("account_id").cast(pl.String))
    rows = mixed.select("account_id", pl.col("contamination_share").alias("true_share")).join(
        found, on="account_id", how="left"
    )
    campaign_users = (
        truth.end_users.filter(pl.col("is_campaign"))
        .group_by("account_id")
        .agg(pl.col("end_user_id"))
        if truth.end_users.height
        else pl.DataFrame(schema={"account_id": pl.String, "end_user_id": pl.List(pl.String)})
    )
    truth_users = {a: set(u) for a, u in campaign_users.iter_rows()}
    details = []
    errors = []
    user_tp = user_fp = user_fn = 0
    for row in rows.iter_rows(named=True):
        reported_mixed = bool(row.get("is_mixed"))
        estimate = row.get("contamination_share")
        error = None
        if estimate is not None and not math.isnan(estimate):
            error = abs(estimate - row["true_share"])
            errors.append(error)
        implicated = set(row.get("implicated_end_users") or [])
        actual = truth_users.get(row["account_id"], set())
        user_tp += len(implicated & actual)
        user_fp += len(implicated - actual)
        user_fn += len(actual - implicated)
        details.append(
            {
                "account_id": row["account_id"],
                "reported_mixed": reported_mixed,
                "true_share": row["true_share"],
                "estimated_share": estimate,
                "absolute_error": error,
                "implicated_end_users": len(implicated),
                "campaign_end_users": len(actual),
            }
        )
    reported = sum(1 for d in details if d["reported_mixed"])
    precision, recall = _ratio(user_tp, user_tp + user_fp), _ratio(user_tp, user_tp + user_fn)
    return {
        "accounts": len(details),
        "reported_mixed": reported,
        "mixed_recall": _ratio(reported, len(details)),
        "share_mean_absolute_error": sum(errors) / len(errors) if errors else float("nan"),
        "end_user_precision": precision,
        "end_user_recall": recall,
        "end_user_f1": _f1(precision, recall),
        "details": details,
    }


# --- time to detect ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayFindings:
    """What a run at the end of one day reported (for :func:`time_to_detect`)."""

    day: str
    data_through: datetime | None
    accounts: pl.DataFrame
    campaigns: pl.DataFrame


def time_to_detect(
    days: list[DayFindings], truth: Truth, first_events: pl.DataFrame
) -> dict[str, Any]:
    """How soon each planted campaign was named, and the false alarms of each day.

    A planted campaign is *named* by a day's run when a reported campaign holds at least two of
    its accounts and they are at least half of that campaign (a campaign living inside mixed
    accounts, when one of them is reported as mixed). Its delay runs from its first request
    (a tenant's: its own end users' first request, not the reseller's) to the last event that
    run had seen. Its ids are those of the reported campaigns that named it
    from then on (the one holding most of its accounts each day): one id means the daily runs
    kept its identity.

    Args:
        days: Each day's findings, oldest first.
        truth: The ground truth.
        first_events: ``account_id``, ``end_user_id`` (may be null) and ``first_event``: the
            first request of each account and end user.
    """
    benign = set(truth.accounts.filter(pl.col("label") == "benign")["account_id"].to_list())
    mixed_accounts = set(truth.accounts.filter(pl.col("label") == "mixed")["account_id"].to_list())
    per_account = first_events.group_by("account_id").agg(pl.col("first_event").min())
    starts = dict(per_account.iter_rows())
    tenants = first_events.join(
        truth.end_users.filter(pl.col("is_campaign")).select("account_id", "end_user_id"),
        on=["account_id", "end_user_id"],
    )
    campaigns = []
    for planted in sorted(truth.campaigns, key=lambda c: str(c["id"])):
        members = set(planted["members"])
        lives_in_mixed = members <= mixed_accounts
        tenant: list[datetime] = tenants.filter(pl.col("account_id").is_in(sorted(members)))[
            "first_event"
        ].to_list()
        began = min(
            tenant if lives_in_mixed and tenant else [starts[m] for m in members if m in starts],
            default=None,
        )
        named_on: DayFindings | None = None
        ids: list[str] = []
        for found in days:
            holder = _naming_campaign(found, members, lives_in_mixed)
            if holder is None:
                continue
            named_on = named_on or found
            if not ids or ids[-1] != holder:
                ids.append(holder)
        delay = (
            (named_on.data_through - began).total_seconds() / 3600
            if named_on is not None and named_on.data_through is not None and began is not None
            else None
        )
        campaigns.append(
            {
                "id": planted["id"],
                "name": planted.get("name", planted["id"]),
                "members": len(members),
                "first_event": began.isoformat() if began is not None else None,
                "named_on": named_on.day if named_on is not None else None,
                "delay_hours": delay,
                "campaign_ids": ids,
            }
        )
    per_day = []
    planted_accounts = set().union(*(set(c["members"]) for c in truth.campaigns))
    for found in days:
        marks = flagged(found.accounts)
        false_campaigns = [
            cid
            for cid, members in found.campaigns.select("campaign_id", "members").iter_rows()
            if not planted_accounts & set(members)
        ]
        per_day.append(
            {
                "day": found.day,
                "data_through": found.data_through.isoformat() if found.data_through else None,
                "campaigns": found.campaigns.height,
                "false_campaigns": len(false_campaigns),
                "benign_flagged": marks.filter(
                    pl.col("flagged") & pl.col("account_id").is_in(sorted(benign))
                ).height,
            }
        )
    result: dict[str, Any] = _rounded({"campaigns": campaigns, "days": per_day})
    return result


def _naming_campaign(found: DayFindings, members: set[str], lives_in_mixed: bool) -> str | None:
    """The reported campaign that names a planted one on this day (or a mixed account's id)."""
    if lives_in_mixed:
        if "is_mixed" not in found.accounts.columns:
            return None
        reported = found.accounts.filter(
            pl.col("is_mixed").fill_null(False) & pl.col("account_id").is_in(sorted(members))
        )
        return str(reported["account_id"].sort()[0]) if reported.height else None
    holders = [
        (-shared, cid)
        for cid, accounts in found.campaigns.select("campaign_id", "members").iter_rows()
        if (shared := len(members & set(accounts))) >= 2 and shared * 2 >= len(accounts)
    ]
    return min(holders)[1] if holders else None
