"""Writing day files: gzip with a fixed header, compressed on a background thread.

The gzip header records no modification time (``mtime=0``) and the file's own name, so the same
events always give the same bytes. Compression runs on a worker thread (zlib releases the GIL),
overlapping with the generation of the next slice on the other core.
"""

from __future__ import annotations

import gzip
import queue
import threading
from pathlib import Path

#: zlib level: 1 keeps up with generation; the files are still 4-5x smaller than the JSON.
COMPRESSION_LEVEL = 1


class DayFileWriter:
    """Writes successive gzip files; at most a few chunks are in flight at any time."""

    def __init__(self, level: int = COMPRESSION_LEVEL) -> None:
        self.level = level
        self._queue: queue.Queue[tuple[str, object] | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="distillscan-gzip", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        handle: gzip.GzipFile | None = None
        raw = None
        target: Path | None = None
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                action, payload = job
                if self._error is not None:
                    continue
                if action == "open":
                    assert isinstance(payload, Path)
                    target = payload
                    target.parent.mkdir(parents=True, exist_ok=True)
                    raw = (target.parent / (target.name + ".part")).open("wb")
                    inner_name = target.name.removesuffix(".gz")
                    handle = gzip.GzipFile(
                        filename=inner_name,
                        mode="wb",
                        fileobj=raw,
                        mtime=0,
                        compresslevel=self.level,
                    )
                elif action == "write":
                    assert handle is not None and isinstance(payload, bytes)
                    handle.write(payload)
                elif action == "close":
                    assert handle is not None and raw is not None and target is not None
                    handle.close()
                    raw.close()
                    (target.parent / (target.name + ".part")).replace(target)
                    handle = raw = None
            except BaseException as exc:  # surfaced to the caller in finish()
                self._error = exc
            finally:
                self._queue.task_done()

    def open(self, path: Path) -> None:
        """Start a new file (the previous one must be closed)."""
        self._queue.put(("open", path))

    def write(self, data: bytes) -> None:
        """Append bytes to the current file."""
        if data:
            self._queue.put(("write", data))

    def close(self) -> None:
        """Finish the current file."""
        self._queue.put(("close", None))

    def finish(self) -> None:
        """Wait for all pending work; raise what the worker raised, if anything."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
