"""Agentic harvest: agent loops run by a machine across many unrelated tasks.

Measures, per account:

* ``agent_share``: requests that are steps of an agent loop: tools offered or a tool result
  returned, orchestration (plans, subtasks, sub-agents, reviewers) or computer use in the prompt;
* ``follow_up_seconds``: the median time between a follow-up request (one carrying conversation
  history) and the request before it from the same account and end user; ``pace_ratio`` divides
  it by the logs' think time: the median of the same figure over the conversational accounts
  (agent-loop steps below ``agent_share_from``) with enough follow-ups, so that however large a
  campaign is, it does not set the baseline it is measured against. A person reads the answer
  and types the next turn; a loop sends its next step as soon as the tool returns;
* ``task_share`` (distinct prompts per request) and ``task_capabilities`` (capabilities
  carrying at least ``min_capability_share`` of the requests: coding, planning, data analysis,
  writing, ...), read here as how many different and how unrelated the tasks the loops work on
  are. A developer's agent works on one repository's code and plans; a harvest's loops are fed
  tasks from every field;
* ``agentic_signal``: agent loops (ramped on ``agent_share``) × many distinct, unrelated tasks
  × machine turn-taking (how far the account's pace is below the population's), trusted as the
  account's requests grow. An account with no follow-ups at all counts half: its pace is unknown.

Why it indicates distillation: the largest reported campaigns harvested agentic coding, tool use
and orchestration, sending multi-turn agent loops with tool results and no "step by step"
phrasing; the trajectories themselves are the training data. Turn-taking is compared with the
population of the same logs, so the signal holds whatever the model's latency.

Known false positives: a coding-assistant product or an agent platform (agent loops at machine
pace by design). It works on a few products' tasks with repeated context, and one account's
steady operations and infrastructure do not look like a campaign's; the score needs operations
too. A developer testing an agent framework: narrow, in working hours.

The same figures, per end user, judge the tenants inside resellers (:mod:`.mixed_accounts`
reads :func:`figures_sql`, :func:`scored` and the logs' median pace, kept in the temp table
``follow_up_baseline``).

Cost: one window over ``event_features`` by (account, end user) ordered by time, and one
aggregation by account; n log n in events.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from distillscan.detect import features
from distillscan.detect.base import Context, Pass, PassOutput, Pooled, Signal, percent, ramp

AGENT_BITS = (
    features.capability_bit("tool_use")
    | features.capability_bit("agentic_planning")
    | features.capability_bit("computer_use")
)

#: Conversational accounts needed to read the logs' think time from them alone.
MIN_BASELINE_ACCOUNTS = 20
#: The temp table holding the logs' median follow-up pace (seconds), for later passes.
BASELINE_TABLE = "follow_up_baseline"


@dataclass(frozen=True)
class Params:
    """The ``[passes.agentic_harvest]`` settings (defaults, meanings: default_config.toml)."""

    min_events: int
    agent_share_from: float
    agent_share_full: float
    task_share_from: float
    task_share_full: float
    min_capability_share: float
    narrow_capabilities: int
    broad_capabilities: int
    min_follow_ups: int
    pace_from: float
    pace_full: float


def figures_sql(units: str) -> str:
    """SQL: agent-loop figures per unit, ``units`` being ``account`` or ``end_user`` (the
    end users of accounts that pass them on, for :mod:`.mixed_accounts`)."""
    key = "account_no" if units == "account" else "account_no, end_user_id"
    capability_shares = ",\n    ".join(
        f"avg(((capability_mask >> {i}) & 1)::DOUBLE) AS cap_{i}"
        for i in range(len(features.ALL_CAPABILITIES))
    )
    keep = "" if units == "account" else "AND e.end_user_id IS NOT NULL"
    return f"""
WITH numbered AS (
    SELECT a.account_no, e.account_id, e.end_user_id, e.ts, e.single_shot, e.prompt_key,
        e.capability_mask, (e.capability_mask & {AGENT_BITS}) <> 0 AS agent_step
    FROM event_features AS e JOIN account_org AS a USING (account_id)
    WHERE e.has_text {keep}
),
paced AS (
    SELECT *,
        epoch_ms(ts) - lag(epoch_ms(ts)) OVER (
            PARTITION BY account_no, end_user_id ORDER BY ts) AS gap_ms
    FROM numbered
)
SELECT any_value(account_id) AS account_id, any_value(end_user_id) AS end_user_id,
    count(*) AS n_text_events,
    avg(agent_step::DOUBLE) AS agent_share,
    count(DISTINCT prompt_key) / count(*) AS task_share,
    {capability_shares},
    count(gap_ms) FILTER (WHERE NOT single_shot) AS n_follow_ups,
    -- A discrete median of whole milliseconds: the same value on every run.
    quantile_disc(gap_ms, 0.5) FILTER (WHERE NOT single_shot) / 1000.0 AS follow_up_seconds
