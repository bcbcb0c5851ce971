"""The bulk path (``distillscan.ingest.bulk``) must load exactly what the careful path loads.

Every test ingests the same input twice, once with the bulk path allowed and once with it
switched off, and compares the whole case: events, quarantine and the manifest's counts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ingest_support import DATA, canonical_record, gzip_bytes, jsonl_bytes, read_case

from distillscan.ingest import bulk, formats, ingest, load
from distillscan.schema import TABLES

SAMPLE_LOGS = Path(__file__).parents[2] / "sample_logs" / "logs"

#: JSON lines exports of every shape the fixtures hold.
EXPORTS = sorted(
    [
        *SAMPLE_LOGS.glob("*.jsonl.gz"),
        *(DATA / "ingest").glob("*/*.jsonl"),
        *(DATA / "ingest").glob("*/*.jsonl.gz"),
    ]
)
#: Hostile JSON lines files: the bulk path must give up on these or agree with the careful one.
HOSTILE_FILES = sorted((DATA / "hostile").glob("*.jsonl"))
#: Examples of each property below: 10 (the profile's 15 elsewhere), as each example ingests its
#: input twice, three times when the typed read gives way (the costliest examples of the suite).
#: ``DISTILLSCAN_HYPOTHESIS=thorough`` runs its many more here too.
BOTH_WAYS_EXAMPLES = 10 if settings.default.max_examples <= 15 else settings.default.max_examples


@contextlib.contextmanager
def _bulk_outcomes() -> Iterator[list[bool]]:
    """Record, per file, whether the bulk path loaded it."""
    outcomes: list[bool] = []
    real = load._load_bulk

    def spy(*args: Any, **kwargs: Any) -> bool:
        loaded = real(*args, **kwargs)
        outcomes.append(loaded)
        return loaded

    with mock.patch.object(load, "_load_bulk", spy):
        yield outcomes


def _case_contents(case: Path, report: Any) -> dict[str, Any]:
    manifest = json.loads((case / "manifest.json").read_text("utf-8"))
    counts = [
        (f["path"], f["format"], f["rows_read"], f["rows_loaded"], f["rows_quarantined"])
        for f in manifest["inputs"]
    ]
    return {
        "events": read_case(case, "events"),
        "quarantine": read_case(case, "quarantine"),
        "counts": counts,
        "errors": report.errors,
    }


def _both_ways(paths: list[Path], root: Path, **kw: Any) -> tuple[dict[str, Any], list[bool]]:
    """Ingest ``paths`` with and without the bulk path; assert the cases match."""
    for case in (root / "bulk", root / "careful"):
        shutil.rmtree(case, ignore_errors=True)
    with _bulk_outcomes() as outcomes:
        bulk_case = _case_contents(root / "bulk", ingest(paths, root / "bulk", **kw))
    with mock.patch.object(bulk, "eligible", return_value=False):
        careful_case = _case_contents(root / "careful", ingest(paths, root / "careful", **kw))
    assert bulk_case == careful_case
    return bulk_case, outcomes


@pytest.mark.parametrize("path", EXPORTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_exports_load_the_same_and_clean_ones_take_the_bulk_path(
    path: Path, tmp_path: Path
) -> None:
    mapping = DATA / "ingest" / "mapping" / "acme-gateway.toml"
    options = {"mapping": mapping} if path.parent == mapping.parent else {}
    case, outcomes = _both_ways([path], tmp_path, **options)
    # A file that names no account (a bare batch file) fails the same way on both paths.
    assert case["events"] or case["quarantine"] or case["errors"]
    # Every export with nothing to quarantine is loaded in bulk, unless its format reads the
    # record's text (a --mapping, or a gateway's shipped mapping), which the bulk path lacks.
    mapped = bool(options) or (path.parent.name == "gateways" and path.suffix == ".jsonl")
    if not case["quarantine"] and not mapped:
        assert outcomes == [True]
    if mapped:
        assert outcomes == []


@pytest.mark.parametrize("path", HOSTILE_FILES, ids=lambda p: p.name)
def test_hostile_files_load_the_same_either_way(path: Path, tmp_path: Path) -> None:
    _both_ways([path], tmp_path, format_name="canonical")


def test_blank_lines_keep_their_physical_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "gaps.jsonl"
    records = [json.dumps(canonical_record(i)) for i in range(4)]
    path.write_text(f"{records[0]}\n\n{records[1]}\n   \n{records[2]}\r\n{records[3]}", "utf-8")
    _, outcomes = _both_ways([path], tmp_path)
    assert outcomes == [False]
    lines = read_case(tmp_path / "bulk", "events", "source_line")
    assert [line for (line,) in lines] == [1, 3, 5, 6]


#: The tails of a .gz file that decompressors treat differently: the counter of lines, DuckDB
#: and the careful path must agree on what loads.
GZIP_SHAPES = {
    "two-members": lambda head, rest: gzip.compress(head) + gzip.compress(rest),
    "zero-padding": lambda head, rest: gzip.compress(head + rest) + b"\x00" * 3000,
    "member-after-padding": lambda head, rest: (
        gzip.compress(head) + b"\x00" * 3000 + gzip.compress(rest)
    ),
    "garbage-after": lambda head, rest: gzip.compress(head + rest) + b"garbage",
    "bad-checksum": lambda head, rest: gzip.compress(head + rest)[:-8] + b"\x00" * 8,
    "blank-line": lambda head, rest: gzip.compress(head + b"\n" + rest),
}


@pytest.mark.parametrize("shape", sorted(GZIP_SHAPES))
def test_gzip_members_padding_and_damage_load_the_same_either_way(
    shape: str, tmp_path: Path
) -> None:
    records = jsonl_bytes(canonical_record(i) for i in range(2000)).splitlines(keepends=True)
    head, rest = b"".join(records[:1000]), b"".join(records[1000:])
    path = tmp_path / "export.jsonl.gz"
    path.write_bytes(GZIP_SHAPES[shape](head, rest))
    case, outcomes = _both_ways([path], tmp_path)
    if shape == "two-members":  # (DuckDB refuses zero padding: the careful path reads that)
        assert outcomes == [True] and len(case["events"]) == 2000


def test_large_file_keeps_line_order_across_threads(tmp_path: Path) -> None:
    """A file DuckDB splits across threads: each row's line must be the line it came from."""
    path = tmp_path / "large.jsonl"
    filler = "a long prompt that makes every record take a kilobyte or so " * 16
    records = (
        canonical_record(i, messages=[{"role": "user", "content": f"{i} {filler}"}])
        for i in range(40_000)
    )
    path.write_bytes(jsonl_bytes(records))
    with _bulk_outcomes() as outcomes:
        report = ingest([path], tmp_path / "case")
    assert outcomes == [True]
    assert report.rows_loaded == 40_000
    rows = read_case(tmp_path / "case", "events", "source_line, event_id")
    assert all(event_id == f"req_{line - 1:06d}" for line, event_id in rows)


