"""Containers: turn a JSON lines, JSON, CSV or Parquet file into batches of JSON records.

Every reader yields :class:`Batch` objects: the records it could frame, each as one JSON object's
text with its position in the file, plus the records it had to reject itself (invalid UTF-8, a CSV
row with the wrong number of fields, the tail of a truncated file). Parsing the JSON and mapping it
to canonical columns happens later, in DuckDB, a whole batch at a time.

Positions (``source_line``) are the physical line a record starts on for JSON lines and CSV, and
the record number (1-based) for ``.json`` documents and Parquet: a JSON array often holds many
records on one line, and a position must name exactly one record.

A damaged file (a compressed stream that breaks, a read error) always leaves one rejected entry
saying where the readable part ends, so the damage is counted and ``--strict`` fails on it.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import re
from collections import deque
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
#: Parquet rows converted to JSON text at a time (rows of prompts and responses are large, and
#: the text exists twice during conversion).
PARQUET_BATCH_RECORDS = 16_384
#: Decompressed bytes gathered before a JSON lines batch is split.
BATCH_BYTES = 32 * 1024 * 1024
#: The same for a file's first batch, which format detection reads even when the bulk path then
#: loads the file: a whole batch cost 0.15 s per file (2 s for a 14-file export).
FIRST_BATCH_BYTES = 1024 * 1024
#: Characters of JSON text read per step from a ``.json`` document.
JSON_READ_CHARS = 8 * 1024 * 1024

CONTAINERS = ("jsonl", "json", "csv", "parquet")
_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".parquet": "parquet",
}


def container_of(path: Path) -> str | None:
    """Return the container type from the file name (compression suffix ignored), or None.

    A compressed file with no other extension (CloudWatch Logs' export to S3 writes
    ``000000.gz``) is read as JSON lines; its records then decide whether it is a log.
    """
    name = path.name.lower()
    compressed = False
    for suffix in (".gz", ".gzip", ".zst", ".zstd"):
        if name.endswith(suffix):
            name, compressed = name[: -len(suffix)], True
            break
    if compressed and name and not Path(name).suffix:
        return "jsonl"
    return _EXTENSIONS.get(Path(name).suffix)


@dataclass(frozen=True, slots=True)
class Reject:
    """A record the reader could not even frame as JSON text (``file``: its file, when a batch
    holds records of several files, see :mod:`distillscan.ingest.bundle`)."""

    line: int
    reason: str
    raw: str
    file: str | None = None


@dataclass(slots=True)
class Batch:
    """Records framed by a reader: ``lines[i]`` is where ``records[i]`` starts.

    ``warnings`` are remarks about the whole file (a repeated CSV column name, for example).
    """

    lines: pa.Array
    records: pa.Array
    rejects: list[Reject] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records) + len(self.rejects)


def preview(data: bytes | str) -> str:
    """Cut a raw record to the quarantine limit, showing undecodable bytes as ``\\xNN``."""
    if isinstance(data, str):
        data = data[: QUARANTINE_RAW_LIMIT + 2].rstrip("\r\n")[:QUARANTINE_RAW_LIMIT]
        if data.isascii() or not _has_surrogates(data):
            return data
        data = data.encode("utf-8", "surrogateescape")
    return data[: QUARANTINE_RAW_LIMIT * 4].decode("utf-8", errors="backslashreplace")[
        :QUARANTINE_RAW_LIMIT
    ]


def empty_batch(rejects: list[Reject] | None = None) -> Batch:
    """A batch with no records (and possibly some rejects)."""
    return Batch(pa.array([], pa.int64()), pa.array([], pa.string()), rejects or [])


def _batch(lines: list[int], records: list[str], rejects: list[Reject]) -> Batch:
    return Batch(pa.array(lines, pa.int64()), pa.array(records, pa.string()), rejects)


def break_reason(damage: str, partial: bool) -> str:
    """The quarantine reason recorded where a damaged file stops being readable."""
    if partial:
        return f"incomplete record: {damage}"
    return f"nothing readable after this point: {damage}"


def _has_surrogates(text: str) -> bool:
    """True when ``text`` holds bytes that were not valid UTF-8 (decoded as surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _bad_byte(text: str) -> str:
    """Describe the first undecodable byte of surrogate-escaped ``text``."""
    for offset, char in enumerate(text):
        if "\udc80" <= char <= "\udcff":
            return f"byte 0x{ord(char) - 0xDC00:02x} at column {offset + 1}"
    return "an undecodable byte"


# --- JSON lines -----------------------------------------------------------------------------


def read_jsonl(stream: InputStream) -> Iterator[Batch]:
    """Frame a JSON lines stream: one record per non-blank line.

    Lines are split by Arrow in bulk; only a block that fails UTF-8 validation is split in
    Python, to find the offending lines. A byte-order mark at the start of any line is dropped
    (concatenated exports repeat it). A line longer than the stream's ``max_record_bytes`` is
    quarantined by its first bytes and skipped without being held.
    """
    limit = stream.limits.max_record_bytes
    pending: list[bytes] = []
    pending_size = 0
    run = 0  # bytes since the last line end: the length so far of the line being gathered
    next_line = 1  # number of the first line in the next block
    first = True
    while True:
        chunk = stream.read_chunk()
        if not chunk:
            break
        if first:
            chunk = chunk.removeprefix(codecs.BOM_UTF8)
            first = False
        end = chunk.rfind(b"\n")
        run = run + len(chunk) if end < 0 else len(chunk) - end - 1
        pending.append(chunk)
        pending_size += len(chunk)
        if run > limit:
            data = b"".join(pending)
            cut = data.rfind(b"\n")
            if cut >= 0:
                yield _jsonl_block(data[: cut + 1], next_line)
                next_line += data.count(b"\n", 0, cut + 1)
            long_line = next_line
            head = data[cut + 1 : cut + 1 + QUARANTINE_RAW_LIMIT * 4]
            rest = _skip_line(stream)
            reason = f"a line longer than {limit:,} bytes (raise --max-record-size to read it)"
            if rest is None:  # the long line ran to the end of the file (or to a break)
                if stream.damage is not None:
                    reason += f"; {break_reason(stream.damage, True)}"
                yield empty_batch([Reject(long_line, reason, preview(head))])
                return
            yield empty_batch([Reject(long_line, reason, preview(head))])
            next_line += 1
            end = rest.rfind(b"\n")
            run = len(rest) if end < 0 else len(rest) - end - 1
            pending, pending_size = [rest], len(rest)
            continue
        # Split only once enough is gathered, and only where the newest chunk holds a line end:
        # a very long line is gathered whole without rescanning it.
        enough = FIRST_BATCH_BYTES if next_line == 1 else BATCH_BYTES
        if pending_size < enough or end < 0:
            continue
        data = b"".join(pending)
        cut = data.rfind(b"\n")
        block, rest = data[: cut + 1], data[cut + 1 :]
        pending, pending_size = [rest], len(rest)
        yield _jsonl_block(block, next_line)
        next_line += block.count(b"\n")
    data = b"".join(pending)
    if stream.damage is None:
        if data:
            yield _jsonl_block(data, next_line)
        return
    # The stream broke: whole lines are records; a line cut short by the break is not.
    cut = data.rfind(b"\n")
    whole, tail = data[: cut + 1], data[cut + 1 :]
    batch = _jsonl_block(whole, next_line) if whole else empty_batch()
    tail_line = next_line + whole.count(b"\n")
    partial = bool(tail.strip())
    batch.rejects.append(Reject(tail_line, break_reason(stream.damage, partial), preview(tail)))
    yield batch


def _skip_line(stream: InputStream) -> bytes | None:
    """Read past the end of the current line; the bytes after its line end, or None at the end
    of the stream."""
    while chunk := stream.read_chunk():
        end = chunk.find(b"\n")
        if end >= 0:
            return chunk[end + 1 :]
    return None


#: The time stamp CloudWatch Logs' export to S3 puts before each event's JSON.
_STAMP_PATTERN = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)? "
_STAMPED_LINE = re.compile(_STAMP_PATTERN.encode("ascii") + rb"[{\[]")


