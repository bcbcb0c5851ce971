"""Duplicate event ids: one loaded row per ``event_id`` in a case, whatever order inputs arrive in.

The rule: among loaded events sharing an ``event_id`` (in one file, across files, across ingest
runs into the same case), the copy with the smallest ``(source_sha256, source_line)`` stays
loaded, and every other copy moves to quarantine with the reason
``duplicate of event_id X at FILE:LINE`` naming the copy kept. The key depends only on file
contents and positions, so the same set of inputs gives the same events and the same quarantine
whatever the order of files, of command lines or of runs. Records without an id get one derived
from their file and line, so they are never duplicates of each other.

A later run can bring a copy that sorts before one already loaded. Then the earlier input's part
is rewritten without that row (under a new revision name: committed files are never modified in
place), the row is quarantined there, and quarantine rows that named the old copy are re-pointed
at the new one. Everything is written to the staging folder; the manifest switch commits it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from distillscan.db import sql_list, sql_string
from distillscan.ingest.load import part_name
from distillscan.schema import (
    EVENTS_ARROW_SCHEMA,
    QUARANTINE_ARROW_SCHEMA,
    QUARANTINE_RAW_LIMIT,
    TABLES,
)

#: Rows per Arrow batch when a part is rewritten (bounded memory).
REWRITE_BATCH = 65_536
#: How a duplicate's quarantine reason is built, in SQL, from the id and the copy kept.
REASON_SQL = "printf('duplicate of event_id %s at %s:%d', {id}, {file}, {line})"
QUARANTINE_DIR = "quarantine.parquet"
#: The most memory DuckDB may use for the search for duplicates (a lower ``--memory-limit``
#: stays). Every event id of the case goes through one hash aggregate, which would grow with
#: the case (8M events: 1.8 GiB of peak RSS); beyond this it spills to the case's ``.tmp``
#: (8M events: 1.0 GiB, 0.9 s slower), so an ingest's memory does not grow with its input.
RESOLVE_MEMORY_LIMIT = "1GiB"


@dataclass(slots=True)
class InputParts:
    """One input's manifest entry and the folder its current part paths are relative to."""

    entry: dict[str, Any]
    root: Path
    staged: bool  # loaded in this run (its parts are in the staging folder)


@dataclass(slots=True)
class Resolution:
    """What duplicate resolution changed.

    Attributes:
        quarantined: Rows moved to quarantine, by input sha256.
        changed: Inputs committed by earlier runs whose parts were rewritten (sha256s).
        examples: ``FILE:LINE: reason`` for the first few rows moved.
    """

    quarantined: dict[str, int] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)
    examples: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Rows moved to quarantine in all."""
        return sum(self.quarantined.values())


def _sql_list(paths: list[Path]) -> str:
    return sql_list([str(p) for p in paths])


def resolve_duplicates(
    con: duckdb.DuckDBPyConnection,
    inputs: list[InputParts],
    staging: Path,
    memory_limit: str | None = None,
) -> Resolution:
    """Apply the duplicate rule to ``inputs`` (every events input of the case, old and new).

    Rewritten parts are written under ``staging`` and the entries updated in place (part names,
    revision, row counts), ready for the commit to move the files and save the manifest.
    ``memory_limit``: the limit ``con`` was opened with (None: DuckDB's default).
    """
    result = Resolution()
    events = [i for i in inputs if i.entry["target"] == "events" and i.entry.get("part")]
    if not any(i.staged for i in events):
        return result  # committed inputs were resolved when they were committed
    _find_duplicates(con, [i.root / i.entry["part"] for i in events], memory_limit)
    losers = con.execute(
        "SELECT source_sha256, count(*) FROM dup_rows WHERE copy > 1 GROUP BY ALL ORDER BY 1"
    ).fetchall()
    if not losers:
        return result
    # Committed rows that lose now were the copy kept until this run: quarantine rows that name
    # them must name the new copy instead.
    committed = {i.entry["sha256"] for i in events if not i.staged}
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE repoint AS
        SELECT {REASON_SQL.format(id="event_id", file="source_file", line="source_line")}
                   AS old_reason,
               {REASON_SQL.format(id="event_id", file="keep_file", line="keep_line")}
                   AS new_reason
        FROM dup_rows
        WHERE copy > 1 AND source_sha256 IN (SELECT unnest($committed::VARCHAR[]))""",
        {"committed": sorted(committed)},
    )
    by_sha = {i.entry["sha256"]: i for i in inputs}
    losing = {sha for sha, _ in losers}
    touched = set(losing)
    if con.execute("SELECT count(*) FROM repoint").fetchall() != [(0,)]:
        touched |= _inputs_naming(con, [i for i in inputs if not i.staged])
    for sha in sorted(touched):
        item = by_sha[sha]
        result.quarantined[sha] = _rewrite(con, item, staging, sha in losing)
        if not item.staged:
            result.changed.add(sha)
    result.examples = [
        f"{file}:{line}: {reason}"
        for file, line, reason in con.execute(
            f"""SELECT source_file, source_line,
                   {REASON_SQL.format(id="event_id", file="keep_file", line="keep_line")}
                FROM dup_rows WHERE copy > 1 ORDER BY source_file, source_line LIMIT 5"""
        ).fetchall()
    ]
    return result