def test_parts_are_cut_into_the_same_row_groups_whatever_the_batches(tmp_path: Path) -> None:
    """Arrow batches of a streamed result vary in size; the part's row groups must not."""
    schema = pa.schema([("n", pa.int64())])
    for sizes in ([3, 15, 4], [22], [1] * 22):
        path = tmp_path / f"part-{len(sizes)}.parquet"
        with mock.patch.object(bulk, "PART_ROW_GROUP_ROWS", 10):
            writer = bulk._PartWriter(path, schema)
            start = 0
            for size in sizes:
                writer.write(pa.table({"n": list(range(start, start + size))}, schema=schema))
                start += size
            writer.close()
        metadata = pq.ParquetFile(path).metadata
        groups = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
        assert groups == [10, 10, 2]
        assert pq.read_table(path).column("n").to_pylist() == list(range(22))
    first = (tmp_path / "part-3.parquet").read_bytes()
    assert (tmp_path / "part-1.parquet").read_bytes() == first
    assert (tmp_path / "part-22.parquet").read_bytes() == first


def test_records_failing_validation_are_quarantined_by_the_bulk_path(tmp_path: Path) -> None:
    """A few bad records in a large clean file: the bulk path keeps the rest and explains them."""
    path = tmp_path / "some_bad.jsonl.gz"
    records = [canonical_record(i) for i in range(3000)]
    records[3]["max_tokens"] = "lots"
    records[2999]["timestamp"] = "soon"
    del records[1500]["account_id"]
    path.write_bytes(gzip.compress(jsonl_bytes(records)))
    case, outcomes = _both_ways([path], tmp_path)
    assert outcomes == [True]
    assert [row[1] for row in case["quarantine"]] == [4, 1501, 3000]
    assert len(case["events"]) == 2997


def test_the_last_line_without_its_end_is_quarantined_with_its_text(tmp_path: Path) -> None:
    path = tmp_path / "no_end.jsonl"
    records = [canonical_record(i) for i in range(4)]
    records[3]["max_tokens"] = -5
    path.write_bytes(jsonl_bytes(records).rstrip(b"\n"))
    case, outcomes = _both_ways([path], tmp_path)
    assert outcomes == [True]
    assert [row[1] for row in case["quarantine"]] == [4]


