"""Loading one input file: frame records, detect the format, map and validate in DuckDB, write.

Every record a reader frames ends up in exactly one place: the target table's Parquet part, or
the quarantine part with a reason. ``rows_read == rows_loaded + rows_quarantined`` per file.

Once the format is known, a clean JSON lines or Parquet file is loaded by the bulk path
(:mod:`distillscan.ingest.bulk`, one parallel DuckDB scan); any file it gives up on is read
again here, by the careful path, a batch of framed records at a time.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from distillscan.db import sql_string
from distillscan.errors import InputError
from distillscan.ingest import bulk, formats
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
from distillscan.ingest.streams import InputStream, ReadLimits
from distillscan.ingest.validate import validation_sql
from distillscan.schema import QUARANTINE_ARROW_SCHEMA, QUARANTINE_RAW_LIMIT, TABLES, TableSpec
from distillscan.textsafe import inert

#: Records parsed in Python to recognise a file's format.
SNIFF_RECORDS = 50
#: Records looked at, at most, to find ``SNIFF_RECORDS`` JSON objects.
SNIFF_SCAN = 1000
#: Quarantine reasons kept per file for the summary (all are in quarantine.parquet).
EXAMPLE_REASONS = 5

MACROS = resources.files("distillscan.ingest").joinpath("macros.sql").read_text("utf-8")


@dataclass(frozen=True, slots=True)
class Supplied:
    """What the investigator gives for rows that carry no account or no time of their own
    (``--account``, ``--time``, ``--time-from-file``): batch files name neither.

    A row's own value always wins; the manifest records what was supplied for each input.

    Attributes:
        account: The account of every row without one.
        time: The time of every row without one (naive means UTC).
        time_from_file: Rows without a time take their file's modification time.
    """

    account: str | None = None
    time: dt.datetime | None = None
    time_from_file: bool = False

    def values(self, path: Path) -> dict[str, str]:
        """What rows of the file at ``path`` get when they lack it: column and value."""
        given: dict[str, str] = {}
        if self.account is not None:
            given["account_id"] = self.account
        when = self.time
        if when is None and self.time_from_file:
            when = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
        if when is not None:
            if when.tzinfo is not None:
                when = when.astimezone(dt.UTC).replace(tzinfo=None)
            given["ts"] = when.isoformat(sep=" ")
        return given


def _supplied_note(values: dict[str, str]) -> str:
    """The input's warning that some of its values came from the command line, not the log."""
    given = []
    if "account_id" in values:
        given.append(f"account {values['account_id']}")
    if "ts" in values:
        given.append(f"time {values['ts']} UTC")
    return f"rows without their own {' or '.join(given)} given on the command line"


