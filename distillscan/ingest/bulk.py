"""The bulk path for clean JSON lines and Parquet files: one parallel DuckDB scan, no framing.

Most exports are machine-written without a single bad record. For those, DuckDB's own
``read_json`` (or ``read_parquet``) reads the file on every core, and the format's mapping and the
shared validation run in the same query, so the records never pass through Python one batch at
a time. (Parquet rows carry their record number, so the line counting below is for JSON lines.)

The bulk path makes the same promises as the careful path (:mod:`distillscan.ingest.load`), or it
gives up and leaves the file to the careful path, having written nothing:

* **Same values.** The query reads each top-level key as a JSON value, exactly the ``d`` struct
  the careful path builds with ``json_transform``, and runs the format's SQL and the validator
  unchanged.
* **Same line numbers.** DuckDB skips blank lines and does not report line numbers, so records
  are numbered by position: the query's output is written with ``COPY``, which keeps the input
  order, and read back in order. The plan is checked to hold nothing that could reorder rows
  (a join, a sort), and a second thread counts the file's line ends meanwhile: the numbering
  is used only when every line held a record, that is when the counts agree.
* **Nothing dropped.** A JSON lines record that fails validation is quarantined with the
  validator's reason, as the careful path would, its raw text fetched by line number in a
  second read of the file. DuckDB refuses invalid JSON, a non-object line, a duplicate key, a
  byte order mark, a damaged compressed stream, and any record it cannot parse; those, a
  ``null`` line, a failing Parquet row, or more than ``MAX_REJECTS`` failing records send the
  whole file to the careful path, which explains every rejected line.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from distillscan.db import sql_identifier, sql_string
from distillscan.ingest.discover import InputFile
from distillscan.ingest.formats.base import LogFormat
from distillscan.ingest.streams import InputStream
from distillscan.ingest.validate import validation_sql
from distillscan.schema import QUARANTINE_ARROW_SCHEMA, QUARANTINE_RAW_LIMIT, TableSpec

#: Longest record DuckDB's reader accepts here; a longer one sends the file to the careful path,
#: which has no such limit.
MAX_RECORD_BYTES = 64 * 1024 * 1024
#: Rows per Arrow batch read back from the scan's output.
FETCH_ROWS = 16_384
#: Most failing records the bulk path quarantines itself (their line numbers are held in memory
#: and their raw text fetched afterwards); a file with more takes the careful path.
MAX_REJECTS = 10_000

#: Physical operators that keep rows in input order, one in, one out: the only ones allowed in
#: the bulk query's plan, since its rows are numbered by position.
STREAMING_OPERATORS = frozenset({"READ_JSON", "READ_PARQUET", "TABLE_SCAN", "PROJECTION"})

#: DuckDB's names for the compressions of JSON lines files.
_COMPRESSION = {None: "none", "gz": "gzip", "zst": "zstd"}


class GiveUp(Exception):
    """The file needs the careful path; the message says why."""


@dataclass(slots=True)
class Outcome:
    """What the bulk path did with a file: rows loaded, and the quarantine (sorted by line)."""

    rows_loaded: int
    quarantine: pa.Table


@dataclass(slots=True)
class _LineCount:
    """Line ends in the decompressed file, counted on a second thread."""

    newlines: int = 0
    ends_with_newline: bool = True
    empty: bool = True
    problem: str | None = None


def eligible(source: InputFile, fmt: LogFormat, spec: TableSpec) -> bool:
    """Whether ``source`` may try the bulk path: JSON lines or Parquet, a format that reads
    only ``d`` (not the record's text), and a table with required fields.

    A table without required fields could load a ``null`` line as an empty row (DuckDB reads it
    as a record whose keys are all missing), so it always takes the careful path.
    """
    readable = (source.container in ("jsonl", None) and source.compression in _COMPRESSION) or (
        source.container == "parquet" and source.compression is None
    )
    return (
        readable
        and not fmt.reads_raw
        and bool(spec.required)
        and _duckdb_path(source.path) is not None
    )


def _duckdb_path(path: Path) -> str | None:
    """``path`` as DuckDB's reader may be given it, or None when it cannot be.

    The reader treats ``* ? [ ] { }`` as a glob and a ``scheme://`` prefix as a remote file, so
    only an absolute path free of those characters, and encodable as UTF-8, is handed over.
    """
    text = str(path.absolute())
    if set(text) & set("*?[]{}") or "://" in text:
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a file name that is not valid UTF-8
        return None
    return text


def _count_lines(path: Path, result: _LineCount, stop: threading.Event) -> None:
    """Count line ends of ``path`` after decompression (runs on its own thread until ``stop``)."""
    try:
        with InputStream(path) as stream:
            last = b""
            while not stop.is_set() and (chunk := stream.read_chunk()):
                result.newlines += chunk.count(b"\n")
                last = chunk
            result.empty = not last
            result.ends_with_newline = last.endswith(b"\n")
            result.problem = stream.damage
    except OSError as exc:
        result.problem = str(exc)


def _records(con: duckdb.DuckDBPyConnection, source: InputFile, fmt: LogFormat) -> str:
    """SQL for ``parsed``: ``source_line``, ``raw`` (NULL) and ``d``, as the careful path has them.

    JSON lines: DuckDB reads each key as a JSON value; lines are numbered later. Parquet: each
    of the format's keys is its column as JSON (as the careful reader's whole row as JSON would
    hold it: keys match columns exactly, case included, and a missing one is NULL), and the
    record number is the file's row number.
    """
    path = sql_string(_duckdb_path(source.path) or "")
    if source.container == "parquet":
        if "file_row_number" in fmt.keys:  # the reader's own column would stand in for it
            raise GiveUp("the format reads a key named file_row_number")
        # DuckDB renames columns that differ only in case (``Model`` next to ``model`` becomes
        # ``Model_1``), as the careful reader's JSON does, so an exact name is unambiguous.
        names = {
            row[0] for row in con.execute(f"DESCRIBE SELECT * FROM read_parquet({path})").fetchall()
        }
        packed = ", ".join(
            f"{sql_identifier(k)} := "
            + (f"to_json(row.{sql_identifier(k)})" if k in names else "NULL::JSON")
            for k in fmt.keys
        )
        return f"""
    SELECT file_row_number + 1 AS source_line, NULL::VARCHAR AS raw, struct_pack({packed}) AS d
    FROM read_parquet({path}, file_row_number = true) AS row"""
    columns = "{" + ", ".join(f"{sql_string(k)}: 'JSON'" for k in fmt.keys) + "}"
    packed = ", ".join(f"{sql_identifier(k)} := {sql_identifier(k)}" for k in fmt.keys)
    options = (
        f"columns = {columns}, format = 'newline_delimited', records = true, "
        f"compression = '{_COMPRESSION[source.compression]}', "
        f"maximum_object_size = {MAX_RECORD_BYTES}"
    )
    return f"""
    SELECT NULL::BIGINT AS source_line, NULL::VARCHAR AS raw, struct_pack({packed}) AS d
    FROM read_json({path}, {options})"""


def _query(
    con: duckdb.DuckDBPyConnection, source: InputFile, fmt: LogFormat, spec: TableSpec, sha256: str
) -> str:
    """The query that reads, maps and validates every record of ``source``."""
    outputs = ", ".join(c.name for c in spec.columns if c.source != "provenance")
    provenance = (
        f"{sql_string(fmt.name)} AS source_format, {sql_string(source.display)} AS source_file, "
        f"source_line, {sql_string(sha256)} AS source_sha256"
    )
    return f"""
