"""Context loops: agent loops read from token counts, for logs that carry no prompt text.

Measures, per account (and end user, where the logs name one):

* ``continuation_share``: requests that continue the one before from the same account and end
  user: sent within ``session_gap_s`` of it, with a prompt that grew by at least
  ``growth_share`` of the previous answer. The previous answer is now part of the context: a
  conversation's next turn or an agent loop's next step. A request sent before the previous
  answer could have been written (its completion tokens at ``max_tokens_per_second``) does not
  continue it: it ran in parallel, as an evaluation harness's batch does, and a longer prompt
  after a shorter one is then chance;
* ``continuation_seconds``: the median gap before a continuation; ``loop_pace_ratio`` divides it
  by the logs' think time, the upper quartile of the same figure over the accounts with at least
  one continuation;
* ``context_loop_signal``: many continuations (ramped on ``continuation_share``) × machine pace
  (how far below the logs' think time), trusted as the account's continuations grow.

Why it indicates distillation: the largest reported campaigns harvested agentic coding and tool
use. An agent loop appends each answer and tool result to its context and sends the next step as
soon as the tool returns; a person reads the answer and types. Prompt and completion token
counts are in every export, metadata-only ones included (new-api, gateway billing logs), so
this is what remains of :mod:`.agentic_harvest` when no text is logged. The pace is compared
with the same logs' people, not with a fixed number of seconds, so it holds whatever the
model's latency.

Why the upper quartile: people send few requests and a loop many, so the accounts with enough
continuations to judge are far richer in loops than the logs are (in development traffic,
campaign accounts were half of those with three or more). Their median would sit inside a
large campaign and measure it against itself; the upper quartile stays among people while loop
accounts are under three quarters of the accounts with any continuation.

Known false positives: an agent product or coding assistant behind one account (loops at
machine pace by design) and an evaluation harness replaying multi-turn transcripts. One
account's steady operations do not look like a campaign's; the score needs operations too, and
with prompt text the weight is low because :mod:`.agentic_harvest` then reads what the loops
work on. Interleaved users of one account without end-user ids shorten its gaps: a reseller or
product whose users take turns quickly can read faster than its people are.

Cost: one window over ``events`` by (account, end user) ordered by time, and one aggregation by
account; n log n in events.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from distillscan.detect.base import Context, Pass, PassOutput, Pooled, Signal, percent, ramp

SQL = """
WITH numbered AS (
    SELECT a.account_no, e.account_id, e.end_user_id, e.ts, e.prompt_tokens, e.completion_tokens
    FROM events AS e JOIN account_org AS a USING (account_id)
    WHERE e.ts IS NOT NULL AND e.prompt_tokens > 0 AND e.completion_tokens IS NOT NULL
),
stepped AS (
    SELECT account_no, account_id, prompt_tokens,
        epoch_ms(ts) - lag(epoch_ms(ts)) OVER turn AS gap_ms,
        lag(prompt_tokens) OVER turn AS previous_prompt,
        lag(completion_tokens) OVER turn AS previous_completion
    FROM numbered
    -- Ties in ts are ordered by token counts: the same pairs on every run.
    WINDOW turn AS (PARTITION BY account_no, end_user_id
                    ORDER BY ts, prompt_tokens, completion_tokens)
),
continued AS (
    SELECT account_no, account_id,
        coalesce(gap_ms < $session_gap_s * 1000
                 AND gap_ms >= previous_completion * 1000 / $max_tokens_per_second
                 AND prompt_tokens >= previous_prompt + $growth_share * previous_completion,
                 false) AS continues,
        gap_ms
    FROM stepped
)
SELECT any_value(account_id) AS account_id,
    count(*) FILTER (WHERE continues) AS n_continuations,
    avg(continues::DOUBLE) AS continuation_share,
    -- A discrete median of whole milliseconds: the same value on every run.
    quantile_disc(gap_ms, 0.5) FILTER (WHERE continues) / 1000.0 AS continuation_seconds
FROM continued
GROUP BY account_no
"""


@dataclass(frozen=True)
class Params:
    """The ``[passes.context_loops]`` settings (defaults, meanings: default_config.toml)."""

    session_gap_s: int
    growth_share: float
    max_tokens_per_second: int
    share_from: float
    share_full: float
    min_continuations: int
    pace_from: float
    pace_full: float


def run(ctx: Context[Params]) -> PassOutput:
    """Compute continuation shares and pace against the logs' think time, and the signal."""
    p = ctx.params
    frame = ctx.frame(
        SQL,
        session_gap_s=p.session_gap_s,
        growth_share=p.growth_share,
        max_tokens_per_second=p.max_tokens_per_second,
    )
    judged = frame.filter(pl.col("n_continuations") > 0)
    think_time = judged.select(pl.col("continuation_seconds").quantile(0.75, "lower")).item()
    if not think_time:
        return PassOutput(
            signals=pl.DataFrame(schema={"account_id": pl.String}),
            notes=("no continued conversations to learn the logs' think time from",),
        )
    baseline = float(think_time)
    signals = frame.with_columns(
        pl.lit(baseline).alias("population_continuation_seconds"),
        (pl.col("continuation_seconds") / baseline).alias("loop_pace_ratio"),
    ).with_columns(
        (
            ramp(pl.col("continuation_share"), p.share_from, p.share_full)
            * ramp(1.0 - pl.col("loop_pace_ratio").fill_null(1.0), p.pace_from, p.pace_full)
            * ramp(
                pl.col("n_continuations").cast(pl.Float64),
                p.min_continuations,
                p.min_continuations * 2,
            )
        ).alias("context_loop_signal")
    )
    notes = (f"think time of the logs (continued conversations): {baseline:.1f} s",)
    return PassOutput(signals=signals.sort("account_id"), notes=notes)


def describe(pooled: Pooled) -> str:
    """Share of requests continuing a growing context, and their pace against the logs'."""
    f = pooled.figures
    text = f"{percent(f['continuation_share'])} of requests continue a growing context"
    if f["loop_pace_ratio"]:
        text += (
            f", sent at {percent(f['loop_pace_ratio'])} of the logs' usual think time "
            f"({float(f['population_continuation_seconds'] or 0.0):.0f} s)"
        )
    return text


CONTEXT_LOOP = Signal(
    id="context_loop",
    family="content",
    label="agent loops in token counts",
    describe=describe,
    shares=("continuation_share", "loop_pace_ratio", "population_continuation_seconds"),
    figures=("continuation_seconds", "n_continuations"),
)

PASS = Pass(
    id="context_loops",
    title="Context loops",
    requires=("completion_tokens", "ts"),
    run=run,
    params=Params,
    doc=__doc__ or "",
    signals=(CONTEXT_LOOP,),
)
