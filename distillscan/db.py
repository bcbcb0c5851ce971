"""Small DuckDB helpers shared by the analysis stages."""

from __future__ import annotations

from datetime import datetime

import duckdb


def sql_string(value: str) -> str:
    """``value`` as a SQL string literal (for the few places a parameter cannot stand)."""
    return "'" + value.replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    """``name`` as a quoted SQL identifier (a column named by a log's key)."""
    return '"' + name.replace('"', '""') + '"'


def sql_list(values: list[str]) -> str:
    """A SQL list literal of strings, e.g. the file list of ``read_parquet([...])``."""
    return "[" + ", ".join(sql_string(v) for v in values) + "]"


def has_view(con: duckdb.DuckDBPyConnection, name: str, database: str | None = None) -> bool:
    """Whether a view called ``name`` exists (in ``database`` when given)."""
    rows = con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE view_name = $name "
        "AND ($database IS NULL OR database_name = $database)",
        {"name": name, "database": database},
    ).fetchall()
    return bool(rows[0][0])


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether a table called ``name`` exists (temporary tables included)."""
    rows = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = $name", {"name": name}
    ).fetchall()
    return bool(rows[0][0])


#: An investigation's time window: events at or after the first instant and before the second
#: (UTC; None leaves that side open).
Window = tuple[datetime | None, datetime | None]


def in_window_sql(source: str, window: Window) -> str:
    """``SELECT * FROM source`` limited to the events of ``window``, to the microsecond.

    The analysis and the report build their event views with it, so both read the same events.
    """
    conditions = [
        f"ts {op} TIMESTAMP '{moment:%Y-%m-%d %H:%M:%S.%f}'"
        for op, moment in zip((">=", "<"), window, strict=True)
        if moment is not None
    ]
    return f"SELECT * FROM {source}" + (" WHERE " + " AND ".join(conditions) if conditions else "")