@contextlib.contextmanager
def _memory_at_most(
    con: duckdb.DuckDBPyConnection, limit: str, opened_with: str | None
) -> Iterator[None]:
    """Lower DuckDB's memory limit to ``limit`` (a DuckDB size) for the block, if it is higher,
    then set back the limit the connection was opened with (``opened_with``; None: DuckDB's
    default). DuckDB reports its limit rounded, so it is set back from what it was given."""
    row = con.execute(
        "SELECT parse_formatted_bytes(current_setting('memory_limit')) "
        "> parse_formatted_bytes($limit)",
        {"limit": limit},
    ).fetchone()
    higher = bool(row and row[0])
    if higher:
        con.execute(f"SET memory_limit = {sql_string(limit)}")
    try:
        yield
    finally:
        if higher:
            con.execute(
                "RESET memory_limit"
                if opened_with is None
                else f"SET memory_limit = {sql_string(opened_with)}"
            )


def _find_duplicates(
    con: duckdb.DuckDBPyConnection, parts: list[Path], memory_limit: str | None
) -> None:
    """Fill the temp table ``dup_rows``: every copy of an id that occurs more than once in
    ``parts``, numbered in the rule's order (``copy`` 1 is kept), with the copy kept.

    The search runs within ``RESOLVE_MEMORY_LIMIT``; if DuckDB cannot finish in it (an operator
    that cannot spill enough), it runs again within the connection's own limit
    (``memory_limit``, as :func:`resolve_duplicates` takes it).
    """
    query = f"""CREATE OR REPLACE TEMP TABLE dup_rows AS
        WITH ids AS (
            SELECT event_id, source_sha256, source_line, source_file
            FROM read_parquet({_sql_list(parts)})
        ),
        repeated AS (SELECT event_id FROM ids GROUP BY event_id HAVING count(*) > 1)
        SELECT event_id, source_sha256, source_line, source_file,
            row_number() OVER keep AS copy,
            first_value(source_file) OVER keep AS keep_file,
            first_value(source_line) OVER keep AS keep_line
        FROM ids SEMI JOIN repeated USING (event_id)
        WINDOW keep AS (PARTITION BY event_id ORDER BY source_sha256, source_line)"""
    try:
        with _memory_at_most(con, RESOLVE_MEMORY_LIMIT, memory_limit):
            con.execute(query)
    except duckdb.OutOfMemoryException:
        con.execute(query)