def test_lines_are_found_again_across_chunk_boundaries(tmp_path: Path) -> None:
    path = tmp_path / "lines.jsonl"
    lines = [f'{{"n": {i}, "pad": "{"x" * (i % 97)}"}}'.encode() for i in range(5000)]
    path.write_bytes(b"\n".join(lines) + b"\n")
    wanted = [1, 2, 977, 2048, 4999, 5000]
    with mock.patch("distillscan.ingest.streams.READ_SIZE", 1000):  # chunks of 1000 bytes
        assert bulk._lines_at(path, wanted) == [lines[n - 1] for n in wanted]


@pytest.mark.parametrize("line_bytes", [1, 40, 511, 512, 3000, 200_000])
def test_line_ends_are_counted_in_the_filled_part_of_the_buffer(line_bytes: int) -> None:
    # Short lines are counted one way and long ones another: both stop at ``end``, as the
    # reused gzip buffer holds a previous chunk's bytes after it.
    text = (b"x" * (line_bytes - 1) + b"\n") * (300_000 // line_bytes + 3)
    buffer = bytearray(text + b"\n\n\n" * 1000)
    for end in (0, 1, 70_000, len(text) - 1, len(text)):
        assert bulk._newlines(buffer, end) == text.count(b"\n", 0, end)
    assert bulk._newlines(bytes(buffer), len(buffer)) == buffer.count(b"\n")


def test_a_null_line_or_too_many_failures_send_the_file_to_the_careful_path(
    tmp_path: Path,
) -> None:
    null_line = tmp_path / "null_line.jsonl"
    null_line.write_bytes(jsonl_bytes([canonical_record(0)]) + b"null\n")
    _, outcomes = _both_ways([null_line], tmp_path)
    assert outcomes == [False]
    many = tmp_path / "many_bad.jsonl"
    records = [canonical_record(i) for i in range(6)]
    for record in records[1:4]:
        record["temperature"] = "hot"
    many.write_bytes(jsonl_bytes(records))
    with mock.patch.object(bulk, "MAX_REJECTS", 2):
        case, outcomes = _both_ways([many], tmp_path)
    assert outcomes == [False]
    assert [row[1] for row in case["quarantine"]] == [2, 3, 4]


def test_glob_characters_in_a_file_name_are_never_expanded(tmp_path: Path) -> None:
    (tmp_path / "other.jsonl").write_bytes(jsonl_bytes([canonical_record(9)]))
    path = tmp_path / "logs[1]*.jsonl"
    path.write_bytes(jsonl_bytes([canonical_record(1)]))
    case, outcomes = _both_ways([path], tmp_path)
    assert outcomes == []  # not even tried
    assert len(case["events"]) == 1


def test_parquet_exports_take_the_bulk_path_and_load_the_same(tmp_path: Path) -> None:
    """Parquet columns of the types exports use, read by DuckDB instead of row by row."""
    instants = [dt.datetime(2026, 2, 3, 14, 5, i, tzinfo=dt.UTC) for i in range(6)]
    table = pa.table(
        {
            "event_id": [f"req_{i}" for i in range(6)],
            "timestamp": pa.array(instants, pa.timestamp("us", tz="UTC")),
            "account_id": ["acct_1", "acct_2", "acct_1", "acct_3", "acct_2", "acct_1"],
            "model": pa.array(["frontier-2"] * 6).dictionary_encode(),
            "messages": [
                [{"role": "user", "content": f"Explain topic {i} step by step."}] for i in range(6)
            ],
            "max_tokens": pa.array([1024, None, 2048, 0, 1, 4096], pa.int32()),
            "temperature": pa.array([0.7, 0.0, None, 1.5, 0.2, 1.0], pa.float32()),
            "logprobs": [True, False, None, True, False, True],
            "Model": ["ignored: keys are case-sensitive"] * 6,
        }
    )
    path = tmp_path / "export.parquet"
    pq.write_table(table, path, row_group_size=4)
    case, outcomes = _both_ways([path], tmp_path)
    assert outcomes == [True]
    assert len(case["events"]) == 6


def test_every_format_query_streams_in_input_order() -> None:
    """Rows are numbered by position, so no format's plan may reorder them (joins, sorts)."""
    import duckdb

    from distillscan.ingest.discover import InputFile

    con = duckdb.connect()
    load.prepare(con)
    source = InputFile(DATA / "hostile" / "empty.jsonl", "empty.jsonl", "jsonl", None)
    con.execute("SET disabled_optimizers = 'in_clause'")
    for fmt in formats.FORMATS:
        spec = TABLES[fmt.target]
        if not bulk.eligible(source, fmt, spec):
            continue
        for typed_json in (False, True) if fmt.typed_json is not None else (False,):
            query = bulk._query(con, source, fmt, spec, "0" * 64, typed_json=typed_json)
            assert set(bulk._operators(con, query)) <= bulk.STREAMING_OPERATORS, fmt.name


def test_a_query_shape_is_planned_once_and_a_reordering_one_is_refused(tmp_path: Path) -> None:
    """The plan check is kept per query shape: files differing only in name and content share
    it, and a shape whose plan could reorder rows still sends its files to the careful path."""
    for day in (1, 2, 3):
        (tmp_path / f"day{day}.jsonl").write_bytes(
            jsonl_bytes(canonical_record(day * 10 + i) for i in range(5))
        )
    bulk._STREAMING_SHAPES.clear()
    with mock.patch.object(bulk, "_operators", wraps=bulk._operators) as planned:
        _, outcomes = _both_ways(sorted(tmp_path.glob("day*.jsonl")), tmp_path)
    assert outcomes == [True, True, True] and planned.call_count == 1
    bulk._STREAMING_SHAPES.clear()
    with mock.patch.object(bulk, "_operators", return_value=["READ_JSON", "ORDER_BY"]):
        _, outcomes = _both_ways(sorted(tmp_path.glob("day*.jsonl")), tmp_path)
    assert outcomes == [False, False, False]
    bulk._STREAMING_SHAPES.clear()


@settings(max_examples=BOTH_WAYS_EXAMPLES)
@given(
    records=st.lists(
        st.fixed_dictionaries(
            {
                "account_id": st.one_of(st.text(max_size=8), st.integers(), st.none()),
                "timestamp": st.sampled_from(
                    ["2026-02-03T14:05:09Z", 1770127509, "03/02/2026 14:05:09", "soon", None]
                ),
            },
            optional={
                "event_id": st.one_of(st.text(max_size=6), st.integers(-3, 3)),
                "messages": st.lists(
                    st.fixed_dictionaries(
                        {
                            "role": st.sampled_from(["user", "assistant", "system"]),
                            "content": st.one_of(
                                st.text(max_size=20),
                                st.lists(
                                    st.fixed_dictionaries(
                                        {"type": st.just("text"), "text": st.text(max_size=8)}
                                    ),
                                    max_size=2,
                                ),
                            ),
                        }
                    ),
                    max_size=3,
                ),
                "max_tokens": st.one_of(st.integers(-5, 10**6), st.floats(), st.text(max_size=4)),
                "reasoning": st.one_of(st.sampled_from(["high", "low"]), st.integers(0, 9)),
                "response": st.text(max_size=20),
            },
        ),
        min_size=1,
        max_size=10,
    )
)
def test_arbitrary_canonical_records_load_the_same_either_way(
    tmp_path_factory: pytest.TempPathFactory, records: list[dict[str, Any]]
) -> None:
    root = tmp_path_factory.mktemp("bulk")
    path = root / "input.jsonl"
    path.write_bytes(jsonl_bytes(records))
    _both_ways([path], root, format_name="canonical")


#: Records covering what the typed Parquet mapping must read as the JSON one does: blanks,
#: text that looks like JSON, content lists, tool results, history, reasoning of every shape.
TYPED_RECORDS: list[dict[str, Any]] = [
    {"account_id": "acct_1", "messages": [{"role": "user", "content": "Plain \"quoted\" \\ text"}],
     "system": "Be brief.", "response": "Sure.", "operation": None, "reasoning": "high"},
    {"account_id": "acct_2", "api_key_id": "  ", "model": "", "operation": "", "status": " \t",
     "messages": [], "prompt": "typed prompt\nwith a line", "temperature": 0.30000000000000004,
     "reasoning": {"effort": "low", "budget_tokens": 2048}},
    {"account_id": "acct_3", "system": '[{"type": "text", "text": "system in blocks"}]',
     "response": '  {"not": "content"}', "messages": None, "prompt": "", "reasoning": 4096,
     "temperature": 1e-7, "max_tokens": 2**40},
    {"account_id": "acct_4", "system": "[not json", "response": '[1, "x"]',
     "messages": [
         {"role": "system", "content": "You are a tutor."},
         {"role": "user", "content": [{"type": "text", "text": "first"},
                                      {"type": "image_url", "image_url": {"url": "x"}}]},
         {"role": "assistant", "content": "an answer"},
         {"role": "user", "content": [{"type": "tool_result", "content": "tool output"}]},
     ], "logprobs": True, "n": 3},
    {"account_id": "acct_5", "event_id": "evt 5", "user_agent": "ünïcode/1.0 ✓",
     "messages": [{"role": "USER", "content": "  spaced  "}, {"role": None, "content": None}],
     "logprobs": False, "prompt_tokens": 0, "completion_tokens": 12, "status": "ok"},
]  # fmt: skip


def _typed_parquet(path: Path, records: list[dict[str, Any]], types: dict[str, str]) -> None:
    """Write ``records`` to Parquet with DuckDB, each key in the given DuckDB type."""
    import duckdb

    lines = path.with_suffix(".jsonl")
    base = {"event_id": None, "timestamp": None}
    rows = [
        {
            **base,
            **r,
            "timestamp": f"2026-02-03T14:05:{i:02d}.25+00:00",
            "event_id": r.get("event_id", f"e{i}"),
        }
        for i, r in enumerate(records)
    ]
    lines.write_bytes(jsonl_bytes(rows))
    spec = "{" + ", ".join(f"'{k}': '{t}'" for k, t in types.items()) + "}"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        f"COPY (SELECT * FROM read_json('{lines}', columns = {spec})) TO '{path}' (FORMAT parquet)"
    )
    lines.unlink()


