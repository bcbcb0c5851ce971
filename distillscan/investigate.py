"""Investigate: ingest (or reuse) a case, run every pass, score accounts, link campaigns, write.

Outputs in the case folder (a contract other tooling reads; see ``docs/case-folder.md``):

* ``accounts.parquet``: every account with events: ``account_id``, ``score``, ``severity``,
  ``campaign_id``, mixed-account columns, one column per signal and per contribution, the
  figures behind them, and the account metadata when given;
* ``campaigns.parquet``: one row per reported campaign;
* ``evidence.parquet``: findings linked to event ids and source ``file:line``;
* ``investigation.json``: which passes ran or were skipped (and why), their notes, the window and
  the configuration used.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from distillscan import __version__
from distillscan.case import HISTORY_FILE, INVESTIGATION_FILE, SPILL_DIR, Case, Resources, connect
from distillscan.config import Config
from distillscan.config import load as load_config
from distillscan.db import has_view, in_window_sql, sql_string
from distillscan.detect import PassRun, run_passes, shared_templates, text_cache
from distillscan.detect.base import empty_artefacts, empty_edges
from distillscan.errors import CaseError, InputError
from distillscan.ingest import IngestReport, ingest
from distillscan.ingest.load import Supplied
from distillscan.ingest.streams import ReadLimits
from distillscan.linking import artefact_shares, link
from distillscan.naming import describe_campaigns
from distillscan.scoring import merge_signals, score_accounts, text_measured
from distillscan.severity import FLAGGED
from distillscan.tracking import (
    HISTORY_SCHEMA,
    LINEAGE_COLUMNS,
    empty_history,
    history_rows,
    match,
    previous_campaigns,
    run_key,
    this_run,
    with_history,
)
from distillscan.triage import Allowlist, allowlisted, allowlisted_end_users, load_allowlist

Progress = Callable[[str], None]

#: Links of each kind kept as evidence per campaign member.
LINK_EVIDENCE_PER_ACCOUNT = 3
#: Capabilities whose presence names an agentic campaign.


@dataclass(frozen=True)
class Investigation:
    """Everything a report needs about one investigation."""

    case: Path
    manifest: dict[str, Any]
    ingest: IngestReport | None
    passes: list[dict[str, Any]]
    accounts: pl.DataFrame
    campaigns: pl.DataFrame
    evidence: pl.DataFrame
    window: tuple[datetime | None, datetime | None]
    #: Every run's campaigns (``history.parquet``: one row per campaign per run).
    history: pl.DataFrame = field(default_factory=empty_history)
    #: The case's runs, oldest first, this one last (``run``, ``data_through``, ``key``,
    #: ``mixed_accounts``).
    runs: list[dict[str, Any]] = field(default_factory=list)
    #: The window (``from``, ``to``, ISO text or None) of the stored investigation this one
    #: replaced, when it was another window: a case keeps one investigation at a time.
    replaced_window: dict[str, str | None] | None = None


def default_case_dir(paths: list[Path]) -> Path:
    """A case folder under the working directory, named after the inputs (stable per input set)."""
    digest = hashlib.sha256(
        "\n".join(sorted(str(p.resolve()) for p in paths)).encode("utf-8", "surrogateescape")
    ).hexdigest()
    # The input's name, reduced to characters that are safe in a folder name, a terminal and a
    # DuckDB path (no escape bytes, glob characters or query marks from a hostile file name).
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", paths[0].resolve().name).strip("._") or "logs"
    return Path("distillscan-cases") / f"{stem[:60]}-{digest[:8]}"


def investigate(
    paths: list[Path],
    case_dir: Path,
    *,
    accounts: list[Path] | None = None,
    format_name: str | None = None,
    mapping: Path | None = None,
    time_from: datetime | None = None,
    time_to: datetime | None = None,
    config_path: Path | None = None,
    progress: Progress | None = None,
    resources: Resources | None = None,
    skip_unloadable: bool = False,
    limits: ReadLimits | None = None,
    allowlist: Path | None = None,
    window: timedelta | None = None,
    supplied: Supplied | None = None,
) -> Investigation:
    """Run a whole investigation and write its outputs into ``case_dir``.

    A file that could not be loaded (an unrecognised format, a damaged stream) stops the run
    with an :class:`InputError` naming it, after what did load is committed, unless
    ``skip_unloadable``: then the analysis runs without it, and the manifest and every report
    list it as left out. A case folder this call created is removed again when nothing loaded.

    Args:
        paths: Log files and folders to ingest first (may be empty to reuse the case as is).
        case_dir: The case folder.
        accounts: Account metadata files.
        format_name: Force this input format.
        mapping: A ``--mapping`` TOML file for logs no built-in format knows.
        time_from: Only events at or after this instant (UTC).
        time_to: Only events before this instant (UTC).
        config_path: Detection configuration overrides.
        progress: Called with a short status line as work proceeds.
        resources: DuckDB memory limit and spill directory.
        skip_unloadable: Investigate without the files that could not be loaded.
        limits: Longest record and largest decompression ratio read from one file.
        window: Analyse only this much of the case's data, back from its last event (a rolling
            window for a daily job; not with ``time_from``).
        supplied: The account and time of rows that carry none (batch files).
        allowlist: A TOML file of known customers (:mod:`distillscan.triage`): the accounts it
            covers are marked benign in ``accounts.parquet`` (column ``allowlisted``).
    """
    say = progress or (lambda _message: None)
    config = load_config(config_path)
    known = load_allowlist(allowlist) if allowlist is not None else None
    report = None
    created = not case_dir.exists()
    if window is not None and time_from is not None:
        raise InputError("--window and --from both say where the analysis starts: give one")
    if paths or accounts:
        report = ingest(
            paths,
            case_dir,
            format_name=format_name,
            mapping=mapping,
            accounts=accounts,
            progress=say,
            resources=resources,
            limits=limits,
            supplied=supplied,
        )
    case = Case(case_dir)
    if not case.exists():
        raise CaseError(
            f"{case_dir}: not a case folder (no manifest.json)", hint="pass log paths to ingest"
        )
    loaded = sum(
        int(entry.get("rows_loaded") or 0)
        for entry in case.load_manifest()["inputs"]
        if (entry.get("target") or "events") == "events"
    )
    if report is not None and not loaded:
        # Nothing loaded, now or before: say why from what ingest found, not "no events", and
        # leave no empty case folder behind.
        reasons = [*report.errors, *(f"{s['path']}: {s['reason']}" for s in report.skipped)]
        if created:
            shutil.rmtree(case_dir, ignore_errors=True)
        if reasons:
            raise InputError(
                "no events loaded: " + "; ".join(reasons[:5]),
                hint="--format forces a known format, --mapping FILE describes another; "
                "`distillscan ingest` lists every file",
            )
    if report is not None and report.errors and not skip_unloadable:
        raise InputError(
            f"{len(report.errors)} file(s) could not be loaded: " + "; ".join(report.errors[:3]),
            hint="fix them, or pass --format or --mapping FILE; --skip-unrecognised "
            "investigates without them (the reports list them as left out)",
        )
    # One writer at a time: the analysis reads a committed state and replaces the outputs.
    with case.lock():
        case.finish_publishing()
        manifest = case.load_manifest()
        previous = _stored_window(case_dir)
        if window is not None:
            time_from = _window_start(case, window)
        record = window_record((time_from, time_to))
        past = past_runs(case, run_key(manifest["inputs"], record, config))
        results = analyse(case, config, time_from, time_to, say, resources, past, known)
        _write_outputs(case, results, config, (time_from, time_to), known)
        text_cache.prune(case)
    return Investigation(
        case_dir,
        manifest,
        report,
        results.passes,
        results.accounts,
        results.campaigns,
        results.evidence,
        (time_from, time_to),
        history=results.history,
        runs=results.runs,
        # A rolling --window moves every day by design: only a chosen window that differs is news.
        replaced_window=(
            previous if previous is not None and previous != record and window is None else None
        ),
    )


@dataclass(frozen=True)
class Past:
    """What the case remembers of earlier runs (their list and history) and this run's key."""

    runs: list[dict[str, Any]]
    history: pl.DataFrame
    key: str


