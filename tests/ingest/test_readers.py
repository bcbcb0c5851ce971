"""The readers on their own: framing, positions, resynchronisation and damage, batch by batch.

These tests shrink the batch and window sizes so that block, batch and window boundaries fall
inside records, where framing bugs hide.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ingest_support import canonical_record, gzip_bytes, jsonl_bytes, zstd_bytes

from distillscan.errors import InputError
from distillscan.ingest import readers
from distillscan.ingest.discover import discover
from distillscan.ingest.readers import Batch, Reject, read_csv, read_json, read_jsonl
from distillscan.ingest.streams import InputStream, ReadLimits


def frame(path: Path, reader: str = "jsonl") -> tuple[list[tuple[int, str]], list[Reject]]:
    """All (position, record text) pairs and rejects a reader yields for ``path``.

    JSON lines records keep their line end (JSON whitespace, left in place to save a copy of
    every block); it is removed here so that texts compare with the lines written.
    """
    function = {"jsonl": read_jsonl, "json": read_json, "csv": read_csv}[reader]
    stream = InputStream(path)
    try:
        batches: Iterator[Batch] = function(stream)
        records: list[tuple[int, str]] = []
        rejects: list[Reject] = []
        for batch in batches:
            texts = [text.rstrip("\r\n") for text in batch.records.to_pylist()]
            records += zip(batch.lines.to_pylist(), texts, strict=True)
            rejects += batch.rejects
    finally:
        stream.close()
    return records, rejects


# --- JSON lines -----------------------------------------------------------------------------

LINE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"),
    max_size=40,
) | st.sampled_from([" " * 40, "\t" * 24 + " ", "\ufeff", "\ufeff" + " " * 30, "  x  "])


@given(
    lines=st.lists(LINE_TEXT, max_size=30),
    crlf=st.booleans(),
    batch_bytes=st.integers(min_value=1, max_value=64),
)
def test_jsonl_framing_keeps_every_line_at_its_number(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    lines: list[str],
    crlf: bool,
    batch_bytes: int,
) -> None:
    monkeypatch.setattr(readers, "BATCH_BYTES", batch_bytes)
    monkeypatch.setattr(readers, "FIRST_BATCH_BYTES", batch_bytes)
    monkeypatch.setattr("distillscan.ingest.streams.READ_SIZE", 7)
    path = tmp_path_factory.mktemp("jsonl") / "lines.jsonl"
    ending = "\r\n" if crlf else "\n"
    path.write_text("".join(line + ending for line in lines), newline="")
    records, rejects = frame(path)
    expected = [
        (number, line.lstrip("\ufeff"))
        for number, line in enumerate(lines, start=1)
        if line.lstrip("\ufeff").strip()
    ]
    assert records == expected
    assert rejects == []


def _cut_points(size: int) -> range:
    return range(1, size, max(1, size // 40))


@pytest.mark.parametrize("compress", [gzip_bytes, zstd_bytes], ids=["gzip", "zstd"])
def test_a_cut_archive_keeps_a_prefix_and_names_the_break(
    tmp_path: Path, compress: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("distillscan.ingest.streams.READ_SIZE", 512)
    records = [canonical_record(i, prompt="x" * (i % 50)) for i in range(3000)]
    original = jsonl_bytes(records).decode().splitlines()
    data = compress(jsonl_bytes(records))  # type: ignore[operator]
    suffix = ".gz" if compress is gzip_bytes else ".zst"
    for cut in _cut_points(len(data)):
        path = tmp_path / f"cut{suffix}"
        path = path.with_name(f"cut.jsonl{suffix}")
        path.write_bytes(data[:cut])
        framed, rejects = frame(path)
        assert [text for _, text in framed] == original[: len(framed)], cut
        assert [line for line, _ in framed] == list(range(1, len(framed) + 1))
        assert len(rejects) == 1, (cut, rejects)
        assert rejects[0].line == len(framed) + 1
        assert "stream ends early" in rejects[0].reason or "corrupt" in rejects[0].reason


def test_invalid_utf8_rejects_only_its_line(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b'{"a": 1}\n{"b": "\xff"}\r\n\xef\xbb\xbf{"c": 3}\n')
    records, rejects = frame(path)
    assert records == [(1, '{"a": 1}'), (3, '{"c": 3}')]
    assert rejects == [Reject(2, "invalid UTF-8 (byte 0xff at column 8)", '{"b": "\\xff"}')]


# --- JSON documents -------------------------------------------------------------------------


def test_records_on_one_line_get_record_numbers(tmp_path: Path) -> None:
    path = tmp_path / "one-line.json"
    path.write_text(json.dumps([{"n": i} for i in range(5)]))
    records, rejects = frame(path, "json")
    assert [line for line, _ in records] == [1, 2, 3, 4, 5]
    assert [json.loads(text)["n"] for _, text in records] == [0, 1, 2, 3, 4]
    assert rejects == []


@pytest.mark.parametrize("window", [3, 17, 1024])
def test_json_window_boundaries_do_not_split_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, window: int
) -> None:
    monkeypatch.setattr(readers, "JSON_READ_CHARS", window)
    values = [canonical_record(i, prompt="é" * i) for i in range(60)]
    path = tmp_path / "pretty.json"
    path.write_text(json.dumps({"data": values, "next": None}, indent=2, ensure_ascii=False))
    records, rejects = frame(path, "json")
    assert [json.loads(text) for _, text in records] == values
    assert rejects == []


def test_error_positions_count_lines_and_columns_across_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "JSON_READ_CHARS", 16)
    path = tmp_path / "broken.json"
    path.write_text('[\n  {"a": 1},\n  {"b": 2},\n  {"c": 3} {"d": 4}\n]\n')
    records, rejects = frame(path, "json")
    assert [line for line, _ in records] == [1, 2, 3]
    [reject] = rejects
    assert reject.line == 4
    assert reject.reason.startswith("invalid JSON at line 4, column 12: expected ',' or ']'")
    assert reject.raw.startswith('{"d": 4}')


def test_a_sequence_of_values_resumes_after_a_broken_one(tmp_path: Path) -> None:
    path = tmp_path / "values.json"
    path.write_text('{"a": 1}\n{"b": tru}\n{"c": 3}\n[1, 2\n{"d": 4}\n')
    records, rejects = frame(path, "json")
    assert [text for _, text in records] == ['{"a": 1}', '{"c": 3}', '{"d": 4}']
    assert [(r.line, r.reason.split(":")[0]) for r in rejects] == [
        (2, "invalid JSON at line 2, column 7"),
        (4, "invalid JSON at line 5, column 1"),
    ]
    assert [line for line, _ in records] == [1, 3, 5]


def test_a_trailing_comma_in_an_array_costs_nothing(tmp_path: Path) -> None:
    path = tmp_path / "comma.json"
    path.write_text('[{"a": 1},\n {"b": 2},\n]\n')
    assert frame(path, "json") == ([(1, '{"a": 1}'), (2, '{"b": 2}')], [])


def test_garbage_after_the_array_is_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "tail.json"
    path.write_text('{"Records": [{"a": 1}], "nextToken": "abc"}\n')
    assert frame(path, "json") == ([(1, '{"a": 1}')], [])
    path.write_text('[{"a": 1}] trailing words')
    records, rejects = frame(path, "json")
    assert records == [(1, '{"a": 1}')]
    assert rejects[0].reason.startswith("unexpected data after the JSON array at line 1")


@pytest.mark.parametrize("window", [64, 4096, 8 * 1024 * 1024])
def test_deep_nesting_is_framed_by_counting_brackets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, window: int
) -> None:
    monkeypatch.setattr(readers, "JSON_READ_CHARS", window)
    deep = "[" * 5000 + '"]]][[{"' + "]" * 5000
    path = tmp_path / "deep.json"
    path.write_text(f'[{{"x": {deep}, "s": "a]b"}}, {{"n": 2}}]')
    records, rejects = frame(path, "json")
    assert [line for line, _ in records] == [1, 2]
    assert records[0][1] == f'{{"x": {deep}, "s": "a]b"}}'
    assert rejects == []


def test_invalid_utf8_in_a_json_record_rejects_that_record(tmp_path: Path) -> None:
    path = tmp_path / "latin.json"
    path.write_bytes(b'[{"a": 1},\n {"b": "caf\xe9"},\n {"c": 3}]')
    records, rejects = frame(path, "json")
    assert [line for line, _ in records] == [1, 3]
    assert rejects == [
        Reject(
            2,
            "invalid UTF-8 in the record at line 2 (byte 0xe9 at column 11)",
            '{"b": "caf\\xe9"}',
        )
    ]


def test_a_cut_json_document_names_the_damage(tmp_path: Path) -> None:
    text = json.dumps([canonical_record(i) for i in range(200)]).encode()
    data = gzip_bytes(text)
    path = tmp_path / "cut.json.gz"
    path.write_bytes(data[: len(data) // 2])
    records, rejects = frame(path, "json")
    assert 0 < len(records) < 200
    [reject] = rejects
    assert reject.line == len(records) + 1
    assert reject.reason.startswith("incomplete record: gzip stream ends early")


# --- CSV ------------------------------------------------------------------------------------


def test_csv_batches_split_anywhere_and_report_header_warnings_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "BATCH_RECORDS", 2)
    path = tmp_path / "rows.csv"
    path.write_text(
        "account_id,timestamp,account_id\n" + "".join(f"a{i},{i},b{i}\n" for i in range(5))
    )
    stream = InputStream(path)
    batches = list(read_csv(stream))
    stream.close()
    warnings = [w for batch in batches for w in batch.warnings]
    assert warnings == ["CSV column 'account_id' appears more than once: column 3 ignored"]
    records = [json.loads(r) for batch in batches for r in batch.records.to_pylist()]
    assert [r["account_id"] for r in records] == ["a0", "a1", "a2", "a3", "a4"]
    assert [line for batch in batches for line in batch.lines.to_pylist()] == [2, 3, 4, 5, 6]


def test_an_unbalanced_quote_costs_one_line_not_the_rest_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    path.write_text('id,text\n1,"open\n2,fine\n3,also fine\n')
    records, rejects = frame(path, "csv")
    assert [(line, json.loads(text)["id"]) for line, text in records] == [(3, "2"), (4, "3")]
    [reject] = rejects
    assert reject.line == 2
    assert "unexpected end of data in a row running over lines 2-4" in reject.reason


def test_the_last_csv_row_of_a_cut_archive_is_not_loaded_truncated(tmp_path: Path) -> None:
    text = "id,text\n" + "".join(f"{i},row number {i}\n" for i in range(2000))
    data = gzip_bytes(text.encode())
    path = tmp_path / "cut.csv.gz"
    for cut in _cut_points(len(data)):
        path.write_bytes(data[:cut])
        records, rejects = frame(path, "csv")
        for line, record in records:
            assert json.loads(record) == {"id": str(line - 2), "text": f"row number {line - 2}"}
        assert len(rejects) == 1 and "gzip stream ends early" in rejects[0].reason


# --- discovery ------------------------------------------------------------------------------


def test_files_sharing_a_name_get_distinct_display_names(tmp_path: Path) -> None:
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "a.jsonl").write_text("{}\n")
    files, _ = discover([tmp_path / "x" / "a.jsonl", tmp_path / "y" / "a.jsonl"])
    assert [f.display for f in files] == ["x/a.jsonl", "y/a.jsonl"]
    same, _ = discover([tmp_path / "x" / "a.jsonl", tmp_path / "x"])
    assert [(f.display, f.explicit) for f in same] == [("a.jsonl", True)]


def test_a_folder_that_cannot_be_listed_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "logs").mkdir()
    real_walk = os.walk

    def walk(top: str, **kwargs: object) -> Iterator[tuple[str, list[str], list[str]]]:
        onerror = kwargs["onerror"]
        onerror(PermissionError(13, "Permission denied", str(Path(top) / "private")))  # type: ignore[operator]
        yield from real_walk(top, followlinks=True)

    module = importlib.import_module("distillscan.ingest.discover")
    monkeypatch.setattr(module.os, "walk", walk)
    _, skipped = discover([tmp_path / "logs"])
    assert [(s.display, s.reason, s.error) for s in skipped] == [
        ("logs/private/", "cannot list folder (Permission denied)", True)
    ]


def test_a_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or directory"):
        discover([tmp_path / "absent"])
    (tmp_path / "link.jsonl").symlink_to(tmp_path / "absent.jsonl")
    with pytest.raises(InputError, match="broken symbolic link"):
        discover([tmp_path / "link.jsonl"])


def test_a_line_past_the_record_limit_is_quarantined_and_skipped(tmp_path: Path) -> None:
    """The long line is rejected by its first bytes; the lines after it still load."""
    path = tmp_path / "long.jsonl"
    long_record = canonical_record(2, prompt="x" * 300_000)
    path.write_bytes(jsonl_bytes([canonical_record(1), long_record, canonical_record(3)]))
    with InputStream(path, ReadLimits(max_record_bytes=100_000)) as stream:
        batches = list(read_jsonl(stream))
    lines = [line for b in batches for line in b.lines.to_pylist()]
    rejects = [r for b in batches for r in b.rejects]
    assert lines == [1, 3]
    assert [(r.line, r.reason.split(" (")[0]) for r in rejects] == [
        (2, "a line longer than 100,000 bytes")
    ]
    assert rejects[0].raw.startswith('{"event_id"')


def test_cloudwatch_export_lines_lose_their_time_stamp(tmp_path: Path) -> None:
    """CloudWatch Logs' export to S3: ``TIMESTAMP {json}`` per line, in an extension-less .gz."""
    records = [canonical_record(i) for i in range(3)]
    text = "".join(f"2026-01-12T00:00:0{i}.000Z {json.dumps(r)}\n" for i, r in enumerate(records))
    path = tmp_path / "000000.gz"
    path.write_bytes(gzip_bytes(text.encode("utf-8")))
    assert readers.container_of(path) == "jsonl"
    assert readers.container_of(tmp_path / "backup.tar.gz") is None
    framed, rejects = frame(path)
    assert not rejects
    assert [json.loads(record) for _, record in framed] == records