def _jsonl_block(block: bytes, first_line: int) -> Batch:
    """Split a block of whole lines into records, skipping blank lines.

    The Arrow array is built straight over the block's bytes from the line offsets, without
    copying the text; each record keeps its line end (JSON whitespace). Trimming and filtering
    run only when the block needs them (a byte-order mark or a blank line is present), because
    each is a full copy.
    """
    if not block.endswith(b"\n"):
        block += b"\n"  # only the last block of a file lacks it
    pieces = block.split(b"\n")[:-1]
    offsets = pa.array([0, *itertools.accumulate(len(piece) + 1 for piece in pieces)], pa.int64())
    raw = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(pieces), [None, offsets.buffers()[1], pa.py_buffer(block)]
    )
    try:
        parts = raw.cast(pa.large_string())
    except pa.ArrowInvalid:
        return _jsonl_block_slow(block, first_line)
    # Values keep their line end: JSON allows trailing whitespace, and trimming would copy the
    # whole block. A byte-order mark is not whitespace to JSON, so it goes (rarely present).
    if codecs.BOM_UTF8 in block:
        parts = pc.utf8_ltrim(parts, characters="\ufeff")
    if _STAMPED_LINE.match(block):
        # CloudWatch Logs' export to S3 writes each event as "TIMESTAMP {json}": the record is
        # the JSON (which carries its own time).
        parts = pc.replace_substring_regex(parts, _STAMP_PATTERN, "")
    lines = pa.array(range(first_line, first_line + len(parts)), pa.int64())
    # Blank or whitespace-only lines are not records. The anchored pattern stops at the first
    # other character, so on ordinary lines it costs one character each.
    blank = pc.match_substring_regex(parts, "^[ \t\r\n\ufeff]*$")
    if pc.any(blank).as_py():
        keep = pc.invert(blank)
        return Batch(pc.filter(lines, keep), pc.filter(parts, keep))
    return Batch(lines, parts)