@dataclass(frozen=True)
class Results:
    """One run's outputs, before they are written."""

    accounts: pl.DataFrame
    campaigns: pl.DataFrame
    evidence: pl.DataFrame
    passes: list[dict[str, Any]]
    history: pl.DataFrame
    runs: list[dict[str, Any]]


def past_runs(case: Case, key: str) -> Past:
    """Earlier runs from ``investigation.json`` and ``history.parquet`` (none in a new case, or
    one investigated by a distillscan that kept no history)."""
    try:
        record = json.loads((case.root / INVESTIGATION_FILE).read_text("utf-8"))
    except FileNotFoundError:
        return Past([], empty_history(), key)
    except (OSError, ValueError) as exc:
        raise CaseError(
            f"{case.root}: cannot read the previous investigation record ({exc})",
            hint=f"run `distillscan verify {case.root}`",
        ) from None
    runs = record.get("runs") if isinstance(record, dict) else None
    history_path = case.root / HISTORY_FILE
    if not isinstance(runs, list) or not runs or not history_path.is_file():
        return Past([], empty_history(), key)
    try:
        history = pl.read_parquet(history_path).cast(HISTORY_SCHEMA)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise CaseError(
            f"{history_path}: cannot read the campaign history ({exc})",
            hint=f"run `distillscan verify {case.root}`",
        ) from None
    return Past([r for r in runs if isinstance(r, dict) and "run" in r], history, key)