WITH parsed AS ({_records(con, source, fmt)}
),
checked AS (
    WITH staged AS ({fmt.sql}),
    {validation_sql(spec.columns, spec.required)}
)
SELECT reason, {outputs}, {provenance} FROM checked
"""


def load(
    con: duckdb.DuckDBPyConnection,
    source: InputFile,
    fmt: LogFormat,
    spec: TableSpec,
    sha256: str,
    staging: Path,
    write: Callable[[pa.Table], None],
) -> Outcome:
    """Load ``source`` in one scan, handing tables of loaded rows (in line order) to ``write``.

    ``staging`` names the part being written; the scan's output is kept next to it until the
    rows are numbered. The quarantine is returned, not written: it is known only at the end.

    Raises :class:`GiveUp` when the file needs the careful path; the caller then discards
    whatever ``write`` received.
    """
    numbered = source.container == "parquet"  # Parquet rows carry their record number
    count = _LineCount()
    stop = threading.Event()
    counter = threading.Thread(target=_count_lines, args=(source.path, count, stop), daemon=True)
    if not numbered:
        counter.start()
    unordered = staging.with_name(staging.name + ".unordered")
    unordered.parent.mkdir(parents=True, exist_ok=True)
    records = loaded = 0
    failing: list[pa.Table] = []  # source_line and reason of records that fail validation
    try:
        # COPY keeps the input order (a streaming result does not); the rows are numbered as
        # they are read back.
        query = _query(con, source, fmt, spec, sha256)
        # An IN list of constants is planned as a join, which does not keep the input order.
        con.execute("SET disabled_optimizers = 'in_clause'")
        try:
            if not set(_operators(con, query)) <= STREAMING_OPERATORS:
                raise GiveUp("the format's query does not stream in input order")
            con.execute(
                f"COPY ({query}) TO {sql_string(str(unordered))} "
                "(FORMAT parquet, COMPRESSION lz4_raw)"
            )
        finally:
            con.execute("RESET disabled_optimizers")
        for batch in pq.ParquetFile(unordered).iter_batches(FETCH_ROWS):
            table = _finished(pa.Table.from_batches([batch]), None if numbered else records, sha256)
            records += table.num_rows
            fails = pc.is_valid(table.column("reason"))
            if n_fails := pc.sum(fails).as_py() or 0:
                if numbered or n_fails + sum(t.num_rows for t in failing) > MAX_REJECTS:
                    raise GiveUp("records fail validation")
                failing.append(table.filter(fails).select(["source_line", "reason"]))
            kept = table.filter(pc.invert(fails)).drop_columns(["reason"])
            write(kept)
            loaded += kept.num_rows
    except (duckdb.Error, RuntimeError) as exc:  # RuntimeError: DuckDB's own C++ exceptions
        raise GiveUp(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    finally:
        stop.set()
        if counter.is_alive():
            counter.join()
        unordered.unlink(missing_ok=True)
    if not numbered:
        if count.problem is not None:
            raise GiveUp(f"the stream is damaged: {count.problem}")
        # Every line holds a record exactly when the records match the line ends (the last
        # line may lack its end).
        lines = count.newlines + (0 if count.empty or count.ends_with_newline else 1)
        if lines != records:
            raise GiveUp(f"{lines} lines but {records} records: blank lines or split records")
    rejected = pa.concat_tables(failing) if failing else None
    return Outcome(loaded, _quarantine(source, fmt, sha256, rejected))


def _quarantine(
    source: InputFile, fmt: LogFormat, sha256: str, rejected: pa.Table | None
) -> pa.Table:
    """Quarantine rows for records that failed validation, with their raw lines.

    Only a JSON object the validator turned down is quarantined here, exactly as the careful
    path does it; any other line DuckDB read as a record (a ``null`` line) means giving up.
    """
    if rejected is None:
        return QUARANTINE_ARROW_SCHEMA.empty_table()
    numbers = rejected.column("source_line").to_pylist()
    try:
        raws = [text.decode("utf-8") for text in _lines_at(source.path, numbers)]
    except (OSError, UnicodeDecodeError) as exc:  # the file changed or vanished meanwhile
        raise GiveUp(f"cannot read the failing records again: {exc}") from None
    if not all(raw.lstrip(" \t\r").startswith("{") for raw in raws):
        raise GiveUp("a line that is not a JSON object")
    n = rejected.num_rows
    return pa.table(
        {
            "source_file": pa.array([source.display] * n, pa.string()),
            "source_line": rejected.column("source_line"),
            "source_sha256": pa.array([sha256] * n, pa.string()),
            "source_format": pa.array([fmt.name] * n, pa.string()),
            "reason": rejected.column("reason"),
            # As the careful path cuts it (a few characters past the limit, line end removed).
            "raw": pa.array(
                [raw[: QUARANTINE_RAW_LIMIT + 2].rstrip("\r\n") for raw in raws], pa.string()
            ),
        },
        schema=QUARANTINE_ARROW_SCHEMA,
    )


def _lines_at(path: Path, numbers: list[int]) -> list[bytes]:
    """The lines of ``path`` (decompressed) at the ascending line ``numbers``, without line ends.

    Chunks are only split into lines where a wanted line falls: the rest of the file is counted,
    not split.
    """
    found: list[bytes] = []
    first = 1  # the line number that ``pending`` starts
    pending = b""
    with InputStream(path) as stream:
        while len(found) < len(numbers) and (chunk := stream.read_chunk()):
            data = pending + chunk
            ends = data.count(b"\n")
            if numbers[len(found)] < first + ends:  # a wanted line ends in this chunk
                parts = data.split(b"\n")
                while len(found) < len(numbers) and numbers[len(found)] < first + ends:
                    found.append(parts[numbers[len(found)] - first])
                pending = parts[-1]
            elif ends:
                pending = data[data.rfind(b"\n") + 1 :]
            else:
                pending = data
            first += ends
    if len(found) < len(numbers) and numbers[len(found)] == first and pending:
        found.append(pending)  # the last line, without a line end
    if len(found) != len(numbers):
        raise GiveUp("a failing record's line could not be read again")
    return found


def _operators(con: duckdb.DuckDBPyConnection, query: str) -> list[str]:
    """Names of the physical operators in ``query``'s plan."""
    plan = json.loads(con.execute(f"EXPLAIN (FORMAT json) {query}").fetchall()[0][1])
    names: list[str] = []
    nodes = list(plan)
    while nodes:
        node = nodes.pop()
        names.append(node["name"])
        nodes.extend(node.get("children", []))
    return names


def _finished(table: pa.Table, before: int | None, sha256: str) -> pa.Table:
    """``table`` numbered from ``before + 1`` (unless None, when it already is), and missing
    event ids filled as the careful path fills them."""
    if before is not None:
        lines = pa.array(range(before + 1, before + 1 + table.num_rows), pa.int64())
        table = table.set_column(table.schema.get_field_index("source_line"), "source_line", lines)
    if "event_id" in table.schema.names:
        fallback_ids = pc.binary_join_element_wise(
            sha256[:16], pc.cast(table.column("source_line"), pa.string()), ":"
        )
        ids = pc.coalesce(table.column("event_id"), fallback_ids)
        table = table.set_column(table.schema.get_field_index("event_id"), "event_id", ids)
    return table
