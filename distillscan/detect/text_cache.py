"""The text features of each events part, computed once and kept beside the parts.

Matching every prompt against the phrase families and capabilities and reading its skeleton is
the largest step of an analysis (half of it on a three-week export), and its result never
changes for a request: it depends on the request's text and on the phrase data only
(:func:`features.text_features_sql`). So it is computed once per events part (one input file)
and kept in ``features.parquet/``, one file per part, named after the part and a fingerprint of
the SQL that computes it. A case that grows by one day's export computes that day's text only;
a distillscan with other phrase data computes everything again (and drops the old files).

The folder is derived data, not evidence: ``investigate`` writes it under the case's write lock
and keeps each file's SHA-256 in ``features.parquet/index.json``, which ``verify`` checks (a
changed file could change what is found); deleting the folder costs one recomputation. Readers
that may not write (a report, ``eval --by-day``) compute what is missing in memory.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb

from distillscan.case import FEATURES_DIR, Case, file_sha256, fsync_file, write_atomic
from distillscan.db import sql_list, sql_string
from distillscan.detect.features import text_features_sql

CACHE_DIR = FEATURES_DIR
INDEX = "index.json"
#: Changes whenever the phrase data or the SQL computing the features does.
FINGERPRINT = hashlib.sha256(text_features_sql("events").encode("utf-8")).hexdigest()[:16]


def cache_file(case: Case, part: Path) -> Path:
    """Where the text features of the events part ``part`` are kept."""
    return case.root / CACHE_DIR / f"{part.stem}.{FINGERPRINT}.parquet"


def prepare(con: duckdb.DuckDBPyConnection, case: Case, *, write: bool) -> None:
    """Create the temp view ``event_text`` over the text features of every events part.

    The parts without a cached file are computed together (a prompt repeated across days is
    matched once), and each part's rows are then written to its file when ``write`` (the caller
    holds the case's write lock); otherwise they stay in memory for this connection.
    """
    parts = case.parts("events")
    files = {part: cache_file(case, part) for part in parts}
    missing = [part for part in parts if not _usable(files[part])]
    present = [files[part] for part in parts if part not in missing]
    sources = []
    if present:
        sources.append(f"SELECT * FROM read_parquet({sql_list([str(p) for p in present])})")
    if missing:
        source = f"read_parquet({sql_list([str(p) for p in missing])}, filename = true)"
        con.execute(
            "CREATE OR REPLACE TEMP TABLE uncached_text AS "
            + text_features_sql(source, keep="filename")
        )
        sources.append("SELECT * EXCLUDE (filename) FROM uncached_text")
        if write:
            (case.root / CACHE_DIR).mkdir(exist_ok=True)
            for part in missing:
                _write(con, part, files[part])
            _write_index(case, list(files.values()), {files[part].name for part in missing})
    empty = f"SELECT * FROM ({text_features_sql('events')}) LIMIT 0"
    con.execute(
        "CREATE OR REPLACE TEMP VIEW event_text AS " + (" UNION ALL ".join(sources) or empty)
    )


def prune(case: Case) -> None:
    """Remove cached files of parts the case no longer holds, or of other phrase data."""
    folder = case.root / CACHE_DIR
    if not folder.is_dir():
        return
    wanted = {cache_file(case, part).name for part in case.parts("events")}
    stale = [p for p in folder.iterdir() if p.name not in wanted and p.name != INDEX]
    for path in stale:
        if path.is_file() or path.is_symlink():
            path.unlink()
    if stale:
        _write_index(case, [folder / name for name in sorted(wanted)], set())


def check(case: Case) -> list[tuple[str, str]]:
    """``(file, problem)`` for each cached file whose bytes differ from its recorded hash."""
    folder = case.root / CACHE_DIR
    index = folder / INDEX
    if not index.is_file():
        return []
    try:
        recorded: dict[str, str] = json.loads(index.read_text("utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return [(f"{CACHE_DIR}/{INDEX}", f"unreadable (delete {CACHE_DIR}/ to rebuild it)")]
    problems = []
    for name, digest in sorted(recorded.items()):
        path = folder / name
        if path.is_file() and not path.is_symlink() and file_sha256(path) != digest:
            problems.append(
                (
                    f"{CACHE_DIR}/{name}",
                    f"changed since it was written (delete {CACHE_DIR}/ and investigate again)",
                )
            )
    return problems


def _usable(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _write(con: duckdb.DuckDBPyConnection, part: Path, path: Path) -> None:
    """Write one part's rows of ``uncached_text`` to ``path`` (beside it first, then renamed)."""
    staged = path.with_name(path.name + ".tmp")
    con.execute(
        f"""COPY (
            SELECT * EXCLUDE (filename) FROM uncached_text
            WHERE filename = {sql_string(str(part))} ORDER BY event_id
        ) TO {sql_string(str(staged))} (FORMAT parquet, COMPRESSION zstd)"""
    )
    fsync_file(staged)
    staged.replace(path)


def _recorded(case: Case) -> dict[str, str]:
    """The index's digests, when it was written for this fingerprint (else none)."""
    try:
        index = json.loads((case.root / CACHE_DIR / INDEX).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    files = index.get("files") if isinstance(index, dict) else None
    if index.get("fingerprint") != FINGERPRINT or not isinstance(files, dict):
        return {}
    return {str(k): str(v) for k, v in files.items()}


def _write_index(case: Case, files: list[Path], written: set[str]) -> None:
    """Record the SHA-256 of ``files``: hashed anew when just ``written``, else as recorded."""
    recorded = _recorded(case)
    digests = {
        p.name: recorded[p.name] if p.name in recorded and p.name not in written else file_sha256(p)
        for p in files
        if _usable(p)
    }
    write_atomic(
        case.root / CACHE_DIR / INDEX,
        json.dumps({"fingerprint": FINGERPRINT, "files": digests}, indent=2, sort_keys=True) + "\n",
    )
