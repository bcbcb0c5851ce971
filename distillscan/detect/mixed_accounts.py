"""Mixed accounts: resellers and proxies whose traffic hides one abusive tenant.

For accounts that pass on their own end users' ids (``end_user_id``) with at least
``min_end_users`` of them, the pass scores every end user on its own, as the content passes score
accounts: a reasoning harvest (the share of its prompts that elicit chain-of-thought above the
ordinary level of the logs, how many capabilities it covers, and how single-shot it is; all
three must agree) or an agentic harvest (:mod:`.agentic_harvest`'s measure, applied to the end
user against the logs' own pace), whichever is higher. Agent loops count only where they are
not what the account's usual end user sends (the median ``agent_share`` of its end users with
enough traffic, or with at least the typical end user's traffic where that is less, ramped over
``product_agent_share``): in a coding product every user runs the product's agent, while a
tenant's harvest stands out from the resale traffic around it.

End users scoring at least ``min_end_user_score`` with enough events are *implicated*. A tenant
is a group of them: at least ``min_tenant_end_users`` (one end user is one customer) carrying at
least ``min_contamination_for_mixed`` of the account's traffic (a few sessions in a large
reseller are not a tenant's harvest). The account's contamination share is the fraction of all
its traffic they carry (its requests that name no end user included), and ``tenant_content``
their event-weighted score (the scoring stage judges a mixed account by its tenant's traffic,
not by the diluted whole).

Why it indicates distillation: proxy services ("hydra clusters") mix distillation traffic with
legitimate resale traffic; at the account level the mix looks ordinary, so the finding is the
tenant, not the whole reseller.

Known false positives: a reseller whose legitimate customer is itself an evaluation lab. The
report names the end users so the reseller can be asked.

Cost: one aggregation of ``event_features`` by (account, end user); linear in events.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from distillscan.db import has_table
from distillscan.detect import agentic_harvest
from distillscan.detect.base import Context, Pass, PassOutput, ramp

SQL = """
WITH resellers AS (
    SELECT account_id FROM event_features WHERE end_user_id IS NOT NULL
    GROUP BY account_id HAVING count(DISTINCT end_user_id) >= $min_end_users
),
shared_keys AS (
    SELECT DISTINCT key FROM template_uses WHERE kind = 'skeleton'
),
account_traffic AS (
    -- All of the account's traffic, with or without an end-user id: the share a tenant carries
    -- is of the whole account.
    SELECT account_id, count(*) AS account_events
    FROM event_features JOIN resellers USING (account_id)
    GROUP BY account_id
),
ordinary AS (
    SELECT quantile_cont(share, 0.5) AS baseline FROM (
        SELECT avg(((prompt_cot_mask | system_cot_mask) > 0)::DOUBLE) AS share
        FROM event_features WHERE has_text GROUP BY account_id)
)
SELECT f.account_id, f.end_user_id, count(*) AS n_events,
    any_value(t.account_events) AS account_events,
    avg(((f.prompt_cot_mask | f.system_cot_mask) > 0)::DOUBLE) - any_value(o.baseline)
        AS elicitation_excess,
    bit_count(bit_or(f.capability_mask)) AS n_capabilities,
    avg(f.single_shot::DOUBLE) AS single_shot_share,
    avg((f.head_key IN (SELECT key FROM shared_keys)
         OR f.tail_key IN (SELECT key FROM shared_keys))::DOUBLE) AS template_share
