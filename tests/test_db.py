"""SQL helpers shared by the analysis and the report."""

from __future__ import annotations

from datetime import datetime

import duckdb

from distillscan.db import in_window_sql


def test_the_window_is_read_to_the_microsecond_on_both_sides() -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE events AS SELECT * FROM (VALUES "
        "(TIMESTAMP '2026-01-12 08:00:00.400'), (TIMESTAMP '2026-01-12 08:00:00.600'), "
        "(TIMESTAMP '2026-01-12 09:00:00.000')) AS t(ts)"
    )
    window = (datetime(2026, 1, 12, 8, 0, 0, 500000), datetime(2026, 1, 12, 9, 0, 0))
    rows = con.execute(f"SELECT ts FROM ({in_window_sql('events', window)}) ORDER BY ts").fetchall()
    assert rows == [(datetime(2026, 1, 12, 8, 0, 0, 600000),)]
    assert con.execute(
        f"SELECT count(*) FROM ({in_window_sql('events', (None, None))})"
    ).fetchone() == (3,)