def _window_start(case: Case, window: timedelta) -> datetime | None:
    """Where a rolling window of ``window`` starts: that long before the case's last event."""
    with case.connect() as con:
        last = con.execute("SELECT max(ts) FROM events").fetchall()[0][0]
    return last - window if isinstance(last, datetime) else None


def window_record(window: tuple[datetime | None, datetime | None]) -> dict[str, str | None]:
    """The window as ``investigation.json`` stores it."""
    return {k: (v.isoformat() if v else None) for k, v in zip(("from", "to"), window, strict=True)}


def _stored_window(case_dir: Path) -> dict[str, str | None] | None:
    """The window of the investigation the case holds, if any (unreadable counts as none)."""
    try:
        record = json.loads((case_dir / "investigation.json").read_text("utf-8"))
        window = record["window"]
        return {"from": window.get("from"), "to": window.get("to")}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def analyse(
    case: Case,
    config: Config,
    time_from: datetime | None,
    time_to: datetime | None,
    say: Progress,
    resources: Resources | None,
    past: Past,
    known: Allowlist | None,
    *,
    write_cache: bool = True,
) -> Results:
    """Run the passes, score, link, name across runs and describe: everything but writing
    results (the text features of new events parts are kept in the case's cache when
    ``write_cache``: the caller holds the write lock)."""
    con = _analysis_connection(case, time_from, time_to, resources)
    text_cache.prepare(con, case, write=write_cache)
    say("running passes")
    runs = run_passes(con, config, say)
    say("scoring and linking")
    totals = con.sql(
        "SELECT account_id, count(*) AS n_events FROM events "
        "GROUP BY account_id ORDER BY account_id"
    ).pl()
    scored = score_accounts(merge_signals(totals, runs), config, with_text=text_measured(runs))
    edges = pl.concat(
        [empty_edges(), *(r.output.edges for r in runs if r.output is not None)],
        how="vertical_relaxed",
    )
    artefacts = pl.concat(
        [empty_artefacts(), *(r.output.artefacts for r in runs if r.output is not None)]
    )
    linked, groups = link(scored, edges, config, artefacts)
    through = con.execute("SELECT max(ts) FROM events").fetchall()[0][0]
    mixed = (
        linked.filter(pl.col("is_mixed").fill_null(False))["account_id"].to_list()
        if "is_mixed" in linked.columns
        else []
    )
    run, earlier = this_run(past.runs, past.key, through, mixed)
    previous_run = int(earlier[-1]["run"]) if earlier else None
    previous = previous_campaigns(past.history, previous_run)
    identities = match(groups, previous)
    renamed = identities.filter(pl.col("provisional_id").is_not_null()).select(
        "provisional_id", "campaign_id"
    )
    groups = _renamed(groups, renamed)
    linked = _renamed(linked, renamed)
    campaigns = describe_campaigns(con, groups, linked)
    rows = history_rows(
        campaigns, identities, previous, run, _through(earlier[-1]) if earlier else None
    )
    campaigns = campaigns.join(
        rows.select("campaign_id", *LINEAGE_COLUMNS), on="campaign_id", how="left"
    )
    evidence = _evidence(con, runs, linked, edges, artefacts)
    linked = _with_metadata(con, linked)
    if known is not None:
        linked = _with_allowlist(con, linked, known)
    con.close()
    passes = [
        {
            "id": r.id,
            "title": r.title,
            "ran": r.output is not None,
            "skipped": r.skipped,
            "notes": list(r.output.notes) if r.output is not None else [],
        }
        for r in runs
    ]
    return Results(
        linked,
        campaigns,
        evidence,
        passes,
        with_history(past.history, rows, earlier),
        [*earlier, run.record()],
    )


