"""Decompression (``distillscan.ingest.streams``): every byte before a break, then the break."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ingest_support import canonical_record, gzip_bytes, zstd_bytes

from distillscan.ingest import ingest, streams
from distillscan.ingest.streams import InputStream

#: Text that compresses several hundred times: one member's output fills many chunks.
REPETITIVE = b'{"account_id": "acct-1", "prompt": "same question"}\n' * 20_000


def _read(path: Path) -> tuple[bytes, str | None]:
    """Everything ``InputStream`` hands over from ``path``, and the damage it reports."""
    parts = []
    with InputStream(path) as stream:
        while chunk := stream.read_chunk():
            parts.append(chunk)
        return b"".join(parts), stream.damage


@pytest.fixture(autouse=True)
def _small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Many output-limited steps per member, and member ends inside a read.
    monkeypatch.setattr(streams, "CHUNK_LIMIT", 4096)
    monkeypatch.setattr(streams, "READ_SIZE", 1000)


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
@pytest.mark.parametrize(
    "tail",
    [b"", b"\x00" * 3, b"\x00" * 5000],
    ids=["no-padding", "short-padding", "long-padding"],
)
def test_members_and_zero_padding_are_read_to_the_end(
    tmp_path: Path, suffix: str, tail: bytes
) -> None:
    compress = gzip_bytes if suffix == ".gz" else zstd_bytes
    first, second = REPETITIVE[:400_000], REPETITIVE[400_000:]
    path = tmp_path / f"log.jsonl{suffix}"
    path.write_bytes(compress(first) + compress(second) + tail)
    assert _read(path) == (REPETITIVE, None)


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_garbage_after_the_last_member_is_damage(tmp_path: Path, suffix: str) -> None:
    compress = gzip_bytes if suffix == ".gz" else zstd_bytes
    path = tmp_path / f"log.jsonl{suffix}"
    path.write_bytes(compress(REPETITIVE) + b"not compressed")
    data, damage = _read(path)
    assert data == REPETITIVE
    assert damage is not None and "corrupt" in damage


def test_a_cut_member_keeps_what_came_before(tmp_path: Path) -> None:
    whole = gzip_bytes(REPETITIVE)
    path = tmp_path / "log.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    data, damage = _read(path)
    assert 0 < len(data) < len(REPETITIVE) and REPETITIVE.startswith(data)
    assert damage == "gzip stream ends early: the file is truncated"


def test_bytes_after_the_zero_padding_are_damage(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl.gz"
    path.write_bytes(gzip_bytes(REPETITIVE) + b"\x00" * 5000 + gzip_bytes(b"{}\n"))
    data, damage = _read(path)
    assert data == REPETITIVE
    assert damage == "gzip data is corrupt (bytes after the zero padding)"


def test_a_stream_stops_at_its_expansion_budget(tmp_path: Path) -> None:
    """A decompression bomb is read only up to its budget, then reported as damage."""
    path = tmp_path / "bomb.jsonl.gz"
    path.write_bytes(gzip_bytes(bytes(8 * 1024 * 1024)))
    limits = streams.ReadLimits(max_expansion=2.0)  # 2 MiB: the floor is 1 MiB
    with InputStream(path, limits) as stream:
        produced = 0
        while chunk := stream.read_chunk():
            produced += len(chunk)
    assert produced <= 2 * 1024 * 1024
    assert stream.damage is not None and "decompression bomb" in stream.damage


def test_a_plain_file_has_no_expansion_budget(tmp_path: Path) -> None:
    path = tmp_path / "zeros.jsonl"
    path.write_bytes(bytes(3 * 1024 * 1024))
    with InputStream(path, streams.ReadLimits(max_expansion=1.0)) as stream:
        produced = 0
        while chunk := stream.read_chunk():
            produced += len(chunk)
    assert produced == 3 * 1024 * 1024 and stream.damage is None


@pytest.mark.parametrize(
    ("text", "size"),
    [("64MiB", 64 * 2**20), ("512KB", 512_000), ("1048576", 2**20), ("1.5kib", 1536)],
)
def test_sizes_are_read_in_both_units(text: str, size: int) -> None:
    assert streams.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "ten", "5 parsecs", "-1MB"])
def test_what_is_not_a_size_is_none(text: str) -> None:
    assert streams.parse_size(text) is None


def _bad_check(member: bytes, what: str) -> bytes:
    """``member`` with its trailer's CRC-32 (``data``) or length (``length``) altered."""
    damaged = bytearray(member)
    damaged[-8 if what == "data" else -4] ^= 0xFF
    return bytes(damaged)


@pytest.mark.parametrize("what", ["data", "length"])
def test_a_member_failing_its_check_is_read_and_flagged(tmp_path: Path, what: str) -> None:
    """The bytes inflate but do not match the member's trailer: every byte is kept (the
    investigator decides), reading goes on with the next member, and a remark says so."""
    first, second = REPETITIVE[:400_000], REPETITIVE[400_000:]
    bad = _bad_check(gzip_bytes(first), what)
    path = tmp_path / "log.jsonl.gz"
    path.write_bytes(bad + gzip_bytes(second))
    with InputStream(path) as stream:
        data = b"".join(iter(stream.read_chunk, b""))
        assert (data, stream.damage) == (REPETITIVE, None)
        (note,) = stream.notes
    assert note.startswith(f"gzip member at byte 0: incorrect {what} check")
    assert "cannot be verified" in note


def test_a_failing_check_then_a_cut_member(tmp_path: Path) -> None:
    first, second = REPETITIVE[:400_000], gzip_bytes(REPETITIVE[400_000:])
    path = tmp_path / "log.jsonl.gz"
    path.write_bytes(_bad_check(gzip_bytes(first), "data") + second[: len(second) // 2])
    with InputStream(path) as stream:
        data = b"".join(iter(stream.read_chunk, b""))
        assert data.startswith(first) and REPETITIVE.startswith(data)
        assert stream.damage == "gzip stream ends early: the file is truncated"
        assert len(stream.notes) == 1


def test_ingest_loads_and_flags_a_member_failing_its_check(tmp_path: Path) -> None:
    """End to end: the bulk path does not take such a file (its line count fails), the careful
    path loads every row, and the input carries the remark in the manifest and reports."""
    lines = [json.dumps(canonical_record(i)).encode() + b"\n" for i in range(40)]
    path = tmp_path / "log.jsonl.gz"
    path.write_bytes(
        _bad_check(gzip_bytes(b"".join(lines[:25])), "data") + gzip_bytes(b"".join(lines[25:]))
    )
    report = ingest([path], tmp_path / "case")
    (entry,) = report.loaded
    assert (entry["rows_loaded"], entry["rows_quarantined"]) == (40, 0)
    assert any("incorrect data check" in w and "cannot be verified" in w for w in entry["warnings"])
