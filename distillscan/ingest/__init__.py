"""Ingest: exported API logs in, one canonical event table (plus quarantine) out.

``ingest(paths, case_dir)`` finds the input files, skips those already in the case (by SHA-256),
loads each into Parquet parts under the case's staging folder, applies the duplicate-id rule
(:mod:`.dedup`), and commits everything with the manifest in one atomic step (see
:mod:`distillscan.case`). A file that cannot be read at all is an error for that file only; the
others are still committed.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow.parquet as pq

from distillscan.case import (
    ACCOUNTS_FILE,
    QUARANTINE_DIR,
    SPILL_DIR,
    STAGING_DIR,
    Case,
    Resources,
    connect,
    fsync_dir,
    fsync_file,
)
from distillscan.db import sql_list
from distillscan.errors import CaseError, DistillscanError, InputError, out_of_room
from distillscan.ingest import bundle, formats
from distillscan.ingest.bundle import Job
from distillscan.ingest.dedup import InputParts, Resolution, resolve_duplicates
from distillscan.ingest.discover import InputFile, discover, sha256_of
from distillscan.ingest.formats.base import LogFormat
from distillscan.ingest.load import (
    FileOutcome,
    NotALog,
    Supplied,
    load_file,
    part_name,
    prepare,
)
from distillscan.ingest.streams import ReadLimits
from distillscan.schema import ACCOUNT_META_ARROW_SCHEMA, TABLES

Progress = Callable[[str], None]
_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(slots=True)
class IngestReport:
    """What one ``ingest`` call did (the manifest holds the cumulative state of the case).

    Attributes:
        case: The case folder.
        loaded: Manifest entries added by this call.
        already: Inputs whose sha256 was already in the case (not read again).
        skipped: Files and folders left out, with the reason.
        errors: One line per file that could not be read at all (nothing of it was committed).
        failed: The same files as ``{"path", "reason"}``; the manifest lists them as skipped.
        examples: The first quarantine reasons, ``FILE:LINE: reason``.
        superseded: Inputs from earlier runs with rows now quarantined as duplicates of rows
            read in this call: ``{"path": ..., "rows": n}``.
        notes: Remarks about the case itself (views that could not be refreshed, ...).
    """

    case: Path
    loaded: list[dict[str, Any]] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    superseded: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def fail(self, path: str, message: str) -> None:
        """Record a file that could not be loaded (``message`` names it, as errors do)."""
        self.errors.append(message)
        rest = message.removeprefix(path)
        at_line = re.match(r":(\d+): ", rest)
        reason = f"line {at_line[1]}: {rest[at_line.end() :]}" if at_line else rest.lstrip(": ")
        self.failed.append({"path": path, "reason": f"not loaded: {reason or message}"})

    @property
    def rows_read(self) -> int:
        """Rows read in this call."""
        return sum(e["rows_read"] for e in self.loaded)

    @property
    def rows_loaded(self) -> int:
        """Rows loaded in this call (after duplicates were moved to quarantine)."""
        return sum(e["rows_loaded"] for e in self.loaded)

    @property
    def rows_quarantined(self) -> int:
        """Rows of the files read in this call that were quarantined."""
        return sum(e["rows_quarantined"] for e in self.loaded)

    @property
    def rows_superseded(self) -> int:
        """Rows of earlier runs moved to quarantine as duplicates of rows read in this call."""
        return sum(int(s["rows"]) for s in self.superseded)


def ingest(
    paths: list[Path],
    case_dir: Path,
    *,
    format_name: str | None = None,
    mapping: Path | None = None,
    accounts: list[Path] | None = None,
    strict: bool = False,
    progress: Progress | None = None,
    resources: Resources | None = None,
    limits: ReadLimits | None = None,
    supplied: Supplied | None = None,
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
        resources: DuckDB memory limit and spill directory.
        limits: Longest record and largest decompression ratio read from one file.
        supplied: The account and time of rows that carry none (batch files).

    Raises:
        InputError: a path is missing, a forced format is unknown, or ``strict`` and some rows
            could not be loaded.
        CaseError: the case folder cannot be used (damaged manifest, another command holds it).
    """
    say = progress or (lambda _message: None)
    forced = _forced_format(format_name, mapping)
    files, skipped = discover(paths)
    account_files, account_skipped = discover(accounts or [])
    case = Case(case_dir)
    case.check_path()
    created = not case_dir.exists()
    try:
        case_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CaseError(f"{case_dir}: cannot create the case folder ({exc.strerror})") from None
    try:
        with case.lock():
            manifest = case.load_manifest()
            report = IngestReport(case_dir)
            _recover(case, manifest, report)
            for skip in [*skipped, *account_skipped]:
                if skip.error:
                    report.fail(skip.display, f"{skip.display}: {skip.reason}")
                else:
                    report.skipped.append({"path": skip.display, "reason": skip.reason})
            staging = case_dir / STAGING_DIR
            known = {entry["sha256"] for entry in manifest["inputs"]}
            known |= {m["sha256"] for e in manifest["inputs"] for m in e.get("members") or []}
            con = connect(resources=resources, spill_dir=case_dir / SPILL_DIR)
            prepare(con)
            jobs = [(f, forced) for f in files]
            jobs += [(f, formats.by_name("accounts")) for f in account_files]
            try:
                _load_files(
                    con, jobs, staging, known, report, say, limits or ReadLimits(), supplied
                )
                say("checking for duplicate event ids")
                limit = resources.memory_limit if resources is not None else None
                resolution = _resolve(con, case, manifest, report, staging, limit)
            except (OSError, duckdb.Error) as exc:
                raise _cannot_write(case_dir, exc, committed=False) from None
            finally:
                con.close()
            quarantined = report.rows_quarantined + report.rows_superseded
            if strict and quarantined:
                shutil.rmtree(staging, ignore_errors=True)
                first = report.examples[0] if report.examples else "see the quarantine"
                raise InputError(
                    f"{quarantined} row(s) could not be loaded; nothing was committed "
                    f"(first: {first})",
                    hint="drop --strict to load the good rows and quarantine the rest",
                )
            try:
                _commit(case, manifest, report, resolution, staging)
            except (OSError, duckdb.Error) as exc:
                raise _cannot_write(case_dir, exc, committed=True) from None
    except DistillscanError:
        if created and not case.exists():
            # Nothing was committed to the folder this call made: leave none behind.
            shutil.rmtree(case_dir, ignore_errors=True)
        raise
    return report


