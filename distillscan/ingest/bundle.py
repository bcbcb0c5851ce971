"""Bundles: many small files of one folder loaded as one input.

Some loggers write one file per request: LiteLLM's S3 and GCS loggers, cloud functions that
drop each call into a bucket. Loaded one by one, every file costs a DuckDB query plan, two
Parquet parts and a manifest entry: about 0.12 s a file, so 10,000 requests took 20 minutes to
load and every later query opened 10,000 parts. Here the small files of one folder are read as
one input instead:

* **What is bundled**: at least :data:`MIN_FILES` JSON files (``.json``, ``.jsonl``,
  ``.ndjson``, compressed or not) in one folder, each at most :data:`MAX_FILE_BYTES` as stored,
  whose content is not already in the case. CSV and Parquet exports, and fewer or larger
  files, load one by one as before.
* **How**: each file is framed by the careful readers and its format recognised from its own
  records, as if it were loaded alone. The records of the files of one format are then mapped
  and validated in DuckDB thousands at a time (:func:`~distillscan.ingest.load.map_records`),
  each keeping its own file and line, so the rows are the ones the files give one by one:
  same values, file names, line numbers, made-up ids and quarantine reasons. Only
  ``source_sha256`` differs: it is the bundle's hash, that of the input the row belongs to.
* **What leaves the bundle**: a file whose format cannot be recognised, that holds account
  metadata, that is damaged, or that changes while it is read is loaded
  on its own afterwards, with the error, skip or warning it gets there. So does a format met
  in fewer than :data:`MIN_FILES` files.

A bundle is one manifest entry per folder and format: its ``path`` names the folder and the
first and last file (``logs/2026-01-12/ (3,000 files: a.json … z.json)``), its ``sha256`` is
:func:`bundle_sha256` of its members, and ``members`` lists each file's ``path`` (as in the
events), ``sha256`` and ``size``: a file already in the case is not read again, and ``verify``
re-hashes each file in the folder recorded in ``run_metadata.absolute_path``.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from distillscan.case import QUARANTINE_DIR
from distillscan.errors import InputError
from distillscan.ingest import formats
from distillscan.ingest.discover import InputFile, safe_name
from distillscan.ingest.formats.base import LogFormat
from distillscan.ingest.load import (
    FileOutcome,
    PartWriters,
    Supplied,
    give,
    map_records,
    open_batches,
    part_name,
    read_head,
    refuse_unattributed,
    sniff_sample,
)
from distillscan.ingest.readers import BATCH_BYTES, BATCH_RECORDS, Batch, Reject
from distillscan.ingest.streams import ReadLimits
from distillscan.schema import TABLES

#: Fewest files of one folder (and one format) that are bundled: below this, loading them one
#: by one costs a few seconds at most and keeps one manifest entry per file.
MIN_FILES = 32
#: Largest file, as stored, that is bundled: one request's log is a few kilobytes to a few
#: hundred; a larger file is an export of its own, and the bulk path reads it faster.
MAX_FILE_BYTES = 1024 * 1024

#: Tables whose files may be bundled: log events, and CloudTrail's delivery files (one every
#: five minutes per region). Account metadata files are few and large.
BUNDLED_TABLES = ("events", "cloudtrail")
#: Containers that may be bundled (framed by the careful JSON readers).
_CONTAINERS = ("json", "jsonl", None)


@dataclass(frozen=True, slots=True)
class Job:
    """A file to load: its format if forced, its SHA-256, and (size, mtime) when hashed."""

    source: InputFile
    forced: LogFormat | None
    sha: str
    stamp: tuple[int, int]


@dataclass(slots=True)
class Bundle:
    """The files of one folder and one format, loaded as one input."""

    folder: str  # the folder as events and reports name it ("." for files named directly)
    location: Path  # the folder on this machine
    members: list[Job]
    sha: str
    parts: dict[str, Path]
    outcome: FileOutcome
    error: str | None = None  # why nothing of it was loaded (its parts are then removed)

    @property
    def path(self) -> str:
        """The bundle's name in the manifest and in reports."""
        first = posixpath.basename(self.members[0].source.display)
        last = posixpath.basename(self.members[-1].source.display)
        return f"{self.folder}/ ({len(self.members):,} files: {first} … {last})"

    @property
    def size(self) -> int:
        return sum(job.stamp[0] for job in self.members)