def _inputs_naming(con: duckdb.DuckDBPyConnection, committed: list[InputParts]) -> set[str]:
    """Committed inputs whose quarantine holds a duplicate reason that must be re-pointed."""
    quarantines = [
        i.root / i.entry["quarantine_part"] for i in committed if i.entry.get("quarantine_part")
    ]
    if not quarantines:
        return set()
    rows = con.execute(
        f"""SELECT DISTINCT source_sha256 FROM read_parquet({_sql_list(quarantines)})
            WHERE reason IN (SELECT old_reason FROM repoint)"""
    ).fetchall()
    return {sha for (sha,) in rows}


def _rewrite(
    con: duckdb.DuckDBPyConnection, item: InputParts, staging: Path, has_losers: bool
) -> int:
    """Write new revisions of one input's parts; return how many of its rows were moved.

    The events part is rewritten without the input's losing copies (when it has any); the
    quarantine part gets those copies, and re-pointed reasons for copies quarantined earlier.
    """
    entry = item.entry
    sha = entry["sha256"]
    revision = int(entry.get("revision", 0)) + 1
    params = {"sha": sha}
    lose = (
        "SELECT source_line, event_id, keep_file, keep_line FROM dup_rows "
        "WHERE copy > 1 AND source_sha256 = $sha"
    )
    moved = 0
    sources = []
    if entry.get("quarantine_part"):
        sources.append(
            f"""SELECT q.* REPLACE (coalesce(r.new_reason, q.reason) AS reason)
            FROM read_parquet({_sql_list([item.root / entry["quarantine_part"]])}) AS q
            LEFT JOIN (SELECT DISTINCT old_reason, new_reason FROM repoint) AS r
                ON q.reason = r.old_reason
            WHERE q.source_sha256 = $sha"""
        )
    if has_losers and entry.get("part"):
        old_part = _sql_list([item.root / entry["part"]])
        new_part = f"{TABLES['events'].part_dir}/{part_name(sha, revision)}"
        kept = _copy(
            con.sql(
                f"""SELECT * FROM read_parquet({old_part})
                WHERE source_line NOT IN (SELECT source_line FROM ({lose}))
                ORDER BY source_line""",
                params=params,
            ),
            staging / new_part,
            EVENTS_ARROW_SCHEMA,
        )
        moved = entry["rows_loaded"] - kept
        entry["part"] = new_part if kept else None
        entry["rows_loaded"] = kept
        reason = REASON_SQL.format(id="d.event_id", file="d.keep_file", line="d.keep_line")
        sources.append(
            f"""SELECT e.source_file, e.source_line, e.source_sha256, e.source_format,
                {reason} AS reason, left(to_json(e)::VARCHAR, {QUARANTINE_RAW_LIMIT}) AS raw
            FROM read_parquet({old_part}) AS e JOIN ({lose}) AS d USING (source_line)"""
        )
    new_quarantine = f"{QUARANTINE_DIR}/{part_name(sha, revision)}"
    quarantined = _copy(
        con.sql(
            f"""SELECT source_file, source_line, source_sha256, source_format, reason, raw
            FROM ({" UNION ALL ".join(sources)}) ORDER BY source_line""",
            params=params,
        ),
        staging / new_quarantine,
        QUARANTINE_ARROW_SCHEMA,
    )
    entry["revision"] = revision
    entry["quarantine_part"] = new_quarantine if quarantined else None
    entry["rows_quarantined"] = quarantined
    return moved


def _copy(result: duckdb.DuckDBPyRelation, path: Path, schema: pa.Schema) -> int:
    """Stream a query result into a Parquet file with ``schema``; no file when it has no rows."""
    reader = result.to_arrow_reader(REWRITE_BATCH)
    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        for batch in reader:
            if batch.num_rows == 0:
                continue
            if writer is None:
                path.parent.mkdir(parents=True, exist_ok=True)
                writer = pq.ParquetWriter(path, schema, compression="zstd")
            writer.write_table(pa.Table.from_batches([batch]).select(schema.names).cast(schema))
            rows += batch.num_rows
    finally:
        if writer is not None:
            writer.close()
    return rows
