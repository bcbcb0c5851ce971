"""The simulator's evasive profile carries the hard shapes, and the detector still finds them.

The evasive profile plants what a tuned detector misses first: agent loops inside a reseller's
tenant, requests for reasoning written in the campaign's own words, exits that a proxy pool hands
out once, churning low-volume accounts. These tests guard both sides: that the simulator keeps
producing those shapes, and that an investigation of them names every planted campaign. The
simulator and the detector were built together, so passing here is no evidence of how either
holds on real traffic (the labelled development traffic is); failing here is a regression.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from distillscan.evaluate import evaluate, load_truth
from distillscan.investigate import investigate
from distillscan.simulate import SimulationConfig, simulate

EVASIVE = SimulationConfig(events=40_000, days=7, seed=11, profile="evasive")

#: Fragments of the simulator's ``explain`` wrappers (reasoning asked for in other words).
EXPLAIN_FRAGMENTS = (
    "I care more about the path than the destination",
    "Don't just give me the answer",
    "how you get",
    "how you arrive",
    "不要只给结论",
    "распиши, как ты",
)


@pytest.fixture(scope="module")
def evasive_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("evasive") / "export"
    simulate(out, EVASIVE)
    return out


@pytest.fixture(scope="module")
def evasive_case(evasive_export: Path) -> Path:
    case = evasive_export.parent / "case"
    investigate([evasive_export], case)
    return case


def _records(export: Path) -> Iterator[dict[str, Any]]:
    for path in sorted((export / "logs").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            yield from (json.loads(line) for line in handle)


def _campaigns(export: Path) -> list[dict[str, Any]]:
    campaigns: list[dict[str, Any]] = json.loads(
        (export / "truth" / "campaigns.json").read_text("utf-8")
    )
    return campaigns


def test_evasive_export_carries_the_hard_shapes(evasive_export: Path) -> None:
    campaigns = {c["id"]: c for c in _campaigns(evasive_export)}
    records = list(_records(evasive_export))
    uses_of_address = Counter(r["source_ip"] for r in records)

    # Churning accounts behind a pool that hands out a fresh exit per request.
    churner = set(campaigns["campaign-c"]["members"])
    churner_events = [r for r in records if r["account_id"] in churner]
    once = sum(uses_of_address[r["source_ip"]] == 1 for r in churner_events)
    assert once / len(churner_events) > 0.6

    # Reasoning asked for in the campaigns' own words, not only with fixed phrases.
    members = {m for c in campaigns.values() for m in c["members"]}
    campaign_texts = [
        json.dumps(r["messages"], ensure_ascii=False) for r in records if r["account_id"] in members
    ]
    paraphrased = sum(any(f in text for f in EXPLAIN_FRAGMENTS) for text in campaign_texts)
    assert paraphrased / len(campaign_texts) > 0.02

    # The reseller's harvesting tenant runs agent loops: tools and turns that carry on.
    tenant = set(campaigns["campaign-d"]["end_users"])
    tenant_events = [r for r in records if r.get("end_user_id") in tenant]
    with_tools = [r for r in tenant_events if r.get("tools")]
    assert len(with_tools) / len(tenant_events) > 0.3
    assert any(any(m["role"] == "assistant" for m in r["messages"]) for r in with_tools)


def test_evasive_campaigns_are_found_and_kept_together(
    evasive_export: Path, evasive_case: Path
) -> None:
    accounts = pl.read_parquet(evasive_case / "accounts.parquet")
    result = evaluate(accounts, load_truth(evasive_export / "truth")).to_dict()
    assert result["accounts"]["precision"] >= 0.95
    assert result["accounts"]["recall"] >= 0.9
    for campaign in result["campaigns"]:
        assert campaign["recall"] >= 0.8, campaign["id"]
        if campaign["id"] != "campaign-d":  # the tenant lives inside reseller accounts
            largest = max(piece["members"] for piece in campaign["reported"])
            assert largest / campaign["members"] >= 0.5, campaign["id"]
    assert result["mixed"]["mixed_recall"] == 1.0
    assert result["mixed"]["end_user_recall"] >= 0.6
    assert result["mixed"]["end_user_precision"] >= 0.9


def test_no_benign_account_of_the_evasive_export_is_high(
    evasive_export: Path, evasive_case: Path
) -> None:
    truth = pl.read_csv(evasive_export / "truth" / "accounts.csv", infer_schema_length=0)
    benign = truth.filter(pl.col("label") == "benign")["account_id"].to_list()
    accounts = pl.read_parquet(evasive_case / "accounts.parquet")
    serious = accounts.filter(
        pl.col("account_id").is_in(benign) & pl.col("severity").is_in(["high", "critical"])
    )
    assert serious.is_empty(), serious.select("account_id", "severity", "score")