def _cannot_write(case_dir: Path, exc: Exception, committed: bool) -> CaseError:
    """A failure of the machine (disk full, I/O error) while writing the case, as one line."""
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    detail = detail.splitlines()[0] if detail else type(exc).__name__
    when = "while committing" if committed else "before anything was committed"
    return CaseError(
        f"{case_dir}: cannot write the case {when} ({detail})",
        hint="the case is left as it was before this run or fully updated; fix the cause and "
        "run the same ingest again to finish",
    )


#: Files loaded at once: a compressed stream is read by one thread, so one file at a time
#: leaves the other cores idle (DuckDB's own multi-file read runs files side by side too).
LOAD_WORKERS = max(1, min(4, os.cpu_count() or 1))


@dataclass(slots=True)
class _Loaded:
    """What loading one file gave: its manifest entry, or why it is not in the case."""

    source: InputFile
    sha: str
    parts: dict[str, Path]
    outcome: FileOutcome | None = None
    error: str | None = None
    skip: str | None = None


def _load_files(
    con: duckdb.DuckDBPyConnection,
    jobs: list[tuple[InputFile, LogFormat | None]],
    staging: Path,
    known: set[str],
    report: IngestReport,
    say: Progress,
    limits: ReadLimits,
    supplied: Supplied | None,
) -> None:
    """Load every job's file into staging, several at once, and record each result in order.

    Files are hashed first, in input order: a file whose content is already in the case (or
    earlier in this call) is not read again. Many small files of one folder load as bundles
    (:mod:`.bundle`); the rest load side by side on their own DuckDB connections. Each writes
    only its own parts (named by its hash), and the results are recorded in order of their
    names, so the report and the manifest do not depend on timing.
    """
    todo: list[Job] = []
    first_of: dict[str, InputFile] = {}  # this call's files by content
    copies: list[tuple[InputFile, str]] = []  # later files with the same content as one of them
    for source, fmt in jobs:
        try:
            before = source.path.stat()
            sha = sha256_of(source.path, source.display)
        except (OSError, InputError) as exc:
            report.fail(source.display, _message(source, exc))
            continue
        if sha in first_of:
            copies.append((source, sha))
            continue
        if sha in known:
            report.already.append(source.display)
            continue
        first_of[sha] = source
        todo.append(Job(source, fmt, sha, (before.st_size, before.st_mtime_ns)))
    groups, singles = bundle.plan(todo, supplied)
    bundles: list[bundle.Bundle] = []
    if groups:
        say(f"reading {sum(len(g) for g in groups):,} small files in {len(groups):,} folder(s)")
        for found, alone in _in_parallel(
            con, groups, lambda c, g: _load_group(c, g, staging, limits, supplied)
        ):
            bundles += found
            singles += alone
        singles.sort(key=lambda job: job.source.display)
    lock = threading.Lock()

    def said(message: str) -> None:
        with lock:
            say(message)

    results: list[_Loaded | bundle.Bundle] = [
        *_in_parallel(
            con, singles, lambda c, job: _load_one(c, job, staging, said, limits, supplied)
        ),
        *bundles,
    ]
    results.sort(key=lambda r: r.path if isinstance(r, bundle.Bundle) else r.source.display)
    loaded: set[str] = set()
    for result in results:
        if isinstance(result, bundle.Bundle):
            if result.error is None:
                report.loaded.append(_bundle_entry(result, staging))
                report.examples += result.outcome.examples
                loaded.update(job.sha for job in result.members)
            else:
                report.fail(result.path, result.error)
        elif result.outcome is not None:
            report.loaded.append(
                _entry(result.source, result.sha, result.outcome, result.parts, staging)
            )
            report.examples += result.outcome.examples
            loaded.add(result.sha)
        elif result.skip is not None:
            report.skipped.append({"path": result.source.display, "reason": result.skip})
        else:
            report.fail(result.source.display, result.error or "not loaded")
    for source, sha in copies:
        if sha in loaded:
            report.already.append(source.display)
        else:  # the same bytes as a file that could not be loaded: the same reason
            first = first_of[sha].display
            report.fail(source.display, f"{source.display}: same content as {first}, not loaded")


