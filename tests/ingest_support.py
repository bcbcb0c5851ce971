"""Builders and readers for the ingest tests (records, archives, case contents).

Imported by name (``from ingest_support import ...``): pytest puts ``tests/`` on ``sys.path`` when
it loads ``tests/conftest.py``. Helpers live here rather than in a conftest because several
test folders have their own ``conftest`` module, and only one of them can be imported by that
name.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import zstandard

from distillscan.case import Case
from distillscan.ingest import ingest
from distillscan.schema import EVENT_COLUMN_NAMES

DATA = Path(__file__).parent / "data"


def canonical_record(index: int, **fields: Any) -> dict[str, Any]:
    """A valid canonical event; ``fields`` override or add keys (None removes one)."""
    record: dict[str, Any] = {
        "event_id": f"req_{index:06d}",
        "timestamp": f"2026-02-03T14:{index // 60 % 60:02d}:{index % 60:02d}Z",
        "account_id": f"acct_{index % 7}",
        "model": "frontier-2",
        "messages": [{"role": "user", "content": f"Explain topic number {index} step by step."}],
        "max_tokens": 1024,
    }
    record.update(fields)
    return {key: value for key, value in record.items() if value is not None}


def jsonl_bytes(records: Iterable[dict[str, Any]]) -> bytes:
    """JSON lines text of ``records``, newline-terminated."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


def gzip_bytes(data: bytes) -> bytes:
    """``data`` gzip-compressed, with a fixed header time so the bytes are reproducible."""
    return gzip.compress(data, mtime=0)


def zstd_bytes(data: bytes) -> bytes:
    """``data`` zstd-compressed."""
    return zstandard.ZstdCompressor(level=3).compress(data)


def read_case(case_dir: Path, table: str, columns: str = "*") -> list[tuple[Any, ...]]:
    """Rows of a case view (``events``, ``quarantine``, ...) ordered by file and line."""
    con = duckdb.connect(str(case_dir / "case.duckdb"), read_only=True)
    try:
        exists = con.execute(
            "SELECT count(*) FROM duckdb_views() WHERE view_name = $name", {"name": table}
        ).fetchall()[0][0]
        if not exists:
            return []
        return con.execute(
            f"SELECT {columns} FROM {table} ORDER BY source_file, source_line"
        ).fetchall()
    finally:
        con.close()


def manifest_of(case_dir: Path) -> dict[str, Any]:
    """The case manifest as a dict."""
    manifest: dict[str, Any] = json.loads((case_dir / "manifest.json").read_text("utf-8"))
    return manifest


Events = dict[int, dict[str, Any]]


def load_fixture(path: Path, case_dir: Path) -> tuple[dict[str, Any], Events, dict[int, str]]:
    """Ingest one fixture into a new case: its manifest entry, events and quarantine by line."""
    report = ingest([path], case_dir)
    assert report.errors == []
    case = Case(case_dir)
    (entry,) = case.load_manifest()["inputs"]
    con = case.connect(read_only=True)
    events: Events = {}
    reasons: dict[int, str] = {}
    if entry["rows_loaded"]:
        relation = con.sql("SELECT * EXCLUDE (source_sha256) FROM events")
        for row in relation.fetchall():
            event = dict(zip(relation.columns, row, strict=True))
            events[event["source_line"]] = event
    if entry["rows_quarantined"]:
        reasons = dict(con.sql("SELECT source_line, reason FROM quarantine").fetchall())
    con.close()
    return entry, events, reasons


def expected_row(
    source_format: str, source_file: str, source_line: int, **values: Any
) -> dict[str, Any]:
    """A full expected event: every column not given is expected to be NULL."""
    row: dict[str, Any] = dict.fromkeys(c for c in EVENT_COLUMN_NAMES if c != "source_sha256")
    row.update(source_format=source_format, source_file=source_file, source_line=source_line)
    row.update(values)
    return row
