"""Account churn: addresses and client strings rotated per request, accounts made to be used up.

Measures, per account:

* ``network_churn``: how often a request comes from a network the account has not used before,
  ``(distinct networks - 1) / (requests - 1)``, a network being the /16 of an IPv4 address or
  the first 32 bits of an IPv6 one. Coarse on purpose: a phone or a carrier NAT moves between
  addresses of one provider's block, a residential proxy pool jumps between providers;
* ``agent_churn``: the same for user-agent strings (a person has one browser or SDK, perhaps
  two; a rotating client fakes a new one every few requests);
* ``setup_hours``: hours from the account's creation (account metadata) to its first request,
  and ``denied_share``, its requests refused as unauthorised or forbidden (401/403: an account
  being shut down);
* ``churn_signal``: the noisy-OR of the two rotations, each ramped between a share no single
  client reaches and one only rotation reaches, and of a used-up lifecycle (made just before
  use and then refused), trusted as the account's requests grow.

Links (kind ``pool``): two rotating accounts (``network_churn`` at least
``network_churn_from``) that were handed the same exact addresses, each used by at most
``max_pool_accounts`` accounts, at least ``min_shared_addresses`` times: they draw on one proxy
pool. An address a pool hands out once carries too little of an account's traffic for the
infrastructure pass (which links the machines an account runs on); the pool is in the overlap.
The weight ramps from one shared address to ``full_shared_addresses``.

Why it indicates distillation: the largest reported campaign ran hundreds of short-lived
accounts behind residential proxy pools, each light enough to pass per-account limits. Their
content and volume look ordinary one account at a time; how they reach the API does not. The
rotations are ratios of the account's own traffic, so they hold at any scale and need no
prompt text: they work on metadata-only exports too.

Known false positives: a mobile user switching between Wi-Fi and a carrier (a handful of
networks, not one per request), a browser extension that rewrites its user agent, a privacy VPN
that changes exit per session, a new customer whose first key is revoked. Each is one account's
habit, not a group's, and content and linking must agree before a campaign is named. Two
customers of one commercial VPN or residential proxy share its exits and are linked by the pool;
linking still needs both to look like harvesting before they join.

Cost: one aggregation of events by account (distinct counts); for the links, one aggregation by
(account, address) and a self-join of the rotating accounts' uncommon addresses, at most
``max_pool_accounts`` squared pairs an address.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from distillscan.db import has_view
from distillscan.detect.base import (
    Context,
    Pass,
    PassOutput,
    Pooled,
    Signal,
    network_sql,
    noisy_or,
    percent,
    ramp,
    who,
)
from distillscan.detect.infrastructure import ACCOUNT_META_FALLBACK

#: The coarse network of an address: /16 (IPv4), the first 32 bits (IPv6).
NETWORK_SQL = network_sql("source_ip", 2, 2)

SQL = f"""
WITH per_account AS (
    SELECT account_id,
        count(*) AS n_events,
        min(ts) AS first_request,
        count(source_ip) AS n_with_ip,
        count(DISTINCT {NETWORK_SQL}) AS n_networks,
        count(user_agent) AS n_with_agent,
        count(DISTINCT user_agent) AS n_agents,
        avg(coalesce(status IN ('401', '403'), false)::DOUBLE) AS denied_share
    FROM events
    GROUP BY account_id
)
SELECT a.account_id, a.n_events,
    CASE WHEN a.n_with_ip > 1
         THEN (a.n_networks - 1) / (a.n_with_ip - 1) END AS network_churn,
    CASE WHEN a.n_with_agent > 1
         THEN (a.n_agents - 1) / (a.n_with_agent - 1) END AS agent_churn,
    a.denied_share,
    epoch(a.first_request - m.created_at) / 3600.0 AS setup_hours
FROM per_account AS a LEFT JOIN account_meta AS m USING (account_id)
"""

POOL_SQL = f"""
WITH uses AS (
    SELECT account_id, source_ip, {NETWORK_SQL} AS network
    FROM events WHERE source_ip IS NOT NULL
    GROUP BY ALL
),
rotation AS (
    -- network_churn over distinct addresses: enough to tell a pool from a home or office.
    SELECT account_id,
        (count(DISTINCT network) - 1) / greatest(count(*) - 1, 1) AS churn_over_addresses
    FROM uses GROUP BY account_id
),
spread AS (
    SELECT source_ip, count(*) AS n_accounts FROM uses GROUP BY source_ip
),
pool_uses AS (
    SELECT o.account_no, u.account_id, o.org_id, u.source_ip
    FROM uses AS u
    JOIN spread AS s USING (source_ip)
    JOIN rotation AS r USING (account_id)
    JOIN account_org AS o USING (account_id)
    WHERE s.n_accounts BETWEEN 2 AND $max_pool_accounts
      AND r.churn_over_addresses >= $network_churn_from
)
SELECT least(x.account_id, y.account_id) AS account_a,
    greatest(x.account_id, y.account_id) AS account_b,
    count(*) AS shared,
    min(x.source_ip) AS example