TYPED_SHAPES = {
    "tz-json-content": {
        "event_id": "VARCHAR", "timestamp": "TIMESTAMPTZ", "account_id": "VARCHAR",
        "api_key_id": "VARCHAR", "model": "VARCHAR", "operation": "VARCHAR", "status": "VARCHAR",
        "user_agent": "VARCHAR", "system": "VARCHAR", "response": "VARCHAR", "prompt": "VARCHAR",
        "messages": "STRUCT(role VARCHAR, content JSON)[]", "reasoning": "JSON",
        "temperature": "DOUBLE", "max_tokens": "BIGINT", "n": "BIGINT", "logprobs": "BOOLEAN",
        "prompt_tokens": "BIGINT", "completion_tokens": "BIGINT",
    },
    "naive-text-content": {
        "event_id": "VARCHAR", "timestamp": "TIMESTAMP", "account_id": "VARCHAR",
        "system": "VARCHAR", "response": "VARCHAR", "prompt": "VARCHAR",
        "messages": "STRUCT(role VARCHAR, content VARCHAR)[]", "reasoning": "VARCHAR",
        "max_tokens": "INTEGER", "n": "SMALLINT", "logprobs": "BOOLEAN", "status": "VARCHAR",
    },
}  # fmt: skip


@pytest.mark.parametrize("shape", sorted(TYPED_SHAPES))
def test_typed_parquet_columns_load_as_their_json_does(shape: str, tmp_path: Path) -> None:
    """The typed Parquet mapping against the careful path, which reads every row as JSON."""
    import duckdb

    from distillscan.ingest.discover import InputFile

    records = [dict(r) for r in TYPED_RECORDS]
    if shape == "naive-text-content":  # text content only: blocks become their JSON text
        for record in records:
            for message in record.get("messages") or []:
                if isinstance(message["content"], list):
                    message["content"] = json.dumps(message["content"])
            if isinstance(record.get("reasoning"), dict | int):
                record["reasoning"] = json.dumps(record["reasoning"])
            record.pop("temperature", None)
            if "max_tokens" in record:
                record["max_tokens"] = 4096  # an INTEGER column
    path = tmp_path / "typed.parquet"
    _typed_parquet(path, records, TYPED_SHAPES[shape])
    con = duckdb.connect()
    _, mapping, typed = bulk._records(
        con,
        InputFile(path, path.name, "parquet", None),
        formats.by_name("canonical"),
        typed_json=False,
    )
    assert typed and mapping == formats.by_name("canonical").typed_parquet.sql  # type: ignore[union-attr]
    case, outcomes = _both_ways([path], tmp_path)
    assert outcomes == [True]
    assert len(case["events"]) == len(records)


