"""Elicitation pools: accounts that wrap their questions in one pool of reasoning requests.

A harvester that paraphrases to stay under the radar still has to ask for the reasoning, and it
does so with a pool of phrasings ("Walk me through your reasoning before you give the answer.",
"Show me the path from the question to the answer, one move at a time.") put before or after
each question, the pool shared by every account the operator runs. This pass reads the first
and the last sentence of every prompt that asks for reasoning (the phrase families of
``data/cot_phrases.toml``) and keeps those sentences that themselves ask for it: a *wrapper*
around the question, not the question (a sentence that is the whole prompt never counts). A
wrapper counts when at least two accounts use it and it is not common in the logs (used by at
most ``max_account_fraction`` of the accounts, never called common below
``min_common_accounts``): "Let's think step by step." is everybody's.

Measures, per account: ``phrasing_share``, the share of its text requests whose prompt carries
a counted wrapper, and ``phrasing_partners``. Links (kind ``phrasing``): two accounts of
different organisations that share at least ``min_shared_phrasings`` distinct counted
wrappers, weighted by three things that must all hold: how many they share (full at
``phrasings_for_full_link``); how much of their two sets of wrappers is shared (Jaccard, a ramp
from ``overlap_from`` to ``overlap_full``: one pool gives nearly the same set, a public library
that both borrow from gives a few phrasings each among many others); and the smaller of their
two ``phrasing_share`` values (a ramp from ``share_from`` to ``share_full``: a generator wraps
most requests, an integration that draws on a prompt collection a few percent). Candidate pairs
come from blocking inside each wrapper's users, as for shared templates
(:mod:`.shared_templates`), so pairs stay linear in accounts.

Why it indicates distillation: a reasoning trace is what a student model is trained on, and an
operator who spreads the harvest over unrelated-looking accounts to stay under each account's
radar still asks for it with one generator's phrasings. It holds on real traffic because people
who ask for reasoning use their own words or the few phrasings everybody uses, which are common
and not counted. Two strangers sharing four uncommon phrasings happens when both draw on one
public prompt collection, but then in a few percent of their requests; sharing them in most
requests is what one generator feeding several accounts does. On the development traffic the
slow paraphrasing campaign's payment groups, which share no infrastructure and no schedule,
share 9 to 21 wrappers pair by pair (half to four fifths of their sets) in over 80% of their
requests, while integrations built on public prompt collections share up to 11 in about 1% of
theirs. In simulated traffic where campaigns, evaluation teams and power users all draw on one
multilingual phrase library, pairs of different actors share at most 40% of their sets (people
with few phrasings up to 57%, in few requests), and no pair links.

Known false positives: two products built on the same prompt library that wraps every request
in its reasoning instructions (tutoring apps from one template vendor); teams replaying the
same instruction dataset. The link joins only accounts whose own content looks like harvesting
and groups whose members run like a campaign (see :mod:`distillscan.linking`).

Cost: two regular expressions over the distinct prompts that ask for reasoning, one scan of
the events aggregating them by (account, prompt, wrapper), and blocked pairs; linear in
events. Logs without prompt text skip the pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from distillscan.detect.base import (
    Context,
    Pass,
    PassOutput,
    overlap_pairs_sql,
    ramp,
)
from distillscan.detect.features import COT, mask_sql, skeleton_sql

#: The first sentence of a prompt: up to the first ``. ? ! :`` that whitespace follows.
HEAD_SENTENCE = r"^\s*(\S[^\n]*?[.?!:])(\s|$)"
#: The last sentence: what follows the last sentence end or line end.
TAIL_SENTENCE = r"([^.?!:\n]+[.?!]?)\s*$"

WRAPPERS_SQL = f"""
CREATE OR REPLACE TEMP TABLE phrasing_prompts AS
WITH eliciting AS (
    SELECT prompt, length(trim(prompt)) AS prompt_chars,
        trim(regexp_extract(prompt, '{HEAD_SENTENCE}', 1)) AS head,
        trim(regexp_extract(prompt, '{TAIL_SENTENCE}', 1)) AS tail
    FROM (
        SELECT DISTINCT e.prompt FROM events AS e JOIN event_text AS t USING (event_id)
        WHERE t.prompt_cot_mask > 0
    )
),
ends AS (
    SELECT prompt, prompt_chars, head AS sentence FROM eliciting
    UNION ALL
    SELECT prompt, prompt_chars, tail FROM eliciting
)
SELECT DISTINCT prompt, {skeleton_sql("sentence")} AS phrasing
FROM ends
WHERE length(sentence) BETWEEN $min_chars AND $max_chars
    -- A sentence that is the whole prompt is the question, not a wrapper around one.
    AND length(sentence) < prompt_chars
    AND ({mask_sql(COT, "lower(sentence)")}) > 0
"""

#: The one scan of the events: how often each account sent each prompt that carries a wrapper.
EVENTS_SQL = """
CREATE OR REPLACE TEMP TABLE phrasing_events AS
SELECT e.account_id, w.prompt, w.phrasing, count(*) AS n_events
FROM events AS e JOIN phrasing_prompts AS w USING (prompt)
GROUP BY ALL
"""

USES_SQL = """
CREATE OR REPLACE TEMP TABLE phrasing_uses AS
WITH per_account AS (
    SELECT account_id, phrasing, sum(n_events) AS n FROM phrasing_events GROUP BY ALL
),
spread AS (
    SELECT phrasing, count(*) AS n_accounts_using FROM per_account GROUP BY phrasing
),
population AS (
    SELECT count(DISTINCT account_id) AS n_accounts FROM event_features
)
SELECT a.account_id, a.phrasing, a.n, s.n_accounts_using
FROM per_account AS a JOIN spread AS s USING (phrasing), population AS p
WHERE s.n_accounts_using >= 2
    AND s.n_accounts_using <= greatest($min_common_accounts, $max_account_fraction * p.n_accounts)
