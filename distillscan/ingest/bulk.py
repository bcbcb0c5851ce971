"""The bulk path for clean JSON lines and Parquet files: one parallel DuckDB scan, no framing.

Most exports are machine-written without a single bad record. For those, DuckDB's own
``read_json`` (or ``read_parquet``) reads the file on every core, and the format's mapping and the
shared validation run in the same query; Python only numbers the finished rows and writes them
(pyarrow). (Parquet rows carry their record number, so the line counting below is for JSON
lines.)

The bulk path makes the same promises as the careful path (:mod:`distillscan.ingest.load`), or it
gives up and leaves the file to the careful path, having written nothing:

* **Same values.** The query reads each top-level key as a JSON value, exactly the ``d`` struct
  the careful path builds with ``json_transform``, and runs the format's SQL and the validator
  unchanged. (A Parquet file whose column types the format's typed mapping takes is mapped
  from its typed columns instead, with the same results: see
  :class:`~distillscan.ingest.formats.base.TypedParquet`.)
* **Same line numbers.** DuckDB skips blank lines and does not report line numbers, so records
  are numbered by position: DuckDB keeps the input order of a query without ORDER BY on every
  thread, also when it streams the result, so the result is read as Arrow batches in file
  order and each row numbered as it is written (by pyarrow, in fixed-size row groups, so the
  same rows give the same bytes). The plan is checked to hold nothing that could reorder rows
  (a join, a sort), and a second thread counts the file's line ends meanwhile: the numbering
  stands only when every line held a record, that is when the counts agree. (DuckDB refuses a
  record split over lines and two records on one line, so only blank lines can make them
  differ.) A Parquet file's rows carry their record number.
* **Nothing dropped.** A JSON lines record that fails validation is quarantined with the
  validator's reason, as the careful path would, its raw text fetched by line number in a
  second read of the file. DuckDB refuses invalid JSON, a non-object line, a duplicate key, a
  byte order mark, a damaged compressed stream, and any record it cannot parse; those, a
  ``null`` line, a failing Parquet row, or more than ``MAX_REJECTS`` failing records send the
  whole file to the careful path, which explains every rejected line.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from zlib_ng import gzip_ng

from distillscan.db import sql_identifier, sql_string
from distillscan.ingest.discover import InputFile
from distillscan.ingest.formats.base import LogFormat
from distillscan.ingest.streams import GZIP_ERROR, InputStream, ReadLimits, compression_of
from distillscan.ingest.validate import validation_sql
from distillscan.schema import (
    ARROW_TYPES,
    DUCKDB_TYPES,
    QUARANTINE_ARROW_SCHEMA,
    QUARANTINE_RAW_LIMIT,
    TableSpec,
)

#: DuckDB's ``maximum_object_size`` (its default). The reader sizes its buffers from it and, in
#: the DuckDB this project installs, still reads a longer record whole (tested); were it to refuse
#: one, the file would take the careful path. At 64 MiB, starting the scan of each file took
#: 0.15 s more (peak buffers 180 MB, not 80).
MAX_RECORD_BYTES = 16 * 1024 * 1024
#: Most failing records the bulk path quarantines itself (their line numbers are held in memory
#: and their raw text fetched afterwards); a file with more takes the careful path.
MAX_REJECTS = 10_000

#: zlib-ng's gzip reader (untyped in its stubs).
_open_gzip = cast(Callable[[Path, str], io.BufferedIOBase], gzip_ng.open)
#: Bytes inflated at a time when counting the lines of a ``.gz`` file.
COUNT_BUFFER_BYTES = 1024 * 1024

#: Rows per Arrow batch fetched from the scan's streamed result (smaller batches reuse the same
#: memory: 65,536 rows took fresh pages every time: 1.2 s more of page faults per 2M events).
STREAM_BATCH_ROWS = 8_192
#: 0, 1, 2, ... for numbering a batch's rows.
_OFFSETS = pa.array(range(STREAM_BATCH_ROWS), pa.int64())
#: Most bytes of the streamed result DuckDB queues for the writing thread. Rows must leave in
#: file order, so a thread that finished a later buffer of the file waits while there is no
#: room: at DuckDB's default (10 MiB) and at 64 MiB both cores were often idle (2M LiteLLM
#: events, the stream alone: 64 MiB about 16 s, 256 MiB about 14 s, 1 GiB no better).
STREAM_BUFFER_MIB = 256
#: Rows per row group of a part written here (DuckDB's own default).
PART_ROW_GROUP_ROWS = 122_880

#: Physical operators that keep rows in input order, one in, one out: the only ones allowed in
#: the bulk query's plan, since its rows are numbered by position.
STREAMING_OPERATORS = frozenset({"READ_JSON", "READ_PARQUET", "TABLE_SCAN", "PROJECTION"})

#: Plan checks already made, by query shape (see :func:`_streams_in_order`).
_STREAMING_SHAPES: dict[str, bool] = {}
_STREAMING_SHAPES_LOCK = threading.Lock()

#: DuckDB's names for the compressions of JSON lines files.
_COMPRESSION = {None: "none", "gz": "gzip", "zst": "zstd"}


class GiveUp(Exception):
    """The file needs the careful path; the message says why."""


class ShapeMismatch(GiveUp):
    """A typed read (:class:`~distillscan.ingest.formats.base.TypedJson`) met a value of
    another shape: the file needs the JSON mapping."""


#: How DuckDB's JSON reader words a value that does not fit the declared type.
_TRANSFORM_ERROR = "JSON transform error"


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


def _count_lines(path: Path, result: _LineCount, stop: threading.Event, limits: ReadLimits) -> None:
    """Count line ends of ``path`` after decompression (runs on its own thread until ``stop``).

    A ``.gz`` file is inflated into one reused buffer: a new bytes object per chunk cost as
    much in page faults as the inflating itself (2M-event export: 4.4 s, 1.9 s this way). Any
    damage only has to be noticed here, not located: the careful path then reads the file. So
    do the read limits: a line or a decompressed size past them stops the count (and the scan,
    see :func:`_load_lines`), and the careful path quarantines what is over.
    """
    watch = _LimitWatch(limits, path)
    try:
        if compression_of(path) == "gz":
            _count_gzip_lines(path, result, stop, watch)
            return
        with InputStream(path, limits) as stream:
            last = b""
            while not stop.is_set() and (chunk := stream.read_chunk()):
                result.newlines += _newlines(chunk, len(chunk))
                last = chunk
                if (over := watch.over(chunk, len(chunk))) is not None:
                    result.problem = over
                    return
            result.empty = not last
            result.ends_with_newline = last.endswith(b"\n")
            result.problem = stream.damage
    except OSError as exc:
        result.problem = str(exc)


def _count_gzip_lines(
    path: Path, result: _LineCount, stop: threading.Event, watch: _LimitWatch
) -> None:
    """:func:`_count_lines` for a ``.gz`` file."""
    buffer = bytearray(COUNT_BUFFER_BYTES)
    try:
        with _open_gzip(path, "rb") as stream:
            while not stop.is_set() and (filled := stream.readinto(buffer)):
                result.newlines += _newlines(buffer, filled)
                result.empty = False
                result.ends_with_newline = buffer[filled - 1] == ord("\n")
                if (over := watch.over(buffer, filled)) is not None:
                    result.problem = over
                    return
    except (EOFError, GZIP_ERROR) as exc:  # truncated, corrupt (OSError is the caller's)
        result.problem = str(exc) or type(exc).__name__


class _LimitWatch:
    """The read limits, checked chunk by chunk by the line counter."""

    def __init__(self, limits: ReadLimits, path: Path) -> None:
        self.limits = limits
        compressed = compression_of(path) is not None
        self.budget = limits.decompressed_budget(path.stat().st_size) if compressed else None
        self.total = 0
        self.run = 0  # bytes since the last line end

    def over(self, buffer: bytes | bytearray, end: int) -> str | None:
        """Why reading must stop after ``buffer[:end]``, or None."""
        self.total += end
        if self.budget is not None and self.total > self.budget:
            return self.limits.expansion_damage(self.budget)
        last = buffer.rfind(b"\n", 0, end)
        if last < 0:
            self.run += end
        else:
            # The line that ends first in this buffer may have begun long before it.
            if self.run + buffer.find(b"\n", 0, end) > self.limits.max_record_bytes:
                return "a line longer than the record limit"
            self.run = end - last - 1
        if self.run > self.limits.max_record_bytes:
            return "a line longer than the record limit"
        return None


def _records(
    con: duckdb.DuckDBPyConnection, source: InputFile, fmt: LogFormat, *, typed_json: bool
) -> tuple[str, str, frozenset[str]]:
    """SQL for ``parsed``, the mapping to run over it, and the columns that mapping hands over
    typed rather than as JSON.

    JSON lines: DuckDB reads each key as a JSON value (``d``), as the careful path has them;
    lines are numbered later. Parquet: the record number is the file's row number. When the
    format has a typed mapping that takes the file's column types, ``t`` holds the typed
    columns; otherwise each of the format's keys is its column as JSON (as the careful reader's
    whole row as JSON would hold it: keys match columns exactly, case included, and a missing
    one is NULL). ``typed_json``: a JSON lines file's keys are read as the format's
    :class:`~distillscan.ingest.formats.base.TypedJson` declares, for its typed mapping.
    """
    path = sql_string(_duckdb_path(source.path) or "")
    if source.container == "parquet":
        if "file_row_number" in fmt.keys:  # the reader's own column would stand in for it
            raise GiveUp("the format reads a key named file_row_number")
        # DuckDB renames columns that differ only in case (``Model`` next to ``model`` becomes
        # ``Model_1``), as the careful reader's JSON does, so an exact name is unambiguous.
        types = {
            row[0]: row[1]
            for row in con.execute(f"DESCRIBE SELECT * FROM read_parquet({path})").fetchall()
        }
        scan = f"read_parquet({path}, file_row_number = true) AS row"
        typed = fmt.typed_parquet
        columns = typed.columns(types) if typed is not None else None
        if typed is not None and columns is not None:
            packed = ", ".join(f"{sql_identifier(k)} := {sql}" for k, sql in columns.items())
            parsed = f"""
    SELECT file_row_number + 1 AS source_line, NULL::VARCHAR AS raw, struct_pack({packed}) AS t
    FROM {scan}"""
            return parsed, typed.sql, typed.typed
        packed = ", ".join(
            f"{sql_identifier(k)} := "
            + (f"to_json(row.{sql_identifier(k)})" if k in types else "NULL::JSON")
            for k in fmt.keys
        )
        parsed = f"""
    SELECT file_row_number + 1 AS source_line, NULL::VARCHAR AS raw, struct_pack({packed}) AS d
    FROM {scan}"""
        return parsed, fmt.sql, frozenset()
    reading = fmt.typed_json if typed_json else None
    declared = reading.columns if reading is not None else {}
    columns_spec = (
        "{"
        + ", ".join(f"{sql_string(k)}: {sql_string(declared.get(k, 'JSON'))}" for k in fmt.keys)
        + "}"
    )
    packed = ", ".join(f"{sql_identifier(k)} := {sql_identifier(k)}" for k in fmt.keys)
    options = (
        f"columns = {columns_spec}, format = 'newline_delimited', records = true, "
        f"compression = '{_COMPRESSION[source.compression]}', "
        f"maximum_object_size = {MAX_RECORD_BYTES}"
    )
    parsed = f"""
    SELECT NULL::BIGINT AS source_line, NULL::VARCHAR AS raw, struct_pack({packed}) AS d
    FROM read_json({path}, {options})"""
    return parsed, reading.sql if reading is not None else fmt.sql, frozenset()


def _query(
    con: duckdb.DuckDBPyConnection,
    source: InputFile,
    fmt: LogFormat,
    spec: TableSpec,
    sha256: str,
    *,
    typed_json: bool = False,
) -> str:
    """The query that reads, maps and validates every record of ``source``."""
    outputs = ", ".join(c.name for c in spec.columns if c.source != "provenance")
    provenance = (
        f"{sql_string(fmt.name)} AS source_format, {sql_string(source.display)} AS source_file, "
        f"source_line, {sql_string(sha256)} AS source_sha256"
    )
    parsed, mapping, typed = _records(con, source, fmt, typed_json=typed_json)
    return f"""
