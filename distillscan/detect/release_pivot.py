"""Release pivot: traffic that moves to a new model within hours of its first appearance.

A model is *new* when it first appears in the logs at least ``min_age_hours`` after the logs
begin (a model present from the start has no visible release). For each new model the pass
takes the ``window_hours`` after its first appearance and measures, per account active then,
the share of the account's traffic that went to the new model, against the same share for all
traffic in that window (the population's adoption curve). The signal is the excess over the
population, for accounts that were already active before the release (they *moved*) and whose
later traffic stayed on the new model (a pivot holds; a one-day trial does not).

Why it indicates distillation: the reported campaigns pivoted to each new model version within
24 hours; one moved nearly half its traffic in that time, far faster than organic adoption.

The move must also be spread over the release window: the account's traffic in it falls in at
least ``min_window_hours`` distinct hours (full weight from twice that). A harvest runs through
the day and moves as a whole; an evaluation run is one burst.

Known false positives: evaluation teams benchmark a new model on its first day (a burst that
does not hold, which the persistence check discounts, and which sits in an hour or two, which
the spread check discounts; a team that benchmarks all day and keeps using the new model still
fires); integrations that follow a "latest" alias move all at once and stay. The pivot is one
signal among several.

Cost: one aggregation of events by model, one by (account, model) inside the release windows;
linear in events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from distillscan.detect.base import Context, Pass, PassOutput, Pooled, Signal, percent, ramp, who

SQL = """
WITH bounds AS (SELECT min(ts) AS logs_start FROM events),
releases AS (
    SELECT model, min(ts) AS released FROM events WHERE model IS NOT NULL GROUP BY model
),
new_models AS (
    SELECT r.* FROM releases r, bounds b
    WHERE r.released >= b.logs_start + to_hours($min_age_hours)
),
in_window AS (
    SELECT e.account_id, m.model AS new_model, m.released, (e.model = m.model) AS on_new,
        date_trunc('hour', e.ts) AS hour
    FROM events e JOIN new_models m
        ON e.ts >= m.released AND e.ts < m.released + to_hours($window_hours)
),
before AS (
    SELECT e.account_id, m.model AS new_model, count(*) AS n_before
    FROM events e JOIN new_models m
        ON e.ts < m.released AND e.ts >= m.released - to_hours($lookback_hours)
    GROUP BY ALL
),
after AS (
    -- Where the account's traffic went after the release day: a pivot holds.
    SELECT e.account_id, m.model AS new_model, avg((e.model = m.model)::DOUBLE) AS after_share
    FROM events e JOIN new_models m ON e.ts >= m.released + to_hours($window_hours)
    GROUP BY ALL
),
population AS (
    SELECT new_model, avg(on_new::DOUBLE) AS population_share FROM in_window GROUP BY new_model
)
SELECT w.account_id, w.new_model, any_value(w.released) AS released,
    count(*) AS n_window, count(DISTINCT w.hour) AS n_window_hours,
    avg(w.on_new::DOUBLE) AS new_model_share,
    any_value(p.population_share) AS population_share,
    coalesce(any_value(b.n_before), 0) AS n_before,
    -- No traffic after the release day (a churned account, or logs that end): nothing refutes
    -- the move.
    coalesce(any_value(a.after_share), 1.0) AS after_share