def _jsonl_block_slow(block: bytes, first_line: int) -> Batch:
    """Line-by-line framing for a block that holds invalid UTF-8."""
    lines: list[int] = []
    records: list[str] = []
    rejects: list[Reject] = []
    for offset, raw in enumerate(block.split(b"\n")):
        line = first_line + offset
        raw = raw.removesuffix(b"\r").removeprefix(codecs.BOM_UTF8)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            reason = f"invalid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
            rejects.append(Reject(line, reason, preview(raw)))
            continue
        if text.strip():
            lines.append(line)
            records.append(text)
    return _batch(lines, records, rejects)


# --- JSON documents -------------------------------------------------------------------------

#: A top-level object that only wraps the record array, as CloudTrail and many APIs export.
_WRAPPED_ARRAY = re.compile(
    r'\s*\{\s*"(Records|records|data|items|logs|events|Events|result|results)"\s*:\s*\['
)
#: Where an API response that is one JSON object keeps its records, tried in order: CloudTrail
#: (``Records``, ``lookup-events``' ``Events``), CloudWatch Logs (``events``), Cloudflare's
#: ``result``, new-api's ``data.items``, Langfuse's and one-api's ``data``, ...
_RECORD_LISTS: tuple[tuple[str, ...], ...] = (
    ("Records",),
    ("records",),
    ("Events",),
    ("events",),
    ("result",),
    ("results",),
    ("data", "items"),
    ("data", "records"),
    ("data", "logs"),
    ("data", "data"),
    ("data",),
    ("items",),
    ("logs",),
)
#: Keys of a record, not of a response wrapping records: an object with any of them is a
#: record that happens to hold a list, never a wrapper.
_RECORD_KEYS = frozenset(
    (
        "model",
        "timestamp",
        "created_at",
        "request",
        "response",
        "account_id",
        "user_id",
        "eventTime",
        "schemaType",
    )
)
#: CloudWatch Logs events (``filter-log-events``, ``get-log-events``): the record is the message.
_CLOUDWATCH_EVENT_KEYS = frozenset(
    ("logStreamName", "timestamp", "message", "ingestionTime", "eventId")
)
_WHITESPACE = re.compile(r"[ \t\n\r]*")
#: Where reading resumes after a broken value in a sequence of JSON values: the next line that
#: starts (in its first column) with an object or array.
_RESYNC = re.compile(r"\n(?=[\[{])")
#: The next character that matters when finding the end of a deeply nested value.
_NESTING_CHAR = re.compile(r'["\[\]{}]')
#: A whole JSON string (unrolled so that long strings do not backtrack).
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


