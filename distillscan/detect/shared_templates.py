"""Shared templates: the same prompt skeletons and system prompts across separate customers.

Each prompt is reduced to two skeleton fingerprints (see :mod:`.features`): its first and its
last 48 characters after case folding, digit masking and whitespace collapsing. Generated prompts
are one skeleton with slots swapped, so the fixed text before or after the slot survives; a
paraphrasing generator multiplies skeletons, but every account of the campaign draws from the
same pool. System prompts are fingerprinted whole.

A fingerprint counts when two or more accounts use it and it is not common across the logs (used
by at most ``max_account_fraction`` of the accounts: a default SDK system prompt or a greeting
links nobody). Two accounts are *template partners* when they share at least
``min_shared_keys`` distinct fingerprints: strangers may both type a popular prompt ("write a
poem about love", one key), but only accounts fed by one generator share key after key. Accounts
of the same organisation are never partners (one customer's apps share their own templates),
unless that organisation holds a large share of all accounts: then it is the owner of the logs
(one AWS account's Bedrock logs), not a customer (see :mod:`.features`).

Candidate pairs come from blocking: inside each fingerprint's list of users, ordered by a hash of
the account id, each account is paired with its next ``fanout`` neighbours. The order is the
same for every fingerprint, so accounts fed by one generator meet again and again and their
shared-key count grows, while strangers meet by chance once. Pairs are linear in users.

Measures, per account: ``template_share`` (prompts carrying a counted fingerprint),
``template_partners`` and ``template_signal``. Links: template partners, weighted by how many
fingerprints they share (evidence, not grounds to join: real prompt text shares skeletons widely);
and *harness* links between accounts that share ``min_shared_system_prompts`` or more distinct
counted system prompts, weighted by how much of their two sets is shared (Jaccard). A person or
a product sets one system prompt; a campaign's harness sends its whole set of role prompts
(planner, coder, reviewer, sub-agent) from every account it runs, so two accounts of it use
nearly the same set. Two operators who both borrowed prompts from one public library share a
few of them among many others, and accounts that share only one, however rare, are not linked.
Artefacts (for linking's attachment of thin accounts): each account's counted system prompts,
at ``system_prompt_weight``, and its counted prompt skeletons, at ``skeleton_weight`` in
proportion to the share of its prompts that carry each (full from ``skeleton_full_share``: a busy
account's thousands of prompts meet a campaign's templates somewhere by chance), its
``skeletons_per_account`` most used (all of a thin account's; what a busy one repeats). A thin
account whose one system prompt is mostly used by a campaign's members probably runs in its
harness, and one whose prompts open or close as mostly the campaign's members' do draws on its
generator; but each alone stays short of attaching it (a framework's prompt, or a template, may
be the campaign's and a few people's). With another artefact of the campaign (the other of the
two, an address, a card, a sign-up window) it attaches. This is what ties an operator's churned
accounts in where the logs carry no address or client at all.

Why it indicates distillation: the reported campaigns sent machine-generated prompts from shared
generators across many accounts.

Known false positives: teams at different companies running the same public benchmark
templates; two products built from the same open-source prompt library. Shared templates link
accounts; whether the group is a campaign depends on what it asks and how it runs.

Cost: aggregations of ``event_features`` by (account, fingerprint) and by fingerprint; the pair
table is at most ``fanout`` pairs per (account, fingerprint); linear in events.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from distillscan.detect.base import (
    Context,
    Pass,
    PassOutput,
    Pooled,
    Signal,
    neighbour_pairs_sql,
    overlap_pairs_sql,
    partners_sql,
    percent,
    ramp,
)

USES_SQL = """
CREATE OR REPLACE TEMP TABLE template_uses AS
WITH uses AS (
    SELECT account_id, head_key AS key, 'skeleton' AS kind FROM event_features
    WHERE head_key IS NOT NULL
    UNION ALL
    SELECT account_id, tail_key, 'skeleton' FROM event_features WHERE tail_key IS NOT NULL
    UNION ALL
    SELECT account_id, system_key, 'system' FROM event_features WHERE system_key IS NOT NULL
),
per_account_key AS (
    SELECT account_id, key, kind, count(*) AS n FROM uses GROUP BY ALL
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

PAIRS_SQL = """
CREATE OR REPLACE TEMP TABLE template_pairs AS
WITH users AS (
    -- One row per account and fingerprint, so that a pair meets at most once per fingerprint.
    SELECT DISTINCT account_id, key FROM template_uses
),
{neighbours},
{partners}
SELECT a.account_id AS account_a, b.account_id AS account_b, p.shared_keys
FROM partners AS p
JOIN account_org AS a ON a.account_no = p.account_a
JOIN account_org AS b ON b.account_no = p.account_b
""".format(
    neighbours=neighbour_pairs_sql("users", "key"),
    partners=partners_sql("shared_keys", "min_shared_keys"),
)

HARNESS_SQL = overlap_pairs_sql(
    users="SELECT DISTINCT account_id, key FROM template_uses WHERE kind = 'system'",
    set_sizes="""
        SELECT o.account_no, count(DISTINCT e.system_key) AS n_keys
        FROM event_features AS e JOIN account_org AS o USING (account_id)
        WHERE e.system_key IS NOT NULL
        GROUP BY o.account_no""",
    key="key",
    shared="shared_prompts",
    minimum="min_shared_system_prompts",
)

ACCOUNT_SQL = """
WITH counted_keys AS (
    SELECT DISTINCT key FROM template_uses WHERE kind = 'skeleton'
),
partners AS (
    SELECT account_id, count(*) AS template_partners, max(shared_keys) AS most_shared_keys
    FROM (
        SELECT account_a AS account_id, shared_keys FROM template_pairs
        UNION ALL
        SELECT account_b, shared_keys FROM template_pairs
    )
    GROUP BY account_id
)
SELECT e.account_id,
    count(*) FILTER (WHERE e.has_text) AS n_text_events,
    count(*) FILTER (WHERE e.head_key IN (SELECT key FROM counted_keys)
                        OR e.tail_key IN (SELECT key FROM counted_keys))
        / greatest(count(*) FILTER (WHERE e.has_text), 1) AS template_share,
    coalesce(any_value(p.template_partners), 0) AS template_partners,
    coalesce(any_value(p.most_shared_keys), 0) AS most_shared_keys
FROM event_features e LEFT JOIN partners p USING (account_id)
GROUP BY e.account_id
"""

#: The uncommon system prompts and prompt skeletons each account sends (its artefacts, for
#: linking's attachment of thin accounts): one harness prompt or one template is too little to
#: link two accounts, but a thin account whose system prompt and skeletons are mostly a
#: campaign's members' runs in its harness on its generator's prompts.
ARTEFACTS_SQL = """
WITH text_events AS (
    SELECT account_id, count(*) FILTER (WHERE has_text) AS n_text_events
    FROM event_features GROUP BY account_id
)
SELECT u.account_id,
    CASE u.kind WHEN 'system' THEN 'system_prompt' ELSE 'prompt_skeleton' END AS kind,
    CASE u.kind WHEN 'system' THEN 'system prompt #' ELSE 'prompt skeleton #' END || u.key
        AS artefact,
    CASE u.kind WHEN 'system' THEN $system_weight::DOUBLE
        -- A skeleton says as much as the account's prompts it carries: a busy account's
        -- thousands of prompts meet a campaign's templates somewhere by chance.
        ELSE $skeleton_weight
            * least(u.n / greatest(t.n_text_events, 1) / $skeleton_full_share, 1.0)
    END AS weight
FROM template_uses AS u JOIN text_events AS t USING (account_id)
-- Each account's most used skeletons only: a thin account's are all of them, a busy one's are
-- what its generator repeats, and the table stays bounded by accounts, not by prompts.
QUALIFY u.kind = 'system' OR row_number() OVER (
    PARTITION BY u.account_id, u.kind ORDER BY u.n DESC, u.key) <= $skeletons_per_account
ORDER BY u.account_id, artefact
"""

#: For each ``(account_id, artefact)`` of this pass in ``artefact_examples_wanted``, the first
#: request of the account that carries it: an artefact names its prompt only by fingerprint, and
#: the investigator reads the system prompt or prompt itself at that file and line.
ARTEFACT_EXAMPLES_SQL = """
WITH wanted AS (
    SELECT account_id, artefact,
        starts_with(artefact, 'system prompt #') AS is_system,
        TRY_CAST(regexp_extract(artefact, '#([0-9]+)$', 1) AS UBIGINT) AS key
    FROM artefact_examples_wanted
    WHERE starts_with(artefact, 'system prompt #') OR starts_with(artefact, 'prompt skeleton #')
)
SELECT w.account_id, w.artefact,
    arg_min(f.event_id, (f.ts, f.event_id)) AS event_id,
    arg_min(f.source_file, (f.ts, f.event_id)) AS source_file,
    arg_min(f.source_line, (f.ts, f.event_id)) AS source_line
FROM wanted AS w
JOIN event_features AS f ON f.account_id = w.account_id
    AND CASE WHEN w.is_system THEN f.system_key = w.key
             ELSE w.key IN (f.head_key, f.tail_key) END
GROUP BY w.account_id, w.artefact
ORDER BY w.account_id, w.artefact
"""

EVIDENCE_SQL = """
WITH partnered AS (
    SELECT account_a AS account_id FROM template_pairs
    UNION SELECT account_b FROM template_pairs
),
best_key AS (
    SELECT u.account_id, u.key, u.n_accounts_using
    FROM template_uses u JOIN partnered USING (account_id)
    WHERE u.kind = 'skeleton'
    QUALIFY row_number() OVER (
        PARTITION BY u.account_id ORDER BY u.n DESC, u.n_accounts_using DESC, u.key) = 1
)
SELECT e.account_id, 'shared_template' AS kind, e.event_id, e.source_file, e.source_line,
    printf('prompt skeleton shared by %d accounts', b.n_accounts_using) AS detail
FROM event_features e JOIN best_key b
    ON e.account_id = b.account_id AND (e.head_key = b.key OR e.tail_key = b.key)
QUALIFY row_number() OVER (PARTITION BY e.account_id ORDER BY e.ts, e.event_id) <= $per_account
"""


@dataclass(frozen=True)
class Params:
    """The ``[passes.shared_templates]`` settings (defaults, meanings: default_config.toml)."""

    max_account_fraction: float
    min_common_accounts: int
    fanout: int
    min_shared_keys: int
    keys_for_full_link: int
    partners_for_full_signal: int
    min_shared_system_prompts: int
    harness_overlap_from: float
    harness_overlap_full: float
    evidence_per_account: int
    system_prompt_weight: float
    skeleton_weight: float
    skeleton_full_share: float
    skeletons_per_account: int


def run(ctx: Context[Params]) -> PassOutput:
    """Count shared fingerprints, find template partners and link them."""
    p = ctx.params
    ctx.execute(
        USES_SQL,
        min_common_accounts=p.min_common_accounts,
        max_account_fraction=p.max_account_fraction,
    )
    ctx.execute(PAIRS_SQL, fanout=p.fanout, min_shared_keys=p.min_shared_keys)
    accounts = ctx.frame(ACCOUNT_SQL)
    signals = accounts.with_columns(
        (
            ramp(pl.col("template_share"), 0.1, 0.6)
            * ramp(pl.col("template_partners").cast(pl.Float64), 0.0, p.partners_for_full_signal)
        ).alias("template_signal")
    )
    pairs = ctx.frame("SELECT * FROM template_pairs ORDER BY account_a, account_b")
    edges = pairs.select(
        "account_a",
        "account_b",
        pl.lit("template").alias("kind"),
        ramp(pl.col("shared_keys").cast(pl.Float64), 0.0, p.keys_for_full_link).alias("weight"),
        pl.format("share {} prompt skeletons", "shared_keys").alias("detail"),
    )
    harness = (
        ctx.frame(
            HARNESS_SQL,
            fanout=p.fanout,
            min_shared_system_prompts=p.min_shared_system_prompts,
        )
        .select(
            "account_a",
            "account_b",
            pl.lit("harness").alias("kind"),
            ramp(pl.col("jaccard"), p.harness_overlap_from, p.harness_overlap_full).alias("weight"),
            pl.format(
                "share {} system prompts ({}% of their sets)",
                "shared_prompts",
                (pl.col("jaccard") * 100).round(0).cast(pl.Int64),
            ).alias("detail"),
        )
        .filter(pl.col("weight") > 0)
    )
    evidence = ctx.frame(EVIDENCE_SQL, per_account=p.evidence_per_account)
    ctx.drop("template_pairs")  # template_uses stays: later passes read it
    artefacts = ctx.frame(
        ARTEFACTS_SQL,
        system_weight=p.system_prompt_weight,
        skeleton_weight=p.skeleton_weight,
        skeleton_full_share=p.skeleton_full_share,
        skeletons_per_account=p.skeletons_per_account,
    )
    return PassOutput(
        signals=signals.sort("account_id"),
        edges=pl.concat([edges, harness]),
        evidence=evidence,
        artefacts=artefacts,
    )


def artefact_examples(con: duckdb.DuckDBPyConnection, wanted: pl.DataFrame) -> pl.DataFrame:
    """The first request carrying each of this pass's artefacts in ``wanted`` (``account_id``,
    ``artefact``): ``event_id``, ``source_file``, ``source_line`` (see
    :data:`ARTEFACT_EXAMPLES_SQL`). Other artefacts are left out."""
    con.register("artefact_examples_wanted", wanted.select("account_id", "artefact"))
    try:
        examples: pl.DataFrame = con.sql(ARTEFACT_EXAMPLES_SQL).pl()
        return examples
    finally:
        con.unregister("artefact_examples_wanted")


def describe(pooled: Pooled) -> str:
    """Share of prompts on shared skeletons, and how many template-driven partners."""
    f = pooled.figures
    text = f"{percent(f['template_share'])} of prompts on skeletons shared with other accounts"
    if f["template_partners"]:
        text += f"; up to {int(f['template_partners'])} other template-driven account(s)"
    return text


TEMPLATE = Signal(
    id="template",
    family="operations",
    label="shared templates",
    describe=describe,
    shares=("template_share",),
    maxima=("template_partners",),
)

PASS = Pass(
    id="shared_templates",
    title="Shared templates",
    requires=("prompt",),
    run=run,
    params=Params,
    doc=__doc__ or "",
    signals=(TEMPLATE,),
)