WITH parsed AS ({parsed}
),
checked AS (
    WITH staged AS ({mapping}),
    {validation_sql(spec.columns, spec.required, typed, fmt.supplied)}
)
SELECT reason, {outputs}, {provenance} FROM checked
"""


def load(
    con: duckdb.DuckDBPyConnection,
    source: InputFile,
    fmt: LogFormat,
    spec: TableSpec,
    sha256: str,
    target: Path,
    limits: ReadLimits,
) -> Outcome:
    """Load ``source`` in one scan, writing its loaded rows (in line order) to ``target``.

    A JSON lines file of a format with a typed mapping is read with it; when a value there has
    another shape than the typed read declares, the file is read again with the JSON mapping.
    The quarantine is returned, not written: it is known only at the end.

    Raises :class:`GiveUp` when the file needs the careful path; ``target`` is then not
    written.
    """
    if fmt.typed_json is not None and source.container != "parquet":
        try:
            return _load(con, source, fmt, spec, sha256, target, limits, typed_json=True)
        except ShapeMismatch:
            pass
    return _load(con, source, fmt, spec, sha256, target, limits, typed_json=False)


def _load(
    con: duckdb.DuckDBPyConnection,
    source: InputFile,
    fmt: LogFormat,
    spec: TableSpec,
    sha256: str,
    target: Path,
    limits: ReadLimits,
    *,
    typed_json: bool,
) -> Outcome:
    """:func:`load`, reading with the typed mapping or not."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        query = _query(con, source, fmt, spec, sha256, typed_json=typed_json)
        # An IN list of constants is planned as a join, which does not keep the input order.
        con.execute("SET disabled_optimizers = 'in_clause'")
        try:
            if not _streams_in_order(con, query, source, sha256):
                raise GiveUp("the format's query does not stream in input order")
            if source.container == "parquet":
                return _load_parquet(con, source, query, spec, sha256, target)
            return _load_lines(con, source, fmt, query, spec, sha256, target, limits)
        finally:
            con.execute("RESET disabled_optimizers")
    # RuntimeError: DuckDB's own C++ exceptions. UnicodeDecodeError: an error whose message
    # quotes a value cut inside a character (DuckDB cuts the value it quotes by bytes).
    except (duckdb.Error, RuntimeError, UnicodeDecodeError) as exc:
        target.unlink(missing_ok=True)
        raise _reading_failed(exc) from None
    except GiveUp:
        target.unlink(missing_ok=True)
        raise