class _JsonText:
    """A sliding window over a JSON document's text, with the line and column at the cursor.

    The text is decoded with ``surrogateescape`` so that invalid UTF-8 shows up in the record
    that holds it instead of ending the file. The window grows geometrically while one record is
    longer than it, so a long record costs linear time.
    """

    def __init__(self, stream: InputStream) -> None:
        self.reader = io.TextIOWrapper(
            io.BufferedReader(stream), encoding="utf-8-sig", errors="surrogateescape", newline=""
        )
        # A record longer than this is refused (it would otherwise be held in memory whole
        # while the parser looks for its end).
        self.max_record_chars = stream.limits.max_record_bytes
        self.buf = ""
        self.pos = 0
        self.base = 0  # offset in the whole text of ``buf[0]``
        self.line = 1  # physical line at ``pos``
        self.line_start = 0  # offset in the whole text where that line starts
        self.at_end = False

    def fill(self) -> bool:
        """Append more text to the window (dropping what was consumed); False at the end."""
        if self.at_end:
            return False
        more = self.reader.read(max(JSON_READ_CHARS, len(self.buf) - self.pos))
        if not more:
            self.at_end = True
            return False
        self.base += self.pos
        self.buf = self.buf[self.pos :] + more
        self.pos = 0
        return True

    def advance(self, end: int) -> None:
        """Move the cursor to ``end``, counting the lines passed."""
        newlines = self.buf.count("\n", self.pos, end)
        if newlines:
            self.line += newlines
            self.line_start = self.base + self.buf.rfind("\n", self.pos, end) + 1
        self.pos = end

    def skip_ws(self) -> None:
        """Skip whitespace, reading more text as needed."""
        while True:
            match = _WHITESPACE.match(self.buf, self.pos)
            assert match is not None  # the pattern matches the empty string
            self.advance(match.end())
            if self.pos < len(self.buf) or not self.fill():
                return

    def peek(self) -> str:
        """The character at the cursor ('' at the end of the text)."""
        return self.buf[self.pos : self.pos + 1]

    def position(self, offset: int) -> str:
        """``line L, column C`` of a window offset at or after the cursor."""
        offset = min(offset, len(self.buf))
        line = self.line + self.buf.count("\n", self.pos, offset)
        newline = self.buf.rfind("\n", self.pos, offset)
        start = self.base + newline + 1 if newline >= 0 else self.line_start
        return f"line {line}, column {self.base + offset - start + 1}"

    def skip_to_resync(self) -> str:
        """Skip to the next line starting with ``{`` or ``[``; return a preview of what was skipped.

        Text is dropped while searching, so a long stretch of garbage is not held in memory.
        """
        skipped = self.buf[self.pos : self.pos + QUARANTINE_RAW_LIMIT * 2]
        while True:
            match = _RESYNC.search(self.buf, self.pos)
            if match is not None:
                self.advance(match.end())
                return skipped
            self.advance(len(self.buf))
            if not self.fill():
                return skipped

    def end_of_deep_value(self) -> int | None:
        """Offset just past the value at the cursor, found by counting brackets (slow path).

        Used only when the value is nested too deeply for the json module's recursion; the
        value's text is then handed to DuckDB, whose parser has no such limit and judges it.
        Returns None when the value does not close before the end of the text.
        """
        while True:
            depth = 0
            scan = self.pos
            while True:
                match = _NESTING_CHAR.search(self.buf, scan)
                if match is None:
                    break  # the value goes on past the window
                if match.group() == '"':
                    string = _JSON_STRING.match(self.buf, match.start())
                    if string is None:
                        break  # a string cut by the window's end
                    scan = string.end()
                    continue
                depth += 1 if match.group() in "[{" else -1
                scan = match.end()
                if depth <= 0:
                    return scan
            if len(self.buf) - self.pos > self.max_record_chars or not self.fill():
                return None


