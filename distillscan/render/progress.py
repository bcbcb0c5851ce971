"""Progress for long work (ingest, each detection pass), on stderr, never on stdout.

On a terminal it is one transient status line (a spinner, the current step and the time spent),
erased when the work ends, so the report that follows on stdout stands alone. When stderr is
not a terminal (a pipe, a CI log) or with ``--quiet`` it prints nothing at all. Step messages
can name input files, so they pass through :func:`distillscan.textsafe.inert`.
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.status import Status
from rich.text import Text

from distillscan.textsafe import inert


class StatusLine:
    """A callable progress sink (``progress(message)``) used as a context manager."""

    def __init__(self, console: Console, *, quiet: bool = False) -> None:
        self.console = console
        self.enabled = not quiet and console.is_terminal
        self._status: Status | None = None
        self._started = 0.0

    def __enter__(self) -> StatusLine:
        if self.enabled:
            self._started = time.monotonic()
            self._status = self.console.status(Text("starting"), spinner="dots")
            self._status.start()
        return self

    def __call__(self, message: str) -> None:
        """Show ``message`` as the current step."""
        if self._status is not None:
            elapsed = time.monotonic() - self._started
            self._status.update(Text(f"{inert(message, 200)}  ({elapsed:.0f} s)", style="dim"))

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
