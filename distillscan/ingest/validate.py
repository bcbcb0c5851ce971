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


def _facts(column: Column) -> str:
    """SQL computing, once, the JSON type (``jt_``) and text (``js_``) of the column's value."""
    v = column.name
    return f"ds_type({v}) AS jt_{v}, json_extract_string({v}, '$') AS js_{v}"


def _present(column: Column, typed: bool) -> str:
    """SQL computing, once, whether the record holds a value for the column (``present_``):
    neither missing, nor JSON ``null``, nor a blank string."""
    v = column.name
    if typed:  # already in its final type: only a string can be blank
        if column.kind == "string":
            return f"CASE WHEN {v} IS NULL THEN false ELSE NOT ds_blank({v}) END AS present_{v}"
        return f"({v} IS NOT NULL) AS present_{v}"
    return (
        f"CASE WHEN jt_{v} IS NULL OR jt_{v} = 'NULL' THEN false "
        f"WHEN jt_{v} = 'VARCHAR' THEN NOT ds_blank(js_{v}) ELSE true END AS present_{v}"
    )


def _cast(column: Column) -> str:
    """SQL turning the JSON value ``v`` into the column's type (NULL when it does not fit).

    A JSON integer's text is plain (``-12``), so integers skip the trimming and the pattern
    that text from a string or a double needs.
    """
    v = column.name
    text = f"trim(js_{v})"
    kind = column.kind
    if kind == "string":
        scalar = f"jt_{v} = 'VARCHAR' OR jt_{v} IN {_NUMERIC}"
        return f"CASE WHEN present_{v} AND ({scalar}) THEN js_{v} END"
    if kind == "integer":
        # Whole numbers only: 4096, "4096", 4096.0 or 1e3, never a rounded 1.5.
        whole = (
            f"CASE WHEN regexp_full_match({text}, '[+-]?[0-9]+') THEN try_cast({text} AS BIGINT) "
            f"WHEN isfinite(try_cast({text} AS DOUBLE)) "
            f"AND try_cast({text} AS DOUBLE) = trunc(try_cast({text} AS DOUBLE)) "
            f"THEN try_cast(try_cast({text} AS DOUBLE) AS BIGINT) END"
        )
        return (
            f"CASE WHEN jt_{v} IN ('BIGINT', 'UBIGINT') THEN try_cast(js_{v} AS BIGINT) "
            f"WHEN jt_{v} IN ('DOUBLE', 'VARCHAR') THEN {whole} END"
        )
    if kind == "number":
        number = f"try_cast(nullif({text}, '') AS DOUBLE)"
        return (
            f"CASE WHEN jt_{v} IN {_NUMERIC} OR jt_{v} = 'VARCHAR' "
            f"THEN CASE WHEN isfinite({number}) THEN {number} END END"
        )
    if kind == "boolean":
        return (
            f"CASE jt_{v} WHEN 'BOOLEAN' THEN js_{v} = 'true' "
            f"WHEN 'VARCHAR' THEN CASE lower({text}) WHEN 'true' THEN true WHEN 'false' THEN false "
            f"WHEN '1' THEN true WHEN '0' THEN false WHEN 'yes' THEN true WHEN 'no' THEN false END "
            f"WHEN 'BIGINT' THEN CASE {text} WHEN '1' THEN true WHEN '0' THEN false END END"
        )
    if kind == "timestamp":
        return f"ds_parse_ts({v})"  # the plausible range is checked with the other problems
    raise ValueError(kind)


_EXPECTED = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "timestamp": f"a timestamp between {PLAUSIBLE_FROM} and {PLAUSIBLE_TO}",
}


def _typed_cast(column: Column) -> str:
    """SQL for a value a typed mapping handed over already in the column's type: only blanks
    (strings) and non-finite numbers do not fit."""
    v = column.name
    if column.kind == "string":
        return f"CASE WHEN present_{v} THEN {v} END"
    if column.kind == "number":
        return f"CASE WHEN isfinite({v}) THEN {v} END"
    return v


def _problem(column: Column, required: bool) -> str:
    """SQL giving the reason the column's value cannot be used, or NULL."""
    v = column.name
    shown = f"left({v}::VARCHAR, 60)"
    bad = f"printf('{v}: expected {_EXPECTED[column.kind]}, got %s', {shown})"
    checks = f"WHEN present_{v} AND typed_{v} IS NULL THEN {bad}"
    if column.kind == "timestamp":
        checks += (
            f" WHEN typed_{v} < TIMESTAMP '{PLAUSIBLE_FROM}'"
            f" OR typed_{v} >= TIMESTAMP '{PLAUSIBLE_TO}' THEN {bad}"
        )
    if column.kind == "integer":
        checks += f" WHEN typed_{v} < 0 THEN printf('{v}: must not be negative, got %d', typed_{v})"
    if required:
        checks = f"WHEN NOT present_{v} THEN '{v}: missing' " + checks
    return f"CASE {checks} END"


def _given(column: Column, cast: str, given: dict[str, str]) -> str:
    """``cast``, or the investigator's value when the record holds none for the column."""
    if column.name not in given:
        return cast
    return f"CASE WHEN present_{column.name} THEN {cast} ELSE {given[column.name]} END"


def validation_sql(
    columns: tuple[Column, ...],
    required: frozenset[str],
    typed: frozenset[str] = frozenset(),
    supplied: tuple[tuple[str, str], ...] = (),
) -> str:
    """Return CTEs and a final SELECT over ``staged``: typed columns plus ``reason``.

    The text continues a ``WITH`` clause that defines ``staged`` (it starts with ``facts AS``);
    ``reason`` is NULL when the record can be loaded. Each step computes once what the next
    ones read several times: a JSON value's type and text (``facts``), whether it is there at
    all (``presence``), its typed value (``typed``), and the reasons it cannot be used.

    ``staged`` must hold ``source_line``, ``raw``, ``format_error`` and one column per entry of
    ``columns``: JSON for ``raw`` columns (except those named in ``typed``, already in their
    final type), the final type for the others.

    ``supplied`` gives a column's value (SQL, in its final type) for the records that hold
    none: such a record is not missing it. A value the record does hold is used, or judged.
    """
    given = dict(supplied)
    raw_columns = [c for c in columns if c.source == "raw"]
    json_columns = [c for c in raw_columns if c.name not in typed]
    facts = "".join(f",\n        {_facts(c)}" for c in json_columns)
    presence = ",\n        ".join(_present(c, c.name in typed) for c in raw_columns)
    casts = ",\n        ".join(
        f"{_given(c, _typed_cast(c) if c.name in typed else _cast(c), given)} AS typed_{c.name}"
        for c in raw_columns
    )
    problems = ",\n            ".join(
        _problem(c, c.name in required and c.name not in given) for c in raw_columns
    )
    outputs = ",\n    ".join(
        f"typed_{c.name} AS {c.name}" if c.source == "raw" else c.name
        for c in columns
        if c.source != "provenance"
    )
    return f"""
facts AS (
    SELECT *{facts}
    FROM staged
),
presence AS (
    SELECT *,
        {presence}
    FROM facts
),
typed AS (
    SELECT *,
        {casts}
    FROM presence
),
judged AS (
    SELECT *,
        -- concat_ws skips NULLs: the reasons that apply, joined.
        nullif(concat_ws('; ',
            format_error,
            {problems}
        ), '') AS reason
    FROM typed
)
SELECT source_line, raw, reason,
    {outputs}
FROM judged
"""