def test_typed_parquet_row_that_fails_sends_the_file_to_the_careful_path(tmp_path: Path) -> None:
    records = [*TYPED_RECORDS, {"account_id": "   ", "max_tokens": -1}]
    path = tmp_path / "typed.parquet"
    _typed_parquet(path, records, TYPED_SHAPES["tz-json-content"])
    case, outcomes = _both_ways([path], tmp_path)
    assert outcomes == [False]
    assert [row[1] for row in case["quarantine"]] == [len(records)]


def test_a_record_longer_than_the_readers_object_size_loads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    records = [canonical_record(i) for i in range(3)]
    records[1]["response"] = "x" * 3000
    path.write_bytes(jsonl_bytes(records))
    with mock.patch.object(bulk, "MAX_RECORD_BYTES", 2048):
        case, _ = _both_ways([path], tmp_path)
    texts = read_case(tmp_path / "bulk", "events", "response_text")
    assert len(case["events"]) == 3 and max(len(text or "") for (text,) in texts) == 3000


# --- Typed JSON reading (TypedJson): the same rows as the JSON mapping ----------------------------


@contextlib.contextmanager
def _readings() -> Iterator[list[tuple[bool, str]]]:
    """Record each bulk read of a file: whether it was typed, and how it ended."""
    readings: list[tuple[bool, str]] = []
    real = bulk._load

    def spy(*args: Any, typed_json: bool) -> Any:
        try:
            outcome = real(*args, typed_json=typed_json)
        except bulk.GiveUp as exc:
            readings.append((typed_json, type(exc).__name__))
            raise
        readings.append((typed_json, "loaded"))
        return outcome

    with mock.patch.object(bulk, "_load", spy):
        yield readings