def inner_record(element: object) -> object:
    """The record an export element carries as JSON text, or the element itself.

    CloudTrail ``lookup-events`` gives each event as text in ``CloudTrailEvent``; CloudWatch
    Logs gives each log line as text in ``message``.
    """
    if not isinstance(element, dict):
        return element
    text: object = None
    if isinstance(element.get("CloudTrailEvent"), str):
        text = element["CloudTrailEvent"]
    elif isinstance(element.get("message"), str) and set(element) <= _CLOUDWATCH_EVENT_KEYS:
        text = element["message"]
    if isinstance(text, str) and text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            return element
    return element


def unwrap_document(text: str) -> list[str] | None:
    """The records of a whole JSON document that is one API response object, or None.

    The record list is found under the keys of ``_RECORD_LISTS`` wherever they are in the
    object (a streamed wrapper must start with its list; a response often starts with
    ``success`` or paging members). A single object under ``data`` is one record.
    """
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None
    if not isinstance(document, dict) or _RECORD_KEYS & set(document):
        return None
    for path in _RECORD_LISTS:
        value: object = document
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if path == ("data",) and isinstance(value, dict) and not _holds_record_list(value):
            value = [value]
        if isinstance(value, list) and value and all(isinstance(e, dict) for e in value):
            return [json.dumps(inner_record(e), ensure_ascii=False) for e in value]
    return None


def _holds_record_list(value: dict[str, object]) -> bool:
    """Whether an object holds a list under one of the record-list keys."""
    return any(isinstance(value.get(path[0]), list) for path in _RECORD_LISTS)


def _unwrap_single(batches: Iterator[Batch]) -> Iterator[Batch]:
    """Batches as framed, except that a document that is one wrapping object yields its
    records (numbered from 1, the record numbers of a JSON document)."""
    first = next(batches, None)
    if first is None:
        return
    second = next(batches, None)
    if second is None and len(first.records) == 1 and not first.rejects:
        records = unwrap_document(first.records[0].as_py())
        if records is not None:
            yield _batch(list(range(1, len(records) + 1)), records, [])
            return
    yield first
    if second is not None:
        yield second
        yield from batches


def read_json(stream: InputStream) -> Iterator[Batch]:
    """Frame a JSON document (see :func:`_read_json`); a document that is one API response
    object wrapping its records yields those records."""
    return _unwrap_single(_read_json(stream))