def plan(jobs: list[Job], supplied: Supplied | None = None) -> tuple[list[list[Job]], list[Job]]:
    """Split ``jobs`` into groups of small files of one folder to bundle, and single files.

    Groups keep the jobs' order (by display name), and so do the single files. Nothing is
    bundled when each file's rows take its own time (``--time-from-file``).
    """
    if supplied is not None and supplied.time_from_file:
        return [], jobs
    by_folder: dict[Path, list[Job]] = defaultdict(list)
    singles: list[Job] = []
    for job in jobs:
        source = job.source
        if (
            source.container in _CONTAINERS
            and job.stamp[0] <= MAX_FILE_BYTES
            and safe_name(source.path.name) == source.path.name  # re-openable from its name
            and posixpath.basename(source.display) == source.path.name
        ):
            by_folder[source.path.parent.absolute()].append(job)
        else:
            singles.append(job)
    groups = []
    for group in by_folder.values():
        if len(group) >= MIN_FILES:
            groups.append(group)
        else:
            singles.extend(group)
    singles.sort(key=lambda job: job.source.display)
    return groups, singles


def bundle_sha256(members: list[tuple[str, str]]) -> str:
    """The hash of a bundle: SHA-256 over its members' ``(file name, sha256)``, one per line,
    in order (a folder's other files, or another day's, make another bundle)."""
    digest = hashlib.sha256()
    for name, sha in members:
        digest.update(f"{sha}  {name}\n".encode())
    return digest.hexdigest()


def load_group(
    con: duckdb.DuckDBPyConnection,
    group: list[Job],
    staging: Path,
    limits: ReadLimits,
    supplied: Supplied | None = None,
) -> tuple[list[Bundle], list[Job]]:
    """Load a folder's group of small files as bundles (one per format found in at least
    :data:`MIN_FILES` of them), and return them with the files to load one by one
    (``supplied``: see :class:`~distillscan.ingest.load.Supplied`)."""
    by_format: dict[str, list[Job]] = defaultdict(list)
    formats_seen: dict[str, LogFormat] = {}
    alone: list[Job] = []
    for job in group:
        fmt = job.forced or _recognise(con, job.source, limits)
        if fmt is None or fmt.target not in BUNDLED_TABLES:
            alone.append(job)
            continue
        formats_seen[fmt.name] = fmt
        by_format[fmt.name].append(job)
    bundles = []
    for name, members in sorted(by_format.items()):
        if len(members) < MIN_FILES:
            alone.extend(members)
            continue
        bundle = _load(con, formats_seen[name], members, staging, limits, supplied)
        if bundle is None:  # a file changed while it was read: each is loaded on its own
            alone.extend(members)
        else:
            bundles.append(bundle)
    alone.sort(key=lambda job: job.source.display)
    return bundles, alone


def _recognise(
    con: duckdb.DuckDBPyConnection, source: InputFile, limits: ReadLimits
) -> LogFormat | None:
    """The format of a small file read whole, or None when it should load on its own (no
    format recognised, nothing in it, a warning, a remark or damage to report)."""
    try:
        batches, stream = open_batches(source, limits)
        try:
            head = read_head(batches)
            if not head or len(head[-1].records) == 0 or any(b.warnings for b in head):
                return None
            if any(batch.warnings for batch in batches):
                return None
            if stream is not None and (stream.damage or stream.notes):
                return None
        finally:
            if stream is not None:
                stream.close()
        sample = sniff_sample(con, head[-1])
        return formats.detect(sample) if sample else None
    except Exception:  # unreadable, or a reader's own error: alone, it gets its own message
        return None