FROM paced
GROUP BY {key}
"""


def scored(frame: pl.DataFrame, p: Params, baseline: float) -> pl.DataFrame:
    """``frame`` (from :func:`figures_sql`) with ``pace_ratio`` and ``agentic_signal``."""
    pace_known = pl.col("n_follow_ups") >= p.min_follow_ups
    ratio: pl.Expr = pl.lit(None, pl.Float64)
    if baseline > 0:
        ratio = pl.when(pace_known).then(pl.col("follow_up_seconds") / baseline)
    capabilities = [f"cap_{i}" for i in range(len(features.ALL_CAPABILITIES))]
    frame = frame.with_columns(
        ratio.alias("pace_ratio"),
        pl.sum_horizontal(
            [(pl.col(c) >= p.min_capability_share).cast(pl.Int32) for c in capabilities]
        ).alias("task_capabilities"),
    ).drop(capabilities)
    machine_pace = (
        pl.when(pl.col("pace_ratio").is_not_null())
        .then(ramp(1.0 - pl.col("pace_ratio"), p.pace_from, p.pace_full))
        .otherwise(0.5)
    )
    return frame.with_columns(
        (
            ramp(pl.col("agent_share"), p.agent_share_from, p.agent_share_full)
            * ramp(pl.col("task_share"), p.task_share_from, p.task_share_full)
            * ramp(
                pl.col("task_capabilities").cast(pl.Float64),
                p.narrow_capabilities,
                p.broad_capabilities,
            )
            * machine_pace
            * ramp(pl.col("n_text_events").cast(pl.Float64), p.min_events, p.min_events * 2)
        ).alias("agentic_signal")
    )


def run(ctx: Context[Params]) -> PassOutput:
    """Compute agent-loop shares, turn-taking pace and the ``agentic_signal``."""
    p = ctx.params
    frame = ctx.frame(figures_sql("account")).drop("end_user_id")
    # The population's think time: the median over the accounts whose pace can be judged and
    # that are conversational (few agent-loop steps): people taking turns. Agent accounts are
    # left out so that a large campaign cannot set the baseline it is measured against.
    judged = frame.filter(pl.col("n_follow_ups") >= p.min_follow_ups)
    conversational = judged.filter(pl.col("agent_share") < p.agent_share_from)
    median = (
        (conversational if conversational.height >= MIN_BASELINE_ACCOUNTS else judged)
        .select(pl.col("follow_up_seconds").median())
        .item()
    )
    baseline = float(median) if median is not None else 0.0
    ctx.execute(
        f"CREATE OR REPLACE TEMP TABLE {BASELINE_TABLE} AS SELECT $seconds AS seconds",
        seconds=baseline,
    )
    signals = scored(frame, p, baseline).drop("n_text_events")
    notes = (f"median follow-up pace of the logs: {baseline:.1f} s",) if baseline > 0 else ()
    return PassOutput(signals=signals.sort("account_id"), notes=notes)


def describe(pooled: Pooled) -> str:
    """Share of agent-loop steps, how many distinct tasks, and the pace against the logs'."""
    f = pooled.figures
    text = (
        f"{percent(f['agent_share'])} of requests are agent-loop steps (tools, tool results, "
        f"orchestration) over {percent(f['task_share'])} distinct prompts"
    )
    if f["pace_ratio"]:
        text += f"; follow-ups come at {percent(f['pace_ratio'])} of the logs' usual think time"
    return text


AGENTIC = Signal(
    id="agentic",
    family="content",
    label="agent loops at machine pace",
    describe=describe,
    shares=("agent_share", "task_share", "pace_ratio"),
    figures=("follow_up_seconds", "n_follow_ups"),
)

PASS = Pass(
    id="agentic_harvest",
    title="Agentic harvest",
    requires=("prompt",),
    run=run,
    params=Params,
    doc=__doc__ or "",
    signals=(AGENTIC,),
)
