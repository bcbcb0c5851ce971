"""Cross-account synchronization: accounts that start, stop and pause together.

Activity is cut into bins (15 minutes by default), each account's active bins kept as one bit
string. For a candidate pair of accounts the pass measures the Jaccard overlap of their active
bins (a bit count) and corrects it for chance: two accounts that
are on all the time overlap completely without being coordinated, so the score is how far the
observed overlap exceeds what two independent accounts with the same activity rates would show,
``(J - E[J]) / (1 - E[J])``.

Candidate pairs come from blocking, never from all pairs: accounts that share a template
fingerprint, a network prefix, or that start their day within the same few minutes. Inside each
block accounts are paired with their next ``fanout`` neighbours in a fixed order, so the number
of pairs is linear in accounts whatever the block size (a block of thousands is still connected
through the chain of neighbours).

Why it indicates distillation: the reported campaigns ran synchronized traffic across accounts,
load-balanced to stay under rate limits: one operator's scheduler starts and stops them all.

Known false positives: accounts of one organisation driven by one scheduler (a nightly batch run
split across keys); accounts behind the same business-hours office. Synchronization links
accounts; the behaviour of the group decides whether it is a campaign.

Cost: one aggregation of events by account into bit strings, candidate generation linear in
accounts and blocks, and one bit operation per candidate pair (pairs are linear in accounts).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from distillscan.db import has_table
from distillscan.detect.base import Context, Pass, PassOutput, Pooled, Signal, neighbour_pairs_sql

SPAN_SQL = """
SELECT epoch(time_bucket(to_minutes($bin_minutes), min(ts)))::BIGINT AS first_bin_s,
    (epoch(max(ts)) - epoch(time_bucket(to_minutes($bin_minutes), min(ts))))::BIGINT
        // ($bin_minutes * 60) + 1 AS n_bins
FROM events
"""

SQL = """
CREATE OR REPLACE TEMP TABLE activity AS
-- Each account's active bins as one bit string: pair overlaps become bit operations.
WITH binned AS (
    SELECT account_id, (epoch(ts)::BIGINT - $first_bin_s) // ($bin_minutes * 60) AS bin
    FROM events
)
SELECT account_id, any_value(o.account_no) AS account_no,
    bitstring_agg(bin, 0, $last_bin) AS bins, count(DISTINCT bin) AS active_bins
FROM binned JOIN account_org AS o USING (account_id) GROUP BY account_id;

CREATE OR REPLACE TEMP TABLE blocks AS
WITH starts AS (
    -- When each account starts its day, to the nearest few minutes.
    SELECT account_id,
        'start:' || time_bucket(to_minutes($start_minutes), min(ts))::VARCHAR AS block
    FROM events GROUP BY account_id, ts::DATE
),
template_blocks AS (
    SELECT DISTINCT account_id, 'template:' || key::VARCHAR AS block
    FROM template_uses WHERE kind = 'skeleton'
),
network_blocks AS (
    SELECT DISTINCT account_id,
        'net:' || regexp_extract(source_ip, '^(\\d+\\.\\d+\\.\\d+)\\.', 1) AS block
    FROM events WHERE source_ip LIKE '%.%.%.%'
)
SELECT b.* FROM (
    SELECT * FROM starts
    UNION SELECT * FROM template_blocks
    UNION SELECT * FROM network_blocks
) AS b
-- Accounts with too few active bins cannot show synchronization: leave them out early.
JOIN activity USING (account_id)
WHERE activity.active_bins >= $min_active_bins;