def _reading_failed(exc: Exception) -> GiveUp:
    """The :class:`GiveUp` for an error DuckDB met while reading: a :class:`ShapeMismatch` when
    a value did not fit its declared type.

    An error whose message cannot be decoded is taken as a possible mismatch (DuckDB quotes the
    value that did not fit): at worst, the JSON mapping then gives up too.
    """
    if isinstance(exc, UnicodeDecodeError):
        return ShapeMismatch("DuckDB's error message is not valid UTF-8")
    text = str(exc)
    reason = text.splitlines()[0] if text else type(exc).__name__
    return ShapeMismatch(reason) if _TRANSFORM_ERROR in text else GiveUp(reason)


def _load_parquet(
    con: duckdb.DuckDBPyConnection,
    source: InputFile,
    query: str,
    spec: TableSpec,
    sha256: str,
    target: Path,
) -> Outcome:
    """Parquet rows carry their record number: the scan's rows are written as they come.

    A failing row sends the file to the careful path (which keeps the row's text for the
    quarantine), so every row must load.
    """
    records, _ = _stream(con, query, spec, sha256, target, by_position=False, max_rejects=0)
    return Outcome(records, QUARANTINE_ARROW_SCHEMA.empty_table())


def _load_lines(
    con: duckdb.DuckDBPyConnection,
    source: InputFile,
    fmt: LogFormat,
    query: str,
    spec: TableSpec,
    sha256: str,
    target: Path,
    limits: ReadLimits,
) -> Outcome:
    """JSON lines: the scan's result is streamed in file order (DuckDB keeps the input order of
    a query without ORDER BY, on every thread) and each record numbered by its position as it
    is written; the numbering stands once the line count shows that every line held a record.

    When the counter meets a read limit it interrupts the scan: a decompression bomb of valid
    records must not be loaded to its end first."""
    count = _LineCount()
    stop = threading.Event()

    def count_lines() -> None:
        _count_lines(source.path, count, stop, limits)
        if count.problem is not None:
            con.interrupt()

    counter = threading.Thread(target=count_lines, daemon=True)
    counter.start()
    try:
        records, rejected = _stream(
            con, query, spec, sha256, target, by_position=True, max_rejects=MAX_REJECTS
        )
        counter.join()
        _check_lines(count, records)
    finally:
        stop.set()
        if counter.is_alive():
            counter.join()
    quarantine = _quarantine(source, fmt, sha256, rejected if rejected.num_rows else None)
    return Outcome(records - rejected.num_rows, quarantine)