def _supplied_sql(values: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """``values`` (see :meth:`Supplied.values`) as SQL of each column's type."""
    return tuple(
        (column, sql_string(value) if column != "ts" else f"TIMESTAMP {sql_string(value)}")
        for column, value in sorted(values.items())
    )


def give(fmt: LogFormat, supplied: Supplied | None, path: Path, outcome: FileOutcome) -> LogFormat:
    """``fmt`` giving the rows of the file at ``path`` what the investigator ``supplied``
    (event tables only), recorded on ``outcome`` with its warning."""
    given = supplied.values(path) if supplied and fmt.target == "events" else {}
    outcome.supplied = given
    if given:
        outcome.warnings.insert(0, _supplied_note(given))
    return fmt.with_supplied(_supplied_sql(given))


class NotALog(InputError):
    """A ``.json`` file holding one JSON value that no format recognises: metadata, not logs."""


@dataclass(slots=True)
class FileOutcome:
    """What happened to one input file."""

    format: str
    target: str
    supplied: dict[str, str] = field(default_factory=dict)
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


def part_name(sha256: str, revision: int = 0) -> str:
    """File name of an input's Parquet part; a rewritten part gets a new name (``.rN``)."""
    return f"{sha256[:32]}.parquet" if revision == 0 else f"{sha256[:32]}.r{revision}.parquet"


def open_batches(
    source: InputFile, limits: ReadLimits
) -> tuple[Iterator[Batch], InputStream | None]:
    """The careful reader's batches of ``source``, and the stream they read (to close)."""
    if source.container == "parquet":
        return read_parquet(source.path), None
    stream = InputStream(source.path, limits)
    readers = {"jsonl": read_jsonl, "json": read_json, "csv": read_csv}
    return readers[source.container or "jsonl"](stream), stream


def sniff_sample(con: duckdb.DuckDBPyConnection, batch: Batch) -> list[dict[str, object]]:
    """Up to ``SNIFF_RECORDS`` JSON objects from the start of ``batch`` (broken records skipped).

    A record nested too deeply for Python's parser is represented by its top-level keys (read
    by DuckDB, which has no such limit) with null values: enough for sniffers that look at keys.
    """
    sample: list[dict[str, object]] = []
    for text in batch.records.slice(0, SNIFF_SCAN).to_pylist():
        try:
            value = json.loads(text)
        except RecursionError:
            value = _shallow_object(con, text)
        except ValueError:
            continue
        if isinstance(value, dict):
            sample.append(value)
            if len(sample) >= SNIFF_RECORDS:
                break
    return sample


def _shallow_object(con: duckdb.DuckDBPyConnection, text: str) -> dict[str, object] | None:
    """The top-level keys of a JSON object as a dict of nulls (None if it is not an object)."""
    rows = con.execute(
        "SELECT CASE WHEN json_valid($t) AND json_type($t) = 'OBJECT' THEN json_keys($t) END",
        {"t": text},
    ).fetchall()
    keys = rows[0][0]
    return None if keys is None else dict.fromkeys(keys)


def load_file(
    con: duckdb.DuckDBPyConnection,
    source: InputFile,
    sha256: str,
    part_paths: dict[str, Path],
    forced: LogFormat | None = None,
    limits: ReadLimits | None = None,
    supplied: Supplied | None = None,
) -> FileOutcome:
    """Load ``source`` into Parquet parts at ``part_paths`` (keyed by table name).

    ``limits`` bound what the file may make the reader hold (:class:`ReadLimits`);
    ``supplied`` gives rows without an account or a time theirs (:class:`Supplied`).

    Raises:
        InputError: the file cannot be opened, or its format cannot be recognised
            (:class:`NotALog` when it is a single JSON value that is not a log).
    """
    limits = limits or ReadLimits()
    stream: InputStream | None = None
    try:
        batches, stream = open_batches(source, limits)
        head = read_head(batches)
    except OSError as exc:
        if stream is not None:
            stream.close()
        raise InputError(f"{source.display}: cannot read ({exc.strerror or exc})") from None
    except Exception as exc:  # pyarrow raises its own types for a damaged Parquet file
        if stream is not None:
            stream.close()
        raise InputError(f"{source.display}: cannot read ({exc})") from None
    try:
        fmt = forced or _detect(con, source, head, batches)
        outcome = FileOutcome(format=fmt.name, target=fmt.target)
        fmt = give(fmt, supplied, source.path, outcome)
        spec = TABLES[fmt.target]
        if bulk.eligible(source, fmt, spec):
            _close(batches, stream)
            if _load_bulk(con, source, fmt, spec, sha256, part_paths, outcome, limits):
                refuse_unattributed(source.display, outcome, part_paths["quarantine"])
                return outcome
            batches, stream = open_batches(source, limits)  # the careful path reads the file afresh
            head = []
        writers = PartWriters(part_paths[fmt.target], part_paths["quarantine"], spec)
        try:
            for batch in _chain(head, batches):
                _load_batch(con, batch, fmt, spec, source, sha256, writers, outcome)
        finally:
            writers.close()
    finally:
        if stream is not None:
            stream.close()
    if stream is not None:
        outcome.warnings += [note for note in stream.notes if note not in outcome.warnings]
        if stream.damage:
            outcome.warnings.append(stream.damage)
    refuse_unattributed(source.display, outcome, part_paths["quarantine"])
    return outcome


#: What the validator says of a record without an account, or without a time.
_UNATTRIBUTED = {"account_id: missing": "account", "ts: missing": "time"}


def refuse_unattributed(display: str, outcome: FileOutcome, quarantine: Path) -> None:
    """Refuse a log file none of whose rows says which account sent it, or when.

    Such a file was read with the wrong format or comes from an export that keeps the account
    somewhere no format knows (a batch file, a gateway's own field): loading it as a file of
    quarantined rows would let an investigation run without it and say nothing. The file
    fails instead, with the first row's reason and the ``--mapping`` that would fix it.

    Raises:
        InputError: every row of an event file lacks its account (or every row its time).
    """
    if outcome.target != "events" or outcome.rows_loaded or not quarantine.is_file():
        return
    reasons = pq.read_table(quarantine, columns=["reason"]).column("reason")
    for needle, what in _UNATTRIBUTED.items():
        if pc.all(pc.match_substring(reasons, needle)).as_py():
            first = outcome.examples[0] if outcome.examples else needle
            raise InputError(
                f"{display}: no row says which {what} it belongs to "
                f"({outcome.rows_read} row(s) read as {outcome.format}; first: {first}); "
                "nothing of it was loaded",
                hint="--mapping FILE says where this export keeps the account and the time; "
                "a file of one account's requests (a batch file) loads with --account ID "
                "and --time TIME (or --time-from-file); see docs/formats.md",
            )


def _close(batches: Iterator[Batch], stream: InputStream | None) -> None:
    """Stop reading a file with the careful readers."""
    if isinstance(batches, Generator):
        batches.close()
    if stream is not None:
        stream.close()


def _load_bulk(
    con: duckdb.DuckDBPyConnection,
    source: InputFile,
    fmt: LogFormat,
    spec: TableSpec,
    sha256: str,
    part_paths: dict[str, Path],
    outcome: FileOutcome,
    limits: ReadLimits,
) -> bool:
    """Try the bulk path (:mod:`distillscan.ingest.bulk`); False, with nothing written, if not."""
    try:
        done = bulk.load(con, source, fmt, spec, sha256, part_paths[fmt.target], limits)
    except bulk.GiveUp:
        return False
    writers = PartWriters(part_paths[fmt.target], part_paths["quarantine"], spec)
    outcome.rows_loaded = done.rows_loaded
    _quarantine(done.quarantine, writers, outcome)
    writers.close()
    return True


def read_head(batches: Iterator[Batch]) -> list[Batch]:
    """The first batches of a file, up to and including the first that holds records."""
    head: list[Batch] = []
    for batch in batches:
        head.append(batch)
        if len(batch.records):
            break
    return head


def _detect(
    con: duckdb.DuckDBPyConnection, source: InputFile, head: list[Batch], rest: Iterator[Batch]
) -> LogFormat:
    """The format of a file from its first records (canonical when there is nothing to see)."""
    if not head or len(head[-1].records) == 0:
        return formats.by_name("canonical")  # no records at all: an empty or unreadable file
    first = head[-1]
    sample = sniff_sample(con, first)
    found = formats.detect(sample) if sample else None
    if found is not None:
        return found
    first_line = first.lines[0].as_py()
    hint = (
        f"pass --format with one of: {', '.join(formats.format_names())}, "
        "or describe the columns with --mapping FILE"
    )
    if not sample:
        raise InputError(
            f"{source.display}:{first_line}: no JSON object among the first records, "
            "so the log format cannot be recognised",
            hint=hint,
        )
    keys = ", ".join(sorted(sample[0])[:12]) or "none"
    single = source.container == "json" and len(first.records) == 1 and len(head) == 1
    if single and next(rest, None) is None:
        raise NotALog(
            f"{source.display}: not a log: one JSON object (keys: {keys}) that no log "
            "format recognises",
            hint=hint,
        )
    raise InputError(
        f"{source.display}:{first_line}: cannot tell the log format (first record keys: {keys})",
        hint=hint,
    )


def _chain(head: list[Batch], rest: Iterator[Batch]) -> Iterator[Batch]:
    yield from head
    yield from rest


class PartWriters:
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

    def discard(self) -> None:
        """Remove the parts written so far (after :meth:`close`)."""
        for which in self.open:
            self.paths[which].unlink(missing_ok=True)
        self.open.clear()


def _load_batch(
    con: duckdb.DuckDBPyConnection,
    batch: Batch,
    fmt: LogFormat,
    spec: TableSpec,
    source: InputFile,
    sha256: str,
    writers: PartWriters,
    outcome: FileOutcome,
) -> None:
    """Map, validate and write one batch: loaded rows to the table part, the rest to quarantine."""
    for warning in batch.warnings:
        if warning not in outcome.warnings:
            outcome.warnings.append(warning)
    table = pa.table({"source_line": batch.lines, "raw": batch.records})
    map_records(con, table, fmt, spec, source.display, sha256, batch.rejects, writers, outcome)


def map_records(
    con: duckdb.DuckDBPyConnection,
    table: pa.Table,
    fmt: LogFormat,
    spec: TableSpec,
    display: str,
    sha256: str,
    framing_rejects: list[Reject],
    writers: PartWriters,
    outcome: FileOutcome,
    origin: pa.Table | None = None,
) -> None:
    """Map, validate and write framed records: loaded rows to the table part, the rest (with
    the reader's ``framing_rejects``) to quarantine.

    ``table`` holds ``source_line`` and ``raw``. For records of several files (a bundle, see
    :mod:`distillscan.ingest.bundle`) ``source_line`` numbers the records instead, and
    ``origin`` says where each came from: ``record`` (that number), ``file``, ``line`` and
    ``file_sha`` (which stands in for ``sha256`` in made-up ids; every row records
    ``sha256``, the input's hash).
    """
    params = {"fmt": fmt.name, "sha": sha256}
    if origin is None:
        params["file"] = display
    loaded, rejected, rejects = _map_batch(con, table, fmt, spec, params, origin)
    writers.write("table", loaded)
    outcome.rows_loaded += loaded.num_rows
    if origin is not None and rejects:
        records = origin.column("record").to_pylist()
        files = origin.column("file").to_pylist()
        lines = origin.column("line").to_pylist()
        where = {r: (f, n) for r, f, n in zip(records, files, lines, strict=True)}
        rejects = [Reject(where[r.line][1], r.reason, r.raw, where[r.line][0]) for r in rejects]
    rejects = framing_rejects + rejects
    quarantined = pa.concat_tables(
        [rejected, _rejects_table(rejects, fmt, display, sha256)]
    ).sort_by([("source_file", "ascending"), ("source_line", "ascending")])
    _quarantine(quarantined, writers, outcome)


def _quarantine(quarantined: pa.Table, writers: PartWriters, outcome: FileOutcome) -> None:
    """Write quarantine rows (sorted by file and line), count them and keep the first few
    reasons."""
    if quarantined.num_rows == 0:
        return
    outcome.rows_quarantined += quarantined.num_rows
    room = max(0, EXAMPLE_REASONS - len(outcome.examples))
    head = quarantined.slice(0, room)
    for file, line, reason in zip(
        head.column("source_file").to_pylist(),
        head.column("source_line").to_pylist(),
        head.column("reason").to_pylist(),
        strict=True,
    ):
        outcome.examples.append(f"{file}:{line}: {reason}")
    writers.write("quarantine", quarantined)


def _rejects_table(rejects: list[Reject], fmt: LogFormat, display: str, sha256: str) -> pa.Table:
    """Quarantine rows for records rejected before DuckDB (framing and JSON errors)."""
    n = len(rejects)
    return pa.table(
        {
            "source_file": pa.array([r.file or display for r in rejects], pa.string()),
            "source_line": pa.array([r.line for r in rejects], pa.int64()),
            "source_sha256": pa.array([sha256] * n, pa.string()),
            "source_format": pa.array([fmt.name] * n, pa.string()),
            "reason": pa.array([r.reason for r in rejects], pa.string()),
            "raw": pa.array([preview(r.raw) for r in rejects], pa.string()),
        },
        schema=QUARANTINE_ARROW_SCHEMA,
    )


def _map_batch(
    con: duckdb.DuckDBPyConnection,
    batch: pa.Table,
    fmt: LogFormat,
    spec: TableSpec,
    params: dict[str, str],
    origin: pa.Table | None,
) -> tuple[pa.Table, pa.Table, list[Reject]]:
    """Loaded rows, quarantined rows and JSON rejects for a batch of records (see
    :func:`map_records`).

    If DuckDB fails on the batch as a whole (a record that trips an error inside a format's SQL),
    the batch is split in halves until the records responsible are isolated and quarantined
    with DuckDB's message; every other record is mapped normally.
    """
    if batch.num_rows == 0:
        return (
            spec.arrow_schema.empty_table(),
            QUARANTINE_ARROW_SCHEMA.empty_table(),
            [],
        )
    try:
        return _map_in_duckdb(con, batch, fmt, spec, params, origin)
    except duckdb.Error as exc:
        if batch.num_rows == 1:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            reason = f"cannot be mapped as {fmt.name}: {message}"
            row = batch.to_pylist()[0]
            return (
                spec.arrow_schema.empty_table(),
                QUARANTINE_ARROW_SCHEMA.empty_table(),
                [Reject(row["source_line"], reason, row["raw"])],
            )
    half = batch.num_rows // 2
    first = _map_batch(con, batch.slice(0, half), fmt, spec, params, origin)
    second = _map_batch(con, batch.slice(half), fmt, spec, params, origin)
    return (
        pa.concat_tables([first[0], second[0]]),
        pa.concat_tables([first[1], second[1]]),
        first[2] + second[2],
    )


def _map_in_duckdb(
    con: duckdb.DuckDBPyConnection,
    batch: pa.Table,
    fmt: LogFormat,
    spec: TableSpec,
    params: dict[str, str],
    origin: pa.Table | None,
) -> tuple[pa.Table, pa.Table, list[Reject]]:
    con.register("batch", batch)
    try:
        _parse(con, fmt)
        rejects = _invalid_json(con)
        _map_and_validate(con, fmt, spec)
    finally:
        con.unregister("batch")
    # Where each row came from: the batch's own file, or (a bundle) each record's.
    if origin is None:
        source = "checked"
        file, line, file_sha = "$file", "source_line", "$sha"
    else:
        con.register("origin", origin)
        source = "checked JOIN origin ON checked.source_line = origin.record"
        file, line, file_sha = "origin.file", "origin.line", "origin.file_sha"
    outputs = []
    for column in spec.columns:
        if column.source != "provenance":
            outputs.append(column.name)
    if "event_id" in outputs:
        # A record without an id gets a stable one: its file's hash prefix and the line.
        outputs[outputs.index("event_id")] = (
            f"coalesce(event_id, printf('%s:%d', left({file_sha}, 16), {line})) AS event_id"
        )
    try:
        loaded = con.sql(
            f"""SELECT {", ".join(outputs)}, $fmt AS source_format, {file} AS source_file,
                       {line} AS source_line, $sha AS source_sha256
                FROM {source} WHERE reason IS NULL ORDER BY checked.source_line""",
            params=params,
        ).to_arrow_table()
        rejected = con.sql(
            f"""SELECT {file} AS source_file, {line} AS source_line, $sha AS source_sha256,
                       $fmt AS source_format, reason,
                       rtrim(left(raw, {QUARANTINE_RAW_LIMIT} + 2), chr(13) || chr(10)) AS raw
                FROM {source} WHERE reason IS NOT NULL ORDER BY checked.source_line""",
            params=params,
        ).to_arrow_table()
    finally:
        if origin is not None:
            con.unregister("origin")
    return (
        loaded.select(spec.arrow_schema.names).cast(spec.arrow_schema),
        rejected.cast(QUARANTINE_ARROW_SCHEMA),
        rejects,
    )


def _invalid_json(con: duckdb.DuckDBPyConnection) -> list[Reject]:
    """Records that are not JSON objects, each with the parser's own account of the problem."""
    rows = con.execute(
        """SELECT source_line, rtrim(raw, chr(13) || chr(10)),
            CASE WHEN json_valid(raw) THEN json_type(raw) END,
            CASE WHEN json_valid(raw) AND json_type(raw) = 'OBJECT'
                 THEN ds_duplicate_keys(raw) END
        FROM parsed_all WHERE d IS NULL"""
    ).fetchall()
    return [  # broken records only
        Reject(line, _problem_of(raw, kind, duplicates), raw)
        for line, raw, kind, duplicates in rows
    ]


def _problem_of(raw: str, kind: str | None, duplicates: list[str] | None) -> str:
    """Why a record that did not parse into a usable object cannot be loaded."""
    if duplicates:
        names = ", ".join(inert(key, 60) for key in duplicates[:5])
        return f"a key given twice ({names}): which of its values counts is ambiguous"
    if kind is None or kind == "OBJECT":
        return _json_problem(raw)
    return _not_an_object(kind)


def _not_an_object(kind: str) -> str:
    """Reason for a valid JSON value that is not an object (``kind`` as DuckDB names it)."""
    names = {"ARRAY": "an array", "VARCHAR": "a string", "BOOLEAN": "a boolean", "NULL": "null"}
    return f"expected a JSON object, got {names.get(kind, 'a number')}"


def _json_problem(raw: str) -> str:
    """Why ``raw`` (which DuckDB's parser refused) cannot be loaded, in one phrase."""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        where = (
            f"column {exc.colno}" if exc.lineno == 1 else f"line {exc.lineno}, column {exc.colno}"
        )
        return f"invalid JSON at {where}: {exc.msg.removesuffix(' at')}"
    except (ValueError, RecursionError):
        return "invalid JSON"
    if "\\ud" in raw.lower():
        # Python accepts escaped lone surrogates; DuckDB (rightly) does not.
        return "invalid JSON: an escaped UTF-16 surrogate (\\ud800-\\udfff) without its pair"
    return f"invalid JSON (refused by DuckDB's JSON parser; Python reads {type(value).__name__})"


def _map_and_validate(con: duckdb.DuckDBPyConnection, fmt: LogFormat, spec: TableSpec) -> None:
    """Run the format's mapping and the shared validation over ``parsed`` into ``checked``."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE checked AS
        WITH staged AS ({fmt.sql}),
        {validation_sql(spec.columns, spec.required, supplied=fmt.supplied)}"""
    )


def _parse(con: duckdb.DuckDBPyConnection, fmt: LogFormat) -> None:
    """Parse each record of ``batch`` once into ``parsed_all`` (``d`` NULL when unusable).

    json_transform fails on invalid JSON, which try() turns into NULL; the first character tells
    an object from the other JSON values. ``parsed`` is the view of the usable records.
    """
    spec = sql_string(fmt.transform_spec())
    # A record with a key twice is refused: which of its values counts is ambiguous (parsers
    # differ), and an attacker can show one account to one tool and another to the next.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE parsed_all AS
        SELECT source_line, raw,
            CASE WHEN starts_with(ltrim(left(raw, 256), ' \t\r\n'), '{{')
                      AND NOT coalesce(try(ds_duplicate_keys(raw) <> []), false)
                 THEN try(json_transform(raw, {spec})) END AS d
        FROM batch"""
    )
    con.execute(
        "CREATE OR REPLACE TEMP VIEW parsed AS SELECT * FROM parsed_all WHERE d IS NOT NULL"
    )
