"""Output shape: long answers to short questions, read from token counts alone.

Measures, per account: ``answer_ratio``, the median over its requests of completion tokens per
prompt token; ``population_answer_ratio``, the median of that figure over the accounts of the
same logs (with at least ``min_events`` requests); and ``output_shape_signal``, which ramps in
as the account's ratio reaches ``ratio_from`` to ``ratio_full`` times the population's, trusted
as its requests grow.

Why it indicates distillation: a reasoning-trace harvest asks short questions and keeps long
derivations: the trace is the product, so its answers run many times longer than its prompts,
far beyond what the same model gives everyone else in the same logs. Token counts are in every
export, metadata-only ones included, so this is the content evidence left when no prompt text
is logged. The ratio is compared with the population of the same logs, not with a fixed length:
models, languages and products differ in how long answers run.

Known false positives: creative writing (a two-line request for a long story), report
generation, translation of short inputs into long ones. Each is one account's product, narrow in
what it asks and ordinary in how it runs; the score needs operations too. Agent loops are the
opposite shape (long context, short steps) and score nothing here.

Cost: one aggregation of ``events`` by account; linear in events.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from distillscan.detect.base import Context, Pass, PassOutput, Pooled, Signal, ramp

SQL = """
SELECT account_id,
    count(*) AS n_token_events,
    -- A discrete median: an observed ratio, the same value on every run.
    quantile_disc(completion_tokens / prompt_tokens, 0.5) AS answer_ratio
FROM events
WHERE prompt_tokens > 0 AND completion_tokens IS NOT NULL
GROUP BY account_id
"""


@dataclass(frozen=True)
class Params:
    """The ``[passes.output_shape]`` settings (defaults, meanings: default_config.toml)."""

    min_events: int
    ratio_from: float
    ratio_full: float


def run(ctx: Context[Params]) -> PassOutput:
    """Compute answer-to-question ratios against the population's and ``output_shape_signal``."""
    p = ctx.params
    frame = ctx.frame(SQL)
    trusted = frame.filter(pl.col("n_token_events") >= p.min_events)
    median = trusted.select(pl.col("answer_ratio").median()).item() if trusted.height else None
    if not median:
        return PassOutput(
            signals=pl.DataFrame(schema={"account_id": pl.String}),
            notes=("too few requests with token counts to know the usual answer length",),
        )
    population = float(median)
    signals = frame.with_columns(
        pl.lit(population).alias("population_answer_ratio"),
        (
            ramp(
                (pl.col("answer_ratio") / population).log(2),
                math.log2(p.ratio_from),
                math.log2(p.ratio_full),
            )
            * ramp(pl.col("n_token_events").cast(pl.Float64), p.min_events, p.min_events * 2)
        ).alias("output_shape_signal"),
    ).drop("n_token_events")
    notes = (
        f"usual answer length of the logs: {population:.2f} completion tokens per prompt token",
    )
    return PassOutput(signals=signals.sort("account_id"), notes=notes)


def describe(pooled: Pooled) -> str:
    """The answer-to-question ratio against the logs' usual one."""
    f = pooled.figures
    population = float(f["population_answer_ratio"] or 0.0)
    if not population:
        return "no token counts to compare"
    return (
        f"answers run {f['answer_ratio']:.1f} completion tokens per prompt token "
        f"(the logs' usual: {population:.1f})"
    )


OUTPUT_SHAPE = Signal(
    id="output_shape",
    family="content",
    label="long answers to short questions",
    describe=describe,
    shares=("answer_ratio", "population_answer_ratio"),
)

PASS = Pass(
    id="output_shape",
    title="Output shape",
    requires=("completion_tokens",),
    run=run,
    params=Params,
    doc=__doc__ or "",
    signals=(OUTPUT_SHAPE,),
)
