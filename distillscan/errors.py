"""Errors the library raises; the CLI turns each into one line on stderr and exit code 2."""

from __future__ import annotations


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
