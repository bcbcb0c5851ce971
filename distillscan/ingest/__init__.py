"""Ingest: exported API logs in, one canonical event table (plus quarantine) out.

``ingest(paths, case_dir)`` finds the input files, skips those already in the case (by SHA-256),
loads each into Parquet parts, and commits them with the manifest in one atomic step.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from distillscan.case import ACCOUNTS_FILE, QUARANTINE_DIR, Case, connect
from distillscan.errors import InputError
from distillscan.ingest import formats
from distillscan.ingest.discover import InputFile, discover, sha256_of
from distillscan.ingest.formats.base import LogFormat
from distillscan.ingest.load import FileOutcome, load_file, prepare
from distillscan.schema import ACCOUNT_META_ARROW_SCHEMA, TABLES

Progress = Callable[[str], None]


@dataclass(slots=True)
class IngestReport:
    """What one ``ingest`` call did (the manifest holds the cumulative state of the case)."""

    case: Path
    loaded: list[dict[str, Any]] = field(default_factory=list)  # manifest entries added
    already: list[str] = field(default_factory=list)  # inputs whose sha256 was in the case
    skipped: list[dict[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # files that could not be read at all
    examples: list[str] = field(default_factory=list)  # first quarantine reasons, file:line

    @property
    def rows_read(self) -> int:
        """Rows read in this call."""
        return sum(e["rows_read"] for e in self.loaded)

    @property
    def rows_loaded(self) -> int:
        """Rows loaded in this call."""
        return sum(e["rows_loaded"] for e in self.loaded)

    @property
    def rows_quarantined(self) -> int:
        """Rows quarantined in this call."""
        return sum(e["rows_quarantined"] for e in self.loaded)


def ingest(
    paths: list[Path],
    case_dir: Path,
    *,
    format_name: str | None = None,
    mapping: Path | None = None,
    accounts: list[Path] | None = None,
    strict: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Load log files (and account metadata files) into the case folder ``case_dir``.

    Args:
        paths: Files and folders of logs (folders are walked recursively).
        case_dir: The case folder (created if needed).
        format_name: Force this format instead of detecting it per file.
        mapping: A TOML mapping for a log shape no built-in format knows.
        accounts: Account metadata files.
        strict: Fail, committing nothing, if any row would be quarantined.
        progress: Called with a short status line as work proceeds.

    Raises:
        InputError: a path is missing, a forced format is unknown, or ``strict`` and some rows
            could not be loaded.
    """
    say = progress or (lambda _message: None)
    forced = _forced_format(format_name, mapping)
    files, skipped = discover(paths)
    account_files, account_skipped = discover(accounts or [])
    case = Case(case_dir)
    case_dir.mkdir(parents=True, exist_ok=True)
    manifest = case.load_manifest()
    case.remove_debris(manifest)
    known = {entry["sha256"] for entry in manifest["inputs"]}
    report = IngestReport(
        case_dir, skipped=[{"path": s.display, "reason": s.reason} for s in skipped]
    )
    report.skipped += [{"path": s.display, "reason": s.reason} for s in account_skipped]
    staging = case_dir / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    con = connect()
    prepare(con)
    jobs = [(f, forced) for f in files] + [(f, formats.by_name("accounts")) for f in account_files]
    for source, fmt in jobs:
        sha = sha256_of(source.path)
        if sha in known:
            report.already.append(source.display)
            continue
        known.add(sha)
        say(f"reading {source.display}")
        parts = {
            name: staging / spec.part_dir / f"{sha[:32]}.parquet" for name, spec in TABLES.items()
        }
        parts["quarantine"] = staging / QUARANTINE_DIR / f"{sha[:32]}.parquet"
        try:
            outcome = load_file(con, source, sha, parts, fmt)
        except InputError as exc:
            report.errors.append(exc.message + (f" ({exc.hint})" if exc.hint else ""))
            continue
        report.loaded.append(_entry(source, sha, outcome, parts, staging))
        report.examples += outcome.examples
    con.close()
    if strict and report.rows_quarantined:
        shutil.rmtree(staging, ignore_errors=True)
        raise InputError(
            f"{report.rows_quarantined} row(s) could not be loaded; nothing was committed "
            f"(first: {report.examples[0]})",
            hint="drop --strict to load the good rows and quarantine the rest",
        )
    _commit(case, manifest, report, staging)
    return report


def _forced_format(format_name: str | None, mapping: Path | None) -> LogFormat | None:
    if mapping is not None:
        from distillscan.ingest.formats import mapping as mapping_format

        return mapping_format.load(mapping)
    if format_name is not None:
        return formats.by_name(format_name)
    return None


def _entry(
    source: InputFile, sha: str, outcome: FileOutcome, parts: dict[str, Path], staging: Path
) -> dict[str, Any]:
    def relative(path: Path) -> str | None:
        return path.relative_to(staging).as_posix() if path.exists() else None

    return {
        "path": source.display,
        "size": source.path.stat().st_size,
        "sha256": sha,
        "container": source.container,
        "compression": source.compression,
        "format": outcome.format,
        "target": outcome.target,
        "rows_read": outcome.rows_read,
        "rows_loaded": outcome.rows_loaded,
        "rows_quarantined": outcome.rows_quarantined,
        "warnings": outcome.warnings,
        "part": relative(parts[outcome.target]),
        "quarantine_part": relative(parts["quarantine"]),
    }


def _commit(case: Case, manifest: dict[str, Any], report: IngestReport, staging: Path) -> None:
    """Move staged parts into place, then replace the manifest: the commit point."""
    for entry in report.loaded:
        for key in ("part", "quarantine_part"):
            if entry[key]:
                target = case.root / entry[key]
                target.parent.mkdir(parents=True, exist_ok=True)
                (staging / entry[key]).replace(target)
    manifest["inputs"] = sorted(
        manifest["inputs"] + report.loaded, key=lambda e: (e["path"], e["sha256"])
    )
    seen_skips = {(s["path"], s["reason"]) for s in manifest["skipped"]}
    manifest["skipped"] = sorted(
        [
            *manifest["skipped"],
            *(s for s in report.skipped if (s["path"], s["reason"]) not in seen_skips),
        ],
        key=lambda s: (s["path"], s["reason"]),
    )
    manifest["totals"] = {
        key: sum(e[key] for e in manifest["inputs"])
        for key in ("rows_read", "rows_loaded", "rows_quarantined")
    }
    if any(e["target"] == "accounts" for e in report.loaded):
        _publish_accounts(case, manifest)
    case.save_manifest(manifest)
    shutil.rmtree(staging, ignore_errors=True)
    con = case.connect()
    con.close()


def _publish_accounts(case: Case, manifest: dict[str, Any]) -> None:
    """Rebuild ``accounts.parquet`` from every account input: one row per account.

    When several rows describe one account, the first by file name and line wins, so the result
    does not depend on the order files were given in.
    """
    files = ", ".join(
        "'" + str(p.resolve()).replace("'", "''") + "'" for p in case.parts("accounts", manifest)
    )
    con = connect()
    columns = ", ".join(ACCOUNT_META_ARROW_SCHEMA.names)
    table = con.sql(
        f"""SELECT {columns} FROM read_parquet([{files}])
            QUALIFY row_number() OVER (
                PARTITION BY account_id ORDER BY source_file, source_line) = 1
            ORDER BY account_id"""
    ).to_arrow_table()
    con.close()
    tmp = case.root / (ACCOUNTS_FILE + ".tmp")
    pq.write_table(table.cast(ACCOUNT_META_ARROW_SCHEMA), tmp, compression="zstd")
    tmp.replace(case.root / ACCOUNTS_FILE)