def _in_parallel(
    con: duckdb.DuckDBPyConnection,
    items: list[_T],
    work: Callable[[duckdb.DuckDBPyConnection, _T], _R],
) -> list[_R]:
    """``work`` on each item, :data:`LOAD_WORKERS` at a time on their own DuckDB cursors (the
    results in the items' order)."""

    def on_cursor(item: _T) -> _R:
        cursor = con.cursor()
        try:
            prepare(cursor)
            return work(cursor, item)
        finally:
            cursor.close()

    if len(items) <= 1 or LOAD_WORKERS == 1:
        return [work(con, item) for item in items]
    with ThreadPoolExecutor(max_workers=LOAD_WORKERS) as pool:
        return list(pool.map(on_cursor, items))


def _load_group(
    con: duckdb.DuckDBPyConnection,
    group: list[Job],
    staging: Path,
    limits: ReadLimits,
    supplied: Supplied | None,
) -> tuple[list[bundle.Bundle], list[Job]]:
    """A folder's small files as bundles, and the files to load one by one; all of them one
    by one if the bundle could not be made (a fault of its own must not cost the files)."""
    try:
        return bundle.load_group(con, group, staging, limits, supplied)
    except OSError:
        raise  # the disk, not the files: the whole ingest stops with the reason
    except Exception:
        return [], group


def _load_one(
    con: duckdb.DuckDBPyConnection,
    job: Job,
    staging: Path,
    say: Progress,
    limits: ReadLimits,
    supplied: Supplied | None,
) -> _Loaded:
    """Load one file into staging, or say why it could not be (an error or a skip)."""
    source, fmt, sha, stamp = job.source, job.forced, job.sha, job.stamp
    say(f"reading {source.display}")
    parts = {name: staging / spec.part_dir / part_name(sha) for name, spec in TABLES.items()}
    parts["quarantine"] = staging / QUARANTINE_DIR / part_name(sha)
    result = _Loaded(source, sha, parts)
    try:
        outcome = load_file(con, source, sha, parts, fmt, limits, supplied)
        after = source.path.stat()
        if (after.st_size, after.st_mtime_ns) != stamp:
            raise InputError(
                f"{source.display}: the file changed while it was being read",
                hint="ingest it again once whatever writes it has finished",
            )
    except NotALog as exc:
        _discard(parts)
        if source.explicit:
            result.error = _message(source, exc)
        else:
            result.skip = _not_a_log(exc)
        return result
    except Exception as exc:  # one unreadable file must not cost the others
        _discard(parts)
        if out_of_room(exc):
            raise  # the machine, not the file: the whole ingest stops with the reason
        result.error = _message(source, exc)
        return result
    result.outcome = outcome
    return result