FROM event_features f JOIN account_traffic t USING (account_id), ordinary o
WHERE f.end_user_id IS NOT NULL
GROUP BY f.account_id, f.end_user_id
"""


@dataclass(frozen=True)
class Params:
    """The ``[passes.mixed_accounts]`` settings (defaults, meanings: default_config.toml)."""

    min_end_users: int
    min_end_user_score: float
    min_end_user_events: int
    min_single_shot_share: float
    min_contamination_for_mixed: float
    max_contamination_for_mixed: float
    product_agent_share: list[float]
    min_tenant_end_users: int


def run(ctx: Context[Params]) -> PassOutput:
    """Score end users inside multi-tenant accounts; return contamination per account."""
    p = ctx.params
    users = ctx.frame(SQL, min_end_users=p.min_end_users)
    if users.is_empty():
        return PassOutput(
            signals=pl.DataFrame(schema={"account_id": pl.String}),
            notes=("no account passes on enough end-user ids to look inside",),
        )
    # An end user is implicated when it harvests: elicitation above the ordinary level, broad,
    # and single-shot, all at once (each factor ramps, so the product is 0 unless all agree);
    # or agent loops at machine pace over many tasks, unless agent loops are what the account's
    # usual end user sends (a coding product: its agent is the product, not a tenant's harvest).
    usual_agent_share = (
        pl.col("agent_share").filter(pl.col("agentic_trusted")).median().over("account_id")
    )
    users = (
        users.join(_agentic(ctx), on=["account_id", "end_user_id"], how="left")
        .with_columns(
            pl.max_horizontal(
                ramp(pl.col("elicitation_excess"), 0.15, 0.45)
                * ramp(pl.col("n_capabilities").cast(pl.Float64), 2.0, 5.0)
                * ramp(pl.col("single_shot_share"), p.min_single_shot_share, 0.95),
                pl.col("agentic_signal").fill_null(0.0)
                * (1.0 - ramp(usual_agent_share.fill_null(0.0), *p.product_agent_share)),
            ).alias("end_user_score")
        )
        .with_columns(
            (
                (pl.col("end_user_score") >= p.min_end_user_score)
                & (pl.col("n_events") >= p.min_end_user_events)
            ).alias("implicated")
        )
    )
    accounts = (
        users.group_by("account_id")
        .agg(
            pl.len().alias("n_end_users"),
            (pl.col("n_events") * pl.col("implicated")).sum().alias("implicated_events"),
            pl.col("account_events").first(),
            pl.col("end_user_id").filter(pl.col("implicated")).sort().alias("implicated_end_users"),
            (
                # Sorted first: a float sum's bits depend on the order of its terms.
                (pl.col("end_user_score") * pl.col("n_events"))
                .filter(pl.col("implicated"))
                .sort()
                .sum()
                / (pl.col("n_events") * pl.col("implicated")).sum()
            ).alias("tenant_content"),
        )
        .with_columns(
            (pl.col("implicated_events") / pl.col("account_events")).alias("contamination_share")
        )
        .with_columns(
            (
                (pl.col("implicated_end_users").list.len() >= p.min_tenant_end_users)
                & (pl.col("contamination_share") >= p.min_contamination_for_mixed)
                & (pl.col("contamination_share") < p.max_contamination_for_mixed)
            ).alias("is_mixed")
        )
        .with_columns(
            pl.when(pl.col("is_mixed"))
            .then(ramp(pl.col("contamination_share"), 0.0, 0.2))
            .otherwise(0.0)
            .alias("mixed_signal")
        )
        .drop("account_events")
    )
    return PassOutput(signals=accounts.sort("account_id"))


def _agentic(ctx: Context[Params]) -> pl.DataFrame:
    """Each end user's ``agentic_signal``, against the pace the agentic pass measured."""
    params = ctx.params_of(agentic_harvest.Params)
    if not has_table(ctx.con, agentic_harvest.BASELINE_TABLE):
        return pl.DataFrame(
            schema={
                "account_id": pl.String,
                "end_user_id": pl.String,
                "agentic_signal": pl.Float64,
                "agent_share": pl.Float64,
                "agentic_trusted": pl.Boolean,
            }
        )
    baseline = ctx.frame(f"SELECT seconds FROM {agentic_harvest.BASELINE_TABLE}").item()
    frame = ctx.frame(agentic_harvest.figures_sql("end_user"))
    # ``agentic_trusted``: the end users the account's usual traffic is read from: enough
    # traffic for the measure to hold in full (light users say little either way), or, where
    # the account's typical end user sends less than that, as much as it does. Otherwise a
    # tenant's few heavy end users would be the only ones trusted, and set the very baseline
    # their harvest is measured against.
    typical = pl.col("n_text_events").median().over("account_id")
    return agentic_harvest.scored(frame, params, float(baseline)).select(
        "account_id",
        "end_user_id",
        "agentic_signal",
        "agent_share",
        (
            pl.col("n_text_events") >= pl.min_horizontal(pl.lit(2 * params.min_events), typical)
        ).alias("agentic_trusted"),
    )


PASS = Pass(
    id="mixed_accounts",
    title="Mixed (multi-tenant) accounts",
    requires=("end_user_id", "prompt"),
    run=run,
    params=Params,
    doc=__doc__ or "",
)