FROM in_window w
JOIN population p USING (new_model)
LEFT JOIN before b USING (account_id, new_model)
LEFT JOIN after a USING (account_id, new_model)
GROUP BY w.account_id, w.new_model
"""


@dataclass(frozen=True)
class Params:
    """The ``[passes.release_pivot]`` settings (defaults, meanings: default_config.toml)."""

    min_age_hours: int
    window_hours: int
    lookback_hours: int
    min_excess: float
    full_excess: float
    min_window_events: int
    min_window_hours: int
    min_before_events: int
    min_persist_share: float
    full_persist_share: float


def run(ctx: Context[Params]) -> PassOutput:
    """Compute per-account pivot shares for each new model and the ``pivot_signal``."""
    p = ctx.params
    frame = ctx.frame(
        SQL,
        min_age_hours=p.min_age_hours,
        window_hours=p.window_hours,
        lookback_hours=p.lookback_hours,
    )
    notes: tuple[str, ...] = ()
    if frame.is_empty():
        notes = ("no model first appeared inside the window: nothing to pivot to",)
        return PassOutput(signals=pl.DataFrame(schema={"account_id": pl.String}), notes=notes)
    scored = frame.with_columns(
        (
            ramp(
                pl.col("new_model_share") - pl.col("population_share"),
                p.min_excess,
                p.full_excess,
            )
            * ramp(
                pl.col("n_window").cast(pl.Float64),
                p.min_window_events,
                p.min_window_events * 3,
            )
            # A move runs over hours; one benchmark burst on release day is a trial.
            * ramp(
                pl.col("n_window_hours").cast(pl.Float64),
                p.min_window_hours,
                p.min_window_hours * 2,
            )
            * (pl.col("n_before") >= p.min_before_events).cast(pl.Float64)
            # No traffic after the window (the logs end): the pivot cannot be checked, keep it.
            * ramp(
                pl.col("after_share").fill_null(1.0),
                p.min_persist_share,
                p.full_persist_share,
            )
        ).alias("pivot_signal")
    )
    best = (
        scored.sort("pivot_signal", "new_model", descending=[True, False])
        .group_by("account_id", maintain_order=True)
        .first()
        .select(
            "account_id",
            pl.col("new_model").alias("pivot_model"),
            pl.col("new_model_share").alias("pivot_share"),
            "population_share",
            "pivot_signal",
        )
    )
    models = frame.select("new_model", "released").unique().sort("released", "new_model")
    notes = tuple(f"new model {m} first seen {r:%Y-%m-%d %H:%M} UTC" for m, r in models.iter_rows())
    return PassOutput(signals=best.sort("account_id"), notes=notes)


#: An account counts as pivoting in a group's figures at this signal.
PIVOTING = 0.3


def pool(frame: pl.DataFrame) -> dict[str, Any]:
    """The model most pivoting accounts moved to, and their mean shares."""
    if "pivot_model" not in frame.columns or "pivot_signal" not in frame.columns:
        return {"pivot_model": None, "pivot_share": 0.0, "population_share": 0.0}
    pivoting = frame.filter(pl.col("pivot_signal").fill_null(0.0) > PIVOTING)
    if pivoting.is_empty():
        return {"pivot_model": None, "pivot_share": 0.0, "population_share": 0.0}
    model = (
        pivoting.group_by("pivot_model")
        .len()
        .sort("len", "pivot_model", descending=[True, False])["pivot_model"][0]
    )
    means = pivoting.select(
        # Sorted before averaging: a float sum's bits depend on the order of its terms.
        pl.col("pivot_share").cast(pl.Float64).fill_null(0.0).sort().mean(),
        pl.col("population_share").cast(pl.Float64).fill_null(0.0).sort().mean(),
    ).row(0)
    return {"pivot_model": model, "pivot_share": means[0], "population_share": means[1]}


def describe(pooled: Pooled) -> str:
    """How many accounts moved how much of their traffic to a new model, against everyone."""
    f = pooled.figures
    if f["pivot_model"] is None:
        return "no move to a newly released model"
    return (
        f"{who(int(f['n_pivot']), int(f['n_accounts']), 'move')} {percent(f['pivot_share'])} "
        "of traffic to a newly released model within 24 h "
        f"(all traffic: {percent(f['population_share'])})"
    )


PIVOT = Signal(
    id="pivot",
    family="operations",
    label="release pivot",
    describe=describe,
    figures=("pivot_model", "pivot_share", "population_share"),
    pool=pool,
    subject="pivot_model",
)

PASS = Pass(
    id="release_pivot",
    title="Release pivot",
    requires=("model",),
    run=run,
    params=Params,
    doc=__doc__ or "",
    signals=(PIVOT,),
)
