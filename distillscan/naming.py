"""Campaigns described: what they target, when they ran, their release pivots, and a name.

The name says what a campaign harvests, from the capabilities its members' prompts show most
(pooled over its members' events). Names are distinct within an investigation: when two
campaigns would read the same, each name adds what tells them apart (its size and its first
day), so a reader never has to compare ids to know which is which.
"""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl

from distillscan.detect import features

#: Capabilities that make a harvest "agentic" in its name.
AGENTIC = ("tool_use", "agentic_planning", "computer_use", "vision")


def describe_campaigns(
    con: duckdb.DuckDBPyConnection, groups: pl.DataFrame, accounts: pl.DataFrame
) -> pl.DataFrame:
    """Add what each campaign targets, when it ran, its pivots and a descriptive name."""
    schema = pl.Schema(
        {
            "campaign_id": pl.String(),
            "name": pl.String(),
            "severity": pl.String(),
            "score": pl.Float64(),
            "n_accounts": pl.Int64(),
            "n_events": pl.Int64(),
            "first_seen": pl.Datetime("us"),
            "last_seen": pl.Datetime("us"),
            "capabilities": pl.List(pl.String()),
            "release_pivot": pl.String(),
            "members": pl.List(pl.String()),
            "link_kinds": pl.List(pl.String()),
            "content": pl.Float64(),
            "operations": pl.Float64(),
            "coordination": pl.Float64(),
        }
    )
    if groups.is_empty():
        return pl.DataFrame(schema=schema)
    membership = (
        groups.select("campaign_id", "members").explode("members").rename({"members": "account_id"})
    )
    con.register("membership", membership.to_arrow())
    shares = ", ".join(
        f"avg(((capability_mask >> {i}) & 1)::DOUBLE) AS {name}"
        for i, name in enumerate(features.ALL_CAPABILITIES)
    )
    pooled = con.sql(
        f"""SELECT campaign_id, min(ts) AS first_seen, max(ts) AS last_seen, {shares}
            FROM event_features JOIN membership USING (account_id)
            GROUP BY campaign_id ORDER BY campaign_id"""
    ).pl()
    con.unregister("membership")
    capability_lists = pooled.select(
        "campaign_id",
        pl.concat_list(
            [
                pl.when(pl.col(c) >= 0.05).then(
                    pl.struct(pl.lit(c).alias("name"), pl.col(c).alias("share"))
                )
                for c in features.ALL_CAPABILITIES
            ]
        )
        .list.drop_nulls()
        .list.eval(
            pl.element()
            .sort_by(pl.element().struct.field("share"), descending=True)
            .struct.field("name")
        )
        .alias("capabilities"),
        "first_seen",
        "last_seen",
    )
    pivots = _campaign_pivots(membership, accounts)
    described = (
        groups.join(capability_lists, on="campaign_id", how="left")
        .join(pivots, on="campaign_id", how="left")
        .with_columns(
            pl.struct("capabilities", "content")
            .map_elements(_name, return_dtype=pl.String)
            .alias("name")
        )
    )
    return distinct_names(described.select(list(schema)).cast(schema)).sort(
        "score", "campaign_id", descending=[True, False]
    )


def distinct_names(campaigns: pl.DataFrame) -> pl.DataFrame:
    """Names that read the same get what tells them apart: size and first day, then the id.

    Needs ``campaign_id``, ``name``, ``n_accounts`` and ``first_seen``.
    """
    shared = pl.col("name").count().over("name") > 1
    detailed = campaigns.with_columns(
        pl.when(shared)
        .then(
            pl.format(
                "{}, {} accounts from {}",
                "name",
                "n_accounts",
                pl.col("first_seen").dt.strftime("%Y-%m-%d"),
            )
        )
        .otherwise(pl.col("name"))
        .alias("name")
    )
    still_shared = pl.col("name").count().over("name") > 1
    return detailed.with_columns(
        pl.when(still_shared)
        .then(pl.format("{} ({})", "name", "campaign_id"))
        .otherwise(pl.col("name"))
        .alias("name")
    )


def _campaign_pivots(membership: pl.DataFrame, accounts: pl.DataFrame) -> pl.DataFrame:
    if "pivot_signal" not in accounts.columns or "pivot_model" not in accounts.columns:
        return pl.DataFrame(schema={"campaign_id": pl.String, "release_pivot": pl.String})
    return (
        membership.join(
            accounts.select("account_id", "pivot_model", "pivot_share", "pivot_signal"),
            on="account_id",
        )
        .filter(pl.col("pivot_signal") > 0.3)
        .group_by("campaign_id", "pivot_model")
        .agg(pl.len().alias("n"), pl.col("pivot_share").sort().mean().alias("share"))
        .sort("n", "pivot_model", descending=[True, False])
        .group_by("campaign_id", maintain_order=True)
        .first()
        .select(
            "campaign_id",
            pl.format(
                "{} account(s) moved {}% of their traffic to {} within 24 h",
                "n",
                (pl.col("share") * 100).round(0).cast(pl.Int64),
                "pivot_model",
            ).alias("release_pivot"),
        )
    )


def _name(row: dict[str, Any]) -> str:
    """A descriptive campaign name from what it targets."""
    capabilities: list[str] = row["capabilities"] or []
    if not capabilities:
        # Nothing was read from prompts (a metadata-only export): say so, guess no target.
        return "Suspected harvest, named from metadata (no prompt text logged)"
    top = capabilities[:3]
    if "coding" in top and any(c in top for c in ("agentic_planning", "tool_use")):
        kind = "Agentic coding and orchestration harvest"
    elif any(c in top for c in AGENTIC):
        kind = "Agentic, tool-use and vision harvest"
    else:
        kind = "Chain-of-thought reasoning harvest"
    shown = ", ".join(c.replace("_", " ") for c in top) or "unclassified prompts"
    return f"{kind} ({shown})"