def _read_json(stream: InputStream) -> Iterator[Batch]:
    """Frame a JSON document: a top-level array of records, a wrapped array, or JSON values.

    Records are found with the standard library's incremental decoder over a sliding text
    window, so a large array is read in bounded memory. Inside an array there is no reliable way
    to resynchronise after a broken record, so the rest of the file becomes one quarantined entry
    naming the line and column of the error. In a sequence of values (JSON lines saved as
    ``.json``, or concatenated objects) reading resumes at the next line that starts with ``{``.
    """
    text = _JsonText(stream)
    decoder = json.JSONDecoder()
    lines: list[int] = []
    records: list[str] = []
    rejects: list[Reject] = []
    number = 0  # records framed or rejected so far
    damage_reported = False

    def reject(reason: str, raw: str, reaches_end: bool) -> None:
        """Quarantine the next record number; name the damage when the file breaks there."""
        nonlocal number, damage_reported
        number += 1
        if stream.damage and reaches_end:
            reason = f"{break_reason(stream.damage, True)} ({reason})"
            damage_reported = True
        rejects.append(Reject(number, reason, preview(raw)))

    text.fill()
    text.skip_ws()
    while len(text.buf) - text.pos < 256 and text.fill():
        pass  # enough text to recognise a wrapping object however small the window
    in_array = False
    wrapped = _WRAPPED_ARRAY.match(text.buf, text.pos)
    if wrapped:
        text.advance(wrapped.end())
        in_array = True
    elif text.peek() == "[":
        text.advance(text.pos + 1)
        in_array = True
    expect_comma = False
    while True:
        text.skip_ws()
        if text.pos >= len(text.buf):
            if in_array:
                reject("the JSON array is not closed: the file is cut short", "", True)
            break
        if in_array:
            if text.peek() == "]":
                _finish_array(text, bool(wrapped), number, rejects)
                break
            if expect_comma:
                if text.peek() != ",":
                    reason = (
                        f"invalid JSON at {text.position(text.pos)}: expected ',' or ']' after "
                        f"record {number}; the rest of the file cannot be framed"
                    )
                    reject(reason, text.buf[text.pos :], True)
                    break
                text.advance(text.pos + 1)
                text.skip_ws()
                if text.peek() == "]":  # a trailing comma: lenient, nothing is lost
                    _finish_array(text, bool(wrapped), number, rejects)
                    break
        end = _decode_one(text, decoder)
        if isinstance(end, str):  # why the value cannot be read
            if in_array:
                reject(f"{end}; the rest of the file cannot be framed", text.buf[text.pos :], True)
                break
            skipped = text.skip_to_resync()
            reject(end, skipped, text.pos >= len(text.buf) and not text.fill())
            continue
        record = text.buf[text.pos : end]
        if in_array and ('"CloudTrailEvent"' in record or '"ingestionTime"' in record):
            inner = inner_record(json.loads(record))
            record = json.dumps(inner, ensure_ascii=False) if isinstance(inner, dict) else record
        if not record.isascii() and _has_surrogates(record):
            reject(
                f"invalid UTF-8 in the record at line {text.line} ({_bad_byte(record)})",
                record,
                False,
            )
        else:
            number += 1
            lines.append(number)
            records.append(record)
        text.advance(end)
        expect_comma = True
        if len(records) >= BATCH_RECORDS:
            yield _batch(lines, records, rejects)
            lines, records, rejects = [], [], []
    if stream.damage and not damage_reported:
        rejects.append(Reject(number + 1, break_reason(stream.damage, False), ""))
    if records or rejects:
        yield _batch(lines, records, rejects)


def _decode_one(text: _JsonText, decoder: json.JSONDecoder) -> int | str:
    """Decode the value at the cursor: its end offset, or a reason it cannot be read."""
    while True:
        try:
            _, end = decoder.raw_decode(text.buf, text.pos)
            return end
        except RecursionError:
            deep_end = text.end_of_deep_value()
            if deep_end is None:
                return "invalid JSON: a deeply nested value that never closes"
            return deep_end
        except json.JSONDecodeError as exc:
            # Running out of text looks like an error: read more and try again, but only when
            # the error is at the window's end (or in a string that may continue past it).
            near_end = exc.pos >= len(text.buf) - 12 or exc.msg.startswith("Unterminated string")
            too_long = len(text.buf) - text.pos > text.max_record_chars
            if near_end and not too_long and text.fill():
                continue
            if too_long:
                return (
                    f"a JSON record longer than {text.max_record_chars:,} characters "
                    "(raise --max-record-size to read it)"
                )
            char = text.buf[exc.pos : exc.pos + 1]
            if char and "\udc80" <= char <= "\udcff":
                return (
                    f"invalid UTF-8 at {text.position(exc.pos)} (byte 0x{ord(char) - 0xDC00:02x})"
                )
            message = exc.msg.removesuffix(" at")
            if exc.pos >= len(text.buf) - 12 or message.startswith("Unterminated string"):
                message += ": the file ends inside this record"
            return f"invalid JSON at {text.position(exc.pos)}: {message}"


