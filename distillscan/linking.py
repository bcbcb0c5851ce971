"""Linking: accounts joined by shared templates, synchronization and infrastructure into campaigns.

Edges from the passes at or above their kind's ``min_edge_weight`` (kinds without one, such as
template links, never join) join
accounts whose own content looks like harvesting (``content >= min_member_content``): an
account that merely shares a university NAT or a popular prompt with a campaign is never pulled
into it. Campaigns are the connected components of that graph (union-find; the graph is already
sparse because the passes block their candidates).

A component is scored as a whole, so accounts that each stay light (an evasion) are judged by
the traffic they make together: content is the event-weighted mean of the members' content,
operations the noisy-OR of the members' mean operations and the group's coordination (how many
accounts are linked, and how strongly). Components scoring at least ``min_campaign_score`` are
reported, when their members' own mean operations reach ``min_member_operations``: a link says
two accounts share something (a popular agent framework's whole set of role prompts is shared
by thousands of its independent users), not that they run as one operation; the members must
also show automation, rotation, shared infrastructure, synchronization or a pivot themselves.
The bar is modest: in logs without prompt text no template sharing can be measured, and a
low-and-slow operator's accounts show little more than the infrastructure they share.

In logs that carry no client address, user agent, key or account metadata (a Bedrock export of
IAM principals, many gateway exports) rotation and shared infrastructure cannot be seen at all,
and a human-paced operator shows no operations. A group is then also reported when its members
*ask alike*: at least ``min_alike_accounts`` of them with ``thin_events`` requests or more, whose
content scores spread (interquartile range) by at most ``max_content_spread``. One operator runs
one recipe from all its accounts, so what they ask scores alike (on the development traffic and
the simulator the campaigns' spreads are 0.00-0.10); the independent users of one tool each ask
their own things (a tool's linked users spread by 0.5). Falsely fires on: one team's accounts
running one benchmark suite, linked by its templates; their content is then usually too light
to reach ``min_campaign_score``. Members' scores are raised to the campaign's.

Then the group's evidence speaks for accounts whose own traffic cannot: an account outside every
campaign whose own traffic is too thin to judge (fewer than ``thin_events`` requests: a churned
account used a handful of times) or whose content reaches ``min_attached_content`` (a member
whose figures fall short by noise, not by what it asks) joins the reported campaign it is most
strongly tied to, by its links (their summed weight, at least ``min_attach_strength``: one full
link or several weaker ones agree) or by the artefacts it uses (an address, a payment
fingerprint: at least ``min_attach_support`` of evidence that they are the campaign's, see
:func:`_artefact_support`; in a second hop, the accounts just attached count as the campaign's
too). A thin account's content cannot be measured; whether the machines and cards it uses are a
campaign's can. Attached accounts are members like the others but never link
two campaigns together: each joins one, after the campaigns are formed, so a student sharing a
NAT with one operator cannot chain two groups into one.

A mixed account (a reseller carrying a harvesting tenant) is never a member: its implicated
tenant is the finding, reported as a mixed account. An account that passes on its end users'
ids joins only through its own content, never attached.

Campaign ids are derived from the sorted member ids (``camp-`` and 10 hex digits of their
SHA-256), so the same input gives the same ids and an unrelated change elsewhere does not rename
a campaign.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import polars as pl

from distillscan.config import Config, defaults
from distillscan.detect.base import empty_artefacts, ramp
from distillscan.scoring import severity_of


class _UnionFind:
    """Disjoint sets over string keys; the smallest key represents each set."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def add(self, key: str) -> None:
        self.parent.setdefault(key, key)

    def find(self, key: str) -> str:
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while key != root:  # path compression
            self.parent[key], key = root, self.parent[key]
        return root

    def union(self, a: str, b: str) -> None:
        self.add(a)
        self.add(b)
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            low, high = sorted((ra, rb))
            self.parent[high] = low


