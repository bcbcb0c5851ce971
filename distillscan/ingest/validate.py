"""The shared last step of every format: type-check raw fields, cast them, or say why not.

Formats hand over log fields as JSON values. This module builds one SQL query that turns them into
the typed columns of the target table and, for each record, the list of reasons it cannot be
loaded. A value of the wrong type is a reason, not a silent NULL: an investigator must be able to
tell "the log had no IP" from "the log had something that is not an IP field".
"""

from __future__ import annotations

from distillscan.schema import Column

#: Earliest and latest timestamps accepted; anything outside is a broken clock or a bad parse.
PLAUSIBLE_FROM = "2000-01-01"
PLAUSIBLE_TO = "2100-01-01"

_NUMERIC = "('BIGINT', 'UBIGINT', 'DOUBLE')"


def _cast(column: Column) -> str:
    """SQL turning the JSON value ``v`` into the column's type (NULL when it does not fit)."""
    v = column.name
    text = f"trim(json_extract_string({v}, '$'))"
    kind = column.kind
    if kind == "string":
        return (
            f"CASE WHEN json_type({v}) = 'VARCHAR' OR json_type({v}) IN {_NUMERIC} "
            f"THEN nullif(json_extract_string({v}, '$'), '') END"
        )
    if kind == "integer":
        return (
            f"CASE WHEN json_type({v}) IN {_NUMERIC} OR json_type({v}) = 'VARCHAR' "
            f"THEN try_cast(nullif({text}, '') AS BIGINT) END"
        )
    if kind == "number":
        return (
            f"CASE WHEN json_type({v}) IN {_NUMERIC} OR json_type({v}) = 'VARCHAR' "
            f"THEN try_cast(nullif({text}, '') AS DOUBLE) END"
        )
    if kind == "boolean":
        return (
            f"CASE json_type({v}) WHEN 'BOOLEAN' THEN json_extract_string({v}, '$') = 'true' "
            f"WHEN 'VARCHAR' THEN CASE lower({text}) WHEN 'true' THEN true WHEN 'false' THEN false "
            f"WHEN '1' THEN true WHEN '0' THEN false WHEN 'yes' THEN true WHEN 'no' THEN false END "
            f"WHEN 'BIGINT' THEN CASE {text} WHEN '1' THEN true WHEN '0' THEN false END END"
        )
    if kind == "timestamp":
        return (
            f"CASE WHEN ds_parse_ts({v}) >= TIMESTAMP '{PLAUSIBLE_FROM}' "
            f"AND ds_parse_ts({v}) < TIMESTAMP '{PLAUSIBLE_TO}' THEN ds_parse_ts({v}) END"
        )
    raise ValueError(kind)


_EXPECTED = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "timestamp": f"a timestamp between {PLAUSIBLE_FROM} and {PLAUSIBLE_TO}",
}


def _problem(column: Column, required: bool) -> str:
    """SQL giving the reason the column's value cannot be used, or NULL."""
    v = column.name
    present = f"({v} IS NOT NULL AND json_type({v}) <> 'NULL' AND {v}::VARCHAR NOT IN ('\"\"'))"
    shown = f"left({v}::VARCHAR, 60)"
    bad = f"printf('{v}: expected {_EXPECTED[column.kind]}, got %s', {shown})"
    checks = f"WHEN {present} AND typed_{v} IS NULL THEN {bad}"
    if column.kind == "integer":
        checks += f" WHEN typed_{v} < 0 THEN printf('{v}: must not be negative, got %d', typed_{v})"
    if required:
        checks = f"WHEN NOT {present} THEN '{v}: missing' " + checks
    return f"CASE {checks} END"


def validation_sql(columns: tuple[Column, ...], required: frozenset[str]) -> str:
    """Return CTEs and a final SELECT over ``staged``: typed columns plus ``reason``.

    The text continues a ``WITH`` clause that defines ``staged`` (it starts with ``typed AS``);
    ``reason`` is NULL when the record can be loaded.

    ``staged`` must hold ``source_line``, ``raw``, ``format_error`` and one column per entry of
    ``columns``: JSON for ``raw`` columns, the final type for the others.
    """
    raw_columns = [c for c in columns if c.source == "raw"]
    casts = ",\n        ".join(f"{_cast(c)} AS typed_{c.name}" for c in raw_columns)
    problems = ",\n            ".join(_problem(c, c.name in required) for c in raw_columns)
    outputs = ",\n    ".join(
        f"typed_{c.name} AS {c.name}" if c.source == "raw" else c.name
        for c in columns
        if c.source != "provenance"
    )
    return f"""
typed AS (
    SELECT *,
        {casts}
    FROM staged
),
judged AS (
    SELECT *,
        nullif(array_to_string(list_filter([
            format_error,
            {problems}
        ], lambda r: r IS NOT NULL), '; '), '') AS reason
    FROM typed
)
SELECT source_line, raw, reason,
    {outputs}
FROM judged
"""