FROM pool_uses AS x JOIN pool_uses AS y
    ON x.source_ip = y.source_ip AND x.account_no < y.account_no
-- Accounts of one organisation share its exits by design.
WHERE x.org_id IS NULL OR y.org_id IS NULL OR x.org_id <> y.org_id
GROUP BY ALL
"""


@dataclass(frozen=True)
class Params:
    """The ``[passes.account_churn]`` settings (defaults, meanings: default_config.toml)."""

    min_events: int
    network_churn_from: float
    network_churn_full: float
    agent_churn_from: float
    agent_churn_full: float
    fresh_hours: int
    full_denied_share: float
    network_weight: float
    agent_weight: float
    lifecycle_weight: float
    max_pool_accounts: int
    min_shared_addresses: int
    full_shared_addresses: int


def run(ctx: Context[Params]) -> PassOutput:
    """Compute rotation and lifecycle figures and the ``churn_signal``."""
    p = ctx.params
    if not has_view(ctx.con, "account_meta"):
        ctx.con.execute(ACCOUNT_META_FALLBACK)  # no account metadata given: no sign-up times
    frame = ctx.frame(SQL)
    # Made to be used up: first request within fresh_hours of sign-up, then refused.
    used_up = ramp(
        pl.lit(p.fresh_hours) - pl.col("setup_hours").clip(0.0, None), 0.0, p.fresh_hours / 2
    ).fill_null(0.0) * ramp(pl.col("denied_share"), 0.0, p.full_denied_share)
    rotation = noisy_or(
        [
            (
                p.network_weight,
                ramp(
                    pl.col("network_churn").fill_null(0.0),
                    p.network_churn_from,
                    p.network_churn_full,
                ),
            ),
            (
                p.agent_weight,
                ramp(
                    pl.col("agent_churn").fill_null(0.0),
                    p.agent_churn_from,
                    p.agent_churn_full,
                ),
            ),
            (p.lifecycle_weight, used_up),
        ]
    )
    signals = frame.with_columns(
        (rotation * ramp(pl.col("n_events").cast(pl.Float64), p.min_events, p.min_events * 2))
        .clip(0.0, 1.0)
        .alias("churn_signal")
    ).drop("n_events")
    pool_links = ctx.frame(
        POOL_SQL,
        network_churn_from=p.network_churn_from,
        max_pool_accounts=p.max_pool_accounts,
    )
    edges = pool_links.filter(pl.col("shared") >= p.min_shared_addresses).select(
        "account_a",
        "account_b",
        pl.lit("pool").alias("kind"),
        ramp(pl.col("shared").cast(pl.Float64), 1.0, p.full_shared_addresses).alias("weight"),
        pl.format("drew {} addresses from one rotating pool (e.g. {})", "shared", "example").alias(
            "detail"
        ),
    )
    return PassOutput(
        signals=signals.sort("account_id"), edges=edges.sort("account_a", "account_b")
    )


def describe(pooled: Pooled) -> str:
    """How often requests come from a new network or client, and how many accounts rotate."""
    f = pooled.figures
    return (
        f"{who(int(f['n_churn']), int(f['n_accounts']), 'rotate')} addresses and clients: "
        f"{percent(f['network_churn'])} of requests from a network not used before, "
        f"{percent(f['agent_churn'])} with a new user agent; "
        f"{percent(f['denied_share'])} refused (unauthorised or forbidden)"
    )


CHURN = Signal(
    id="churn",
    family="operations",
    label="rotating addresses and clients",
    describe=describe,
    shares=("network_churn", "agent_churn", "denied_share"),
    figures=("setup_hours",),
)

PASS = Pass(
    id="account_churn",
    title="Account churn",
    requires=(),
    run=run,
    params=Params,
    doc=__doc__ or "",
    signals=(CHURN,),
)