@dataclass(frozen=True)
class Params:
    """The ``[linking]`` settings (defaults, meanings: default_config.toml)."""

    min_member_content: float
    min_campaign_accounts: int
    min_campaign_score: float
    min_member_operations: float
    min_alike_accounts: int
    max_content_spread: float
    coordination_accounts: int
    thin_events: int
    min_attached_content: float
    min_attach_strength: float
    min_attach_support: float
    min_edge_weight: dict[str, float]


def components(edges: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Map each account in ``edges`` to its component's representative (smallest id)."""
    sets = _UnionFind()
    for a, b in edges:
        sets.union(a, b)
    return {key: sets.find(key) for key in sorted(sets.parent)}


def parameters(table: Mapping[str, Any]) -> Params:
    """The linking parameters of a configuration's ``[linking]`` table. A setting it lacks (the
    configuration stored with a case investigated by an older version, replayed by ``eval``)
    takes its shipped default; one no longer known is left out."""
    given = {**defaults()["linking"], **table}
    return Params(**{f.name: given[f.name] for f in fields(Params)})


def campaign_id(members: list[str]) -> str:
    """Stable id of a campaign from its sorted member account ids."""
    digest = hashlib.sha256("\n".join(sorted(members)).encode("utf-8")).hexdigest()
    return f"camp-{digest[:10]}"


def link(
    accounts: pl.DataFrame,
    edges: pl.DataFrame,
    config: Config,
    artefacts: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Group accounts into campaigns.

    Args:
        accounts: Scored accounts (``account_id``, ``n_events``, ``content``, ``operations``,
            ``score``).
        edges: Every pass's edges.
        config: The detection configuration.
        artefacts: Every pass's artefacts (see :mod:`distillscan.detect.base`).

    Returns:
        ``(accounts, groups)``: accounts with ``campaign_id`` (null when none), ``score`` and
        ``severity`` raised for campaign members; and one row per reported campaign with its
        members, size, coordination, content, operations, score and severity.
    """
    p = parameters(config.get("linking", {}))
    eligible = _unless_mixed(accounts).filter(pl.col("content") >= p.min_member_content)
    joining = edges.filter(
        pl.col("weight")
        >= pl.col("kind").replace_strict(p.min_edge_weight, default=None, return_dtype=pl.Float64)
    )
    strong = (
        joining.join(eligible, left_on="account_a", right_on="account_id", how="semi")
        .join(eligible, left_on="account_b", right_on="account_id", how="semi")
        .sort("account_a", "account_b")
    )
    roots = components(strong.select("account_a", "account_b").iter_rows())
    membership = pl.DataFrame(
        {"account_id": list(roots), "root": list(roots.values())},
        schema={"account_id": pl.String, "root": pl.String},
    )
    edge_strength = (
        strong.join(membership, left_on="account_a", right_on="account_id")
        .group_by("root")
        .agg(
            # Float sums in a fixed order (sorted): the same bits on every run.
            pl.col("weight").sort().mean().alias("edge_strength"),
            pl.col("kind").unique().sort().alias("link_kinds"),
        )
    )
    groups = (
        membership.join(accounts, on="account_id")
        .group_by("root")
        .agg(
            pl.col("account_id").sort().alias("members"),
            pl.len().alias("n_accounts"),
            pl.col("n_events").sum().alias("n_events"),
            (
                (pl.col("content") * pl.col("n_events")).sort().sum() / pl.col("n_events").sum()
            ).alias("content"),
            pl.col("operations").sort().mean().alias("member_operations"),
            pl.col("content").filter(pl.col("n_events") >= p.thin_events).len().alias("n_judged"),
            _spread(pl.col("content").filter(pl.col("n_events") >= p.thin_events)).alias(
                "content_spread"
            ),
        )
        .join(edge_strength, on="root", how="left")
        .with_columns(
            (
                ramp(pl.col("n_accounts").cast(pl.Float64), 1.0, p.coordination_accounts)
                * pl.col("edge_strength").fill_null(0.0)
            ).alias("coordination")
        )
        .with_columns(
            (1.0 - (1.0 - pl.col("member_operations")) * (1.0 - pl.col("coordination"))).alias(
                "operations"
            )
        )
        .with_columns((pl.col("content") * pl.col("operations")).alias("score"))
        .filter(
            (pl.col("n_accounts") >= p.min_campaign_accounts)
            & (pl.col("score") >= p.min_campaign_score)
            # Links form a group; its accounts must also run like a campaign on their own, or
            # ask alike as one operator's recipe does (see the module docstring).
            & (
                (pl.col("member_operations") >= p.min_member_operations)
                | (
                    (pl.col("n_judged") >= p.min_alike_accounts)
                    & (pl.col("content_spread") <= p.max_content_spread)
                )
            )
        )
        .drop("n_judged", "content_spread")
    )
    groups = _with_attached(
        groups, accounts, joining, empty_artefacts() if artefacts is None else artefacts, p
    )
    groups = groups.with_columns(
        pl.col("members").map_elements(campaign_id, return_dtype=pl.String).alias("campaign_id"),
        severity_of(pl.col("score"), config["scoring"]["severity"]).alias("severity"),
    ).sort("score", "campaign_id", descending=[True, False])
    member_of = groups.select(
        "campaign_id", pl.col("score").alias("campaign_score"), "members"
    ).explode("members")
    linked = (
        accounts.join(member_of, left_on="account_id", right_on="members", how="left")
        .with_columns(
            pl.max_horizontal("score", pl.col("campaign_score").fill_null(0.0)).alias("score")
        )
        .with_columns(severity_of(pl.col("score"), config["scoring"]["severity"]).alias("severity"))
        .drop("campaign_score")
    )
    return linked.sort("account_id"), groups.drop("root")


def _spread(values: pl.Expr) -> pl.Expr:
    """The interquartile range of ``values`` (linear interpolation; null when empty)."""
    return values.quantile(0.75, "linear") - values.quantile(0.25, "linear")


def _with_attached(
    groups: pl.DataFrame,
    accounts: pl.DataFrame,
    joining: pl.DataFrame,
    artefacts: pl.DataFrame,
    p: Params,
) -> pl.DataFrame:
    """Reported groups with the accounts their evidence speaks for (see the module docstring).

    A candidate qualifies for a group by its links (their summed weight) or by its artefacts
    (:func:`_artefact_support`), and joins the group it has the strongest artefact support
    for, then the largest summed link weight (ties: the group whose smallest member id sorts
    first). Then one more hop: the candidates left are judged by artefacts against the groups
    grown by the accounts just attached (a churned operator's thin accounts share their cards
    and exits with each other more than with the busy core). ``members``, ``n_accounts`` and
    ``n_events`` then count them; the scores stay those of the linked core that named the
    group.
    """
    core = groups.select("root", pl.col("members").alias("account_id")).explode("account_id")
    candidates = (
        _unless_mixed(accounts)
        .join(core, on="account_id", how="anti")
        .filter(
            (pl.col("n_events") < p.thin_events) | (pl.col("content") >= p.min_attached_content)
        )
    )
    if "n_end_users" in candidates.columns:
        # An account that passes on its end users' ids (a reseller, a shared role) speaks for
        # many people: it joins only on its own content, in the linked core.
        candidates = candidates.filter(pl.col("n_end_users").is_null())
    both_ends = pl.concat(
        [
            joining.select("account_a", "account_b", "weight"),
            joining.select(
                pl.col("account_b").alias("account_a"),
                pl.col("account_a").alias("account_b"),
                "weight",
            ),
        ]
    )
    by_links = (
        both_ends.join(candidates.select("account_id"), left_on="account_a", right_on="account_id")
        .join(core, left_on="account_b", right_on="account_id")
        .group_by("account_a", "root")
        # Sorted before summing: the same bits on every run.
        .agg(pl.col("weight").sort().sum().alias("strength"))
    )
    by_artefacts = _artefact_support(artefacts, candidates, core)
    chosen = (
        by_links.join(by_artefacts, on=["account_a", "root"], how="full", coalesce=True)
        .with_columns(pl.col("strength", "support").fill_null(0.0))
        .filter(
            (pl.col("strength") >= p.min_attach_strength)
            | (pl.col("support") >= p.min_attach_support)
        )
        .sort("support", "strength", "root", descending=[True, True, False])
        .group_by("account_a", maintain_order=True)
        .first()
        .select("account_a", "root")
    )
    # A second hop: what the accounts attached so far use speaks for the candidates left.
    grown = pl.concat([core, chosen.select("root", pl.col("account_a").alias("account_id"))])
    second = (
        _artefact_support(
            artefacts,
            candidates.join(chosen, left_on="account_id", right_on="account_a", how="anti"),
            grown.select("root", "account_id"),
        )
        .filter(pl.col("support") >= p.min_attach_support)
        .sort("support", "root", descending=[True, False])
        .group_by("account_a", maintain_order=True)
        .first()
        .select("account_a", "root")
    )
    attached = (
        pl.concat([chosen, second])
        .join(accounts.select("account_id", "n_events"), left_on="account_a", right_on="account_id")
        .group_by("root")
        .agg(
            pl.col("account_a").alias("attached"),
            pl.col("n_events").sum().alias("attached_events"),
        )
    )
    return (
        groups.join(attached, on="root", how="left")
        .with_columns(
            pl.concat_list("members", pl.col("attached").fill_null([]))
            .list.sort()
            .alias("members"),
            (pl.col("n_accounts") + pl.col("attached").list.len().fill_null(0)).alias("n_accounts"),
            (pl.col("n_events") + pl.col("attached_events").fill_null(0)).alias("n_events"),
        )
        .drop("attached", "attached_events")
    )


def artefact_shares(artefacts: pl.DataFrame, members: pl.DataFrame, group: str) -> pl.DataFrame:
    """For each artefact and group (``members``: ``account_id`` and the column ``group``):
    ``n_members``, the group's members that use it, and ``n_users``, every account that does."""
    users = artefacts.group_by("kind", "artefact").agg(pl.len().alias("n_users"))
    return (
        artefacts.join(members, on="account_id")
        .group_by("kind", "artefact", group)
        .agg(pl.len().alias("n_members"))
        .join(users, on=["kind", "artefact"])
    )


def _artefact_support(
    artefacts: pl.DataFrame, candidates: pl.DataFrame, core: pl.DataFrame
) -> pl.DataFrame:
    """How much of what each candidate uses is each group's: ``account_a``, ``root``,
    ``support`` in [0, 1].

    An artefact speaks for a group in proportion to the share of its users (the candidate
    among them) that are the group's core members: an address four members and the candidate
    use is the group's, a carrier prefix one member shares with eighty people is nobody's. Its
    weight (kind and the candidate's traffic on it) times that share is its evidence; the
    strongest artefact of each kind counts, and kinds combine as independent facts (noisy-OR).
    """
    return (
        artefacts.join(candidates.select("account_id"), on="account_id")
        .join(artefact_shares(artefacts, core, "root"), on=["kind", "artefact"])
        .with_columns(
            (pl.col("weight") * pl.col("n_members") / pl.col("n_users")).alias("evidence")
        )
        .group_by("account_id", "root", "kind")
        .agg(pl.col("evidence").max())
        .group_by("account_id", "root")
        # Sorted first: a float product's bits depend on the order of its factors.
        .agg((1.0 - (1.0 - pl.col("evidence").sort()).product()).alias("support"))
        .rename({"account_id": "account_a"})
    )


def _unless_mixed(accounts: pl.DataFrame) -> pl.DataFrame:
    """Accounts that are not mixed: a reseller carrying a harvesting tenant is never a campaign
    member, its tenant is the finding (the ``mixed_accounts`` pass)."""
    if "is_mixed" not in accounts.columns:
        return accounts
    return accounts.filter(~pl.col("is_mixed").fill_null(False))