def _spend_log(index: int, **fields: Any) -> dict[str, Any]:
    """A LiteLLM SpendLogs row with prompts stored; ``fields`` override (None removes a key)."""
    record: dict[str, Any] = {
        "request_id": f"chatcmpl-{index:04d}",
        "call_type": "acompletion",
        "api_key": f"hashed-key-{index % 3}",
        "startTime": f"2026-02-03T14:05:{index % 60:02d}.000000",
        "model": "frontier-2",
        "user": f"user-{index % 4}",
        "metadata": {"user_api_key_alias": "alias", "requester_ip_address": "198.51.100.7"},
        "messages": [{"role": "user", "content": f"Question {index}: explain step by step."}],
        "response": {"choices": [{"message": {"role": "assistant", "content": "An answer."}}]},
        "status": "success",
        "prompt_tokens": 12,
        "completion_tokens": 40,
    }
    record.update(fields)
    return {key: value for key, value in record.items() if value is not None}


_TEXT = st.sampled_from(["", "  ", "Hi", "redacted-by-litellm", '{"role": "x"}', "[1]", "é\n"])
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.just(1.5), _TEXT)
_BLOCKS = st.lists(
    st.one_of(
        _TEXT,
        st.fixed_dictionaries(
            {"type": st.sampled_from(["text", "image_url", "x"])}, optional={"text": _SCALAR}
        ),
        st.fixed_dictionaries({"type": st.just("tool_result"), "content": _TEXT}),
        st.none(),
    ),
    max_size=3,
)
_CONTENT = st.one_of(_SCALAR, _BLOCKS, st.dictionaries(st.sampled_from(["text", "a"]), _TEXT))
_MESSAGE = st.fixed_dictionaries(
    {},
    optional={
        "role": st.one_of(
            st.sampled_from(["user", "assistant", "system", "developer", "USER", "tool"]),
            st.integers(0, 2),
            st.none(),
            st.just({"a": 1}),
        ),
        "content": _CONTENT,
        "Role": st.just("user"),
    },
)
#: Values the typed read takes: a list of messages (of any role and content), an object with
#: any of the response's and metadata's fields (of any value), or null.
_TYPED_MESSAGES = st.one_of(st.none(), st.lists(st.one_of(_MESSAGE, st.none()), max_size=4))
_CHOICE = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "message": st.one_of(
                st.none(), st.fixed_dictionaries({}, optional={"content": _CONTENT, "role": _TEXT})
            ),
            "text": _SCALAR,
        },
    ),
)
_TYPED_RESPONSE = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "choices": st.one_of(st.none(), st.lists(_CHOICE, max_size=3)),
            "content": _CONTENT,
            "output": st.one_of(
                _SCALAR,
                st.lists(
                    st.fixed_dictionaries(
                        {"type": st.sampled_from(["message", "reasoning"]), "content": _CONTENT}
                    ),
                    max_size=2,
                ),
            ),
            "id": _TEXT,
        },
    ),
)
_META_VALUE = st.one_of(_SCALAR, st.just({"error_code": 429, "user-agent": "ua"}), st.just([]))
_TYPED_METADATA = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(
            [
                "user_api_key_team_id",
                "user_api_key",
                "status",
                "user_api_key_org_id",
                "user_agent",
                "user_api_key_user_id",
                "requester_ip_address",
                "error_information",
                "spend_logs_metadata",
                "Status",
            ]
        ),
        _META_VALUE,
        max_size=4,
    ),
    st.fixed_dictionaries(
        {
            "headers": st.one_of(
                _SCALAR, st.dictionaries(st.sampled_from(["user-agent", "User-Agent"]), _SCALAR)
            ),
            "proxy_server_request": st.one_of(
                st.none(),
                st.just({}),
                st.just({"messages": [{"role": "user", "content": "from the body"}], "n": 2}),
                st.just({"input": ["one", "two"], "prompt": "p"}),
                st.just({"input": "a single input", "max_tokens": 10}),
            ),
        }
    ),
)
#: Values of other shapes, which fail the typed read: the file is read again as JSON.
_UNTYPED = st.one_of(
    _SCALAR,
    st.just({}),
    st.just({"messages": [{"role": "user", "content": "nested"}]}),
    st.just({"input": "one input"}),
    st.just(["a string input", "another"]),
    st.just('[{"role": "user", "content": "JSON text"}]'),
    st.just({"choices": {"message": {}}}),
    st.just({"choices": ["text"]}),
)


