"""The input formats, registered in one place, and format detection from a file's first records.

To add a format, write one module with a ``FORMAT`` (see :mod:`.base`), add it to ``FORMATS``
below, and document it with an example record in ``docs/formats.md``. A product whose export is a
request log with its fields in its own places is one TOML mapping in ``distillscan/data/formats``
instead (see :mod:`.gateways`). Order matters: the more
specific formats come first, because detection takes the best match and breaks ties by order.
"""

from __future__ import annotations

from collections.abc import Sequence

from distillscan.errors import InputError
from distillscan.ingest.formats import (
    accounts,
    anthropic,
    bedrock,
    canonical,
    cloudtrail,
    gateways,
    gemini,
    litellm,
    newapi,
    openai,
)
from distillscan.ingest.formats.base import LogFormat, Record

FORMATS: tuple[LogFormat, ...] = (
    # Products whose records carry a chat body too: their own keys decide, before the bodies do.
    *gateways.FORMATS,
    gemini.FORMAT,  # before openai, which claims any envelope: only Gemini has contents
    openai.FORMAT,  # before anthropic: a request both APIs accept is read as OpenAI's
    anthropic.FORMAT,
    bedrock.FORMAT,
    cloudtrail.FORMAT,
    litellm.FORMAT,
    newapi.FORMAT,
    canonical.FORMAT,
    accounts.FORMAT,
)

_BY_NAME = {f.name: f for f in FORMATS}
if len(_BY_NAME) != len(FORMATS):  # pragma: no cover - a registration mistake
    raise RuntimeError("duplicate format names")


def format_names() -> list[str]:
    """Names accepted by ``--format``."""
    return [f.name for f in FORMATS]


def by_name(name: str) -> LogFormat:
    """Look a format up by name; raise :class:`InputError` listing the valid names."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise InputError(
            f"unknown format {name!r}", hint=f"choose one of: {', '.join(format_names())}"
        ) from None


def detect(records: Sequence[Record]) -> LogFormat | None:
    """Pick the format that matches most of ``records`` (at least half), or None."""
    best: LogFormat | None = None
    best_hits = 0
    for fmt in FORMATS:
        hits = sum(1 for record in records if fmt.sniff(record))
        if hits > best_hits:
            best, best_hits = fmt, hits
    if best is None or best_hits * 2 < len(records):
        return None
    return best
