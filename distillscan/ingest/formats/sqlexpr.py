"""Small SQL expression builders shared by the format mappings that pick among several fields.

Logs often carry one fact in several places (a top-level column, a copy inside a metadata object,
a field of the request body). These helpers write the SQL that takes the first place holding a
real value. They only ever combine constant SQL fragments written in this package; nothing from a
log or a user file passes through them.
"""

from __future__ import annotations


def _string_of(json_expr: str) -> str:
    return f"json_extract_string({json_expr}, '$')"


def present(json_expr: str) -> str:
    """SQL that is true when the JSON value ``json_expr`` holds something other than nothing.

    Nothing is SQL NULL, JSON ``null``, or a string that is empty or only blanks (CSV exports and
    many loggers write ``""`` for a field they did not have).
    """
    # A CASE, not AND/OR: DuckDB evaluates both sides of an OR, and the text of a long array
    # or object is costly to build only to be found not blank.
    return (
        f"({json_expr} IS NOT NULL AND CASE ds_type({json_expr}) WHEN 'NULL' THEN false "
        f"WHEN 'VARCHAR' THEN NOT ds_blank({_string_of(json_expr)}) ELSE true END)"
    )


def first_present(*json_exprs: str) -> str:
    """SQL for the first of ``json_exprs`` that is :func:`present`, as JSON (NULL if none).

    The value is handed over unchanged, so the shared validation still sees (and reports) a value
    of the wrong type instead of this step skipping it silently.
    """
    cases = " ".join(f"WHEN {present(e)} THEN {e}" for e in json_exprs)
    return f"(CASE {cases} END)"


def strip(text_expr: str) -> str:
    """SQL removing blanks, tabs and line breaks around a text (DuckDB's ``trim`` takes spaces)."""
    return f"trim({text_expr}, chr(32) || chr(9) || chr(10) || chr(13))"


def text_of(json_expr: str) -> str:
    """SQL for a JSON scalar as stripped text, NULL when absent, empty or not a scalar."""
    return (
        f"(CASE WHEN ds_type({json_expr}) IN ('VARCHAR', 'BIGINT', 'UBIGINT', 'DOUBLE') "
        f"THEN nullif({strip(_string_of(json_expr))}, '') END)"
    )


def joined_texts(list_expr: str) -> str:
    """SQL joining a list of VARCHAR with newlines, NULL when nothing is left (NULLs skipped)."""
    return f"nullif(ds_lines({list_expr}), '')"
