"""Errors the library raises; the CLI turns each into one line on stderr and exit code 2."""

from __future__ import annotations

import errno
import re


class DistillscanError(Exception):
    """Root of every error distillscan reports to the user without a traceback.

    Args:
        message: What happened, in one line, naming the file (and line) involved.
        hint: What to do about it, if there is something obvious.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class InputError(DistillscanError):
    """An input path or file cannot be used as given (missing, unreadable, unknown format)."""


class CaseError(DistillscanError):
    """A case folder is missing, damaged or inconsistent."""


class ConfigError(DistillscanError):
    """A configuration or mapping file is invalid."""


#: What a write fails with when the disk (or the quota, or the process's file size limit) is
#: full, or the folder is read-only: the machine's state, never a property of an input.
NO_ROOM_ERRNOS = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS)
#: The same, as pyarrow and DuckDB word it in their own errors.
_NO_ROOM_TEXT = re.compile(
    "|".join(
        [
            rf"errno\W*({'|'.join(str(code) for code in NO_ROOM_ERRNOS)})\b",
            "No space left on device",
            "File too large",
            "Disk quota exceeded",
            "Read-only file system",
        ]
    )
)


def out_of_room(exc: BaseException) -> bool:
    """Whether ``exc`` says that nothing more can be written (full disk, read-only folder)."""
    if isinstance(exc, OSError) and exc.errno in NO_ROOM_ERRNOS:
        return True
    return bool(_NO_ROOM_TEXT.search(str(exc)))
