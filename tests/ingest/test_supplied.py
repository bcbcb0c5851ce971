"""``--account``, ``--time`` and ``--time-from-file``: rows without an account or a time get
the investigator's, a row's own value always wins, and the manifest says what was supplied.

Batch files (OpenAI Batch input and output, Anthropic Message Batches) name no account, and
input lines no time: these options are how they load.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from ingest_support import DATA, canonical_record
from typer.testing import CliRunner

from distillscan.case import Case
from distillscan.cli import app
from distillscan.ingest import ingest
from distillscan.ingest.load import Supplied

OPENAI = DATA / "ingest" / "openai"


def _events(case_dir: Path) -> list[tuple[object, ...]]:
    con = Case(case_dir).connect()
    try:
        return con.execute(
            "SELECT source_line, account_id, ts, prompt IS NOT NULL FROM events ORDER BY 1"
        ).fetchall()
    finally:
        con.close()


def test_a_batch_input_file_loads_as_one_account_at_the_given_time(tmp_path: Path) -> None:
    when = datetime(2026, 1, 12, 8, 30)
    report = ingest(
        [OPENAI / "batch_input.jsonl"],
        tmp_path / "case",
        supplied=Supplied(account="acct_batch_7", time=when),
    )
    assert report.errors == [] and report.rows_loaded == 3
    assert _events(tmp_path / "case") == [(line, "acct_batch_7", when, True) for line in (1, 2, 3)]
    (entry,) = Case(tmp_path / "case").load_manifest()["inputs"]
    assert entry["supplied"] == {"account_id": "acct_batch_7", "ts": "2026-01-12 08:30:00"}
    # Every report lists the input's warnings: the reader sees what the log did not say.
    assert entry["warnings"] == [
        "rows without their own account acct_batch_7 or time 2026-01-12 08:30:00 UTC given on "
        "the command line"
    ]


def test_a_batch_output_file_keeps_its_own_times(tmp_path: Path) -> None:
    """Answered lines carry their completion's time; the expired one has none, and no time
    was supplied: it is quarantined, saying what it lacks."""
    report = ingest(
        [OPENAI / "batch_output.jsonl"], tmp_path / "case", supplied=Supplied(account="acct_9")
    )
    assert report.errors == [] and report.rows_loaded == 2
    assert _events(tmp_path / "case") == [
        (1, "acct_9", datetime(2026, 2, 5, 1, 1, 17), False),
        (2, "acct_9", datetime(2026, 2, 5, 1, 1, 18), False),
    ]
    assert report.examples[0].startswith(
        "batch_output.jsonl:3: OpenAI batch line q-00019 carries no request time of its own"
    )
    (entry,) = Case(tmp_path / "case").load_manifest()["inputs"]
    assert entry["supplied"] == {"account_id": "acct_9"}


def test_a_row_s_own_account_and_time_win(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    records = [canonical_record(1), canonical_record(2, account_id=None, timestamp=None)]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    stamp = datetime(2026, 1, 20, 6, 0, tzinfo=UTC).timestamp()
    os.utime(path, (stamp, stamp))
    ingest(
        [path],
        tmp_path / "case",
        format_name="canonical",
        supplied=Supplied(account="acct_given", time_from_file=True),
    )
    assert _events(tmp_path / "case") == [
        (1, "acct_1", datetime(2026, 2, 3, 14, 0, 1), True),
        (2, "acct_given", datetime(2026, 1, 20, 6, 0), True),
    ]


def test_without_them_a_batch_file_fails_naming_the_options(tmp_path: Path) -> None:
    report = ingest([OPENAI / "batch_input.jsonl"], tmp_path / "case")
    (error,) = report.errors
    assert "loaded with --account and --time" in error


def test_command_line(tmp_path: Path) -> None:
    runner = CliRunner()
    both = runner.invoke(
        app,
        [
            "ingest",
            str(OPENAI / "batch_input.jsonl"),
            "--case",
            str(tmp_path / "a"),
            "--account",
            "acct_1",
            "--time",
            "2026-01-12T08:00",
            "--time-from-file",
        ],
    )
    assert both.exit_code == 2
    assert "--time and --time-from-file both give rows a time" in both.output
    loaded = runner.invoke(
        app,
        [
            "ingest",
            str(OPENAI / "batch_input.jsonl"),
            "--case",
            str(tmp_path / "b"),
            "--account",
            "acct_1",
            "--time",
            "2026-01-12T08:00",
        ],
    )
    assert loaded.exit_code == 0, loaded.output
    assert _events(tmp_path / "b")[0][1:3] == ("acct_1", datetime(2026, 1, 12, 8, 0))
