"""The report model: everything any output format shows, built once from a finished investigation.

Every renderer (terminal, Markdown, JSON, HTML) reads this one structure, so the formats carry the
same findings, and the JSON output *is* this structure (its schema is ``docs/output-schema.json``,
documented in ``docs/output-schema.md``). It is made of plain JSON values so that it serialises
byte-identically: rows are sorted, floats are rounded to :data:`DECIMALS` places, instants are
UTC ISO-8601 strings, and nothing depends on the clock or on where the case folder lives.

Text from the logs (ids, prompts, user agents, model names, evidence details) is kept *as is*
here: escaping belongs to each output format. Text the model writes itself (signal figures,
names) only ever contains numbers and fixed vocabulary; where a figure is about a log value (the
model an account pivoted to) that value is kept apart, in ``subject``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict

import duckdb
import polars as pl

from distillscan import __version__
from distillscan.config import Config, defaults
from distillscan.detect import (
    PASSES,
    SIGNAL_PASSES,
    SIGNALS,
    cot_elicitation,
    infrastructure,
    parameters,
    shared_templates,
)
from distillscan.detect.base import ParamsT, Pooled, params_of
from distillscan.detect.cot_elicitation import ORDINARY_COLUMNS
from distillscan.investigate import Investigation
from distillscan.report import facts
from distillscan.report.loader import load_record
from distillscan.severity import FLAGGED, SEVERITIES, at_least
from distillscan.severity import rank as severity_rank
from distillscan.tracking import STATUSES
from distillscan.triage import DISMISSED, decisions, latest

SCHEMA_VERSION = "1.2"
DECIMALS = 4
#: Severities that make an account "flagged" on its own.
#: How many templates and infrastructure entities each campaign lists.
TEMPLATES_PER_CAMPAIGN = 5
ENTITIES_PER_CAMPAIGN = 10
#: Characters of an evidence event's prompt kept in the model.
EVIDENCE_PROMPT_CHARS = 160


class SignalRow(TypedDict):
    """One signal behind a score, in numbers and in words."""

    signal: str
    family: str
    label: str
    value: float
    contribution: float
    figure: str
    subject: str | None


class Bucket(TypedDict):
    """Activity in one timeline bucket."""

    start: str
    events: int
    on_release_model: int
    accounts: int


class Timeline(TypedDict):
    """Activity over time, with the release the traffic pivoted to (if any)."""

    bucket_hours: int
    release_model: str | None
    released_at: str | None
    buckets: list[Bucket]


class Example(TypedDict):
    """An example event: where it is in the inputs, and (the start of) its prompt."""

    account_id: str
    event_id: str
    ts: str | None
    model: str | None
    source_file: str | None
    source_line: int | None
    prompt: str | None
    prompt_chars: int | None


class Template(TypedDict):
    """A prompt skeleton shared by several accounts."""

    template_id: str
    side: str
    skeleton: str
    accounts: int
    events: int
    other_accounts: int
    examples: list[Example]


class Entity(TypedDict):
    """A piece of infrastructure several accounts share."""

    kind: str
    value: str
    accounts: int
    events: int
    other_accounts: int


class Member(TypedDict):
    """A campaign member, briefly."""

    account_id: str
    severity: str
    score: float
    n_events: int
    first_seen: str | None
    last_seen: str | None
    strongest_signals: list[str]
    #: Its triage status (``confirmed``, ``benign``, ``suppressed``), or None.
    triage: str | None


class Evidence(TypedDict):
    """One evidence row (an example event or a link between accounts)."""

    account_id: str
    pass_id: str
    kind: str
    event_id: str | None
    source_file: str | None
    source_line: int | None
    detail: str | None
    partner_id: str | None
    weight: float | None
    ts: str | None
    model: str | None
    prompt: str | None
    prompt_chars: int | None


class Link(TypedDict):
    """A link between two members (from the evidence's link rows)."""

    account_a: str
    account_b: str
    kind: str


class ReleasePivot(TypedDict):
    """Members moving to a newly released model within 24 hours."""

    model: str
    released_at: str | None
    accounts: int
    share: float
    population_share: float | None


class TriageEntry(TypedDict):
    """An investigator's decision about a campaign or an account (see
    :mod:`distillscan.triage`), or an allowlist entry that covers an account."""

    kind: str
    target: str
    status: str
    note: str
    by: str
    at: str | None
    source: str


class Tracking(TypedDict):
    """A campaign across the case's runs (see :mod:`distillscan.tracking`)."""

    status: str
    escalated: bool
    previous_severity: str | None
    first_named_run: int
    first_named_through: str | None
    merged_from: list[str]
    split_from: str | None


class Campaign(TypedDict):
    """A suspected campaign with everything shown about it."""

    campaign_id: str
    name: str
    severity: str
    tracking: Tracking | None
    triage: TriageEntry | None
    score: float
    content: float
    operations: float
    coordination: float
    n_accounts: int
    n_events: int
    first_seen: str | None
    last_seen: str | None
    capabilities: list[str]
    link_kinds: list[str]
    release_pivot: ReleasePivot | None
    strongest_signals: list[str]
    signals: list[SignalRow]
    timeline: Timeline
    templates: list[Template]
    infrastructure: list[Entity]
    accounts: list[str]
    members: list[Member]
    links: list[Link]
    mixed_accounts: list[str]
    evidence: list[Evidence]


class Change(TypedDict):
    """What changed about one campaign since the previous run."""

    campaign_id: str
    name: str
    status: str
    escalated: bool
    severity: str
    previous_severity: str | None
    n_accounts: int
    previous_n_accounts: int | None
    added_members: list[str]
    removed_members: list[str]
    merged_from: list[str]
    merged_into: str | None
    split_from: str | None


class Changes(TypedDict):
    """The case's runs: this one, the one before, and what changed in between."""

    run: int
    previous_run: int | None
    data_through: str | None
    previous_data_through: str | None
    counts: dict[str, int]
    campaigns: list[Change]
    #: Mixed accounts (resellers hiding a harvesting tenant) the previous run did not report.
    new_mixed_accounts: list[str]


class MixedAccount(TypedDict):
    """An account whose traffic mixes ordinary end users with harvesting ones."""

    account_id: str
    severity: str
    score: float
    n_events: int
    n_end_users: int
    implicated_events: int
    contamination_share: float
    implicated_end_users: list[str]
    #: Implicated end users an allowlist names (known customers of the reseller).
    allowlisted_end_users: list[str]
    campaigns: list[str]


class Account(TypedDict):
    """One scored account."""

    account_id: str
    score: float
    severity: str
    campaign_id: str | None
    n_events: int
    first_seen: str | None
    last_seen: str | None
    content: float
    operations: float
    is_mixed: bool
    contamination_share: float | None
    signals: dict[str, float]
    contributions: dict[str, float]


class Input(TypedDict):
    """One input of the case: a file, or a bundle of a folder's small files (``files``)."""

    path: str
    files: int
    target: str
    format: str
    sha256: str
    size: int | None
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    warnings: list[str]


class Manifest(TypedDict):
    """What was read: inputs with their hashes, files left out, and the totals."""

    inputs: list[Input]
    skipped: list[dict[str, str]]
    totals: dict[str, int]


class Coverage(TypedDict):
    """The slice of time and traffic the investigation covered."""

    window_from: str | None
    window_to: str | None
    first_event: str | None
    last_event: str | None
    events: int
    accounts: int


class PassInfo(TypedDict):
    """Whether a pass ran, or why it was skipped, and what it noted."""

    id: str
    title: str
    ran: bool
    skipped_reason: str | None
    notes: list[str]


class Summary(TypedDict):
    """Counts for the headline."""

    campaigns: int
    highest_severity: str | None
    campaigns_by_severity: dict[str, int]
    campaign_accounts: int
    flagged_accounts: int
    mixed_accounts: int
    unmeasured_content: list[str]


class FalsePositive(TypedDict):
    """A class of legitimate use that resembles a campaign, and what keeps it out."""

    legitimate_use: str
    resembles: str
    kept_out_by: str


class Methodology(TypedDict):
    """How scores become severities, and what the method cannot see."""

    method: str
    severity_thresholds: dict[str, float]
    false_positive_classes: list[FalsePositive]
    limitations: list[str]


class Run(TypedDict):
    """Which tool wrote the report (no clock, no paths: the report is reproducible)."""

    tool: str
    version: str
    redacted: bool


class Report(TypedDict):
    """The whole report (the JSON output; see ``docs/output-schema.md``)."""

    schema_version: str
    run: Run
    manifest: Manifest
    scope: Coverage
    passes: list[PassInfo]
    summary: Summary
    changes: Changes | None
    triage: list[TriageEntry]
    campaigns: list[Campaign]
    mixed_accounts: list[MixedAccount]
    accounts: list[Account]
    methodology: Methodology


#: The scored signals' ids, in the order reports list them (declared by the passes).
SIGNAL_IDS = tuple(s.id for s in SIGNALS)

FALSE_POSITIVES: tuple[FalsePositive, ...] = (
    {
        "legitimate_use": "templated enterprise app, 24/7",
        "resembles": "automation, templates",
        "kept_out_by": "narrow content, no elicitation: content near 0",
    },
    {
        "legitimate_use": "evaluation team: 'step by step', bursts, new model on day one",
        "resembles": "elicitation, breadth, trying a new model",
        "kept_out_by": "bursts (not round the clock), small share moved to the new model, "
        "no cross-customer coordination: operations low",
    },
    {
        "legitimate_use": "coding assistant: one system prompt, many end users",
        "resembles": "one system prompt and user agent, agent loops at machine pace",
        "kept_out_by": "one account; its loops work on one repository's code and plans, and a "
        "tenant needs a group of harvesting end users carrying a real share",
    },
    {
        "legitimate_use": "university behind NAT, accounts created in a burst",
        "resembles": "IP prefix, sign-up burst",
        "kept_out_by": "ordinary, conversational content: never eligible to link",
    },
    {
        "legitimate_use": "legitimate reseller",
        "resembles": "many end users, round-the-clock aggregate",
        "kept_out_by": "conversational aggregate; the abusive tenant is reported as a mixed "
        "account, not the whole reseller",
    },
)

LIMITATIONS: tuple[str, ...] = (
    "Content passes need prompt text; metadata-only exports are judged on the answers' shape, "
    "address rotation, operations and links, and the report says which content was not measured.",
    "Phrase families cover English, Chinese, Spanish, Russian, Korean, French, German and "
    "Japanese; elicitation in other languages is seen only through parameters and structure.",
    "Skeleton fingerprints catch templates with a fixed head or tail; a generator that "
    "paraphrases every request is linked by synchronization and infrastructure instead.",
    "Timestamps without an offset are taken as UTC; a log in local time shifts hour-of-day "
    "profiles but not their flatness.",
    "Scores rank accounts for review; they are evidence for an investigator, not a verdict.",
)


def build_report(
    investigation: Investigation,
    *,
    templates: int = TEMPLATES_PER_CAMPAIGN,
    entities: int = ENTITIES_PER_CAMPAIGN,
) -> Report:
    """Assemble the report of a finished investigation (reads the case's events for facts).

    Args:
        investigation: The investigation (just run, or loaded from its case folder).
        templates: Shared templates listed per campaign.
        entities: Shared infrastructure entities listed per campaign.

    Raises:
        CaseError: the case's events or investigation record cannot be read.
    """
    record = load_record(investigation.case)
    config = record.get("config") or defaults()
    return facts.on_events(
        investigation.case,
        investigation.window,
        lambda con: _build(investigation, config, con, (templates, entities)),
    )


def _build(
    investigation: Investigation,
    config: dict[str, Any],
    con: duckdb.DuckDBPyConnection,
    limits: tuple[int, int],
) -> Report:
    accounts = investigation.accounts
    campaigns_frame = investigation.campaigns.sort(
        pl.col("severity").replace_strict({s: severity_rank(s) for s in SEVERITIES}, default=0),
        "score",
        "campaign_id",
        descending=[True, True, False],
    )
    first, last, n_events = facts.event_span(con)
    campaigns = _campaigns(con, investigation, campaigns_frame, config, limits)
    triage = triage_entries(investigation)
    account_status = {t["target"]: t["status"] for t in triage if t["kind"] == "account"}
    for campaign in campaigns:
        for member in campaign["members"]:
            member["triage"] = account_status.get(member["account_id"])
        campaign["triage"] = next(
            (
                t
                for t in triage
                if t["kind"] == "campaign" and t["target"] == campaign["campaign_id"]
            ),
            None,
        )
    mixed = _mixed(con, accounts, campaigns)
    for campaign in campaigns:
        campaign["mixed_accounts"] = sorted(
            m["account_id"] for m in mixed if campaign["campaign_id"] in m["campaigns"]
        )
    by_severity = {
        s: sum(1 for c in campaigns if c["severity"] == s) for s in reversed(SEVERITIES[1:])
    }
    flagged = accounts.filter(pl.col("severity").is_in(FLAGGED)).height
    # Content read from prompt text that could not be measured (a metadata-only export).
    ran = {str(p["id"]) for p in investigation.passes if p.get("ran")}
    reads_text = {p.id for p in PASSES if "prompt" in p.requires}
    unmeasured = [
        s.id
        for s in SIGNALS
        if s.family == "content"
        and SIGNAL_PASSES[s.id] in reads_text
        and SIGNAL_PASSES[s.id] not in ran
    ]
    return {
        "schema_version": SCHEMA_VERSION,
        "run": {"tool": "distillscan", "version": __version__, "redacted": False},
        "manifest": _manifest(investigation.manifest),
        "scope": {
            "window_from": instant(investigation.window[0]),
            "window_to": instant(investigation.window[1]),
            "first_event": instant(first),
            "last_event": instant(last),
            "events": n_events,
            "accounts": accounts.height,
        },
        "passes": [
            {
                "id": str(p["id"]),
                "title": str(p["title"]),
                "ran": bool(p["ran"]),
                "skipped_reason": p.get("skipped"),
                "notes": [str(n) for n in p.get("notes") or []],
            }
            for p in investigation.passes
        ],
        "summary": {
            "campaigns": len(campaigns),
            "highest_severity": campaigns[0]["severity"] if campaigns else None,
            "campaigns_by_severity": by_severity,
            "campaign_accounts": sum(c["n_accounts"] for c in campaigns),
            "flagged_accounts": flagged,
            "mixed_accounts": len(mixed),
            "unmeasured_content": unmeasured,
        },
        "changes": changes_since_previous(investigation),
        "triage": triage,
        "campaigns": campaigns,
        "mixed_accounts": mixed,
        "accounts": _accounts(accounts),
        "methodology": {
            "method": method_text(config),
            "severity_thresholds": {
                name: float(config["scoring"]["severity"][name]) for name in SEVERITIES[1:]
            },
            "false_positive_classes": list(FALSE_POSITIVES),
            "limitations": list(LIMITATIONS),
        },
    }


def method_text(config: Config) -> str:
    """The method in one paragraph, from the registered signals and the configured link kinds
    (every format prints this text, so none can drift from what the code does)."""

    def labels(family: str) -> str:
        return ", ".join(s.label for s in SIGNALS if s.family == family)

    joining = ", ".join(sorted(config["linking"]["min_edge_weight"]))
    return (
        "Each account gets signals in [0, 1] from independent passes. Content signals ("
        f"{labels('content')}) and operations signals ({labels('operations')}) each combine by "
        "noisy-OR, and the score is their product: what an account asks for and how it operates "
        f"must both look like a harvest. Accounts joined by {joining} links form campaigns, "
        "scored as a whole on their pooled traffic; an account too thin to judge on its own "
        "joins the campaign it is most strongly linked to. Shared templates are evidence, "
        "never grounds to join."
    )


def unmeasured_sentence(summary: Summary) -> str | None:
    """What the finding could not rest on: content signals whose passes did not run."""
    if not summary["unmeasured_content"]:
        return None
    return (
        "content not measured: " + ", ".join(summary["unmeasured_content"]) + " (their passes "
        "need what these logs do not carry, see the skipped passes); the finding rests on the "
        "rest of the evidence"
    )


def flagged_outside_campaigns(report: Report) -> list[Account]:
    """Accounts at medium or above in no campaign, mixed accounts excepted: a reseller hosting
    a harvesting tenant is shown once, with its tenant, in the mixed accounts section."""
    mixed = {m["account_id"] for m in report["mixed_accounts"]}
    return [
        a
        for a in report["accounts"]
        if a["campaign_id"] is None
        and a["account_id"] not in mixed
        and at_least(a["severity"], "medium")
    ]


def rounded(value: Any) -> float:
    """A float rounded to :data:`DECIMALS` places (None as 0.0; never -0.0)."""
    return round(float(value or 0.0), DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0


def instant(value: datetime | None) -> str | None:
    """A UTC ISO-8601 instant to the second with a ``Z`` (None stays None)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="seconds") + "Z"


def rows_of(manifest: Manifest, target: str) -> tuple[int, int, int]:
    """Rows read, loaded and quarantined from the inputs of one table (``events``, ...)."""
    inputs = [i for i in manifest["inputs"] if i["target"] == target]
    return (
        sum(i["rows_read"] for i in inputs),
        sum(i["rows_loaded"] for i in inputs),
        sum(i["rows_quarantined"] for i in inputs),
    )


def ingest_summary(manifest: Manifest) -> str:
    """One sentence of what was loaded: events, and other tables when there are any."""
    _read, loaded, quarantined = rows_of(manifest, "events")
    text = f"{loaded:,} events loaded, {quarantined:,} rows quarantined"
    for target, words in (("accounts", "account metadata"), ("cloudtrail", "CloudTrail")):
        _read, other, other_quarantined = rows_of(manifest, target)
        if other or other_quarantined:
            text += f"; {words}: {other:,} rows loaded, {other_quarantined:,} quarantined"
    return text


def _manifest(manifest: dict[str, Any]) -> Manifest:
    inputs: list[Input] = [
        {
            "path": str(entry.get("path")),
            "files": len(entry.get("members") or []) or 1,
            "target": str(entry.get("target") or "events"),
            "format": str(entry.get("format")),
            "sha256": str(entry.get("sha256")),
            "size": entry.get("size"),
            "rows_read": int(entry.get("rows_read") or 0),
            "rows_loaded": int(entry.get("rows_loaded") or 0),
            "rows_quarantined": int(entry.get("rows_quarantined") or 0),
            "warnings": [str(w) for w in entry.get("warnings") or []],
        }
        for entry in manifest.get("inputs") or []
    ]
    inputs.sort(key=lambda i: (i["path"], i["sha256"]))
    skipped = sorted(
        (
            {"path": str(s.get("path")), "reason": str(s.get("reason"))}
            for s in manifest.get("skipped") or []
        ),
        key=lambda s: (s["path"], s["reason"]),
    )
    totals = {k: int(v) for k, v in sorted((manifest.get("totals") or {}).items())}
    return {"inputs": inputs, "skipped": skipped, "totals": totals}


def _column(frame: pl.DataFrame, name: str) -> pl.Expr:
    """``name`` as a float column, or zeros when a skipped pass left it out."""
    if name in frame.columns:
        return pl.col(name).cast(pl.Float64).fill_null(0.0)
    return pl.lit(0.0)


def pooled_figures(frame: pl.DataFrame) -> dict[str, Any]:
    """The figures behind the signals of a group of accounts (one account: its own figures).

    Each signal declares how its figures pool (:class:`~distillscan.detect.base.Signal`):
    shares are event-weighted over the accounts, counts of partners are maxima; ``n_<signal>``
    counts the accounts showing each signal and ``n_accounts`` is the group's size.
    """
    if "template_peers" in frame.columns and "template_partners" not in frame.columns:
        # Cases investigated before the shared_templates pass renamed its partner count.
        frame = frame.rename({"template_peers": "template_partners"})
    weight = pl.col("n_events").cast(pl.Float64)
    weighted = dict.fromkeys(
        [
            *(share for s in SIGNALS for share in s.shares),
            *(s.column for s in SIGNALS),
            *(f"contribution_{s.id}" for s in SIGNALS),
        ]
    )
    maxima = dict.fromkeys(column for s in SIGNALS for column in s.maxima)
    total = max(float(frame["n_events"].sum() or 0), 1.0)
    row = frame.select(
        # Sorted before summing: a float sum's bits depend on the order of its terms.
        *[((_column(frame, c) * weight).sort().sum() / total).alias(c) for c in weighted],
        *[_column(frame, c).max().alias(c) for c in maxima],
        *[(_column(frame, s.column) > 0.3).sum().alias(f"n_{s.id}") for s in SIGNALS],
    ).row(0, named=True)
    for signal in SIGNALS:
        if signal.pool is not None:
            row.update(signal.pool(frame))
    row["n_accounts"] = frame.height
    return row


@dataclass(frozen=True)
class Baselines:
    """What the figures compare against.

    Attributes:
        ordinary: The median account's share of each elicitation cue in these logs.
        params: The pass parameters the investigation ran with (each pass's ``Params``), by
            pass id; see :meth:`params_of`.
        skipped: Signals whose pass did not run, with the reason.
    """

    ordinary: dict[str, float]
    params: dict[str, object]
    skipped: dict[str, str]

    def params_of(self, kind: type[ParamsT]) -> ParamsT:
        """The parameters of the pass whose ``Params`` class is ``kind``."""
        return params_of(self.params, kind)


def baselines(investigation: Investigation, config: dict[str, Any]) -> Baselines:
    """The baselines of one investigation (its configuration, its accounts, its passes)."""
    # A record written by an earlier version may lack newer keys: they take their defaults.
    params = parameters(config.get("passes", {}))
    skipped_passes = {
        str(p["id"]): str(p.get("skipped") or "skipped")
        for p in investigation.passes
        if not p.get("ran")
    }
    return Baselines(
        ordinary=ordinary_levels(
            investigation.accounts, params_of(params, cot_elicitation.Params).min_events
        ),
        params=params,
        skipped={
            signal: skipped_passes[pass_id]
            for signal, pass_id in SIGNAL_PASSES.items()
            if pass_id in skipped_passes
        },
    )


def signal_rows(frame: pl.DataFrame, base: Baselines) -> list[SignalRow]:
    """Every scored signal of a group of accounts, strongest contribution first."""
    f = pooled_figures(frame)
    pooled = Pooled(figures=f, ordinary=base.ordinary, params=base.params)
    rows: list[SignalRow] = [
        {
            "signal": signal.id,
            "family": signal.family,
            "label": signal.label,
            "value": rounded(f[signal.column]),
            "contribution": rounded(f[f"contribution_{signal.id}"]),
            "figure": (
                f"not measured: {SIGNAL_PASSES[signal.id]} did not run ({base.skipped[signal.id]})"
                if signal.id in base.skipped
                else signal.describe(pooled)
            ),
            "subject": f[signal.subject] if signal.subject is not None else None,
        }
        for signal in SIGNALS
    ]
    rows.sort(key=lambda r: (-r["contribution"], SIGNAL_IDS.index(r["signal"])))
    return rows


def strongest(rows: Iterable[SignalRow], n: int = 3, floor: float = 0.05) -> list[str]:
    """The ``n`` signals contributing most (at least ``floor``)."""
    return [r["signal"] for r in rows if r["contribution"] >= floor][:n]


def ordinary_levels(accounts: pl.DataFrame, min_events: int) -> dict[str, float]:
    """The median account's share of each elicitation cue: what is ordinary in these logs.

    The ``cot_elicitation`` pass weighs every cue by its excess over this level (accounts with
    at least ``min_events`` events), so the report shows both numbers.
    """
    present = [c for c in ORDINARY_COLUMNS if c in accounts.columns]
    trusted = accounts.filter(pl.col("n_events") >= min_events)
    if trusted.is_empty() or not present:
        return {}
    row = trusted.select(pl.col(c).cast(pl.Float64).median() for c in present).row(0)
    return {c: float(v or 0.0) for c, v in zip(present, row, strict=True)}


def _campaigns(
    con: duckdb.DuckDBPyConnection,
    investigation: Investigation,
    frame: pl.DataFrame,
    config: dict[str, Any],
    limits: tuple[int, int],
) -> list[Campaign]:
    accounts = investigation.accounts
    if frame.is_empty():
        return []
    membership = frame.select(pl.col("campaign_id").alias("label"), "members").explode("members")
    membership = membership.rename({"members": "account_id"})
    member_rows = accounts.join(
        membership.rename({"label": "in_campaign"}), on="account_id", how="inner"
    )
    pivots = {
        cid: f["pivot_model"]
        for cid in frame["campaign_id"].to_list()
        if (f := pooled_figures(member_rows.filter(pl.col("in_campaign") == cid)))["pivot_model"]
    }
    releases = facts.release_times(con, list(pivots.values()))
    scope = facts.Scope(
        members=membership,
        hours={
            r["campaign_id"]: facts.bucket_hours(r["first_seen"], r["last_seen"])
            for r in frame.iter_rows(named=True)
        },
        release_model=pivots,
    )
    base = baselines(investigation, config)
    timelines = facts.timelines(con, scope)
    templates = facts.templates(
        con,
        scope,
        limit=limits[0],
        common_accounts=common_accounts(base.params_of(shared_templates.Params), accounts.height),
    )
    entities = facts.infrastructure(
        con,
        scope,
        accounts,
        min_share=base.params_of(infrastructure.Params).min_share,
        limit=limits[1],
    )
    evidence = evidence_rows(con, investigation.evidence)
    result: list[Campaign] = []
    for row in frame.iter_rows(named=True):
        cid = row["campaign_id"]
        members = member_rows.filter(pl.col("in_campaign") == cid)
        signals = signal_rows(members, base)
        coordination: SignalRow = {
            "signal": "coordination",
            "family": "operations",
            "label": "coordinated group",
            "value": rounded(row["coordination"]),
            "contribution": rounded(row["coordination"]),
            "figure": f"{row['n_accounts']} accounts joined by "
            + (", ".join(row["link_kinds"] or []) or "no")
            + " links",
            "subject": None,
        }
        signals = sorted(
            [*signals, coordination],
            key=lambda r: (-r["contribution"], (*SIGNAL_IDS, "coordination").index(r["signal"])),
        )
        pivot_model = pivots.get(cid)
        pooled = pooled_figures(members)
        release: ReleasePivot | None = (
            {
                "model": pivot_model,
                "released_at": instant(releases.get(pivot_model)),
                "accounts": int(pooled["n_pivot"]),
                "share": rounded(pooled["pivot_share"]),
                "population_share": rounded(pooled["population_share"]),
            }
            if pivot_model is not None
            else None
        )
        member_list = _members(members)
        ids = set(row["members"] or [])
        campaign_evidence = [e for e in evidence if e["account_id"] in ids]
        result.append(
            {
                "campaign_id": cid,
                "name": row["name"],
                "severity": row["severity"],
                "tracking": _tracking(row),
                "triage": None,
                "score": rounded(row["score"]),
                "content": rounded(row["content"]),
                "operations": rounded(row["operations"]),
                "coordination": rounded(row["coordination"]),
                "n_accounts": int(row["n_accounts"]),
                "n_events": int(row["n_events"]),
                "first_seen": instant(row["first_seen"]),
                "last_seen": instant(row["last_seen"]),
                "capabilities": list(row["capabilities"] or []),
                "link_kinds": sorted(row["link_kinds"] or []),
                "release_pivot": release,
                "strongest_signals": strongest(signals),
                "signals": signals,
                "timeline": timeline_of(
                    scope.hours[cid],
                    pivot_model,
                    releases.get(pivot_model) if pivot_model else None,
                    timelines.get(cid, []),
                ),
                "templates": [template_of(t) for t in templates.get(cid, [])],
                "infrastructure": [entity_of(e) for e in entities.get(cid, [])],
                "accounts": sorted(ids),
                "members": member_list,
                "links": member_links(campaign_evidence, ids),
                "mixed_accounts": [],
                "evidence": campaign_evidence,
            }
        )
    return result


def _tracking(row: dict[str, Any]) -> Tracking | None:
    """A campaign row's place in the case's history (None for results that kept none)."""
    if row.get("status") is None:
        return None
    return {
        "status": str(row["status"]),
        "escalated": bool(row["escalated"]),
        "previous_severity": row["previous_severity"],
        "first_named_run": int(row["first_run"]),
        "first_named_through": instant(row["first_named_through"]),
        "merged_from": list(row["merged_from"] or []),
        "split_from": row["split_from"],
    }


def changes_since_previous(investigation: Investigation) -> Changes | None:
    """What this run changed against the one before it (None when the case keeps no runs).

    Campaigns listed: every one not ``steady``, and steady ones whose severity rose; the most
    severe first. A first run lists every campaign as new.
    """
    if not investigation.runs:
        return None
    current = investigation.runs[-1]
    before = investigation.runs[-2] if len(investigation.runs) > 1 else None
    rows = investigation.history.filter(pl.col("run") == int(current["run"]))
    listed = rows.filter((pl.col("status") != "steady") | pl.col("escalated"))
    changes: list[Change] = [
        {
            "campaign_id": r["campaign_id"],
            "name": r["name"],
            "status": r["status"],
            "escalated": bool(r["escalated"]),
            "severity": r["severity"],
            "previous_severity": r["previous_severity"] if r["status"] != "new" else None,
            "n_accounts": int(r["n_accounts"]),
            "previous_n_accounts": r["previous_n_accounts"],
            "added_members": list(r["added_members"] or []),
            "removed_members": list(r["removed_members"] or []),
            "merged_from": list(r["merged_from"] or []),
            "merged_into": r["merged_into"],
            "split_from": r["split_from"],
        }
        for r in listed.iter_rows(named=True)
    ]
    changes.sort(
        key=lambda c: (
            c["status"] == "ended",
            -severity_rank(c["severity"]),
            STATUSES.index(c["status"]),
            c["campaign_id"],
        )
    )
    statuses = rows["status"].to_list()
    counts = {status: statuses.count(status) for status in STATUSES}
    counts["escalated"] = int(rows["escalated"].sum())
    return {
        "run": int(current["run"]),
        "previous_run": int(before["run"]) if before else None,
        "data_through": _iso(current.get("data_through")),
        "previous_data_through": _iso(before.get("data_through")) if before else None,
        "counts": counts,
        "campaigns": changes,
        "new_mixed_accounts": sorted(
            set(current.get("mixed_accounts") or [])
            - set((before or {}).get("mixed_accounts") or [])
        ),
    }


def change_sentence(change: Change) -> str:
    """What changed about a campaign, in words (campaign ids only: they are distillscan's own;
    member ids come from the logs and each format lists them with its own escaping)."""
    parts: list[str] = []
    status = change["status"]
    if status == "new":
        parts.append(
            "new" + (f", split from {change['split_from']}" if change["split_from"] else "")
        )
    elif status == "growing":
        parts.append(
            f"grew from {change['previous_n_accounts']} to {change['n_accounts']} accounts"
        )
    elif status == "quiet":
        parts.append("quiet: no traffic since the previous run")
    elif status == "ended":
        into = change["merged_into"]
        parts.append(f"merged into {into}" if into else "ended: no longer found")
    if change["merged_from"]:
        parts.append("took in " + ", ".join(change["merged_from"]))
    if change["escalated"]:
        parts.append(f"severity {change['previous_severity']} to {change['severity']}")
    if change["removed_members"] and status != "ended":
        n = len(change["removed_members"])
        parts.append(f"{n} account{'' if n == 1 else 's'} no longer in it")
    return "; ".join(parts) or "steady"


def tracking_sentence(tracking: Tracking) -> str:
    """When the case first named a campaign, and where it stands in this run."""
    text = (
        f"first named in run {tracking['first_named_run']} (data through "
        f"{_readable(tracking['first_named_through'])}); this run: {tracking['status']}"
    )
    if tracking["escalated"]:
        text += f", severity up from {tracking['previous_severity']}"
    if tracking["split_from"]:
        text += f", split from {tracking['split_from']}"
    if tracking["merged_from"]:
        text += ", took in " + ", ".join(tracking["merged_from"])
    return text


def changes_headline(changes: Changes) -> str:
    """One line: which run this is and what changed since the one before."""
    counts = changes["counts"]
    if changes["previous_run"] is None:
        n = counts["new"]
        return (
            f"run {changes['run']} of this case: {n} campaign{'' if n == 1 else 's'} named, "
            "nothing earlier to compare with"
        )
    words = [
        f"{counts[key]} {label}"
        for key, label in (
            ("new", "new"),
            ("escalated", "escalated"),
            ("growing", "grew"),
            ("quiet", "quiet"),
            ("ended", "ended"),
        )
        if counts[key]
    ]
    if changes["new_mixed_accounts"]:
        n = len(changes["new_mixed_accounts"])
        words.append(f"{n} new mixed account{'' if n == 1 else 's'}")
    return (
        f"run {changes['run']} of this case, since run {changes['previous_run']} (data through "
        f"{_readable(changes['previous_data_through'])}): "
        + (", ".join(words) if words else "no change")
    )


def _readable(moment: str | None) -> str:
    """A report instant for a sentence: ``2026-02-16 00:11 UTC``."""
    return f"{moment[:10]} {moment[11:16]} UTC" if moment else "an unknown time"


def triage_entries(investigation: Investigation) -> list[TriageEntry]:
    """The decisions that apply to this investigation's campaigns and accounts: the latest
    ``distillscan triage`` decision for each, else the allowlist entry covering an account."""
    campaign_ids = set(investigation.campaigns["campaign_id"].to_list())
    account_ids = set(investigation.accounts["account_id"].to_list())
    present = {"campaign": campaign_ids, "account": account_ids}
    decided: dict[tuple[str, str], TriageEntry] = {
        key: {
            "kind": d.kind,
            "target": d.target,
            "status": d.status,
            "note": d.note,
            "by": d.by,
            "at": d.at,
            "source": d.source,
        }
        for key, d in latest(decisions(investigation.case)).items()
        if d.target in present.get(d.kind, set())
    }
    if "allowlisted" in investigation.accounts.columns:
        covered = investigation.accounts.filter(pl.col("allowlisted").is_not_null())
        for account_id, reason in covered.select("account_id", "allowlisted").iter_rows():
            decided.setdefault(
                ("account", account_id),
                {
                    "kind": "account",
                    "target": account_id,
                    "status": "benign",
                    "note": reason,
                    "by": "allowlist",
                    "at": None,
                    "source": "allowlist",
                },
            )
    return [decided[key] for key in sorted(decided)]


def is_dismissed(campaign: Campaign, triage: list[TriageEntry]) -> bool:
    """Whether triage took a campaign off the list of what fails a run: it, or every one of
    its members, is marked benign or suppressed."""
    if campaign["triage"] is not None and campaign["triage"]["status"] in DISMISSED:
        return True
    return bool(campaign["accounts"]) and set(campaign["accounts"]) <= dismissed_accounts(triage)


def dismissed_accounts(triage: list[TriageEntry]) -> set[str]:
    """The accounts marked benign or suppressed."""
    return {t["target"] for t in triage if t["kind"] == "account" and t["status"] in DISMISSED}


def triage_sentence(entry: TriageEntry) -> str:
    """A decision in words (the note and the name come from people: each format escapes the
    sentence as it escapes log text)."""
    who = (
        "allowlist"
        if entry["source"] == "allowlist"
        else f"{entry['by']}, {_readable(entry['at'])}"
    )
    return f"{entry['status']} ({who}): {entry['note']}"


def failing_findings(
    report: Report, fail_on: str | None = None, fail_on_new: str | None = None
) -> list[str]:
    """The findings that fail a CI run: campaign ids, then mixed account ids.

    Args:
        report: The report.
        fail_on: Every campaign and mixed account (a reseller hiding a harvesting tenant) at or
            above this severity fails the run.
        fail_on_new: A campaign at or above this severity fails the run when this run named it
            for the first time or raised its severity, a mixed account when the previous run did
            not report it (results that kept no history count everything as new).

    A campaign triage dismissed (:func:`is_dismissed`), or a mixed account marked benign or
    suppressed, fails neither.
    """
    failing = []
    for c in report["campaigns"]:
        if is_dismissed(c, report["triage"]):
            continue
        tracking = c["tracking"]
        is_news = tracking is None or tracking["status"] == "new" or tracking["escalated"]
        if (fail_on is not None and at_least(c["severity"], fail_on)) or (
            fail_on_new is not None and is_news and at_least(c["severity"], fail_on_new)
        ):
            failing.append(c["campaign_id"])
    dismissed = dismissed_accounts(report["triage"])
    changes = report["changes"]
    for m in report["mixed_accounts"]:
        if m["account_id"] in dismissed:
            continue
        is_news = changes is None or m["account_id"] in changes["new_mixed_accounts"]
        if (fail_on is not None and at_least(m["severity"], fail_on)) or (
            fail_on_new is not None and is_news and at_least(m["severity"], fail_on_new)
        ):
            failing.append(m["account_id"])
    return failing


def _iso(value: Any) -> str | None:
    """A run's ``data_through`` as the report writes instants."""
    return instant(datetime.fromisoformat(value)) if isinstance(value, str) else None


def common_accounts(params: shared_templates.Params, n_accounts: int) -> int:
    """Above this many accounts a prompt skeleton is common, as the ``shared_templates`` pass
    decides (``max_account_fraction`` of the accounts, but never below ``min_common_accounts``).
    """
    return max(params.min_common_accounts, int(params.max_account_fraction * n_accounts))


def template_of(row: dict[str, Any]) -> Template:
    """A template from a :func:`facts.templates` row, with a stable id."""
    digest = hashlib.sha256(f"{row['side']}\n{row['skeleton']}".encode()).hexdigest()
    return {
        "template_id": f"tpl-{digest[:10]}",
        "side": str(row["side"]),
        "skeleton": str(row["skeleton"]),
        "accounts": int(row["accounts"]),
        "events": int(row["events"]),
        "other_accounts": int(row["other_accounts"]),
        "examples": [example_of(x) for x in row["examples"] or []],
    }


def example_of(row: dict[str, Any]) -> Example:
    """An example event from a :mod:`facts` row."""
    return {
        "account_id": str(row["account_id"]),
        "event_id": str(row["event_id"]),
        "ts": instant(row.get("ts")),
        "model": row.get("model"),
        "source_file": row.get("source_file"),
        "source_line": row.get("source_line"),
        "prompt": row.get("prompt"),
        "prompt_chars": row.get("prompt_chars"),
    }


def _members(members: pl.DataFrame) -> list[Member]:
    ordered = members.sort(
        pl.col("severity").replace_strict({s: severity_rank(s) for s in SEVERITIES}, default=0),
        "score",
        "n_events",
        "account_id",
        descending=[True, True, True, False],
    )
    result: list[Member] = []
    for row in ordered.iter_rows(named=True):
        contributions = sorted(
            ((s, rounded(row.get(f"contribution_{s}"))) for s in SIGNAL_IDS),
            key=lambda pair: (-pair[1], SIGNAL_IDS.index(pair[0])),
        )
        top = [s for s, value in contributions if value >= 0.05][:3]
        result.append(
            {
                "account_id": row["account_id"],
                "severity": row["severity"],
                "score": rounded(row["score"]),
                "n_events": int(row["n_events"]),
                "first_seen": instant(row.get("first_seen")),
                "last_seen": instant(row.get("last_seen")),
                "strongest_signals": top,
                "triage": None,
            }
        )
    return result


def evidence_rows(con: duckdb.DuckDBPyConnection, evidence: pl.DataFrame) -> list[Evidence]:
    """Evidence rows in their stored order, with the time, model and prompt start of each event."""
    keys = [
        (a, e) for a, e in evidence.select("account_id", "event_id").iter_rows() if e is not None
    ]
    events = facts.events_by_id(con, keys)
    rows: list[Evidence] = []
    for row in evidence.iter_rows(named=True):
        event = events.get((row["account_id"], row["event_id"])) if row["event_id"] else None
        prompt = event["prompt"] if event else None
        rows.append(
            {
                "account_id": row["account_id"],
                "pass_id": row["pass_id"],
                "kind": row["kind"],
                "event_id": row["event_id"],
                "source_file": row["source_file"],
                "source_line": row["source_line"],
                "detail": row["detail"],
                "partner_id": row["partner_id"],
                "weight": rounded(row["weight"]) if row["weight"] is not None else None,
                "ts": instant(event["ts"]) if event else None,
                "model": event["model"] if event else None,
                "prompt": prompt[:EVIDENCE_PROMPT_CHARS] if prompt is not None else None,
                "prompt_chars": event["prompt_chars"] if event else None,
            }
        )
    return rows


def member_links(evidence: list[Evidence], members: set[str]) -> list[Link]:
    """Links between members of one campaign, one per (pair, kind), sorted."""
    found: set[tuple[str, str, str]] = set()
    for row in evidence:
        partner = row["partner_id"]
        if partner is None or partner not in members or partner == row["account_id"]:
            continue
        a, b = sorted((row["account_id"], partner))
        found.add((a, b, row["kind"].removeprefix("link:")))
    return [{"account_a": a, "account_b": b, "kind": k} for a, b, k in sorted(found)]


def _mixed(
    con: duckdb.DuckDBPyConnection, accounts: pl.DataFrame, campaigns: list[Campaign]
) -> list[MixedAccount]:
    if "is_mixed" not in accounts.columns:
        return []
    mixed = accounts.filter(pl.col("is_mixed").fill_null(False)).sort("account_id")
    if mixed.is_empty():
        return []
    tenants = (
        mixed.select("account_id", pl.col("implicated_end_users").alias("end_user_id"))
        .explode("end_user_id")
        .drop_nulls()
    )
    scope = facts.Scope(
        members=pl.DataFrame(
            [(c["campaign_id"], a) for c in campaigns for a in c["accounts"]],
            schema={"label": pl.String, "account_id": pl.String},
            orient="row",
        ),
        hours={c["campaign_id"]: 1 for c in campaigns},
        release_model={},
    )
    links = facts.tenant_links(con, scope, tenants)
    return [
        {
            "account_id": row["account_id"],
            "severity": row["severity"],
            "score": rounded(row["score"]),
            "n_events": int(row["n_events"]),
            "n_end_users": int(row.get("n_end_users") or 0),
            "implicated_events": int(row.get("implicated_events") or 0),
            "contamination_share": rounded(row.get("contamination_share")),
            "implicated_end_users": sorted(row.get("implicated_end_users") or []),
            "allowlisted_end_users": sorted(row.get("allowlisted_end_users") or []),
            "campaigns": links.get(row["account_id"], []),
        }
        for row in mixed.iter_rows(named=True)
    ]


def account_of(row: dict[str, Any]) -> Account:
    """One ``accounts.parquet`` row as a report account."""
    return {
        "account_id": row["account_id"],
        "score": rounded(row["score"]),
        "severity": row["severity"],
        "campaign_id": row["campaign_id"],
        "n_events": int(row["n_events"]),
        "first_seen": instant(row.get("first_seen")),
        "last_seen": instant(row.get("last_seen")),
        "content": rounded(row.get("content")),
        "operations": rounded(row.get("operations")),
        "is_mixed": bool(row.get("is_mixed") or False),
        "contamination_share": (
            rounded(row["contamination_share"])
            if row.get("contamination_share") is not None
            else None
        ),
        "signals": {s: rounded(row.get(f"{s}_signal")) for s in SIGNAL_IDS},
        "contributions": {s: rounded(row.get(f"contribution_{s}")) for s in SIGNAL_IDS},
    }


def _accounts(accounts: pl.DataFrame) -> list[Account]:
    ordered = accounts.sort("score", "account_id", descending=[True, False])
    return [account_of(row) for row in ordered.iter_rows(named=True)]


def timeline_of(
    hours: int, model: str | None, released: datetime | None, buckets: list[dict[str, Any]]
) -> Timeline:
    """A timeline from :func:`facts.timelines` buckets."""
    return {
        "bucket_hours": hours,
        "release_model": model,
        "released_at": instant(released) if model is not None else None,
        "buckets": [
            {
                "start": instant(b["start"]) or "",
                "events": int(b["events"]),
                "on_release_model": int(b["on_release_model"]),
                "accounts": int(b["accounts"]),
            }
            for b in buckets
        ],
    }


def entity_of(row: dict[str, Any]) -> Entity:
    """A shared entity from a :func:`facts.infrastructure` row."""
    return {
        "kind": str(row["kind"]),
        "value": str(row["value"]),
        "accounts": int(row["accounts"]),
        "events": int(row["events"] or 0),
        "other_accounts": int(row["other_accounts"]),
    }
