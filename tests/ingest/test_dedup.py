"""Duplicate event ids (``ingest/dedup.py``): the memory the case-wide search may use.

The duplicate rule itself (which copy stays, across files, runs and orders) is tested in
``tests/test_case.py`` and ``tests/ingest/test_hostile.py``.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from ingest_support import canonical_record, jsonl_bytes, read_case

from distillscan.case import Resources, connect
from distillscan.ingest import dedup, ingest


def _limit(con: Any) -> str:
    return str(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])


def test_the_memory_limit_is_lowered_for_the_block_and_set_back() -> None:
    con = connect()
    default = _limit(con)
    with dedup._memory_at_most(con, "1GiB", None):
        assert _limit(con) == "1.0 GiB"
    assert _limit(con) == default
    # A lower limit (the user's --memory-limit) is kept.
    con.execute("SET memory_limit = '500MB'")
    with dedup._memory_at_most(con, "1GiB", "500MB"):
        assert _limit(con) == "476.8 MiB"
    assert _limit(con) == "476.8 MiB"
    # A higher one is set back as the user gave it, after a failure too.
    con.execute("SET memory_limit = '8GB'")
    with pytest.raises(duckdb.Error), dedup._memory_at_most(con, "100MB", "8GB"):
        assert _limit(con) == "95.3 MiB"
        con.execute("SELECT no_such_function()")
    assert _limit(con) == "7.4 GiB"


@pytest.mark.parametrize(
    ("cap", "user_limit", "inside", "failures"),
    [
        ("64MB", None, "61.0 MiB", []),  # enough: the search runs within it
        ("200MB", "100MB", "95.3 MiB", []),  # the user's --memory-limit is lower: it stays
        ("1MB", None, "976.5 KiB", ["OutOfMemoryException"]),  # too little: run again uncapped
    ],
)
def test_duplicates_resolve_the_same_whether_the_search_fits_its_cap_or_not(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cap: str,
    user_limit: str | None,
    inside: str,
    failures: list[str],
) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_bytes(jsonl_bytes(canonical_record(i) for i in range(20_000)))
    second.write_bytes(jsonl_bytes(canonical_record(i) for i in range(0, 20_000, 2)))
    seen: list[str] = []
    failed: list[str] = []
    capped = dedup._memory_at_most

    @contextlib.contextmanager
    def spy(con: Any, limit: str, opened_with: str | None) -> Iterator[None]:
        with capped(con, limit, opened_with):
            seen.append(_limit(con))
            try:
                yield
            except Exception as exc:
                failed.append(type(exc).__name__)
                raise

    monkeypatch.setattr(dedup, "RESOLVE_MEMORY_LIMIT", cap)
    monkeypatch.setattr(dedup, "_memory_at_most", spy)
    report = ingest([first, second], tmp_path / "case", resources=Resources(user_limit))
    assert (seen, failed) == ([inside], failures)
    assert report.rows_loaded == 20_000 and report.rows_quarantined == 10_000
    # The rule: the copy in the file whose sha256 sorts first stays.
    keeper, loser = sorted([first, second], key=lambda p: hashlib.sha256(p.read_bytes()).digest())
    events = read_case(tmp_path / "case", "events", "source_file, source_line")
    assert {file for file, _ in events} == (
        {"a.jsonl"} if keeper == first else {"a.jsonl", "b.jsonl"}
    )
    reasons = read_case(tmp_path / "case", "quarantine", "source_file, reason")
    assert len(reasons) == 10_000 and {file for file, _ in reasons} == {loser.name}