"""

ACCOUNT_SQL = """
WITH wrapped AS (
    -- Requests whose prompt carries any counted wrapper (a prompt counts once, however many).
    SELECT account_id, sum(n_events) AS n_wrapped
    FROM (
        SELECT DISTINCT account_id, prompt, n_events FROM phrasing_events
        WHERE phrasing IN (SELECT phrasing FROM phrasing_uses)
    )
    GROUP BY account_id
)
SELECT f.account_id,
    coalesce(any_value(w.n_wrapped), 0) / greatest(count(*) FILTER (WHERE f.has_text), 1)
        AS phrasing_share
FROM event_features AS f LEFT JOIN wrapped AS w USING (account_id)
GROUP BY f.account_id
"""

PAIRS_SQL = overlap_pairs_sql(
    users="SELECT DISTINCT account_id, phrasing FROM phrasing_uses",
    set_sizes="""
        SELECT o.account_no, count(DISTINCT w.phrasing) AS n_keys
        FROM phrasing_events AS w JOIN account_org AS o USING (account_id)
        GROUP BY o.account_no""",
    key="phrasing",
    shared="shared_phrasings",
    minimum="min_shared_phrasings",
)

EVIDENCE_SQL = """
WITH best AS (
    -- Each linked account's most telling wrapper: the least widespread, then the most used.
    SELECT u.account_id, u.phrasing, u.n_accounts_using
    FROM phrasing_uses AS u JOIN phrasing_linked USING (account_id)
    QUALIFY row_number() OVER (
        PARTITION BY u.account_id ORDER BY u.n_accounts_using, u.n DESC, u.phrasing) = 1
)
SELECT e.account_id, 'shared_phrasing' AS kind, e.event_id, e.source_file, e.source_line,
    printf('reasoning request phrased the same way by %d other account(s)', b.n_accounts_using - 1)
        AS detail
FROM events AS e
JOIN phrasing_prompts AS w USING (prompt)
JOIN best AS b ON b.account_id = e.account_id AND b.phrasing = w.phrasing
QUALIFY row_number() OVER (PARTITION BY e.account_id ORDER BY e.ts, e.event_id) <= $per_account
"""


@dataclass(frozen=True)
class Params:
    """The ``[passes.elicitation_pools]`` settings (defaults, meanings: default_config.toml)."""

    min_chars: int
    max_chars: int
    max_account_fraction: float
    min_common_accounts: int
    fanout: int
    min_shared_phrasings: int
    phrasings_for_full_link: int
    overlap_from: float
    overlap_full: float
    share_from: float
    share_full: float
    evidence_per_account: int


def run(ctx: Context[Params]) -> PassOutput:
    """Find the wrappers, count the shared ones, and link accounts that share a pool."""
    p = ctx.params
    ctx.execute(WRAPPERS_SQL, min_chars=p.min_chars, max_chars=p.max_chars)
    ctx.execute(EVENTS_SQL)
    ctx.execute(
        USES_SQL,
        min_common_accounts=p.min_common_accounts,
        max_account_fraction=p.max_account_fraction,
    )
    shares = ctx.frame(ACCOUNT_SQL)
    pairs = ctx.frame(PAIRS_SQL, fanout=p.fanout, min_shared_phrasings=p.min_shared_phrasings)
    share_weight = ramp(pl.col("phrasing_share"), p.share_from, p.share_full)
    weighted = (
        pairs.join(
            shares.select("account_id", share_weight.alias("share_a")),
            left_on="account_a",
            right_on="account_id",
        )
        .join(
            shares.select("account_id", share_weight.alias("share_b")),
            left_on="account_b",
            right_on="account_id",
        )
        .with_columns(
            (
                ramp(pl.col("shared_phrasings").cast(pl.Float64), 0.0, p.phrasings_for_full_link)
                * ramp(pl.col("jaccard"), p.overlap_from, p.overlap_full)
                * pl.min_horizontal("share_a", "share_b")
            ).alias("weight")
        )
        .filter(pl.col("weight") > 0)
        .sort("account_a", "account_b")
    )
    edges = weighted.select(
        "account_a",
        "account_b",
        pl.lit("phrasing").alias("kind"),
        "weight",
        pl.format(
            "share {} uncommon reasoning requests ({}% of their sets)",
            "shared_phrasings",
            (pl.col("jaccard") * 100).round(0).cast(pl.Int64),
        ).alias("detail"),
    )
    partners = (
        pl.concat(
            [
                weighted.select(pl.col("account_a").alias("account_id")),
                weighted.select(pl.col("account_b").alias("account_id")),
            ]
        )
        .group_by("account_id")
        .len("phrasing_partners")
    )
    signals = (
        shares.join(partners, on="account_id", how="left")
        .with_columns(pl.col("phrasing_partners").fill_null(0).cast(pl.Int64))
        .sort("account_id")
    )
    ctx.con.register("phrasing_linked", partners.select("account_id").to_arrow())
    evidence = ctx.frame(EVIDENCE_SQL, per_account=p.evidence_per_account)
    ctx.con.unregister("phrasing_linked")
    ctx.drop("phrasing_uses", "phrasing_events", "phrasing_prompts")
    return PassOutput(signals=signals, edges=edges, evidence=evidence)


PASS = Pass(
    id="elicitation_pools",
    title="Elicitation pools",
    requires=("prompt",),
    run=run,
    params=Params,
    doc=__doc__ or "",
)
