"""Replay: a case analysed again one day at a time, as a daily job would have seen it.

``distillscan eval CASE --truth DIR --by-day`` measures how soon each planted campaign is named.
It does not ingest anything: for each UTC day of the case's data, from the first, it analyses
the events up to the end of that day through the same path as a daily ``investigate`` (every
pass, scoring, linking, and the campaign identities of :mod:`distillscan.tracking` carried from
the day before), with the configuration the case was investigated with. Nothing is written to
the case: the days' results stay in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

from distillscan.case import Case, Resources
from distillscan.config import Config
from distillscan.errors import CaseError
from distillscan.evaluate import DayFindings
from distillscan.investigate import Past, Results, analyse, window_record
from distillscan.report.loader import load_record, reading
from distillscan.tracking import empty_history, run_key

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Day:
    """One replayed day: its date, and what a run at its end reported."""

    day: date
    results: Results

    def findings(self) -> DayFindings:
        """The day as :func:`distillscan.evaluate.time_to_detect` scores it."""
        through = self.results.runs[-1].get("data_through") if self.results.runs else None
        return DayFindings(
            self.day.isoformat(),
            datetime.fromisoformat(through) if isinstance(through, str) else None,
            self.results.accounts,
            self.results.campaigns,
        )


def first_events(case_dir: Path) -> pl.DataFrame:
    """The first request in the case of each account and end user (``account_id``,
    ``end_user_id``, null for traffic without one, ``first_event``)."""
    with Case(case_dir).connect(read_only=True) as con:
        frame: pl.DataFrame = con.sql(
            "SELECT account_id, end_user_id, min(ts) AS first_event FROM events "
            "GROUP BY ALL ORDER BY ALL"
        ).pl()
    return frame


def replay_by_day(
    case_dir: Path, *, resources: Resources | None = None, progress: Progress | None = None
) -> Iterator[Day]:
    """Analyse ``case_dir`` at the end of each day of its data, oldest first.

    Raises:
        CaseError: not an investigated case, or it holds no events.
    """
    say = progress or (lambda _message: None)
    case = Case(case_dir)
    with reading(case_dir):
        record = load_record(case_dir)
        manifest = case.load_manifest()
    config: Config = record.get("config") or {}
    with case.connect(read_only=True) as con:
        first, last = con.execute("SELECT min(ts), max(ts) FROM events").fetchall()[0]
    if first is None or last is None:
        raise CaseError(f"{case_dir}: the case holds no events", hint="ingest logs into it first")
    past = Past([], empty_history(), "")
    day = first.date()
    while day <= last.date():
        end = datetime.combine(day + timedelta(days=1), datetime.min.time())
        say(f"replaying {day.isoformat()}")
        key = run_key(manifest["inputs"], window_record((None, end)), config)
        past = Past(past.runs, past.history, key)
        with reading(case_dir):
            results = analyse(
                case, config, None, end, say, resources, past, None, write_cache=False
            )
        yield Day(day, results)
        past = Past(results.runs, results.history, key)
        day += timedelta(days=1)
