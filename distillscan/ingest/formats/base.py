"""What an input format is: a sniffer and one SQL query from JSON records to canonical columns.

A format module defines one :class:`LogFormat`. Its ``sql`` reads the relation ``parsed``, with
columns ``source_line``, ``raw`` (the record's JSON text) and ``d`` (a struct holding each key in
``keys`` as a JSON value), and must return ``source_line``, ``raw``, ``format_error`` (a reason to
quarantine the record, or NULL) and every column of its target table:

* ``raw`` columns of :mod:`distillscan.schema` as JSON values, straight from the log. The shared
  validation step type-checks them, casts them and quarantines what does not fit;
* ``derived`` columns already typed (the final user turn's text, counts, flags).

Helper macros for the message shapes the big APIs share live in ``macros.sql`` (``ds_*``).

A format may add a :class:`TypedParquet` mapping for Parquet files whose columns already have
the types it expects: reading a typed column as JSON only to parse it again is most of the cost
of a Parquet ingest. In the same way, a :class:`TypedJson` mapping reads a JSON lines file's
nested columns as structs in the bulk path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

Record = Mapping[str, Any]

#: Which table a format's rows go to.
Target = Literal["events", "accounts", "cloudtrail"]


@dataclass(frozen=True, slots=True)
class TypedParquet:
    """A second mapping of a format, over Parquet columns that are already typed.

    Attributes:
        columns: Given the file's column types (DuckDB type names by column), the SQL for each of
            the format's keys (``row.<key>`` cast as needed, a typed NULL for a missing key), or
            None when a column has a type the mapping does not take: the file then takes the
            JSON mapping.
        sql: The mapping query over ``parsed``, with columns ``source_line``, ``raw`` and ``t``
            (a struct of the keys as ``columns`` gives them). It returns what the JSON mapping
            returns, except that the ``typed`` columns hold their final type, not JSON.
        typed: The raw columns that ``sql`` hands over typed; the validator checks only what a
            typed value can get wrong (blank, out of range, negative).

    Both mappings must load the same rows from the same file; the bulk path tests compare them
    on every shape the typed one accepts.
    """

    columns: Callable[[Mapping[str, str]], dict[str, str] | None]
    sql: str
    typed: frozenset[str]


@dataclass(frozen=True, slots=True)
class TypedJson:
    """A second mapping of a format, for the bulk path's read of a JSON lines file, where some
    keys are read as DuckDB structs and lists instead of JSON values.

    A key read as JSON is serialised by the reader and parsed again by every field the mapping
    takes from it; read as a struct, it is parsed once. The read itself checks shapes: a value
    that is not the declared object or list (a string where an object is declared, ``{}``
    where a list is) fails it, and the bulk path then reads the file again with the JSON
    mapping. Only scalars convert silently in a typed read, so every leaf is JSON, or VARCHAR
    where the JSON mapping converts to VARCHAR the same way.

    Attributes:
        columns: The DuckDB type of each key read typed (the other keys stay JSON).
        sql: The mapping query over ``parsed``, whose ``d`` holds those keys typed. It returns
            exactly what the JSON mapping returns for every record the typed read accepts; the
            bulk path tests compare the two.
    """

    columns: Mapping[str, str]
    sql: str


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
        typed_parquet: A mapping for Parquet files with typed columns (see
            :class:`TypedParquet`), used by the bulk path.
        typed_json: A mapping for JSON lines files read with typed keys (see
            :class:`TypedJson`), used by the bulk path.
        supplied: Values the investigator gave (``--account``, ``--time``) for the rows that
            carry none: a column's name and SQL for its typed value.
        sql_for: The mapping when the investigator supplies some columns (by name), for a
            format whose SQL itself judges their absence (a batch line's).
    """

    name: str
    title: str
    keys: tuple[str, ...]
    sql: str
    sniff: Callable[[Record], bool]
    target: Target = "events"
    reads_raw: bool = False
    typed_parquet: TypedParquet | None = None
    typed_json: TypedJson | None = None
    supplied: tuple[tuple[str, str], ...] = ()
    sql_for: Callable[[frozenset[str]], str] | None = None

    def with_supplied(self, values: tuple[tuple[str, str], ...]) -> LogFormat:
        """This format, giving rows without them the investigator's ``values`` (see
        ``supplied``)."""
        if not values or self.target != "events":
            return self
        columns = frozenset(column for column, _ in values)
        sql = self.sql_for(columns) if self.sql_for is not None else self.sql
        return replace(self, supplied=values, sql=sql)

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