def _stream(
    con: duckdb.DuckDBPyConnection,
    query: str,
    spec: TableSpec,
    sha256: str,
    target: Path,
    *,
    by_position: bool,
    max_rejects: int,
) -> tuple[int, pa.Table]:
    """Write the loaded rows of ``query`` to ``target`` in the order they come.

    ``by_position``: each record's line is its position in the result (JSON lines), not the
    query's ``source_line`` (Parquet). More than ``max_rejects`` failing records means giving
    up. Returns the number of records and the line and reason of those that failed, by line.
    ``target`` is written only when at least one record loads, as the careful path does.
    """
    columns = _final_columns(spec)
    finished = f"SELECT reason, source_line::BIGINT AS source_line, {columns} FROM ({query})"
    writer = _PartWriter(target, spec.arrow_schema)
    records = 0
    failed: list[pa.Table] = []
    # Room for DuckDB's threads to keep working while this thread writes a row group.
    con.execute(f"SET max_streaming_buffer_size = '{STREAM_BUFFER_MIB}MiB'")
    try:
        reader = con.sql(finished).to_arrow_reader(STREAM_BATCH_ROWS)
        while (batch := _next_batch(reader)) is not None:
            rows = pa.Table.from_batches([batch])
            if by_position:
                lines = _positions(records + 1, rows.num_rows)
                rows = rows.set_column(
                    rows.schema.get_field_index("source_line"), "source_line", lines
                )
            records += rows.num_rows
            ok = pc.is_null(rows.column("reason"))
            if not pc.all(ok).as_py():
                failed.append(rows.select(["source_line", "reason"]).filter(pc.invert(ok)))
                if sum(t.num_rows for t in failed) > max_rejects:
                    raise GiveUp("records fail validation")
                rows = rows.filter(ok)
            writer.write(_with_event_ids(rows, sha256))
    finally:
        con.execute("RESET max_streaming_buffer_size")
        writer.close()
    if failed:
        return records, pa.concat_tables(failed)
    return records, pa.table(
        {"source_line": pa.array([], pa.int64()), "reason": pa.array([], pa.string())}
    )


