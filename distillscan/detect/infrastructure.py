"""Shared infrastructure: IPs, network prefixes, rare user agents and sign-up details.

Entities: the exact client IP, its /24 (IPv4) or /64 (IPv6) prefix, the user-agent string, and,
when account metadata is given, the payment fingerprint, the email domain, and the ten-minute
window the account was created in. An account *uses* an IP, prefix or agent when it carries at
least ``min_share`` of the account's traffic (one stray request through a proxy is not a
shared infrastructure), and it identifies the account fully from ``full_share``: an address
that a rotating pool hands out for a few requests is a coincidence of the pool, not a machine
the account runs on.

Every entity is weighted by how common it is: one used by more than ``max_account_fraction`` of
all accounts (a carrier NAT, a popular SDK's user agent, a webmail domain) links nobody, and the
weight of the rest falls with the number of accounts sharing it (``1 - log(k)/log(N)``).

Measures, per account: the shared entities of each kind, their rarity, and ``infra_signal``
(noisy-OR of the rarest shared entity of each kind). Links: accounts sharing a rare entity (a
star around the entity's first account), and accounts that share ``min_shared_networks`` or
more uncommon networks, linked by the noisy-OR of those networks' strengths: an operator's
accounts spread over the same few server ranges (a hosting provider's /24s, each used by dozens
of its accounts) are one operation, although each range alone is too common to link anyone.
Artefacts (for linking's attachment of thin accounts): every shared entity, weighted by its
kind and the account's share of traffic on it, an IP and its prefix as one kind (``network``).

Why it indicates distillation: campaigns run many accounts from one operator's machines and
proxy pools, with payment and sign-up details made in bulk; the provider traced them through IP
address correlation and infrastructure indicators.

Known false positives: a university or company behind one NAT, many students signing up in the
same hour at the start of term, a cloud region's egress range; a campus with two egress
networks, or mobile users moving between the same two carrier ranges, share several networks.
Those share infrastructure but not behaviour, which the score requires too, and linking joins
only accounts whose content looks like harvesting.

Cost: one aggregation of events by (account, entity) for each kind; linear in events. The
network-set links pair each account with ``fanout`` neighbours per network (linear in accounts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from distillscan.db import has_view
from distillscan.detect.base import (
    Context,
    Pass,
    PassOutput,
    Pooled,
    Signal,
    neighbour_pairs_sql,
    network_sql,
    ramp,
    who,
)

#: An address's /24 (IPv4) or /64 (IPv6) prefix: the network a host or a NAT sits in.
PREFIX_SQL = network_sql("source_ip", 3, 4)


@dataclass(frozen=True)
class Params:
    """The ``[passes.infrastructure]`` settings (defaults, meanings: default_config.toml)."""

    min_share: float
    full_share: float
    max_account_fraction: float
    min_common_accounts: int
    burst_minutes: int
    burst_accounts: int
    fanout: int
    min_shared_networks: int
    kind_weights: dict[str, float]


def traffic_entities_sql(events: str) -> str:
    """Named CTEs ``totals`` (events per account) and ``traffic_entities`` (account, kind,
    entity, n: the account's events from each IP, network prefix and user agent) over the
    relation ``events``. The report's infrastructure facts count the same entities."""
    return f"""totals AS (
    SELECT account_id, count(*) AS n FROM {events} GROUP BY account_id
),
traffic_entities AS (
    SELECT account_id, 'ip' AS kind, source_ip AS entity, count(*) AS n
    FROM {events} WHERE source_ip IS NOT NULL GROUP BY ALL
    UNION ALL
    SELECT account_id, 'prefix', {PREFIX_SQL}, count(*)
    FROM {events} WHERE source_ip IS NOT NULL GROUP BY ALL
    UNION ALL
    SELECT account_id, 'user_agent', user_agent, count(*)
    FROM {events} WHERE user_agent IS NOT NULL GROUP BY ALL
)"""


ENTITY_SQL = f"""
CREATE OR REPLACE TEMP TABLE infra_entities AS
WITH {traffic_entities_sql("events")},
used AS (
    SELECT t.account_id, t.kind, t.entity, t.n / totals.n AS share
    FROM traffic_entities t JOIN totals USING (account_id)
    WHERE t.n >= $min_share * totals.n AND t.entity IS NOT NULL AND t.entity NOT IN ('.0/24', '')
    UNION ALL
    SELECT account_id, 'payment', payment_fingerprint, 1.0 FROM account_meta
    WHERE payment_fingerprint IS NOT NULL
    UNION ALL
    SELECT account_id, 'email_domain', email_domain, 1.0 FROM account_meta
    WHERE email_domain IS NOT NULL
    UNION ALL
    SELECT account_id, 'created', time_bucket(to_minutes($burst_minutes), created_at)::VARCHAR,
        1.0
    FROM account_meta WHERE created_at IS NOT NULL
),
active AS (
    SELECT u.account_id, u.kind, u.entity, max(u.share) AS share
    FROM used u JOIN totals USING (account_id)
    GROUP BY ALL
),
spread AS (
    -- Owners: an account's organisation, or the account itself when it has none.
    SELECT kind, entity, count(*) AS n_accounts_sharing,
        count(DISTINCT coalesce(o.org_id, 'account:' || a.account_id)) AS n_owners_sharing
    FROM active a LEFT JOIN account_org o USING (account_id)
    GROUP BY ALL
),
population AS (SELECT count(*) AS n_accounts FROM totals)
SELECT a.account_id, a.kind, a.entity, a.share, s.n_accounts_sharing,
    1 - ln(s.n_accounts_sharing) / ln(greatest(p.n_accounts, 3)) AS rarity
FROM active a JOIN spread s USING (kind, entity), population p
WHERE s.n_owners_sharing >= 2
  AND s.n_accounts_sharing >= CASE WHEN a.kind = 'created' THEN $burst_accounts ELSE 2 END
  AND s.n_accounts_sharing <= greatest($min_common_accounts, $max_account_fraction * p.n_accounts)
"""

#: Pairs of accounts that each run traffic through the same several uncommon networks (``grp``
#: the prefix), met as neighbours inside each network's users: pairs that share many networks
#: meet again and again (see :func:`~distillscan.detect.base.neighbour_pairs_sql`).
NETWORK_PAIRS_SQL = f"""
WITH networks AS (
    SELECT account_id, entity AS network FROM infra_entities WHERE kind = 'prefix'
),
{neighbour_pairs_sql("networks", "network")}
SELECT a.account_id AS account_a, b.account_id AS account_b, n.grp AS entity
FROM neighbours AS n
JOIN account_org AS a ON a.account_no = n.account_a
JOIN account_org AS b ON b.account_no = n.account_b
QUALIFY count(*) OVER (PARTITION BY n.account_a, n.account_b) >= $min_shared_networks
ORDER BY account_a, account_b, entity
"""

ACCOUNT_META_FALLBACK = """
CREATE OR REPLACE TEMP VIEW account_meta AS
SELECT NULL::VARCHAR AS account_id, NULL::VARCHAR AS payment_fingerprint,
       NULL::VARCHAR AS email_domain, NULL::TIMESTAMP AS created_at
WHERE false
"""


#: How many of the logs' accounts the account metadata describes.
METADATA_COVERAGE_SQL = """
SELECT (SELECT count(DISTINCT account_id) FROM account_meta) AS described,
    count(*) AS accounts,
    count(*) FILTER (WHERE account_id IN (SELECT account_id FROM account_meta)) AS matched
FROM account_org
"""


def _metadata_note(ctx: Context[Params]) -> tuple[str, ...]:
    """A note when account metadata was given but describes under half of the logs' accounts.

    Its ids must be the logs' own: a billing export keyed by customer id beside logs keyed by
    IAM principal or gateway user matches nothing, and payment, e-mail and sign-up evidence is
    then silently absent. An investigator must hear that, not read it from a missing signal.
    """
    described, accounts, matched = ctx.con.execute(METADATA_COVERAGE_SQL).fetchall()[0]
    if not described or matched * 2 >= accounts:
        return ()
    return (
        f"account metadata describes {matched:,} of the {accounts:,} accounts in the logs "
        f"({described:,} metadata rows): its account_id values must be the logs' own for "
        "payment, e-mail and sign-up evidence to count",
    )


def run(ctx: Context[Params]) -> PassOutput:
    """Find rare shared entities, the ``infra_signal`` and infrastructure links."""
    p = ctx.params
    if not has_view(ctx.con, "account_meta"):
        ctx.con.execute(ACCOUNT_META_FALLBACK)
    notes = _metadata_note(ctx)
    ctx.execute(
        ENTITY_SQL,
        min_share=p.min_share,
        burst_minutes=p.burst_minutes,
        burst_accounts=p.burst_accounts,
        min_common_accounts=p.min_common_accounts,
        max_account_fraction=p.max_account_fraction,
    )
    entities = ctx.frame("SELECT * FROM infra_entities ORDER BY kind, entity, account_id")
    weights = p.kind_weights
    # How identifying a shared entity is: its kind, its rarity, and how much of the account's
    # traffic it carries. An address a rotating pool hands out for 2 requests of 40 is a
    # coincidence of the pool, not the account's machine.
    strength = (
        pl.col("rarity")
        * pl.col("kind").replace_strict(weights, default=0.5)
        * ramp(pl.col("share"), p.min_share, p.full_share)
    )
    per_account = (
        entities.group_by("account_id", "kind")
        .agg(strength.max().alias("w"))
        .group_by("account_id")
        .agg(
            # Sorted first: a float product's bits depend on the order of its factors.
            (1.0 - (1.0 - pl.col("w").sort()).product()).alias("infra_signal"),
            pl.col("kind").sort().str.join(",").alias("shared_infrastructure"),
        )
    )
    orgs = ctx.frame("SELECT account_id, org_id FROM account_org")
    weighted = entities.with_columns(strength.alias("strength")).join(
        orgs, on="account_id", how="left"
    )
    # A star around each entity's first account connects its users in linear time. A link is
    # as strong as the entity is for the weaker of its two ends.
    hubs = (
        weighted.sort("account_id")
        .group_by("kind", "entity")
        .agg(
            pl.col("account_id").first().alias("hub"),
            pl.col("strength").first().alias("hub_strength"),
            pl.len().alias("n_sharing"),
        )
    )
    links = (
        weighted.join(hubs, on=["kind", "entity"])
        .with_columns(pl.min_horizontal("strength", "hub_strength").alias("strength"))
        .filter(pl.col("account_id") != pl.col("hub"))
        .join(orgs.rename({"account_id": "hub", "org_id": "hub_org"}), on="hub", how="left")
        .filter(
            pl.col("org_id").is_null()
            | pl.col("hub_org").is_null()
            | (pl.col("org_id") != pl.col("hub_org"))
        )
    )
    star_links = links.select(
        pl.min_horizontal("account_id", "hub").alias("account_a"),
        pl.max_horizontal("account_id", "hub").alias("account_b"),
        "kind",
        "entity",
        "strength",
    )
    edges = (
        pl.concat([star_links, _network_set_links(ctx, weighted)])
        .sort("strength", "kind", "entity", descending=[True, False, False])
        .group_by("account_a", "account_b", maintain_order=True)
        .agg(
            pl.col("strength").first().alias("weight"),
            pl.format("{} {}", "kind", "entity").first().alias("example"),
            pl.col("kind").unique().sort().str.join(",").alias("kinds"),
        )
        .select(
            "account_a",
            "account_b",
            pl.lit("infrastructure").alias("kind"),
            pl.col("weight").clip(0.0, 1.0),
            pl.format("share {} (e.g. {})", "kinds", "example").alias("detail"),
        )
        .sort("account_a", "account_b")
    )
    # An IP and its prefix are one fact about where the account runs, not two.
    artefacts = entities.select(
        "account_id",
        pl.col("kind").replace({"ip": "network", "prefix": "network"}),
        pl.format(
            "{} {}", pl.col("kind").replace_strict(ARTEFACT_WORDS, default=pl.col("kind")), "entity"
        ).alias("artefact"),
        (
            pl.col("kind").replace_strict(weights, default=0.5)
            * ramp(pl.col("share"), p.min_share, p.full_share)
        ).alias("weight"),
    )
    return PassOutput(
        signals=per_account.sort("account_id"),
        edges=edges,
        artefacts=artefacts.sort("account_id", "kind", "artefact"),
        notes=notes,
    )


def _network_set_links(ctx: Context[Params], weighted: pl.DataFrame) -> pl.DataFrame:
    """Pairs that share ``min_shared_networks`` or more uncommon networks, as one link whose
    strength combines theirs (noisy-OR): two independent users meet in one rare network by
    chance now and then, in the same several far less often. Kind ``networks``."""
    pairs = ctx.frame(
        NETWORK_PAIRS_SQL,
        fanout=ctx.params.fanout,
        min_shared_networks=ctx.params.min_shared_networks,
    )
    strength = weighted.filter(pl.col("kind") == "prefix").select(
        "account_id", "entity", "strength"
    )
    per_network = (
        pairs.join(
            strength.rename({"account_id": "account_a", "strength": "a"}),
            on=["account_a", "entity"],
        )
        .join(
            strength.rename({"account_id": "account_b", "strength": "b"}),
            on=["account_b", "entity"],
        )
        .with_columns(pl.min_horizontal("a", "b").alias("strength"))
    )
    return (
        per_network.group_by("account_a", "account_b")
        .agg(
            # Sorted first: a float product's bits depend on the order of its factors.
            (1.0 - (1.0 - pl.col("strength").sort()).product()).alias("strength"),
            pl.col("entity").sort().str.join(" + ").alias("entity"),
        )
        .select("account_a", "account_b", pl.lit("networks").alias("kind"), "entity", "strength")
    )


#: How an artefact is named in evidence (``payment fingerprint pmfp_…``).
ARTEFACT_WORDS = {
    "ip": "IP",
    "prefix": "network",
    "user_agent": "user agent",
    "payment": "payment fingerprint",
    "email_domain": "email domain",
    "created": "sign-up window from",
}

#: Report words for each kind of shared entity.
KIND_WORDS = {
    "ip": "IP addresses",
    "prefix": "network prefixes",
    "user_agent": "user agents",
    "payment": "payment details",
    "email_domain": "email domains",
    "created": "sign-up bursts",
}


def pool(frame: pl.DataFrame) -> dict[str, Any]:
    """The kinds of infrastructure any of the accounts shares."""
    kinds: set[str] = set()
    if "shared_infrastructure" in frame.columns:
        for value in frame["shared_infrastructure"].drop_nulls().unique().to_list():
            kinds.update(k for k in str(value).split(",") if k)
    return {"infra_kinds": sorted(kinds)}


def describe(pooled: Pooled) -> str:
    """Which kinds of rare infrastructure how many accounts share."""
    f = pooled.figures
    kinds = [KIND_WORDS.get(k, k.replace("_", " ")) for k in f["infra_kinds"]]
    if not kinds:
        return "no rare infrastructure shared with other accounts"
    sharing = who(int(f["n_infra"]), int(f["n_accounts"]), "share")
    return f"{sharing} {', '.join(kinds)} with few other accounts"


INFRA = Signal(
    id="infra",
    family="operations",
    label="shared infrastructure",
    describe=describe,
    figures=("shared_infrastructure",),
    pool=pool,
)

PASS = Pass(
    id="infrastructure",
    title="Shared infrastructure",
    requires=(),
    run=run,
    params=Params,
    doc=__doc__ or "",
    signals=(INFRA,),
)
