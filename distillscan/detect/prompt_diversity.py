"""Prompt diversity and depth: broad, shallow and single-shot, or narrow and conversational.

Measures, per account with prompt text: the share of its requests in each capability (coding,
math, reasoning, tool use, agentic planning, vision, computer use, safety-sensitive, creative,
writing, translation, knowledge, data analysis; see ``data/capabilities.toml``), how many
capabilities it covers and how evenly (normalised entropy), the single-shot share (requests that
do not continue a conversation), and how templated it is (the share of its most used prompt
skeleton, and the distinct-prompt share).

Why it indicates distillation: a harvest wants coverage of the model's capabilities, each prompt
a fresh single-shot question, rarely following up on an answer. A real product is narrow (one
app, one task) and a real person is conversational.

Known false positives: evaluation teams run broad benchmark suites single-shot; general-purpose
resellers aggregate many narrow users into one broad account (the mixed-accounts pass looks
inside those). Breadth alone is never enough; it is weighted with elicitation and coordination.

Cost: one aggregation of ``event_features`` by account; linear in events.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from distillscan.detect import features
from distillscan.detect.base import (
    Context,
    Pass,
    PassOutput,
    Pooled,
    Signal,
    ordered_sum,
    percent,
    ramp,
)


@dataclass(frozen=True)
class Params:
    """The ``[passes.prompt_diversity]`` settings (defaults, meanings: default_config.toml)."""

    min_capability_share: float
    narrow_capabilities: int
    broad_capabilities: int
    conversational_share: float
    min_events: int


def _sql() -> str:
    shares = ",\n        ".join(
        f"avg(((capability_mask >> {i}) & 1)::DOUBLE) AS cap_{name}"
        for i, name in enumerate(features.ALL_CAPABILITIES)
    )
    return f"""
    WITH text_events AS (
        SELECT * FROM event_features WHERE has_text
    )
    SELECT account_id,
        count(*) AS n_text_events,
        avg(single_shot::DOUBLE) AS single_shot_share,
        count(DISTINCT prompt_key) / count(*) AS distinct_prompt_share,
        {shares}
    FROM text_events
    GROUP BY account_id
    """


def run(ctx: Context[Params]) -> PassOutput:
    """Compute capability shares, breadth and the ``breadth_signal``."""
    p = ctx.params
    frame = ctx.frame(_sql())
    skeletons = ctx.frame(
        """SELECT account_id, max(n) AS top_skeleton_events
           FROM (SELECT account_id, head_key, count(*) AS n
                 FROM event_features WHERE has_text GROUP BY ALL)
           GROUP BY account_id"""
    )
    caps = [f"cap_{name}" for name in features.ALL_CAPABILITIES]
    total = ordered_sum([pl.col(c) for c in caps])
    entropy = -ordered_sum(
        [
            pl.when(pl.col(c) > 0)
            .then((pl.col(c) / total) * (pl.col(c) / total).log())
            .otherwise(0.0)
            for c in caps
        ]
    ) / math.log(len(caps))
    signals = (
        frame.join(skeletons, on="account_id", how="left")
        .with_columns(
            pl.sum_horizontal(
                [(pl.col(c) >= p.min_capability_share).cast(pl.Int32) for c in caps]
            ).alias("n_capabilities"),
            pl.when(total > 0).then(entropy).otherwise(0.0).alias("capability_entropy"),
            (pl.col("top_skeleton_events") / pl.col("n_text_events")).alias("top_skeleton_share"),
        )
        .with_columns(
            (
                ramp(
                    pl.col("n_capabilities").cast(pl.Float64),
                    p.narrow_capabilities,
                    p.broad_capabilities,
                )
                * ramp(pl.col("capability_entropy"), 0.25, 0.6)
                * ramp(pl.col("single_shot_share"), p.conversational_share, 0.95)
                * ramp(pl.col("n_text_events").cast(pl.Float64), p.min_events, p.min_events * 2)
            ).alias("breadth_signal")
        )
    )
    return PassOutput(signals=signals.sort("account_id"))


def describe(pooled: Pooled) -> str:
    """How many capabilities the prompts cover, how evenly, and how rarely they follow up."""
    f = pooled.figures
    return (
        f"prompts cover {int(f['n_capabilities'])} of {len(features.ALL_CAPABILITIES)} "
        f"capabilities (evenness {f['capability_entropy']:.2f}); "
        f"{percent(f['single_shot_share'])} single-shot, rarely following up an answer"
    )


BREADTH = Signal(
    id="breadth",
    family="content",
    label="broad, single-shot prompting",
    describe=describe,
    shares=("single_shot_share", "capability_entropy"),
    maxima=("n_capabilities",),
    figures=("distinct_prompt_share", "top_skeleton_share"),
)

PASS = Pass(
    id="prompt_diversity",
    title="Prompt diversity and depth",
    requires=("prompt",),
    run=run,
    params=Params,
    doc=__doc__ or "",
    signals=(BREADTH,),
)
