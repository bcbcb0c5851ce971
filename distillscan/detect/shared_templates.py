"""Shared templates: the same prompt skeletons and system prompts across separate accounts.

Each prompt is reduced to two skeleton fingerprints (see :mod:`.features`): its first and its
last 48 characters after case folding, digit masking and whitespace collapsing. Generated prompts
are one skeleton with slots swapped, so the fixed text before or after the slot survives; a
paraphrasing generator multiplies skeletons, but every account of the campaign draws from the same
pool. System prompts are fingerprinted whole.

A fingerprint is *shared* when two or more accounts use it and it is not common across the logs
(used by at most ``max_account_fraction`` of the accounts: a default SDK system prompt or "hello"
links nobody). An account is *template-driven* when at least ``min_template_share`` of its
prompts carry shared fingerprints. A popular human prompt ("write a poem about love") is a
sliver of each person's traffic, so the people who type it are not template-driven and are never
linked through it.

Measures, per account: ``template_share`` (prompts with shared fingerprints), the number of other
template-driven accounts it shares fingerprints with, and ``template_signal``. Links:
template-driven accounts that share a fingerprint (a star around the fingerprint's first account:
enough to connect them, linear in users).

Why it indicates distillation: the reported campaigns sent machine-generated prompts from shared
generators across many accounts.

Known false positives: one customer's own accounts sharing an app template (their organisation
usually tells them apart), evaluation teams running the same public benchmark. Shared templates
link accounts; whether the group is a campaign depends on what it asks and how it runs.

Cost: two aggregations of ``event_features`` (by account and fingerprint, then by fingerprint);
linear in events; links are linear in template-driven accounts.
"""

from __future__ import annotations

import polars as pl

from distillscan.detect.base import Context, Pass, PassOutput, ramp

SQL = """
CREATE OR REPLACE TEMP TABLE template_uses AS
WITH uses AS (
    SELECT account_id, head_key AS key, 'skeleton' AS kind, event_id FROM event_features
    WHERE head_key IS NOT NULL
    UNION ALL
    SELECT account_id, tail_key, 'skeleton', event_id FROM event_features WHERE tail_key IS NOT NULL
    UNION ALL
    SELECT account_id, system_key, 'system', event_id FROM event_features
    WHERE system_key IS NOT NULL
),
per_account_key AS (
    SELECT account_id, key, kind, count(*) AS n, min(event_id) AS example_event
    FROM uses GROUP BY ALL
),
population AS (
    SELECT count(DISTINCT account_id) AS n_accounts FROM event_features
),
key_spread AS (
    SELECT key, count(*) AS n_accounts_using FROM per_account_key GROUP BY key
)
SELECT a.*, s.n_accounts_using
FROM per_account_key a
JOIN key_spread s USING (key), population p
WHERE s.n_accounts_using >= 2
  AND s.n_accounts_using <= greatest($min_common_accounts, $max_account_fraction * p.n_accounts)
"""

ACCOUNT_SQL = """
WITH shared_keys AS (
    SELECT DISTINCT key FROM template_uses WHERE kind = 'skeleton'
)
SELECT account_id,
    count(*) FILTER (WHERE has_text) AS n_text_events,
    count(*) FILTER (WHERE head_key IN (SELECT key FROM shared_keys)
                        OR tail_key IN (SELECT key FROM shared_keys))
        / greatest(count(*) FILTER (WHERE has_text), 1) AS template_share
FROM event_features
GROUP BY account_id
"""

LINK_SQL = """
WITH driven_uses AS (
    SELECT u.* FROM template_uses u JOIN driven d USING (account_id)
),
keys AS (
    SELECT key, kind, min(account_id) AS hub, count(*) AS n_driven
    FROM driven_uses GROUP BY key, kind
    HAVING count(*) >= 2
)
SELECT u.account_id AS account_a, k.hub AS account_b, 'template' AS kind,
    sum(u.n) AS n_events, count(*) AS n_keys, any_value(k.kind) AS key_kind,
    max(k.n_driven) AS group_size
FROM driven_uses u JOIN keys k USING (key, kind)
WHERE u.account_id <> k.hub
GROUP BY u.account_id, k.hub
"""

PEERS_SQL = """
SELECT u.account_id, count(DISTINCT v.account_id) AS template_peers
FROM template_uses u
JOIN driven d ON d.account_id = u.account_id
JOIN template_uses v ON v.key = u.key AND v.account_id <> u.account_id
JOIN driven dv ON dv.account_id = v.account_id
GROUP BY u.account_id
"""


def run(ctx: Context) -> PassOutput:
    """Find shared fingerprints, template-driven accounts and template links."""
    p = ctx.params
    ctx.execute(
        SQL,
        min_common_accounts=p["min_common_accounts"],
        max_account_fraction=p["max_account_fraction"],
    )
    accounts = ctx.frame(ACCOUNT_SQL)
    driven = accounts.filter(pl.col("template_share") >= p["min_template_share"]).select(
        "account_id"
    )
    ctx.con.register("driven", driven.to_arrow())
    try:
        peers = ctx.frame(PEERS_SQL)
        links = ctx.frame(LINK_SQL)
    finally:
        ctx.con.unregister("driven")
    signals = (
        accounts.join(peers, on="account_id", how="left")
        .with_columns(pl.col("template_peers").fill_null(0))
        .with_columns(
            (
                ramp(pl.col("template_share"), p["min_template_share"], 0.9)
                * ramp(pl.col("template_peers").cast(pl.Float64), 0.0, p["peers_for_full_signal"])
            ).alias("template_signal")
        )
    )
    edges = links.select(
        pl.min_horizontal("account_a", "account_b").alias("account_a"),
        pl.max_horizontal("account_a", "account_b").alias("account_b"),
        pl.lit("template").alias("kind"),
        pl.lit(1.0).alias("weight"),
        pl.format(
            "{} shared {} fingerprint(s) over {} events (group of {})",
            "account_a",
            "n_keys",
            "n_events",
            "group_size",
        ).alias("detail"),
    )
    return PassOutput(
        signals=signals.sort("account_id"), edges=edges.sort("account_a", "account_b")
    )


PASS = Pass(
    id="shared_templates",
    title="Shared templates",
    requires=("prompt",),
    run=run,
    doc=__doc__ or "",
)
