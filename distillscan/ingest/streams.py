"""Opening input files: decompression that notices truncation instead of hiding it.

A damaged export is evidence too. When a ``.gz`` or ``.zst`` stream ends early or is corrupt, the
reader hands over every byte it could decompress, then reports the damage so the ingest can
quarantine the incomplete record and say where the file broke.

Logs are written by the people under investigation, so reading is bounded (:class:`ReadLimits`):
a compressed stream stops at a multiple of its size on disk (10 GB of zeros fit in 10 MB of
gzip), and the readers refuse a single record longer than a set size instead of holding it in
memory. Both end the file the way damage does: what came before is loaded, the rest is
quarantined with the reason, and the file is named.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import zstandard
from zlib_ng import zlib_ng

#: Bytes read from disk per step. Small enough that a step's output stays in the CPU cache
#: (reading 1 MiB at a time made reading a 2M-record .jsonl.gz 40% slower).
READ_SIZE = 128 * 1024
#: Most decompressed bytes produced per step (text compresses 50x and more: bound the output).
#: Small, so that memory freed by one step serves the next: with 16 MiB every step took fresh
#: pages, and page faults cost as much as the inflating (2M-event export: 4.4 s, 2.3 s now).
CHUNK_LIMIT = 256 * 1024

#: A compressed file may always expand to this many times this size, however small it is.
EXPANSION_FLOOR_BYTES = 1024 * 1024
#: Default longest record, as the command line writes it.
DEFAULT_MAX_RECORD = "64MiB"
#: Default largest decompression ratio.
DEFAULT_MAX_EXPANSION = 100.0

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
}


def parse_size(text: str) -> int | None:
    """Bytes in a size such as ``64MiB``, ``512KB`` or ``1048576``; None if it is not one."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    if match is None or match.group(2).lower() not in _SIZE_UNITS:
        return None
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """Bounds on what one input file may make the reader hold or produce.

    Attributes:
        max_record_bytes: Longest record (a JSON line, a ``.json`` record, a CSV field).
            Prompts and answers run to megabytes; a record past this is quarantined.
        max_expansion: Most decompressed bytes per compressed byte (of at least
            ``EXPANSION_FLOOR_BYTES``). Real JSON logs compress 5-30x; gzip cannot pass
            about 1,030x, zstd can reach millions.
    """

    max_record_bytes: int = 64 * 1024 * 1024
    max_expansion: float = DEFAULT_MAX_EXPANSION

    def decompressed_budget(self, compressed_bytes: int) -> int:
        """Most bytes a compressed file of ``compressed_bytes`` may decompress to."""
        return int(self.max_expansion * max(compressed_bytes, EXPANSION_FLOOR_BYTES))

    def expansion_damage(self, budget: int) -> str:
        """The reason recorded where a stream passes its budget."""
        return (
            f"decompresses to more than {budget:,} bytes ({self.max_expansion:g} times its size "
            "on disk): a decompression bomb, or raise --max-expansion to read it"
        )


COMPRESSIONS = ("gz", "zst")
#: zlib-ng's error class (its type stubs declare it as an instance).
GZIP_ERROR = cast(type[Exception], zlib_ng.error)


def compression_of(path: Path) -> str | None:
    """Return ``"gz"``, ``"zst"`` or ``None`` from the file name."""
    suffix = path.suffix.lower()
    if suffix in (".gz", ".gzip"):
        return "gz"
    if suffix in (".zst", ".zstd"):
        return "zst"
    return None


def _new_decompressor(compression: str) -> Any:
    if compression == "gz":
        # zlib-ng inflates the same bytes as zlib in half the time. 31: gzip header and trailer.
        return zlib_ng.decompressobj(wbits=31)
    return zstandard.ZstdDecompressor().decompressobj()


def iter_decompressed(
    raw: io.BufferedIOBase, compression: str | None, notes: list[str] | None = None
) -> Iterator[bytes]:
    """Yield the decompressed bytes of ``raw``; raise :class:`DamagedStream` at a break.

    Multi-member gzip files and multi-frame zstd files are read to the end, as ``gzip`` and
    ``zstd`` themselves do. A gzip member whose data inflates but whose checksum (or length)
    does not match is read to its end all the same and reading goes on with the next member,
    with a remark appended to ``notes``: its rows are evidence whose integrity cannot be
    shown, which the investigator must see flagged, not lose.
    """
    if compression is None:
        while chunk := raw.read(READ_SIZE):
            yield chunk
        return
    name = "gzip" if compression == "gz" else "zstd"
    decompressor = _new_decompressor(compression)
    started = False  # a member has begun and not yet ended
    ended = False  # at least one member has ended
    padding = False  # zero bytes followed the last member: nothing else may come
    member_start = 0  # where the current gzip member begins in ``raw``
    member_out = 0  # bytes of it handed over so far
    while True:
        base = raw.tell()  # where ``chunk`` begins in ``raw``
        chunk = raw.read(READ_SIZE)
        if not chunk:
            break
        while chunk:
            if padding or (ended and not started and chunk[0] == 0):
                # Zero padding after the last member (block-padded copies) is harmless; it
                # may run over many reads.
                padding = True
                if chunk.strip(b"\x00"):
                    raise DamagedStream(f"{name} data is corrupt (bytes after the zero padding)")
                break
            if not started:
                member_start, member_out = base, 0
            try:
                if compression == "gz":
                    out = decompressor.decompress(chunk, CHUNK_LIMIT)
                    rest = decompressor.unconsumed_tail
                else:
                    out, rest = decompressor.decompress(chunk), b""
            except (GZIP_ERROR, zstandard.ZstdError) as exc:
                check = _CHECK_ERROR.search(str(exc)) if compression == "gz" else None
                if check is not None:
                    next_member = yield from _unchecked_member(raw, member_start, member_out)
                    if next_member is not None:
                        (notes if notes is not None else []).append(
                            f"gzip member at byte {member_start:,}: {check[0]} (its data does "
                            "not match the checksum written with it: altered or damaged); its "
                            "rows were read but cannot be verified"
                        )
                        raw.seek(next_member)
                        decompressor = _new_decompressor(compression)
                        started, ended = False, True
                        break
                raise DamagedStream(f"{name} data is corrupt ({exc})") from None
            started = True
            if out:
                member_out += len(out)
                yield out
            # At a member's end, what follows it is ``unused_data``: zlib may leave the same
            # bytes in ``unconsumed_tail`` too, and feeding them to the ended member again
            # would loop for ever.
            if decompressor.eof:
                following = decompressor.unused_data
                base += len(chunk) - len(following)
                chunk = following
                decompressor = _new_decompressor(compression)
                started, ended = False, True
            else:
                base += len(chunk) - len(rest)
                chunk = rest
    if started:
        raise DamagedStream(f"{name} stream ends early: the file is truncated")