def _spend_logs(typed_only: bool) -> st.SearchStrategy[list[dict[str, Any]]]:
    def shape(typed: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return typed if typed_only else st.one_of(typed, typed, _UNTYPED)

    return st.lists(
        st.fixed_dictionaries(
            {
                "messages": shape(_TYPED_MESSAGES),
                "response": shape(_TYPED_RESPONSE),
                "metadata": shape(_TYPED_METADATA),
            },
            optional={
                "user": st.one_of(st.none(), _TEXT),
                "team_id": _TEXT,
                "status": st.sampled_from(["success", "failure", "Failure", "queued"]),
                "proxy_server_request": st.just({"max_tokens": 5, "system": "Be brief."}),
                # Top-level fields to leave out, so the metadata's copies are read.
                "drop": st.sets(st.sampled_from(["user", "api_key", "status"])),
            },
        ),
        min_size=1,
        max_size=8,
    )


def _write_spend_logs(path: Path, shapes: list[dict[str, Any]]) -> None:
    records = [_spend_log(i) for i in range(len(shapes))]
    for record, shape in zip(records, shapes, strict=True):
        for key in shape.get("drop", ()):
            del record[key]
        # (A None here is a JSON null, not a missing key.)
        record.update({key: value for key, value in shape.items() if key != "drop"})
    path.write_bytes(jsonl_bytes(records))


_ALL_METADATA = {
    "user_api_key_team_id": "team-meta",
    "user_api_key": "key-meta",
    "status": "failure",
    "user_api_key_org_id": "org-meta",
    "headers": {"User-Agent": "ua-upper", "x-forwarded-for": "203.0.113.9"},
    "user_agent": "ua-field",
    "user_api_key_user_id": "user-meta",
    "requester_ip_address": "203.0.113.8",
    "proxy_server_request": {"messages": [{"role": "user", "content": "body"}], "n": 3},
    "error_information": {"error_code": "429"},
}
#: Records reaching every field the typed reading takes (each within a shape it accepts), with
#: the top-level fields it falls back from left out where they would hide it.
TYPED_SPEND_LOGS: list[dict[str, Any]] = [
    {"metadata": _ALL_METADATA, "user": None, "api_key": None, "status": None},
    {"metadata": {**_ALL_METADATA, "user_api_key_user_id": None}, "user": None},
    {"metadata": {**_ALL_METADATA, "headers": {"user-agent": "ua-lower"}, "status": "success"}},
    {"metadata": {"headers": "not an object", "error_information": "a string"}, "status": None},
    {"metadata": {"headers": {}, "user_agent": "ua-field-only"}},
    {"metadata": {"status": "failure", "error_information": {"error_code": 500}}, "status": None},
    {"metadata": {"proxy_server_request": {"input": ["first", "second"]}}, "messages": None},
    {"metadata": {"proxy_server_request": {"input": "one input"}}, "messages": None},
    {"metadata": {"proxy_server_request": None}, "messages": None},
    {"metadata": None, "messages": None},
    {"messages": []},
    {"messages": [None, {"role": "user", "content": None}]},
    {"messages": [{"Role": "user", "content": "key in another case"}]},
    {"messages": [{"role": 3, "content": "a number role"}, {"role": {"a": 1}, "content": "x"}]},
    {
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": "System blocks."}]},
            {"role": "user", "content": "First."},
            {"role": "assistant", "content": "Reply."},
            {"role": "user", "content": [{"type": "image_url"}, {"type": "text", "text": "Q"}]},
        ]
    },
    {"messages": [{"role": "user", "content": [{"type": "tool_result", "content": "tool"}]}]},
    {"messages": [{"role": "user", "content": "redacted-by-litellm"}]},
    {"response": None},
    {"response": {}},
    {"response": {"choices": None}},
    {"response": {"choices": []}},
    {"response": {"choices": [None, {"message": None}, {"message": {"content": None}}]}},
    {"response": {"choices": [{"text": "completion one"}, {"text": "two"}, {"text": None}]}},
    {"response": {"choices": [{"message": {"content": "a"}}, {"message": {"content": "b"}}]}},
    {"response": {"choices": [{"message": {"content": ""}}, {"text": "text after empty"}]}},
    {"response": {"choices": [{"message": {"content": [{"type": "text", "text": "blocks"}]}}]}},
    {"response": {"choices": [{"message": {"content": {"text": "an object"}}}]}},
    {"response": {"choices": [{"message": {"content": "redacted-by-litellm"}}]}},
    {"response": {"content": [{"type": "text", "text": "Anthropic"}, {"type": "tool_use"}]}},
    {"response": {"content": "plain content"}},
    {"response": {"output": [{"type": "reasoning"}, {"type": "message", "content": "resp api"}]}},
    {"response": {"output": "not a list"}},
    {"response": {"Choices": [{"message": {"content": "key in another case"}}]}},
]