def _positions(first: int, count: int) -> pa.Array:
    """``first``, ``first + 1``, ... (``count`` numbers), without a Python loop when it can."""
    if count <= len(_OFFSETS):
        return pc.add(_OFFSETS.slice(0, count), first)
    return pa.array(range(first, first + count), pa.int64())


def _next_batch(reader: pa.RecordBatchReader) -> pa.RecordBatch | None:
    """The next batch of a streamed result, None at its end.

    An error DuckDB meets while the result streams (a malformed record, a damaged stream)
    reaches Arrow's reader as an ``OSError`` or an Arrow exception (or, when its message cannot
    be decoded, a ``UnicodeDecodeError``).
    """
    try:
        return reader.read_next_batch()
    except StopIteration:
        return None
    except (OSError, pa.ArrowException, UnicodeDecodeError) as exc:
        raise _reading_failed(exc) from None


def _with_event_ids(rows: pa.Table, sha256: str) -> pa.Table:
    """``rows`` with missing event ids filled as the careful path fills them: the file's hash
    prefix and the line."""
    event_id = rows.column("event_id")
    if event_id.null_count == 0:
        return rows
    lines = pc.cast(rows.column("source_line"), pa.string())
    fallback = pc.binary_join_element_wise(sha256[:16] + ":", lines, "")
    filled = pc.if_else(pc.is_null(event_id), fallback, event_id)
    return rows.set_column(rows.schema.get_field_index("event_id"), "event_id", filled)