def _finish_array(text: _JsonText, wrapped: bool, number: int, rejects: list[Reject]) -> None:
    """Consume the closing bracket (and wrapper object) and reject anything after it."""
    text.advance(text.pos + 1)
    text.skip_ws()
    if wrapped and text.peek() == ",":
        # Other members of the wrapping object (a paging token, a count): read and ignore them.
        while text.fill():
            if len(text.buf) - text.pos > text.max_record_chars:
                break
        tail = "{" + text.buf[text.pos + 1 :]
        try:
            _, end = json.JSONDecoder().raw_decode(tail)
        except (json.JSONDecodeError, RecursionError):
            end = 0
        if end:
            text.advance(text.pos + end)
            text.skip_ws()
        else:
            rejects.append(
                Reject(
                    number + 1,
                    f"invalid JSON at {text.position(text.pos)}: unreadable members after the "
                    "record array",
                    preview(text.buf[text.pos :]),
                )
            )
            return
    elif wrapped and text.peek() == "}":
        text.advance(text.pos + 1)
        text.skip_ws()
    if text.pos < len(text.buf):
        rejects.append(
            Reject(
                number + 1,
                f"unexpected data after the JSON array at {text.position(text.pos)}",
                preview(text.buf[text.pos :]),
            )
        )


# --- CSV ------------------------------------------------------------------------------------


class _CsvLines:
    """Physical lines for :func:`csv.reader`, numbered, with push-back for resynchronisation.

    ``taken`` holds the lines the reader consumed for the current row, so that a row that turns
    out broken can be rejected by its first line and the rest handed back to be read again.
    """

    def __init__(self, text: io.TextIOBase) -> None:
        self._text = text
        self._next_number = 1
        self._back: deque[tuple[int, str]] = deque()
        self.taken: list[tuple[int, str]] = []

    def __iter__(self) -> _CsvLines:
        return self

    def __next__(self) -> str:
        if self._back:
            item = self._back.popleft()
        else:
            value = self._text.readline()
            if not value:
                raise StopIteration
            item = (self._next_number, value)
            self._next_number += 1
        self.taken.append(item)
        return item[1]

    def push_back(self, items: list[tuple[int, str]]) -> None:
        """Hand ``items`` back: they are read again, first, by the next row."""
        self._back.extendleft(reversed(items))

    @property
    def next_number(self) -> int:
        """The number of the line after the last one read from the file."""
        return self._next_number


def read_csv(stream: InputStream) -> Iterator[Batch]:
    """Frame a CSV file with a header row: each row becomes a JSON object of its non-empty cells.

    Cells stay strings; the validation step accepts numeric and boolean text for typed columns,
    and cells holding JSON (a ``messages`` list, for example) are parsed by the format. A row's
    line number is the physical line it starts on, so quoted newlines are accounted for.

    The parser is strict (a quote inside an unquoted field, text after a closing quote, an
    unclosed quote at the end are errors, not silently repaired values). A broken row that spans
    several lines (typically an unbalanced quote that swallowed the rows after it) is rejected
    by its first line only, and reading resumes on the next line, so one stray quote cannot
    take the rest of the file with it.
    """
    # The longest cell (the standard library's 128 KiB is far too small for prompts; the bound
    # holds memory against a stray quote that never closes). The setting is process-wide, and
    # every reader sets the same value from the same limits.
    csv.field_size_limit(stream.limits.max_record_bytes)
    text = io.TextIOWrapper(
        io.BufferedReader(stream), encoding="utf-8-sig", errors="surrogateescape", newline=""
    )
    source = _CsvLines(text)
    reader = csv.reader(source, strict=True)
    header: list[str] | None = None
    lines: list[int] = []
    records: list[str] = []
    rejects: list[Reject] = []
    warnings: list[str] = []
    damage_reported = False

    def reject_first_line(reason: str) -> None:
        """Reject the first line taken for this row; read the others again."""
        nonlocal damage_reported
        taken = source.taken
        number, first = taken[0]
        if stream.damage and _unterminated(taken[-1][1]) and len(taken) == 1:
            reason = break_reason(stream.damage, True)
            damage_reported = True
        rejects.append(Reject(number, reason, preview(first)))
        source.push_back(taken[1:])

    while True:
        source.taken = []
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            reason = f"invalid CSV: {exc}"
            if len(source.taken) > 1:
                first, last = source.taken[0][0], source.taken[-1][0]
                reason += (
                    f" in a row running over lines {first}-{last} (an unbalanced quote?); "
                    f"reading resumes at line {first + 1}"
                )
            reject_first_line(reason)
            continue
        taken = source.taken
        start = taken[0][0]
        if not row:
            continue  # a blank line is not a row (a row of empty cells is, and is judged)
        if header is None:
            header, header_warnings = _csv_header(row)
            warnings += header_warnings
            continue
        if stream.damage and _unterminated(taken[-1][1]):
            rejects.append(
                Reject(
                    start, break_reason(stream.damage, True), preview("".join(t for _, t in taken))
                )
            )
            damage_reported = True
            continue
        broken = next((t for _, t in taken if not t.isascii() and _has_surrogates(t)), None)
        if broken is not None:
            reason = f"invalid UTF-8 ({_bad_byte(broken)})"
            rejects.append(Reject(start, reason, preview("".join(t for _, t in taken))))
            continue
        if len(row) != len(header):
            reason = f"expected {len(header)} CSV fields, found {len(row)}"
            if len(taken) > 1:
                reason += (
                    f" in a row running over lines {start}-{taken[-1][0]} (an unbalanced quote?); "
                    f"reading resumes at line {start + 1}"
                )
                reject_first_line(reason)
            else:
                rejects.append(Reject(start, reason, preview(taken[0][1])))
            continue
        if len(records) >= BATCH_RECORDS:
            yield Batch(
                pa.array(lines, pa.int64()), pa.array(records, pa.string()), rejects, warnings
            )
            lines, records, rejects, warnings = [], [], [], []
        record = {key: cell for key, cell in zip(header, row, strict=True) if cell != ""}
        lines.append(start)
        records.append(json.dumps(record, ensure_ascii=False))
    if stream.damage and not damage_reported:
        rejects.append(Reject(source.next_number, break_reason(stream.damage, False), ""))
    if records or rejects or warnings:
        yield Batch(pa.array(lines, pa.int64()), pa.array(records, pa.string()), rejects, warnings)