CREATE OR REPLACE TEMP TABLE sync_candidates AS
WITH {neighbours}
SELECT DISTINCT account_a, account_b FROM neighbours;
""".format(neighbours=neighbour_pairs_sql("blocks", "block"))

PAIR_SQL = """
WITH scored AS (
    SELECT c.account_a, c.account_b,
        bit_count(x.bins & y.bins) AS shared_bins,
        x.active_bins AS bins_a, y.active_bins AS bins_b,
        x.active_bins / $n_bins AS rate_a, y.active_bins / $n_bins AS rate_b
    FROM sync_candidates c
    JOIN activity x ON x.account_no = c.account_a
    JOIN activity y ON y.account_no = c.account_b
),
chance AS (
    SELECT *,
        shared_bins / (bins_a + bins_b - shared_bins) AS jaccard,
        rate_a * rate_b / (rate_a + rate_b - rate_a * rate_b) AS expected_jaccard
    FROM scored
),
corrected AS (
    SELECT *,
        greatest(0.0, least(1.0,
            (jaccard - expected_jaccard) / greatest(1.0 - expected_jaccard, 1e-9))) AS sync_score
    FROM chance
)
-- Only pairs strong enough to link leave DuckDB: the candidates run to tens of millions.
SELECT x.account_id AS account_a, y.account_id AS account_b,
    c.shared_bins, c.bins_a, c.bins_b, c.sync_score
FROM corrected c
JOIN activity x ON x.account_no = c.account_a
JOIN activity y ON y.account_no = c.account_b
WHERE c.sync_score >= $min_sync_score
"""


@dataclass(frozen=True)
class Params:
    """The ``[passes.synchronization]`` settings (defaults, meanings: default_config.toml)."""

    bin_minutes: int
    start_window_minutes: int
    fanout: int
    min_active_bins: int
    min_sync_score: float


def run(ctx: Context[Params]) -> PassOutput:
    """Score candidate pairs for synchronized activity; return sync links and per-account peaks."""
    p = ctx.params
    if not has_table(ctx.con, "template_uses"):
        ctx.con.execute(
            "CREATE TEMP TABLE template_uses (account_id VARCHAR, key UBIGINT, kind VARCHAR)"
        )
    span = ctx.frame(SPAN_SQL, bin_minutes=p.bin_minutes).row(0, named=True)
    if span["n_bins"] is None:
        return PassOutput(signals=pl.DataFrame(schema={"account_id": pl.String}))
    ctx.execute(
        SQL,
        bin_minutes=p.bin_minutes,
        first_bin_s=span["first_bin_s"],
        last_bin=span["n_bins"] - 1,
        start_minutes=p.start_window_minutes,
        fanout=p.fanout,
        min_active_bins=p.min_active_bins,
    )
    strong = ctx.frame(PAIR_SQL, n_bins=span["n_bins"], min_sync_score=p.min_sync_score)
    edges = strong.select(
        "account_a",
        "account_b",
        pl.lit("sync").alias("kind"),
        pl.col("sync_score").alias("weight"),
        pl.format(
            "active together in {} of {}/{} bins (chance-corrected overlap {})",
            "shared_bins",
            "bins_a",
            "bins_b",
            pl.col("sync_score").round(2),
        ).alias("detail"),
    ).sort("account_a", "account_b")
    both = pl.concat(
        [
            strong.select(pl.col("account_a").alias("account_id"), "sync_score"),
            strong.select(pl.col("account_b").alias("account_id"), "sync_score"),
        ]
    )
    signals = both.group_by("account_id").agg(
        pl.col("sync_score").max().alias("sync_signal"),
        pl.len().alias("sync_partners"),
    )
    candidates = ctx.con.execute("SELECT count(*) FROM sync_candidates").fetchall()[0][0]
    ctx.drop("sync_candidates", "blocks", "activity")
    note = f"{candidates} candidate pairs scored (blocking, no all-pairs)"
    return PassOutput(signals=signals.sort("account_id"), edges=edges, notes=(note,))


def describe(pooled: Pooled) -> str:
    """How many accounts keep step with how many others."""
    f = pooled.figures
    n = int(f["n_accounts"])
    if not f["sync_partners"]:
        return "no account active in step with it beyond chance"
    return (
        (
            "starts, pauses and stops"
            if n == 1
            else f"{int(f['n_sync'])} of {n} accounts start, pause and stop"
        )
        + " in the same 15-minute bins "
        f"as up to {int(f['sync_partners'])} other account(s), beyond chance"
    )


SYNC = Signal(
    id="sync",
    family="operations",
    label="synchronized with other accounts",
    describe=describe,
    maxima=("sync_partners",),
)

PASS = Pass(
    id="synchronization",
    title="Cross-account synchronization",
    requires=("ts",),
    run=run,
    params=Params,
    doc=__doc__ or "",
    signals=(SYNC,),
)
