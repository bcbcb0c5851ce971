"""The ground truth agrees with the traffic that was written."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from distillscan.ingest.discover import TRUTH_MARKER

Records = Callable[[Path], Iterator[dict[str, Any]]]


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_every_account_in_the_events_has_a_label_and_metadata(
    small_export: Path, records: Records
) -> None:
    events = Counter(r["account_id"] for r in records(small_export))
    truth = {row["account_id"]: row for row in _csv(small_export / "truth" / "accounts.csv")}
    metadata = {row["account_id"] for row in _csv(small_export / "accounts.csv")}
    assert set(events) == set(truth) == metadata
    for account, count in events.items():
        assert int(truth[account]["events"]) == count
        assert truth[account]["label"] in {"benign", "campaign", "mixed"}


def test_campaign_members_exist_and_are_labelled(small_export: Path) -> None:
    truth = {row["account_id"]: row for row in _csv(small_export / "truth" / "accounts.csv")}
    campaigns = json.loads((small_export / "truth" / "campaigns.json").read_text("utf-8"))
    assert {c["id"] for c in campaigns} == {"campaign-a", "campaign-b", "campaign-c", "campaign-d"}
    for campaign in campaigns:
        assert campaign["members"], campaign["id"]
        assert campaign["capabilities"] and campaign["languages"]
        for member in campaign["members"]:
            assert truth[member]["label"] in {"campaign", "mixed"}
            assert truth[member]["campaign_id"] == campaign["id"]
    labelled = {a for a, row in truth.items() if row["label"] != "benign"}
    assert labelled == {m for c in campaigns for m in c["members"]}


def test_contamination_shares_match_the_traffic(small_export: Path, records: Records) -> None:
    end_users = _csv(small_export / "truth" / "end_users.csv")
    campaign_users = {
        (r["account_id"], r["end_user_id"]) for r in end_users if r["is_campaign"] == "true"
    }
    assert campaign_users, "the hydra tenant should have end users"
    total: Counter[str] = Counter()
    contaminated: Counter[str] = Counter()
    for record in records(small_export):
        account = record["account_id"]
        total[account] += 1
        if (account, record.get("end_user_id")) in campaign_users:
            contaminated[account] += 1
    mixed = [r for r in _csv(small_export / "truth" / "accounts.csv") if r["label"] == "mixed"]
    assert mixed
    for row in mixed:
        expected = contaminated[row["account_id"]] / total[row["account_id"]]
        assert abs(float(row["contamination_share"]) - expected) < 1e-5
        assert 0 < expected < 1
        assert row["kind"] == "hydra_reseller"


def test_truth_folder_is_marked(small_export: Path) -> None:
    folder = small_export / "truth"
    assert (folder / TRUTH_MARKER).is_file()
    assert {p.name for p in folder.iterdir()} >= {
        "accounts.csv",
        "campaigns.json",
        "end_users.csv",
        "README.md",
        "simulation.json",
    }


def test_accounts_are_created_before_their_first_request(
    small_export: Path, records: Records
) -> None:
    created = {
        row["account_id"]: datetime.fromisoformat(row["created_at"])
        for row in _csv(small_export / "accounts.csv")
    }
    first: dict[str, datetime] = {}
    for record in records(small_export):
        moment = datetime.fromisoformat(record["timestamp"])
        account = record["account_id"]
        first[account] = min(first.get(account, moment), moment)
    late = [a for a, moment in first.items() if created[a] > moment]
    assert late == []