def test_litellm_typed_reading_reaches_every_field_as_the_json_mapping_does(
    tmp_path: Path,
) -> None:
    _write_spend_logs(tmp_path / "spend.jsonl", TYPED_SPEND_LOGS)
    with _readings() as readings:
        case, _ = _both_ways([tmp_path / "spend.jsonl"], tmp_path, format_name="litellm")
    assert readings == [(True, "loaded")]
    assert len(case["events"]) + len(case["quarantine"]) == len(TYPED_SPEND_LOGS)


@settings(max_examples=BOTH_WAYS_EXAMPLES)
@given(shapes=_spend_logs(typed_only=True))
def test_litellm_typed_reading_loads_what_the_json_mapping_loads(
    tmp_path_factory: pytest.TempPathFactory, shapes: list[dict[str, Any]]
) -> None:
    """Every record of these shapes fits the typed read, which must then agree with the JSON
    mapping (the careful path) on every field."""
    root = tmp_path_factory.mktemp("typed")
    _write_spend_logs(root / "spend.jsonl", shapes)
    with _readings() as readings:
        _both_ways([root / "spend.jsonl"], root, format_name="litellm")
    assert readings == [(True, "loaded")]


@settings(max_examples=BOTH_WAYS_EXAMPLES)
@given(shapes=_spend_logs(typed_only=False))
def test_litellm_records_of_any_shape_load_the_same_either_way(
    tmp_path_factory: pytest.TempPathFactory, shapes: list[dict[str, Any]]
) -> None:
    root = tmp_path_factory.mktemp("mixed")
    _write_spend_logs(root / "spend.jsonl", shapes)
    with _readings() as readings:
        _both_ways([root / "spend.jsonl"], root, format_name="litellm")
    # The typed read is tried first; only a value of another shape makes it give way.
    assert readings[0][0] is True
    if readings[0][1] == "ShapeMismatch":
        assert readings[1][0] is False


#: Canonical messages the typed read takes, each as the JSON mapping reads it.
TYPED_CANONICAL_MESSAGES: list[Any] = [
    None,
    [],
    [None],
    [{"role": "user", "content": None}],
    [{"Role": "user", "content": "key in another case"}],
    [{"role": 1, "content": "a number role"}, {"content": "no role"}],
    [{"role": "system", "content": "S"}, {"role": "user", "content": [{"type": "text"}]}],
    [{"role": "user", "content": {"text": "an object"}}, {"role": "assistant", "content": 5}],
    [{"role": "USER", "content": [{"type": "image", "source": {}}, "a string block"]}],
]


def test_canonical_typed_reading_loads_what_the_json_mapping_loads(tmp_path: Path) -> None:
    records = [
        canonical_record(i, prompt="a prompt" if i % 2 else None, messages=None)
        | ({"messages": messages} if messages is not None or i % 3 else {})
        for i, messages in enumerate(TYPED_CANONICAL_MESSAGES * 2)
    ]
    (tmp_path / "events.jsonl").write_bytes(jsonl_bytes(records))
    with _readings() as readings:
        case, _ = _both_ways([tmp_path / "events.jsonl"], tmp_path)
    assert readings == [(True, "loaded")]
    assert len(case["events"]) + len(case["quarantine"]) == len(records)


@pytest.mark.parametrize(
    ("record", "misfits"),
    [
        (
            lambda i: _spend_log(i),
            [("messages", {}), ("response", "redacted-by-litellm"), ("metadata", "{}")],
        ),
        (
            # DuckDB's error quotes the value cut by bytes, inside a character here.
            lambda i: _spend_log(i),
            [("response", "a" * 40 + "é" * 100)],
        ),
        (lambda i: canonical_record(i), [("messages", "a string"), ("messages", {"a": 1})]),
    ],
    ids=["litellm", "litellm-undecodable-error", "canonical"],
)
def test_a_value_of_another_shape_deep_in_the_file_rereads_it_as_json(
    record: Any, misfits: list[tuple[str, Any]], tmp_path: Path
) -> None:
    """A value the typed read does not take (LiteLLM writes ``{}`` for messages it did not
    store) fails it, however far into the file; the JSON mapping then loads the whole file in
    bulk."""
    records = [record(i) for i in range(30_000)]
    for offset, (key, value) in enumerate(misfits, start=1):
        records[-offset][key] = value
    path = tmp_path / "export.jsonl.gz"
    path.write_bytes(gzip_bytes(jsonl_bytes(records)))
    with _readings() as readings:
        case, outcomes = _both_ways([path], tmp_path)
    assert readings == [(True, "ShapeMismatch"), (False, "loaded")]
    assert outcomes == [True] and len(case["events"]) + len(case["quarantine"]) == len(records)
