"""Helpers for pass tests: a DuckDB connection whose ``events`` view holds hand-made rows."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from distillscan.case import connect
from distillscan.config import defaults
from distillscan.detect import features, parameters
from distillscan.detect.base import Context
from distillscan.schema import EVENTS_ARROW_SCHEMA

START = datetime(2026, 2, 2)
_EVENT_NUMBERS = itertools.count()
EventsFactory = Callable[[Iterable[Mapping[str, Any]]], duckdb.DuckDBPyConnection]


def event(
    account: str, minutes: float, prompt: str | None = "hello", **fields: Any
) -> dict[str, Any]:
    """One canonical event ``minutes`` after the test epoch, with sensible defaults."""
    row: dict[str, Any] = {
        # Unique, as in a case (ingest keeps one row per event id).
        "event_id": f"{account}-{minutes}-{next(_EVENT_NUMBERS)}",
        "ts": START + timedelta(minutes=minutes),
        "account_id": account,
        "model": "frontier-1",
        "prompt": prompt,
        "n_turns": 1,
        "has_history": False,
        "n_images": 0,
        "n_tools": 0,
        "text_available": prompt is not None,
        "source_format": "canonical",
        "source_file": "test.jsonl",
        "source_line": 1,
    }
    row.update(fields)
    return row


@pytest.fixture
def events_con() -> EventsFactory:
    """Build a connection with ``events`` and ``event_features`` from rows."""

    def build(rows: Iterable[Mapping[str, Any]]) -> duckdb.DuckDBPyConnection:
        rows = list(rows)
        columns = {name: [r.get(name) for r in rows] for name in EVENTS_ARROW_SCHEMA.names}
        table = pa.table(columns, schema=EVENTS_ARROW_SCHEMA)
        con = connect()
        con.register("events_rows", table)
        con.execute("CREATE TEMP VIEW events AS SELECT * FROM events_rows")
        features.build(con)
        return con

    return build


def context(con: duckdb.DuckDBPyConnection, pass_id: str, **overrides: Any) -> Context[Any]:
    """A pass context with the default parameters (optionally overridden)."""
    tables = defaults()["passes"]
    tables[pass_id].update(overrides)
    passes = parameters(tables)
    return Context(
        con=con,
        params=passes[pass_id],
        available=frozenset({"prompt", "ts", "model"}),
        passes=passes,
    )