def _message(source: InputFile, exc: BaseException) -> str:
    """One line for a file that could not be read."""
    if isinstance(exc, InputError):
        return exc.message + (f" ({exc.hint})" if exc.hint else "")
    if isinstance(exc, OSError):
        return f"{source.display}: cannot read ({exc.strerror or exc})"
    return f"{source.display}: internal error while loading ({type(exc).__name__}: {exc})"


def _not_a_log(exc: NotALog) -> str:
    """The skip reason for a lone JSON document: the error message without the file name."""
    return exc.message.split(": ", 1)[1] if ": " in exc.message else exc.message


def _discard(parts: dict[str, Path]) -> None:
    for path in parts.values():
        path.unlink(missing_ok=True)


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
    """The manifest entry of a loaded input file."""
    where = {
        "path": source.display,
        "size": source.path.stat().st_size,
        "container": source.container,
        "compression": source.compression,
    }
    return _manifest_entry(where, sha, outcome, parts, staging, source.path.absolute())


def _bundle_entry(loaded: bundle.Bundle, staging: Path) -> dict[str, Any]:
    """The manifest entry of a bundle (see :mod:`.bundle`): one input of many files, listed in
    ``members``, found in the folder it records."""
    sources = [job.source for job in loaded.members]
    containers = {s.container for s in sources}
    compressions = {s.compression for s in sources}
    where = {
        "path": loaded.path,
        "size": loaded.size,
        "container": containers.pop() if len(containers) == 1 else "json",
        "compression": compressions.pop() if len(compressions) == 1 else None,
        "members": [
            {"path": job.source.display, "sha256": job.sha, "size": job.stamp[0]}
            for job in loaded.members
        ],
    }
    return _manifest_entry(
        where, loaded.sha, loaded.outcome, loaded.parts, staging, loaded.location
    )


