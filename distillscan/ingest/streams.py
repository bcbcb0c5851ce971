"""Opening input files: decompression that notices truncation instead of hiding it.

A damaged export is evidence too. When a ``.gz`` or ``.zst`` stream ends early or is corrupt, the
reader hands over every byte it could decompress, then reports the damage so the ingest can
quarantine the incomplete record and say where the file broke.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
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


def iter_decompressed(raw: io.BufferedIOBase, compression: str | None) -> Iterator[bytes]:
    """Yield the decompressed bytes of ``raw``; raise :class:`DamagedStream` at a break.

    Multi-member gzip files and multi-frame zstd files are read to the end, as ``gzip`` and
    ``zstd`` themselves do.
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
    while chunk := raw.read(READ_SIZE):
        while chunk:
            if padding or (ended and not started and chunk[0] == 0):
                # Zero padding after the last member (block-padded copies) is harmless; it
                # may run over many reads.
                padding = True
                if chunk.strip(b"\x00"):
                    raise DamagedStream(f"{name} data is corrupt (bytes after the zero padding)")
                break
            try:
                if compression == "gz":
                    out = decompressor.decompress(chunk, CHUNK_LIMIT)
                    rest = decompressor.unconsumed_tail
                else:
                    out, rest = decompressor.decompress(chunk), b""
            except (GZIP_ERROR, zstandard.ZstdError) as exc:
                raise DamagedStream(f"{name} data is corrupt ({exc})") from None
            started = True
            if out:
                yield out
            # At a member's end, what follows it is ``unused_data``: zlib may leave the same
            # bytes in ``unconsumed_tail`` too, and feeding them to the ended member again
            # would loop for ever.
            if decompressor.eof:
                chunk = decompressor.unused_data
                decompressor = _new_decompressor(compression)
                started, ended = False, True
            else:
                chunk = rest
    if started:
        raise DamagedStream(f"{name} stream ends early: the file is truncated")


class DamagedStream(Exception):
    """The compressed stream is truncated or corrupt; everything before the break was read."""


class InputStream(io.RawIOBase):
    """A readable binary stream over a (possibly compressed) file that remembers damage.

    Reads return decompressed bytes. When the underlying stream breaks, reading stops as if at the
    end of the file and :attr:`damage` holds the reason, for the caller to record.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._file = path.open("rb")
        self._chunks = iter_decompressed(self._file, compression_of(path))
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
            return next(self._chunks, b"")
        except DamagedStream as exc:
            self.damage = str(exc)
            return b""
        except OSError as exc:
            self.damage = f"read error: {exc.strerror or exc}"
            return b""

    def close(self) -> None:
        """Close the underlying file."""
        self._file.close()
        super().close()
