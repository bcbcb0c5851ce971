"""What an input format is: a sniffer and one SQL query from JSON records to canonical columns.

A format module defines one :class:`LogFormat`. Its ``sql`` reads the relation ``parsed``, with
columns ``source_line``, ``raw`` (the record's JSON text) and ``d`` (a struct holding each key in
``keys`` as a JSON value), and must return ``source_line``, ``raw``, ``format_error`` (a reason to
quarantine the record, or NULL) and every column of its target table:

* ``raw`` columns of :mod:`distillscan.schema` as JSON values, straight from the log. The shared
  validation step type-checks them, casts them and quarantines what does not fit;
* ``derived`` columns already typed (the final user turn's text, counts, flags).

Helper macros for the message shapes the big APIs share live in ``macros.sql`` (``ds_*``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Record = Mapping[str, Any]

#: Which table a format's rows go to.
Target = Literal["events", "accounts", "cloudtrail"]


@dataclass(frozen=True, slots=True)
class LogFormat:
    """One input format.

    Attributes:
        name: Stable id, used by ``--format`` and recorded in ``source_format``.
        title: One line for listings and docs.
        keys: Top-level record keys the SQL reads (each becomes ``d.<key>``, a JSON value).
        sql: The mapping query over ``parsed`` (see the module docstring).
        sniff: Does this parsed record look like this format? Used on a file's first records.
        target: The table the rows go to.
        reads_raw: The SQL reads the record's text (``raw``), not only ``d``. The bulk path
            has no record text (DuckDB reads the file), so such a format is always loaded by
            the careful path.
    """

    name: str
    title: str
    keys: tuple[str, ...]
    sql: str
    sniff: Callable[[Record], bool]
    target: Target = "events"
    reads_raw: bool = False

    def transform_spec(self) -> str:
        """The ``json_transform`` structure that extracts every key as JSON."""
        fields = ", ".join(f'"{key}": "JSON"' for key in self.keys)
        return "{" + fields + "}"


def has_keys(record: Record, *keys: str) -> bool:
    """True when ``record`` is a mapping with all of ``keys``."""
    return isinstance(record, Mapping) and all(key in record for key in keys)


def has_any(record: Record, *keys: str) -> bool:
    """True when ``record`` is a mapping with at least one of ``keys``."""
    return isinstance(record, Mapping) and any(key in record for key in keys)