def _manifest_entry(
    where: dict[str, Any],
    sha: str,
    outcome: FileOutcome,
    parts: dict[str, Path],
    staging: Path,
    location: Path,
) -> dict[str, Any]:
    """A manifest entry: ``where`` (path, size, container, compression, and a bundle's
    members), the counts, and the parts relative to the case folder."""

    def relative(path: Path) -> str | None:
        return path.relative_to(staging).as_posix() if path.exists() else None

    return {
        **where,
        "sha256": sha,
        "format": outcome.format,
        "target": outcome.target,
        "rows_read": outcome.rows_read,
        "rows_loaded": outcome.rows_loaded,
        "rows_quarantined": outcome.rows_quarantined,
        "warnings": outcome.warnings,
        "part": relative(parts[outcome.target]),
        "quarantine_part": relative(parts["quarantine"]),
        "revision": 0,
        **({"supplied": outcome.supplied} if outcome.supplied else {}),
        # Where the input was and when it was read: for ``verify`` and the chain of custody,
        # never used in findings.
        "run_metadata": {
            "absolute_path": str(location),
            "ingested_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        },
    }


def _resolve(
    con: duckdb.DuckDBPyConnection,
    case: Case,
    manifest: dict[str, Any],
    report: IngestReport,
    staging: Path,
    memory_limit: str | None,
) -> Resolution:
    """Apply the duplicate-id rule over the case's committed inputs and this run's
    (``memory_limit``: the user's, that ``con`` was opened with)."""
    inputs = [InputParts(entry, case.root, False) for entry in manifest["inputs"]]
    inputs += [InputParts(entry, staging, True) for entry in report.loaded]
    resolution = resolve_duplicates(con, inputs, staging, memory_limit)
    by_sha = {entry["sha256"]: entry for entry in manifest["inputs"]}
    for sha in sorted(resolution.changed):
        moved = resolution.quarantined.get(sha, 0)
        if moved:
            report.superseded.append({"path": by_sha[sha]["path"], "rows": moved})
    report.examples += resolution.examples
    return resolution


def _refresh_views(case: Case, report: IngestReport) -> None:
    """Point the views in ``case.duckdb`` at the committed parts (a note if it is busy)."""
    try:
        case.connect().close()
    except duckdb.Error as exc:
        note = (
            f"case.duckdb could not be updated ({str(exc).splitlines()[0]}); its views are "
            "refreshed by the next distillscan command"
        )
        if note not in report.notes:
            report.notes.append(note)


def _recover(case: Case, manifest: dict[str, Any], report: IngestReport) -> None:
    """Bring the case back to its committed state after an interrupted run.

    Views are refreshed first (so they never name a file about to be removed), then debris is
    deleted, then ``accounts.parquet`` is rebuilt if a run stopped between committing account
    inputs and publishing them.
    """
    if case.exists():
        _refresh_views(case, report)
    case.remove_debris(manifest)
    case.finish_publishing()  # an investigation's outputs, if a run stopped while renaming them
    if _accounts_stale(manifest):
        _publish_accounts(case, manifest)
        manifest["accounts_published"] = _account_inputs(manifest)
        case.save_manifest(manifest)


def _account_inputs(manifest: dict[str, Any]) -> list[str]:
    return sorted(e["sha256"] for e in manifest["inputs"] if e["target"] == "accounts")


def _accounts_stale(manifest: dict[str, Any]) -> bool:
    """True when ``accounts.parquet`` was not rebuilt from the account inputs listed."""
    inputs = _account_inputs(manifest)
    return bool(inputs) and manifest.get("accounts_published") != inputs


def _commit(
    case: Case,
    manifest: dict[str, Any],
    report: IngestReport,
    resolution: Resolution,
    staging: Path,
) -> None:
    """Move staged files into place, make them durable, then replace the manifest.

    Every staged file gets a name that no committed manifest lists, so until the manifest is
    replaced the case reads exactly as before; after, exactly as after. Old revisions of
    rewritten parts become unlisted debris and are deleted once the views stop naming them.
    """
    changed = [e for e in manifest["inputs"] if e["sha256"] in resolution.changed]
    folders: set[Path] = set()
    for entry in [*report.loaded, *changed]:
        for key in ("part", "quarantine_part"):
            relative = entry[key]
            if relative and (staging / relative).exists():
                fsync_file(staging / relative)
                # What ``verify`` checks the part against: a value edited after the fact shows.
                entry[f"{key}_sha256"] = sha256_of(staging / relative)
                target = case.root / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                (staging / relative).replace(target)
                folders.add(target.parent)
            elif not relative:
                entry[f"{key}_sha256"] = None
    for folder in sorted(folders):
        fsync_dir(folder)
    fsync_dir(case.root)
    manifest["inputs"] = sorted(
        manifest["inputs"] + report.loaded, key=lambda e: (e["path"], e["sha256"])
    )
    # Left out: what this run skipped or could not load, and what earlier runs did, unless a
    # file of that path has loaded since.
    loaded_paths = {e["path"] for e in report.loaded}
    left_out = {
        (s["path"], s["reason"])
        for s in [*manifest["skipped"], *report.skipped, *report.failed]
        if s["path"] not in loaded_paths
    }
    manifest["skipped"] = [{"path": path, "reason": reason} for path, reason in sorted(left_out)]
    manifest["totals"] = {
        key: sum(e[key] for e in manifest["inputs"])
        for key in ("rows_read", "rows_loaded", "rows_quarantined")
    }
    case.save_manifest(manifest)  # the commit point
    _refresh_views(case, report)  # views now name the new parts
    case.remove_debris(manifest)
    if _accounts_stale(manifest):
        _publish_accounts(case, manifest)
        manifest["accounts_published"] = _account_inputs(manifest)
        case.save_manifest(manifest)


def _publish_accounts(case: Case, manifest: dict[str, Any]) -> None:
    """Rebuild ``accounts.parquet`` from every account input: one row per account.

    When several rows describe one account, the first by file name and line wins, so the result
    does not depend on the order files were given in.
    """
    parts = case.parts("accounts", manifest)
    files = sql_list([str(p.resolve()) for p in parts])
    if parts:
        con = connect()
        columns = ", ".join(ACCOUNT_META_ARROW_SCHEMA.names)
        table = con.sql(
            f"""SELECT {columns} FROM read_parquet({files})
                QUALIFY row_number() OVER (
                    PARTITION BY account_id ORDER BY source_file, source_line) = 1
                ORDER BY account_id"""
        ).to_arrow_table()
        con.close()
    else:  # account files without a single loadable row
        table = ACCOUNT_META_ARROW_SCHEMA.empty_table()
    tmp = case.root / (ACCOUNTS_FILE + ".tmp")
    pq.write_table(table.cast(ACCOUNT_META_ARROW_SCHEMA), tmp, compression="zstd")
    fsync_file(tmp)
    tmp.replace(case.root / ACCOUNTS_FILE)
    fsync_dir(case.root)