#: zlib's words for a gzip member whose data inflated but whose trailer does not match it.
_CHECK_ERROR = re.compile(r"incorrect (data|length) check")


def _gzip_header_length(head: bytes) -> int | None:
    """Bytes of the gzip member header at the start of ``head`` (RFC 1952), or None."""
    if len(head) < 10 or head[:3] != b"\x1f\x8b\x08":
        return None
    flags, at = head[3], 10
    try:
        if flags & 4:  # FEXTRA
            at += 2 + int.from_bytes(head[at : at + 2], "little")
        for flag in (8, 16):  # FNAME, FCOMMENT: zero-terminated
            if flags & flag:
                at = head.index(b"\x00", at) + 1
    except ValueError:
        return None
    if flags & 2:  # FHCRC
        at += 2
    return at if at <= len(head) else None


def _unchecked_member(
    raw: io.BufferedIOBase, start: int, skip: int
) -> Generator[bytes, None, int | None]:
    """Inflate the gzip member at ``start`` without its checks, yielding its bytes after the
    first ``skip`` (already handed over); return where the next member begins, or None when
    the member cannot be read to its end this way either (what was read of it is yielded)."""
    raw.seek(start)
    head = raw.read(65_536 + 1_024)
    length = _gzip_header_length(head)
    if length is None:
        return None
    inflate = zlib_ng.decompressobj(wbits=-15)  # raw deflate: no header, no trailer
    data, position = head[length:], start + length
    while not inflate.eof:
        if not data:
            data = raw.read(READ_SIZE)
            if not data:
                return None  # cut short: the caller reports the original error
        try:
            out = inflate.decompress(data, CHUNK_LIMIT)
        except GZIP_ERROR:
            return None
        # At the end, what follows is ``unused_data`` (zlib may leave it in the tail too).
        left = len(inflate.unused_data) if inflate.eof else len(inflate.unconsumed_tail)
        position += len(data) - left
        data = inflate.unconsumed_tail
        if out and skip < len(out):
            yield out[skip:]
        skip = max(0, skip - len(out))
    return position + 8  # the trailer: CRC-32 and length


class DamagedStream(Exception):
    """The compressed stream is truncated or corrupt; everything before the break was read."""


class InputStream(io.RawIOBase):
    """A readable binary stream over a (possibly compressed) file that remembers damage.

    Reads return decompressed bytes. When the underlying stream breaks, reading stops as if at the
    end of the file and :attr:`damage` holds the reason, for the caller to record.
    """

    def __init__(self, path: Path, limits: ReadLimits | None = None) -> None:
        super().__init__()
        self.limits = limits or ReadLimits()
        self._file = path.open("rb")
        compression = compression_of(path)
        #: Remarks about data that was read but is suspect (a gzip member failing its checksum).
        self.notes: list[str] = []
        self._chunks = iter_decompressed(self._file, compression, self.notes)
        self._budget = (
            self.limits.decompressed_budget(os.fstat(self._file.fileno()).st_size)
            if compression
            else None
        )
        self._produced = 0
        self._pending = b""
        self.damage: str | None = None

    def readable(self) -> bool:
        """Always readable."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` with decompressed bytes; 0 at the end (or at a break)."""
        if not self._pending:
            self._pending = self._next_chunk()
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def read_chunk(self) -> bytes:
        """Return the next decompressed chunk (any size), or ``b""`` at the end."""
        if self._pending:
            chunk, self._pending = self._pending, b""
            return chunk
        return self._next_chunk()

    def _next_chunk(self) -> bytes:
        if self.damage is not None:
            return b""
        try:
            chunk = next(self._chunks, b"")
        except DamagedStream as exc:
            self.damage = str(exc)
            return b""
        except OSError as exc:
            self.damage = f"read error: {exc.strerror or exc}"
            return b""
        self._produced += len(chunk)
        if self._budget is not None and self._produced > self._budget:
            self.damage = self.limits.expansion_damage(self._budget)
            return b""
        return chunk

    def close(self) -> None:
        """Close the underlying file."""
        self._file.close()
        super().close()