def _with_allowlist(
    con: duckdb.DuckDBPyConnection, accounts: pl.DataFrame, known: Allowlist
) -> pl.DataFrame:
    """``accounts`` with ``allowlisted`` (the reason an allowlist covers the account, or null)
    and ``allowlisted_end_users`` (its implicated end users the allowlist names)."""
    tenants = allowlisted_end_users(accounts, known)
    return (
        accounts.join(allowlisted(con, known), on="account_id", how="left")
        .join(tenants.rename({"reason": "tenant_reason"}), on="account_id", how="left")
        .with_columns(pl.coalesce("reason", "tenant_reason").alias("allowlisted"))
        .drop("reason", "tenant_reason")
    )


def _renamed(frame: pl.DataFrame, renamed: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with each provisional campaign id replaced by the id tracking gave it."""
    return (
        frame.join(
            renamed.rename({"campaign_id": "tracked_id"}),
            left_on="campaign_id",
            right_on="provisional_id",
            how="left",
        )
        .with_columns(pl.coalesce("tracked_id", "campaign_id").alias("campaign_id"))
        .drop("tracked_id")
    )


def _through(run: dict[str, Any]) -> datetime | None:
    value = run.get("data_through")
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _analysis_connection(
    case: Case, time_from: datetime | None, time_to: datetime | None, resources: Resources | None
) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with ``events`` (the window) and ``account_meta`` views."""
    case.connect().close()  # refresh the case's own views
    con = connect(resources=resources, spill_dir=case.root / SPILL_DIR)
    con.execute(
        f"ATTACH {sql_string(str((case.root / 'case.duckdb').resolve()))} AS case_db (READ_ONLY)"
    )
    if not has_view(con, "events", database="case_db"):
        raise CaseError(f"{case.root}: the case holds no events", hint="ingest logs into it first")
    con.execute(
        f"CREATE TEMP VIEW events AS {in_window_sql('case_db.events', (time_from, time_to))}"
    )
    if has_view(con, "account_inputs", database="case_db"):
        con.execute(
            """CREATE TEMP VIEW account_meta AS
            SELECT account_id, created_at, email_domain, payment_fingerprint, country
            FROM case_db.account_inputs
            QUALIFY row_number() OVER (
                PARTITION BY account_id ORDER BY source_file, source_line) = 1"""
        )
    return con


def _artefact_rows(artefacts: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    """Each member's artefacts that other members of its campaign use too and that are mostly
    the campaign's (at least half their users members), strongest first (weight times that
    share, as linking weighs them), at most ``LINK_EVIDENCE_PER_ACCOUNT``: what ties an
    attached thin account in. The ``artefact`` column stays for :func:`_with_examples`."""
    shared = (
        artefacts.join(members, on="account_id")
        .join(
            artefact_shares(artefacts, members, "campaign_id"),
            on=["campaign_id", "kind", "artefact"],
        )
        .with_columns((pl.col("n_members") / pl.col("n_users")).alias("member_share"))
        .filter((pl.col("n_members") >= 2) & (pl.col("member_share") >= 0.5))
        .sort([pl.col("weight") * pl.col("member_share"), "artefact"], descending=[True, False])
        .group_by("account_id", maintain_order=True)
        .head(LINK_EVIDENCE_PER_ACCOUNT)
    )
    return shared.select(
        "account_id",
        "artefact",
        pl.lit("link:artefact").alias("kind"),
        pl.lit(None, pl.String).alias("event_id"),
        pl.lit(None, pl.String).alias("source_file"),
        pl.lit(None, pl.Int64).alias("source_line"),
        pl.format(
            "uses {} with {} other member(s) ({} of its {} users are members)",
            "artefact",
            pl.col("n_members") - 1,
            "n_members",
            "n_users",
        ).alias("detail"),
        pl.lit("artefact").alias("pass_id"),
        pl.lit(None, pl.String).alias("partner_id"),
        pl.col("member_share").round(4).alias("weight"),
    )


def _with_examples(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame) -> pl.DataFrame:
    """Artefact rows that name a prompt by fingerprint point at a request carrying it."""
    if rows.is_empty():
        return rows.drop("artefact")
    pointer = ["event_id", "source_file", "source_line"]  # null in every artefact row
    examples = shared_templates.artefact_examples(con, rows)
    return (
        rows.drop(pointer)
        .join(examples, on=["account_id", "artefact"], how="left")
        .select([c for c in rows.columns if c != "artefact"])
    )


def _evidence(
    con: duckdb.DuckDBPyConnection,
    runs: list[PassRun],
    accounts: pl.DataFrame,
    edges: pl.DataFrame,
    artefacts: pl.DataFrame,
) -> pl.DataFrame:
    """Evidence rows: example events per finding, the links that joined campaign members, and
    what members use together (the artefacts a thin account is attached by).

    A link row names the other account in ``partner_id`` and carries the link's ``weight``; an
    artefact row (kind ``link:artefact``) names no partner and carries the share of the
    artefact's users that are the campaign's members; an event row has neither. The ``detail``
    sentence says the same in words, for people.
    """
    frames = [
        r.output.evidence.with_columns(
            pl.lit(r.id).alias("pass_id"),
            pl.lit(None, pl.String).alias("partner_id"),
            pl.lit(None, pl.Float64).alias("weight"),
        )
        for r in runs
        if r.output is not None and not r.output.evidence.is_empty()
    ]
    members = accounts.filter(pl.col("campaign_id").is_not_null()).select(
        "account_id", "campaign_id"
    )
    # Each member's strongest few links of each kind: enough to show why, bounded in size.
    both_ends = pl.concat(
        [
            edges,
            edges.rename({"account_a": "account_b", "account_b": "account_a"}).select(
                edges.columns
            ),
        ]
    )
    link_rows = (
        both_ends.join(members, left_on="account_a", right_on="account_id")
        .sort("weight", "account_b", descending=[True, False])
        .group_by("account_a", "kind", maintain_order=True)
        .head(LINK_EVIDENCE_PER_ACCOUNT)
    ).select(
        pl.col("account_a").alias("account_id"),
        pl.format("link:{}", "kind").alias("kind"),
        pl.lit(None, pl.String).alias("event_id"),
        pl.lit(None, pl.String).alias("source_file"),
        pl.lit(None, pl.Int64).alias("source_line"),
        pl.format("with {}: {}", "account_b", "detail").alias("detail"),
        pl.col("kind").alias("pass_id"),
        pl.col("account_b").alias("partner_id"),
        pl.col("weight").cast(pl.Float64).round(4),
    )
    artefact_rows = _artefact_rows(artefacts, members)
    evidence = pl.concat(
        [*frames, link_rows, _with_examples(con, artefact_rows)], how="vertical_relaxed"
    )
    flagged = accounts.filter(
        pl.col("campaign_id").is_not_null() | pl.col("severity").is_in(FLAGGED)
    ).select("account_id", "campaign_id")
    return (
        evidence.join(flagged, on="account_id", how="inner")
        .select(
            "campaign_id",
            "account_id",
            "pass_id",
            "kind",
            "event_id",
            "source_file",
            "source_line",
            "detail",
            "partner_id",
            "weight",
        )
        .sort(
            "campaign_id",
            "account_id",
            "pass_id",
            "kind",
            "source_file",
            "source_line",
            "detail",
            nulls_last=True,
        )
    )


def _with_metadata(con: duckdb.DuckDBPyConnection, accounts: pl.DataFrame) -> pl.DataFrame:
    if not has_view(con, "account_meta"):
        return accounts
    meta = con.sql("SELECT * FROM account_meta ORDER BY account_id").pl()
    return accounts.join(meta, on="account_id", how="left")


def _write_outputs(
    case: Case,
    results: Results,
    config: Config,
    window: tuple[datetime | None, datetime | None],
    known: Allowlist | None,
) -> None:
    """Replace the outputs as one step (:meth:`Case.publish_results`), sorted for byte-stable
    results; ``investigation.json`` records each output's SHA-256 for ``verify``."""
    first = ["account_id", "score", "severity", "campaign_id"]
    accounts = results.accounts
    ordered = accounts.select(first + [c for c in accounts.columns if c not in first])

    def writer(frame: pl.DataFrame) -> Callable[[Path], None]:
        return lambda path: frame.write_parquet(path, compression="zstd", statistics=False)

    record = {
        "tool": "distillscan",
        "version": __version__,
        "window": window_record(window),
        "passes": results.passes,
        "config": config,
        "runs": results.runs,
        "allowlist": known.as_record() if known is not None else None,
    }
    case.publish_results(
        {
            "accounts.parquet": writer(ordered.sort("account_id")),
            "campaigns.parquet": writer(results.campaigns),
            "evidence.parquet": writer(results.evidence),
            HISTORY_FILE: writer(results.history),
        },
        record,
    )