class _PartWriter:
    """A Parquet part written in row groups of exactly ``PART_ROW_GROUP_ROWS`` rows (the last
    one shorter), whatever the sizes of the tables handed over: the same rows give the same
    bytes. Nothing is created until a row arrives."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.schema = schema
        self.pending: list[pa.Table] = []
        self.pending_rows = 0
        self.writer: pq.ParquetWriter | None = None

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        self.pending.append(table.select(self.schema.names).cast(self.schema))
        self.pending_rows += table.num_rows
        if self.pending_rows >= PART_ROW_GROUP_ROWS:
            rows = pa.concat_tables(self.pending)
            whole = rows.num_rows - rows.num_rows % PART_ROW_GROUP_ROWS
            self._flush(rows.slice(0, whole))
            self.pending = [rows.slice(whole)]
            self.pending_rows = rows.num_rows - whole

    def _flush(self, rows: pa.Table) -> None:
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, self.schema, compression="zstd")
        self.writer.write_table(rows, row_group_size=PART_ROW_GROUP_ROWS)

    def close(self) -> None:
        """Write what is pending and close the file."""
        if self.pending_rows:
            self._flush(pa.concat_tables(self.pending))
        self.pending, self.pending_rows = [], 0
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _newlines(buffer: bytes | bytearray, end: int) -> int:
    """The line ends in ``buffer[:end]``.

    ``count`` compares byte by byte (about 3 GiB/s); ``find`` skips to the next line end with
    ``memchr`` (about 12 GiB/s over 2 KiB lines, a quarter of the line counter's time on a
    2M-event export) but costs a Python step per line, so a buffer whose first 64 KiB hold
    lines shorter than 512 bytes on average is counted with ``count``.
    """
    sample_end = min(end, 64 * 1024)
    newlines = buffer.count(b"\n", 0, sample_end)
    if newlines * 512 > sample_end:
        return newlines + buffer.count(b"\n", sample_end, end)
    find = buffer.find
    at = find(b"\n", sample_end, end)
    while at >= 0:
        newlines += 1
        at = find(b"\n", at + 1, end)
    return newlines


def _check_lines(count: _LineCount, records: int) -> None:
    """Every line held a record: only then is a record's position its line number."""
    if count.problem is not None:
        raise GiveUp(f"the stream is damaged: {count.problem}")
    # The last line may lack its end.
    lines = count.newlines + (0 if count.empty or count.ends_with_newline else 1)
    if lines != records:
        raise GiveUp(f"{lines} lines but {records} records: blank lines or split records")


def _final_columns(spec: TableSpec) -> str:
    """SQL for the table's columns in the table's types, but ``source_line`` (numbered later)."""
    duckdb_types = {ARROW_TYPES[kind]: DUCKDB_TYPES[kind] for kind in ARROW_TYPES}
    return ", ".join(
        f"CAST({sql_identifier(field.name)} AS {duckdb_types[field.type]}) "
        f"AS {sql_identifier(field.name)}"
        for field in spec.arrow_schema
        if field.name != "source_line"
    )


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


def _streams_in_order(
    con: duckdb.DuckDBPyConnection, query: str, source: InputFile, sha256: str
) -> bool:
    """Whether ``query``'s plan holds only :data:`STREAMING_OPERATORS`.

    The answer is kept by the query's text without the file's own literals (its path, name and
    hash), which change no operator: planning the same query for each file of a many-file
    export cost 0.1 s per file.
    """
    shape = query
    for literal in (_duckdb_path(source.path) or "", source.display, sha256):
        shape = shape.replace(sql_string(literal), "'?'")
    with _STREAMING_SHAPES_LOCK:  # files load side by side: plan each shape once
        if shape not in _STREAMING_SHAPES:
            if len(_STREAMING_SHAPES) >= 64:  # Parquet files of many column layouts
                _STREAMING_SHAPES.clear()
            _STREAMING_SHAPES[shape] = set(_operators(con, query)) <= STREAMING_OPERATORS
        return _STREAMING_SHAPES[shape]


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