def _unterminated(line: str) -> bool:
    """True when a physical line has no line ending (the last line of the data)."""
    return not line.endswith(("\n", "\r"))


def _csv_header(row: list[str]) -> tuple[list[str], list[str]]:
    """Column names from the header row; a repeated name keeps only its first column."""
    names: list[str] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for index, cell in enumerate(row, start=1):
        name = cell.strip()
        if not name.isascii() and _has_surrogates(name):
            name = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        if name in seen:
            warnings.append(f"CSV column {name!r} appears more than once: column {index} ignored")
            name = f"{name} (column {index})"
        seen.add(name)
        names.append(name)
    return names, warnings


# --- Parquet --------------------------------------------------------------------------------


def read_parquet(path: Path) -> Iterator[Batch]:
    """Frame a Parquet file: each row becomes a JSON object; its record number is its line.

    Conversion to JSON text happens in DuckDB, a batch at a time, so every format maps Parquet
    exactly as it maps JSON. A row group that cannot be decoded quarantines each of its rows
    (the footer says how many) and reading continues with the next group. An empty (0-byte)
    file holds no rows.
    """
    import duckdb  # local: only Parquet needs it here

    if path.stat().st_size == 0:
        return
    parquet = pq.ParquetFile(path)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    first = 1
    try:
        for group in range(parquet.num_row_groups):
            group_end = first + parquet.metadata.row_group(group).num_rows  # exclusive
            try:
                for arrow_batch in parquet.iter_batches(
                    batch_size=PARQUET_BATCH_RECORDS, row_groups=[group]
                ):
                    table = pa.Table.from_batches([arrow_batch])
                    con.register("parquet_batch", table)
                    records = con.sql(
                        "SELECT to_json(b)::VARCHAR FROM parquet_batch AS b"
                    ).to_arrow_table()
                    con.unregister("parquet_batch")
                    n = table.num_rows
                    yield Batch(
                        pa.array(range(first, first + n), pa.int64()),
                        records.column(0).combine_chunks(),
                    )
                    first += n
            except (OSError, pa.ArrowException, duckdb.Error) as exc:
                detail = (
                    str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                )
                reason = f"unreadable Parquet row group {group} ({detail})"
                yield empty_batch([Reject(n, reason, "") for n in range(first, group_end)])
                first = group_end
    finally:
        con.close()
