"""Per-event features shared by several passes, computed in one scan of the events.

The text passes need the same things from each prompt: which capabilities it asks for, which
chain-of-thought phrase families it uses, and fingerprints of its skeleton. Computing them once
into ``event_features`` keeps every regular expression to a single pass over the text.

Phrase families and capability patterns are data (``distillscan/data/*.toml``), not code.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources

import duckdb

from distillscan.db import has_table, has_view, sql_string

#: Characters of prompt and system prompt examined by the patterns (cues come early).
TEXT_WINDOW = 1500
#: Characters at each end of a prompt that its skeleton is read from.
SKELETON_WINDOW = 160
#: Characters of the normalised prompt that form the head and tail template keys.
KEY_CHARS = 48


@dataclass(frozen=True, slots=True)
class PatternSet:
    """Named families of regular expressions, each bit of a bitmask."""

    names: tuple[str, ...]
    patterns: tuple[str, ...]  # one combined RE2 alternation per name

    def bit(self, name: str) -> int:
        """The bitmask bit of ``name``."""
        return 1 << self.names.index(name)


def _load(file: str, table: str) -> PatternSet:
    data = tomllib.loads(resources.files("distillscan.data").joinpath(file).read_text("utf-8"))
    names, patterns = [], []
    for name, spec in sorted(data[table].items()):
        alternatives = [
            p for key, values in sorted(spec.items()) if key != "description" for p in values
        ]
        names.append(name)
        patterns.append("(?i)(" + "|".join(f"(?:{p})" for p in alternatives) + ")")
    return PatternSet(tuple(names), tuple(patterns))


COT = _load("cot_phrases.toml", "families")
CAPABILITIES = _load("capabilities.toml", "capabilities")
#: Capabilities read from request structure rather than text.
STRUCTURAL_CAPABILITIES = ("tool_use", "vision")
ALL_CAPABILITIES = (*CAPABILITIES.names, *STRUCTURAL_CAPABILITIES)


def mask_sql(patterns: PatternSet, text: str) -> str:
    terms = [
        f"(CASE WHEN regexp_matches({text}, {sql_string(p)}) THEN {1 << i} ELSE 0 END)"
        for i, p in enumerate(patterns.patterns)
    ]
    return " + ".join(terms) if terms else "0"


def skeleton_sql(text: str) -> str:
    """SQL: ``text`` case folded, digit runs masked, whitespace collapsed."""
    # The whitespace pattern matches only what changes (RE2's \s is [\t\n\f\r ]): a
    # single space, the usual case, is left alone, which makes the replacement 3x cheaper.
    return (
        f"regexp_replace(regexp_replace(lower({text}), '[0-9]+', '0', 'g'), "
        "'[\\t\\n\\f\\r ]{2,}|[\\t\\n\\f\\r]', ' ', 'g')"
    )


def skeletons_sql(prompts: str) -> str:
    """SQL: ``prompt``, ``head`` and ``tail`` (template keys before hashing; no tail for a prompt
    of at most ``KEY_CHARS``) of each row of the relation ``prompts``.

    Most prompts fit in one skeleton window; those are normalised once, both ends read from the
    same text (a third of the text pass's time at 16M events).
    """
    tail_window = skeleton_sql(f"right(prompt, {SKELETON_WINDOW})")
    return f"""
    SELECT prompt, left(head_window, {KEY_CHARS}) AS head,
        CASE WHEN length(prompt) > {KEY_CHARS} THEN right(
            CASE WHEN length(prompt) <= {SKELETON_WINDOW} THEN head_window ELSE {tail_window} END,
            {KEY_CHARS}) END AS tail
    FROM (
        SELECT prompt, {skeleton_sql(f"left(prompt, {SKELETON_WINDOW})")} AS head_window
        FROM {prompts}
    )"""


def capability_bit(name: str) -> int:
    """Bit of a capability (text or structural) in ``capability_mask``."""
    return 1 << ALL_CAPABILITIES.index(name)


#: An org with at least this share of the logs' accounts (and at least
#: ``LOG_OWNER_MIN_ACCOUNTS`` of them) is the owner of the logs, not a customer team.
LOG_OWNER_SHARE = 0.2
LOG_OWNER_MIN_ACCOUNTS = 20


def text_features_sql(source: str, keep: str | None = None) -> str:
    """SQL: the text features of each event of ``source`` (a relation with ``event_id``,
    ``prompt`` and ``system_prompt``): ``event_id``, ``prompt_capability_mask``,
    ``prompt_cot_mask``, ``head`` and ``tail`` (the skeleton keys, before hashing) and
    ``system_cot_mask``; null where the event has no such text.

    They depend on nothing but the event's own text and the phrase data, so they can be kept
    per events part (:mod:`distillscan.detect.text_cache`). Prompts and system prompts repeat (a
    generator's fixed prompts, a campaign's one system prompt): each distinct text is matched
    and normalised once, and events join back on the text itself, not on its hash (DuckDB's
    string hash is not collision-free). ``keep`` names one more column of ``source`` to carry
    through (first).
    """
    kept = f"s.{keep}, " if keep else ""
    prompt_text = f"lower(left(prompt, {TEXT_WINDOW}))"
    system_text = f"lower(left(system_prompt, {TEXT_WINDOW}))"
    distinct_prompts = "(SELECT DISTINCT prompt FROM text_source WHERE prompt IS NOT NULL)"
    return f"""
    WITH text_source AS (SELECT {keep + ", " if keep else ""}event_id, prompt, system_prompt
        FROM {source}),
    prompt_texts AS (
        SELECT prompt, head, tail,
            {mask_sql(CAPABILITIES, prompt_text)} AS prompt_capability_mask,
            {mask_sql(COT, prompt_text)} AS prompt_cot_mask
        FROM ({skeletons_sql(distinct_prompts)})
    ),
    system_texts AS (
        SELECT system_prompt, {mask_sql(COT, system_text)} AS system_cot_mask
        FROM (SELECT DISTINCT system_prompt FROM text_source WHERE system_prompt IS NOT NULL)
    )
    SELECT {kept}s.event_id, p.prompt_capability_mask, p.prompt_cot_mask, p.head, p.tail,
        y.system_cot_mask
    FROM text_source AS s
    LEFT JOIN prompt_texts AS p ON p.prompt = s.prompt
    LEFT JOIN system_texts AS y ON y.system_prompt = s.system_prompt"""


def build(con: duckdb.DuckDBPyConnection) -> None:
    """Create the temp tables ``event_features`` and ``account_org`` from the ``events`` view.

    The text features come from ``event_text`` when the caller prepared it (the case's
    per-part cache, :mod:`distillscan.detect.text_cache`), else they are computed here.

    ``account_org``: account_id, org_id (its most frequent), account_no (its rank by id),
    shuffle (a hash of the id).

    Columns: event_id, account_id, end_user_id, ts, model, has_text, single_shot,
    capability_mask, prompt_cot_mask, system_cot_mask, harvest flags, prompt_key (exact
    normalised prompt), head_key and tail_key (template skeleton fingerprints), system_key.
    """
    tool_bit = capability_bit("tool_use")
    vision_bit = capability_bit("vision")
    if not has_view(con, "event_text") and not has_table(con, "event_text"):
        # No per-part cache prepared (see text_cache): compute the window's text here.
        con.execute(f"CREATE OR REPLACE TEMP TABLE event_text AS {text_features_sql('events')}")
    # The organisation each account belongs to (its most frequent org id): links between
    # accounts of one customer are that customer's business, not coordination. An org that
    # holds a large share of all accounts is not a customer but the owner of the logs (the one
    # AWS account of a Bedrock export, a single-tenant gateway's org): "same org" says nothing
    # there, so its accounts count as having no org. ``account_no`` numbers accounts in id
    # order, so pair tables can hold two integers instead of two strings; ``shuffle`` (a hash
    # of the id) orders accounts inside a blocking group.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE account_org AS
        WITH account_orgs AS (
            SELECT account_id, mode(org_id) AS org_id FROM events GROUP BY account_id
        ),
        org_sizes AS (
            SELECT org_id, count(*) AS n_accounts,
                count(*) / sum(count(*)) OVER () AS account_share
            FROM account_orgs WHERE org_id IS NOT NULL GROUP BY org_id
        )
        SELECT a.account_id,
            CASE WHEN s.n_accounts >= {LOG_OWNER_MIN_ACCOUNTS}
                      AND s.account_share >= {LOG_OWNER_SHARE} THEN NULL
                 ELSE a.org_id END AS org_id,
            row_number() OVER (ORDER BY a.account_id) AS account_no,
            hash(a.account_id) AS shuffle
        FROM account_orgs AS a LEFT JOIN org_sizes AS s USING (org_id)"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE event_features AS
        SELECT e.event_id, e.account_id, e.end_user_id, e.ts, e.model,
            e.source_file, e.source_line,
            e.prompt IS NOT NULL AS has_text,
            NOT coalesce(e.has_history, false) AS single_shot,
            coalesce(t.prompt_capability_mask, 0)
                | (CASE WHEN e.n_tools > 0 THEN {tool_bit} ELSE 0 END)
                | (CASE WHEN e.n_images > 0 THEN {vision_bit} ELSE 0 END) AS capability_mask,
            coalesce(t.prompt_cot_mask, 0) AS prompt_cot_mask,
            coalesce(t.system_cot_mask, 0) AS system_cot_mask,
            coalesce(e.n_choices, 1) > 1 AS asks_multiple,
            coalesce(e.logprobs, false) AS asks_logprobs,
            coalesce(e.reasoning_requested, false) AS asks_reasoning,
            coalesce(e.max_tokens, 0) AS max_tokens,
            hash(e.prompt) AS prompt_key,
            CASE WHEN t.head IS NOT NULL THEN hash('h', t.head) END AS head_key,
            CASE WHEN t.tail IS NOT NULL THEN hash('t', t.tail) END AS tail_key,
            CASE WHEN e.system_prompt IS NOT NULL THEN hash(e.system_prompt) END AS system_key
        FROM events AS e
        LEFT JOIN event_text AS t USING (event_id)"""
    )
