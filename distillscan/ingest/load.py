"""Loading one input file: frame records, detect the format, map and validate in DuckDB, write.

Every record a reader frames ends up in exactly one place: the target table's Parquet part, or
the quarantine part with a reason. ``rows_read == rows_loaded + rows_quarantined`` per file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from distillscan.errors import InputError
from distillscan.ingest import formats
from distillscan.ingest.discover import InputFile
from distillscan.ingest.formats.base import LogFormat
from distillscan.ingest.readers import (
    Batch,
    Reject,
    preview,
    read_csv,
    read_json,
    read_jsonl,
    read_parquet,
)
from distillscan.ingest.streams import InputStream
from distillscan.ingest.validate import validation_sql
from distillscan.schema import QUARANTINE_ARROW_SCHEMA, TABLES, TableSpec

#: Records parsed in Python to recognise a file's format.
SNIFF_RECORDS = 50
#: Quarantine reasons kept per file for the summary (all are in quarantine.parquet).
EXAMPLE_REASONS = 5

MACROS = resources.files("distillscan.ingest").joinpath("macros.sql").read_text("utf-8")


@dataclass(slots=True)
class FileOutcome:
    """What happened to one input file."""

    format: str
    target: str
    rows_loaded: int = 0
    rows_quarantined: int = 0
    warnings: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)  # "file:line: reason", the first few

    @property
    def rows_read(self) -> int:
        """Every record framed in the file."""
        return self.rows_loaded + self.rows_quarantined


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Create the shared format macros on ``con``."""
    con.execute(MACROS)


def _batches(source: InputFile) -> tuple[Iterator[Batch], InputStream | None]:
    if source.container == "parquet":
        return read_parquet(source.path), None
    stream = InputStream(source.path)
    readers = {"jsonl": read_jsonl, "json": read_json, "csv": read_csv}
    return readers[source.container or "jsonl"](stream), stream


def _sniff_sample(batch: Batch) -> list[dict[str, object]]:
    sample = []
    for text in batch.records.slice(0, SNIFF_RECORDS).to_pylist():
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            sample.append(value)
    return sample


def load_file(
    con: duckdb.DuckDBPyConnection,
    source: InputFile,
    sha256: str,
    part_paths: dict[str, Path],
    forced: LogFormat | None = None,
) -> FileOutcome:
    """Load ``source`` into Parquet parts at ``part_paths`` (keyed by table name).

    Raises:
        InputError: the file cannot be opened, or its format cannot be recognised.
    """
    try:
        batches, stream = _batches(source)
        first = next(batches, None)
    except OSError as exc:
        raise InputError(f"{source.display}: cannot read ({exc.strerror or exc})") from None
    except Exception as exc:  # pyarrow raises its own types for a damaged Parquet file
        raise InputError(f"{source.display}: cannot read ({exc})") from None
    if first is None:
        first = Batch(pa.array([], pa.int64()), pa.array([], pa.string()))
    fmt = forced or formats.detect(_sniff_sample(first))
    if fmt is None:
        if len(first.records) == 0:
            fmt = formats.by_name("canonical")  # nothing to recognise: an empty file
        else:
            keys = sorted(_sniff_sample(first)[0]) if _sniff_sample(first) else []
            raise InputError(
                f"{source.display}:{first.lines[0].as_py()}: cannot tell the log format "
                f"(first record keys: {', '.join(keys[:12]) or 'none'})",
                hint=f"pass --format with one of: {', '.join(formats.format_names())}, "
                "or describe the columns with --mapping FILE",
            )
    spec = TABLES[fmt.target]
    outcome = FileOutcome(format=fmt.name, target=fmt.target)
    writers = _Writers(part_paths[fmt.target], part_paths["quarantine"], spec)
    try:
        for batch in _chain(first, batches):
            _load_batch(con, batch, fmt, spec, source, sha256, writers, outcome)
    finally:
        writers.close()
        if stream is not None:
            stream.close()
    if stream is not None and stream.damage:
        outcome.warnings.append(stream.damage)
    return outcome


def _chain(first: Batch, rest: Iterator[Batch]) -> Iterator[Batch]:
    yield first
    yield from rest


