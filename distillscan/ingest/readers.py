"""Containers: turn a JSON lines, JSON, CSV or Parquet file into batches of JSON records.

Every reader yields :class:`Batch` objects: the records it could frame, each as one JSON object's
text with the line (or record number) it started on, plus the records it had to reject itself
(invalid UTF-8, a CSV row with the wrong number of fields, the tail of a truncated file). Parsing
the JSON and mapping it to canonical columns happens later, in DuckDB, a whole batch at a time.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from distillscan.ingest.streams import InputStream
from distillscan.schema import QUARANTINE_RAW_LIMIT

#: Records per batch handed to DuckDB (bounded memory, whatever the file size).
BATCH_RECORDS = 100_000
#: Decompressed bytes gathered before a JSON lines batch is split.
BATCH_BYTES = 32 * 1024 * 1024

CONTAINERS = ("jsonl", "json", "csv", "parquet")
_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".parquet": "parquet",
}


def container_of(path: Path) -> str | None:
    """Return the container type from the file name (compression suffix ignored), or None."""
    name = path.name.lower()
    for suffix in (".gz", ".gzip", ".zst", ".zstd"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return _EXTENSIONS.get(Path(name).suffix)


@dataclass(frozen=True, slots=True)
class Reject:
    """A record the reader could not even frame as JSON text."""

    line: int
    reason: str
    raw: str


@dataclass(slots=True)
class Batch:
    """Records framed by a reader: ``lines[i]`` is where ``records[i]`` starts."""

    lines: pa.Array
    records: pa.Array
    rejects: list[Reject] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records) + len(self.rejects)


def preview(data: bytes | str) -> str:
    """Cut a raw record to the quarantine limit, decoding bytes with visible replacements."""
    if isinstance(data, bytes):
        data = data[: QUARANTINE_RAW_LIMIT * 4].decode("utf-8", errors="backslashreplace")
    return data[:QUARANTINE_RAW_LIMIT]


def _empty_batch(rejects: list[Reject]) -> Batch:
    return Batch(pa.array([], pa.int64()), pa.array([], pa.string()), rejects)


# --- JSON lines -----------------------------------------------------------------------------


def read_jsonl(stream: InputStream) -> Iterator[Batch]:
    """Frame a JSON lines stream: one record per non-blank line.

    Lines are split by Arrow in bulk; only a block that fails UTF-8 decoding is split in Python,
    to find the offending lines.
    """
    carry = b""
    next_line = 1  # number of the first line in the next block
    first = True
    while True:
        chunk = stream.read_chunk()
        if not chunk:
            break
        if first:
            chunk = chunk.removeprefix(codecs.BOM_UTF8)
            first = False
        carry += chunk
        if len(carry) < BATCH_BYTES:
            continue
        cut = carry.rfind(b"\n")
        if cut < 0:
            continue  # one very long line: keep reading until it ends
        block, carry = carry[: cut + 1], carry[cut + 1 :]
        yield _jsonl_block(block, next_line)
        next_line += block.count(b"\n")
    if carry:
        batch = _jsonl_block(carry, next_line)
        if stream.damage is not None and not carry.endswith(b"\n"):
            # The last line is incomplete because the file breaks inside it.
            last = next_line + carry.count(b"\n")
            tail = carry[carry.rfind(b"\n") + 1 :]
            keep = pc.not_equal(batch.lines, pa.scalar(last, pa.int64()))
            batch = Batch(
                pc.filter(batch.lines, keep),
                pc.filter(batch.records, keep),
                [r for r in batch.rejects if r.line != last],
            )
            batch.rejects.append(Reject(last, f"incomplete record: {stream.damage}", preview(tail)))
        yield batch


def _jsonl_block(block: bytes, first_line: int) -> Batch:
    """Split a block of whole lines into records, skipping blank lines."""
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        return _jsonl_block_slow(block, first_line)
    parts = pc.list_flatten(pc.split_pattern(pa.array([text], pa.large_string()), "\n"))
    lines = pa.array(range(first_line, first_line + len(parts)), pa.int64())
    parts = pc.utf8_rtrim(parts, characters="\r")
    keep = pc.not_equal(pc.utf8_length(pc.utf8_trim_whitespace(parts)), 0)
    records = pc.filter(parts, keep).cast(pa.string())
    return Batch(pc.filter(lines, keep), records)


def _jsonl_block_slow(block: bytes, first_line: int) -> Batch:
    """Line-by-line framing for a block that holds invalid UTF-8."""
    lines: list[int] = []
    records: list[str] = []
    rejects: list[Reject] = []
    for offset, raw in enumerate(block.split(b"\n")):
        line = first_line + offset
        raw = raw.removesuffix(b"\r")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            reason = f"invalid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
            rejects.append(Reject(line, reason, preview(raw)))
            continue
        if text.strip():
            lines.append(line)
            records.append(text)
    return Batch(pa.array(lines, pa.int64()), pa.array(records, pa.string()), rejects)


# --- JSON documents -------------------------------------------------------------------------

#: A top-level object that only wraps the record array, as CloudTrail and many APIs export.
_WRAPPED_ARRAY = re.compile(r'\s*\{\s*"(Records|records|data|items|logs|events)"\s*:\s*\[')
_WHITESPACE = re.compile(r"[ \t\n\r]*")


def read_json(stream: InputStream) -> Iterator[Batch]:
    """Frame a JSON document: a top-level array of records, a wrapped array, or JSON values.

    Records are found with the standard library's incremental decoder over a sliding text buffer,
    so a large array is read in bounded memory. A record that cannot be parsed ends the framing:
    in an array there is no reliable way to resynchronise, so the rest of the file is one
    quarantined entry with the position of the error.
    """
    decoder = json.JSONDecoder()
    text_reader = io.TextIOWrapper(io.BufferedReader(stream), encoding="utf-8-sig", newline="")
    buf = ""
    pos = 0
    line = 1  # line number at ``pos``
    at_end = False
    lines: list[int] = []
    records: list[str] = []
    rejects: list[Reject] = []

    def fill() -> bool:
        nonlocal buf, pos, at_end
        if at_end:
            return False
        try:
            more = text_reader.read(BATCH_BYTES // 4)
        except UnicodeDecodeError as exc:
            at_end = True
            rejects.append(
                Reject(
                    line, f"invalid UTF-8 (byte 0x{exc.object[exc.start]:02x})", preview(buf[pos:])
                )
            )
            buf, pos = "", 0
            return False
        if not more:
            at_end = True
            return False
        buf = buf[pos:] + more
        pos = 0
        return True

    def skip_ws() -> None:
        nonlocal pos, line
        while True:
            match = _WHITESPACE.match(buf, pos)
            assert match is not None
            line += buf.count("\n", pos, match.end())
            pos = match.end()
            if pos < len(buf) or not fill():
                return

    fill()
    skip_ws()
    in_array = False
    wrapped = _WRAPPED_ARRAY.match(buf, pos)
    if wrapped:
        line += buf.count("\n", pos, wrapped.end())
        pos = wrapped.end()
        in_array = True
    elif buf[pos : pos + 1] == "[":
        pos += 1
        in_array = True
    expect_comma = False
    while True:
        skip_ws()
        if pos >= len(buf):
            if in_array:
                reason = "the JSON array is not closed: the file is truncated"
                if stream.damage:
                    reason = f"incomplete record: {stream.damage}"
                rejects.append(Reject(line, reason, ""))
            break
        if in_array:
            if buf[pos] == "]":
                pos += 1
                skip_ws()
                if wrapped and buf[pos : pos + 1] == "}":
                    pos += 1
                    skip_ws()
                if pos < len(buf):
                    rejects.append(
                        Reject(line, "unexpected data after the JSON array", preview(buf[pos:]))
                    )
                break
            if expect_comma:
                if buf[pos] != ",":
                    rejects.append(
                        Reject(
                            line, "invalid JSON: expected ',' between records", preview(buf[pos:])
                        )
                    )
                    break
                pos += 1
                skip_ws()
        try:
            _, end = decoder.raw_decode(buf, pos)
        except (json.JSONDecodeError, RecursionError) as exc:
            if fill():
                continue  # the record may just be longer than the buffer
            message = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            reason = f"invalid JSON: {message}"
            if stream.damage:
                reason = f"incomplete record: {stream.damage}"
            rejects.append(Reject(line, reason, preview(buf[pos:])))
            break
        lines.append(line)
        records.append(buf[pos:end])
        line += buf.count("\n", pos, end)
        pos = end
        expect_comma = True
        if len(records) >= BATCH_RECORDS:
            yield Batch(pa.array(lines, pa.int64()), pa.array(records, pa.string()), rejects)
            lines, records, rejects = [], [], []
    if records or rejects:
        yield Batch(pa.array(lines, pa.int64()), pa.array(records, pa.string()), rejects)


# --- CSV ------------------------------------------------------------------------------------


def read_csv(stream: InputStream) -> Iterator[Batch]:
    """Frame a CSV file with a header row: each row becomes a JSON object of its non-empty cells.

    Cells stay strings; the validation step accepts numeric and boolean text for typed columns,
    and cells holding JSON (a ``messages`` list, for example) are parsed by the format. A row's
    line number is the physical line it starts on, so quoted newlines are accounted for.
    """
    text = io.TextIOWrapper(
        io.BufferedReader(stream), encoding="utf-8-sig", errors="surrogateescape", newline=""
    )
    line_numbers = _LineCounter(text)
    reader = csv.reader(line_numbers)
    header: list[str] | None = None
    lines: list[int] = []
    records: list[str] = []
    rejects: list[Reject] = []
    while True:
        start = line_numbers.line + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            rejects.append(Reject(start, f"invalid CSV: {exc}", ""))
            continue
        if header is None:
            header = [h.strip() for h in row]
            continue
        if not any(cell.strip() for cell in row):
            continue
        joined = ",".join(row)
        if _has_surrogates(joined):
            rejects.append(
                Reject(start, "invalid UTF-8", preview(joined.encode("utf-8", "surrogateescape")))
            )
            continue
        if len(row) != len(header):
            rejects.append(
                Reject(
                    start, f"expected {len(header)} CSV fields, found {len(row)}", preview(joined)
                )
            )
            continue
        record = {key: cell for key, cell in zip(header, row, strict=True) if cell != ""}
        lines.append(start)
        records.append(json.dumps(record, ensure_ascii=False))
        if len(records) >= BATCH_RECORDS:
            yield Batch(pa.array(lines, pa.int64()), pa.array(records, pa.string()), rejects)
            lines, records, rejects = [], [], []
    if stream.damage:
        rejects.append(Reject(line_numbers.line, f"incomplete record: {stream.damage}", ""))
    if records or rejects:
        yield Batch(pa.array(lines, pa.int64()), pa.array(records, pa.string()), rejects)


class _LineCounter:
    """Iterates the lines of a text stream, counting them for CSV row provenance."""

    def __init__(self, text: io.TextIOBase) -> None:
        self._text = text
        self.line = 0

    def __iter__(self) -> _LineCounter:
        return self

    def __next__(self) -> str:
        value = self._text.readline()
        if not value:
            raise StopIteration
        self.line += 1
        return value


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


# --- Parquet --------------------------------------------------------------------------------


def read_parquet(path: Path) -> Iterator[Batch]:
    """Frame a Parquet file: each row becomes a JSON object; its record number is its line.

    Conversion to JSON text happens in DuckDB, a batch at a time, so every format maps Parquet
    exactly as it maps JSON.
    """
    import duckdb  # local: only Parquet needs it here

    parquet = pq.ParquetFile(path)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    first = 1
    for arrow_batch in parquet.iter_batches(batch_size=BATCH_RECORDS):
        table = pa.Table.from_batches([arrow_batch])
        con.register("parquet_batch", table)
        records = con.sql("SELECT to_json(b)::VARCHAR FROM parquet_batch AS b").to_arrow_table()
        con.unregister("parquet_batch")
        n = table.num_rows
        yield Batch(
            pa.array(range(first, first + n), pa.int64()), records.column(0).combine_chunks()
        )
        first += n
    con.close()
