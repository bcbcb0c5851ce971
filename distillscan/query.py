"""``distillscan sql``: plain SQL over a case, with nothing to install and nothing written.

The query runs in an in-memory DuckDB whose views read this case folder's own files, wherever
the folder now is (a copied or moved case reads its own Parquet parts, never the original's):

* ``events``, ``quarantine``, ``account_inputs``, ``cloudtrail`` (what ingest loaded);
* ``accounts``, ``campaigns``, ``evidence`` (what the last investigation found) and ``history``
  (every run's campaigns), when present.

Nothing is written to the case, and the case's shared lock is held while the query runs, so an
``ingest`` or ``investigate`` in progress is never read half-way.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from distillscan.case import Case, connect
from distillscan.db import has_view, sql_string
from distillscan.errors import CaseError, InputError
from distillscan.schema import QUARANTINE_ARROW_SCHEMA, TABLES

#: Investigation results exposed as views (``accounts`` comes from the case's own views).
RESULT_VIEWS = ("campaigns", "evidence", "history")


def views(case_dir: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with the case's views (see the module docstring).

    Raises:
        CaseError: not a case folder, or a part the manifest lists is missing.
    """
    case = Case(case_dir)
    if not case.exists():
        raise CaseError(f"{case_dir}: not a case folder (no manifest.json)")
    con = connect()
    case.refresh_views(con)
    # A table nothing was loaded into reads as empty, with its columns, not as a missing view.
    for name, schema in (
        ("events", TABLES["events"].arrow_schema),
        ("quarantine", QUARANTINE_ARROW_SCHEMA),
        ("cloudtrail", TABLES["cloudtrail"].arrow_schema),
        ("account_inputs", TABLES["accounts"].arrow_schema),
    ):
        if not has_view(con, name):
            con.register(name, schema.empty_table())
    for name in RESULT_VIEWS:
        path = case.root / f"{name}.parquet"
        if path.is_file():
            source = sql_string(str(path.resolve()))
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({source})")
    return con


def run(case_dir: Path, sql: str, limit: int | None = None) -> pl.DataFrame:
    """The result of ``sql`` over the case, at most ``limit`` rows when given.

    Raises:
        CaseError: see :func:`views`.
        InputError: the query does not parse or fails.
    """
    con = views(case_dir)
    try:
        relation = con.sql(sql)
        if relation is None:
            return pl.DataFrame()
        if limit is not None:
            relation = relation.limit(limit)
        frame: pl.DataFrame = relation.pl()
        return frame
    except duckdb.Error as exc:
        raise InputError(
            f"query failed: {str(exc).splitlines()[0]}",
            hint="views: events, quarantine, account_inputs, cloudtrail, accounts, campaigns, "
            "evidence, history (see docs/case-folder.md)",
        ) from None
    finally:
        con.close()