class _Writers:
    """Parquet writers for one file's loaded and quarantined rows, opened on first use."""

    def __init__(self, table_path: Path, quarantine_path: Path, spec: TableSpec) -> None:
        self.paths = {"table": table_path, "quarantine": quarantine_path}
        self.schemas = {"table": spec.arrow_schema, "quarantine": QUARANTINE_ARROW_SCHEMA}
        self.open: dict[str, pq.ParquetWriter] = {}

    def write(self, which: str, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if which not in self.open:
            self.paths[which].parent.mkdir(parents=True, exist_ok=True)
            self.open[which] = pq.ParquetWriter(
                self.paths[which], self.schemas[which], compression="zstd"
            )
        self.open[which].write_table(
            table.select(self.schemas[which].names).cast(self.schemas[which])
        )

    def close(self) -> None:
        for writer in self.open.values():
            writer.close()

    def written(self, which: str) -> bool:
        return which in self.open


def _load_batch(
    con: duckdb.DuckDBPyConnection,
    batch: Batch,
    fmt: LogFormat,
    spec: TableSpec,
    source: InputFile,
    sha256: str,
    writers: _Writers,
    outcome: FileOutcome,
) -> None:
    rejects = list(batch.rejects)
    if len(batch.records):
        con.register("batch", pa.table({"source_line": batch.lines, "raw": batch.records}))
        try:
            rejects += _invalid_json(con)
            _map_and_validate(con, fmt, spec)
        finally:
            con.unregister("batch")
        params = {"fmt": fmt.name, "file": source.display, "sha": sha256}
        columns = [c.name for c in spec.columns if c.source != "provenance"]
        select = ", ".join(columns)
        loaded = con.sql(
            f"""SELECT {select}, $fmt AS source_format, $file AS source_file, source_line,
                       $sha AS source_sha256
                FROM checked WHERE reason IS NULL ORDER BY source_line""",
            params=params,
        ).to_arrow_table()
        if "event_id" in loaded.column_names:
            loaded = _default_event_ids(con, loaded, sha256)
        writers.write("table", loaded)
        outcome.rows_loaded += loaded.num_rows
        bad = con.execute(
            "SELECT source_line, reason, left(raw, $limit) AS raw FROM checked "
            "WHERE reason IS NOT NULL ORDER BY source_line",
            {"limit": 4096},
        ).fetchall()
        rejects += [Reject(line, reason, raw) for line, reason, raw in bad]
    if rejects:
        rejects.sort(key=lambda r: r.line)
        outcome.rows_quarantined += len(rejects)
        for reject in rejects[: max(0, EXAMPLE_REASONS - len(outcome.examples))]:
            outcome.examples.append(f"{source.display}:{reject.line}: {reject.reason}")
        writers.write(
            "quarantine",
            pa.table(
                {
                    "source_file": [source.display] * len(rejects),
                    "source_line": [r.line for r in rejects],
                    "source_sha256": [sha256] * len(rejects),
                    "source_format": [fmt.name] * len(rejects),
                    "reason": [r.reason for r in rejects],
                    "raw": [preview(r.raw) for r in rejects],
                }
            ),
        )


def _invalid_json(con: duckdb.DuckDBPyConnection) -> list[Reject]:
    """Records that are not JSON objects, each with the parser's own account of the problem."""
    rows = con.execute(
        "SELECT source_line, raw FROM batch "
        "WHERE NOT json_valid(raw) OR json_type(CASE WHEN json_valid(raw) THEN raw END) <> 'OBJECT'"
    ).fetchall()
    rejects = []
    for line, raw in rows:  # only broken records reach this loop
        try:
            value = json.loads(raw)
            reason = f"expected a JSON object, got {type(value).__name__}"
        except json.JSONDecodeError as exc:
            reason = f"invalid JSON: {exc.msg} at column {exc.colno}"
        except (ValueError, RecursionError):
            reason = "invalid JSON"
        rejects.append(Reject(line, reason, raw))
    return rejects


def _map_and_validate(con: duckdb.DuckDBPyConnection, fmt: LogFormat, spec: TableSpec) -> None:
    spec_literal = fmt.transform_spec().replace("'", "''")
    con.sql(
        f"""CREATE OR REPLACE TEMP TABLE checked AS
        WITH parsed AS (
            SELECT source_line, raw, json_transform(raw, '{spec_literal}') AS d
            FROM batch
            WHERE json_valid(raw) AND json_type(CASE WHEN json_valid(raw) THEN raw END) = 'OBJECT'
        ),
        staged AS ({fmt.sql}),
        {validation_sql(spec.columns, spec.required)}"""
    )


def _default_event_ids(con: duckdb.DuckDBPyConnection, table: pa.Table, sha256: str) -> pa.Table:
    """Give records without an id a stable one: the file's hash prefix and the line."""
    con.register("loaded_rows", table)
    try:
        return con.sql(
            "SELECT * REPLACE (coalesce(event_id, printf('%s:%d', $sha, source_line)) AS event_id) "
            "FROM loaded_rows",
            params={"sha": sha256[:16]},
        ).to_arrow_table()
    finally:
        con.unregister("loaded_rows")
