"""Campaign names: what a campaign harvests, and never the same for two campaigns."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from distillscan.naming import distinct_names


def test_names_that_read_the_same_get_what_tells_them_apart() -> None:
    campaigns = pl.DataFrame(
        {
            "campaign_id": ["camp-1", "camp-2", "camp-3", "camp-4"],
            "name": [*["Reasoning harvest (math)"] * 3, "Agentic harvest (tool use)"],
            "n_accounts": [5, 5, 12, 40],
            "first_seen": [
                datetime(2026, 1, 12),
                datetime(2026, 1, 12),
                datetime(2026, 1, 13),
                datetime(2026, 1, 12),
            ],
        }
    )
    names = distinct_names(campaigns)["name"].to_list()
    assert names == [
        "Reasoning harvest (math), 5 accounts from 2026-01-12 (camp-1)",
        "Reasoning harvest (math), 5 accounts from 2026-01-12 (camp-2)",
        "Reasoning harvest (math), 12 accounts from 2026-01-13",
        "Agentic harvest (tool use)",
    ]
    assert len(set(names)) == len(names)