def _load(
    con: duckdb.DuckDBPyConnection,
    fmt: LogFormat,
    members: list[Job],
    staging: Path,
    limits: ReadLimits,
    supplied: Supplied | None,
) -> Bundle | None:
    """Map and write the records of ``members`` (all of format ``fmt``) as one input; None,
    with nothing left behind, if a file changed while it was read."""
    sha = bundle_sha256([(job.source.path.name, job.sha) for job in members])
    spec = TABLES[fmt.target]
    parts = {name: staging / table.part_dir / part_name(sha) for name, table in TABLES.items()}
    parts["quarantine"] = staging / QUARANTINE_DIR / part_name(sha)
    first = members[0].source
    folder = posixpath.dirname(first.display) or "."
    outcome = FileOutcome(format=fmt.name, target=fmt.target)
    fmt = give(fmt, supplied, first.path, outcome)  # the same for every file: no file's time
    bundle = Bundle(folder, first.path.parent.absolute(), members, sha, parts, outcome)
    writers = PartWriters(parts[fmt.target], parts["quarantine"], spec)
    pending = _Pending()

    def flush() -> None:
        table, origin, rejects = pending.take()
        map_records(con, table, fmt, spec, bundle.path, sha, rejects, writers, outcome, origin)

    try:
        try:
            for job in members:
                batches, stream = open_batches(job.source, limits)
                try:
                    for batch in batches:
                        pending.add(batch, job)
                        if pending.full():
                            flush()
                finally:
                    if stream is not None:
                        stream.close()
            flush()
        finally:
            writers.close()
        for job in members:
            after = job.source.path.stat()
            if (after.st_size, after.st_mtime_ns) != job.stamp:
                writers.discard()
                return None
        refuse_unattributed(bundle.path, outcome, parts["quarantine"])
    except InputError as exc:
        writers.discard()
        bundle.error = exc.message + (f" ({exc.hint})" if exc.hint else "")
    except BaseException:
        writers.discard()
        raise
    return bundle


class _Pending:
    """Framed records of several files waiting to be mapped together, with their origin."""

    def __init__(self) -> None:
        self.raw: list[pa.Array] = []
        self.files: list[str] = []
        self.shas: list[str] = []
        self.lines: list[pa.Array] = []
        self.counts: list[int] = []
        self.rejects: list[Reject] = []
        self.records = 0
        self.bytes = 0

    def add(self, batch: Batch, job: Job) -> None:
        count = len(batch.records)
        self.raw.append(batch.records)
        self.lines.append(batch.lines)
        self.files.append(job.source.display)
        self.shas.append(job.sha)
        self.counts.append(count)
        self.rejects += [Reject(r.line, r.reason, r.raw, job.source.display) for r in batch.rejects]
        self.records += count
        self.bytes += batch.records.nbytes

    def full(self) -> bool:
        """Enough to map in one DuckDB query (as much as the careful reader's batches)."""
        return self.records >= BATCH_RECORDS or self.bytes >= BATCH_BYTES

    def take(self) -> tuple[pa.Table, pa.Table, list[Reject]]:
        """The records (``source_line`` numbering them), their origin, and the readers'
        rejects; then start afresh."""
        record = pa.array(range(self.records), pa.int64())
        raw = _concat(self.raw, pa.string())
        lines = _concat(self.lines, pa.int64())
        # Each file's name and hash, once per record of it.
        per_file = pl.DataFrame(
            {"file": self.files, "file_sha": self.shas, "n": self.counts},
            schema={"file": pl.String, "file_sha": pl.String, "n": pl.Int64},
        ).filter(pl.col("n") > 0)
        repeated = per_file.select(pl.col("file", "file_sha").repeat_by("n").explode())
        origin = pa.table(
            {
                "record": record,
                "file": repeated["file"].to_arrow().cast(pa.string()),
                "line": lines,
                "file_sha": repeated["file_sha"].to_arrow().cast(pa.string()),
            }
        )
        rejects = self.rejects
        self.raw, self.files, self.shas, self.lines, self.counts = [], [], [], [], []
        self.rejects, self.records, self.bytes = [], 0, 0
        return pa.table({"source_line": record, "raw": raw}), origin, rejects


def _concat(arrays: list[pa.Array], kind: pa.DataType) -> pa.Array:
    """``arrays`` end to end, as ``kind`` (an empty array when there are none)."""
    if not arrays:
        return pa.array([], kind)
    return pa.concat_arrays([a.cast(kind) for a in arrays])
