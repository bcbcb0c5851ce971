"""Bundles: many small files of one folder load as one input, with the rows they give alone.

The folder mixes what a logger's bucket really holds: one LiteLLM request per ``.json`` file
(the fixture's eight rows, among them a row without ``startTime``), a few requests per
``.jsonl`` file, canonical events (one without an id, so its made-up id names its own file),
a broken file, a lone JSON object that is not a log, and a file large enough to load alone.
Loaded with bundles and one file at a time, the events and the quarantine must be the same
rows, except ``source_sha256`` (the input's hash: the bundle's, or the file's).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from ingest_support import DATA, canonical_record

from distillscan.case import Case
from distillscan.ingest import bundle, ingest
from distillscan.verify import verify

SPENDLOGS = (DATA / "ingest" / "litellm" / "spendlogs.jsonl").read_text("utf-8").splitlines()


def _folder(root: Path) -> Path:
    folder = root / "bucket" / "2026-02-03"
    folder.mkdir(parents=True)
    for copy in range(3):  # 24 one-request files: LiteLLM's S3 logger
        for index, line in enumerate(SPENDLOGS):
            record = json.loads(line)
            if "request_id" in record:
                record["request_id"] = f"{record['request_id']}-{copy}"
            (folder / f"req-{copy}-{index}.json").write_text(json.dumps(record, indent=2))
    for index in range(6):  # canonical JSON lines files of three records
        lines = [
            json.dumps(canonical_record(index * 3 + k, event_id=None if k == 1 else f"c{index}{k}"))
            for k in range(3)
        ]
        (folder / f"canonical-{index}.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "broken-0.jsonl").write_text(
        json.dumps(canonical_record(99)) + "\n{not json\n" + json.dumps(canonical_record(98))
    )
    (folder / "settings.json").write_text('{"retention_days": 30}')  # not a log
    big = [json.dumps(canonical_record(1000 + i)) for i in range(40)]
    (folder / "large.jsonl").write_text("\n".join(big) + "\n")
    return folder


def _rows(case_dir: Path, table: str) -> list[dict[str, Any]]:
    con = Case(case_dir).connect()
    try:
        relation = con.sql(f"SELECT * FROM {table}")
        rows = [
            {k: v for k, v in zip(relation.columns, row, strict=True) if k != "source_sha256"}
            for row in relation.fetchall()
        ]
    finally:
        con.close()
    return sorted(rows, key=lambda r: (r["source_file"], r["source_line"]))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return _folder(tmp_path)


def test_bundled_rows_are_the_rows_of_each_file_alone(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bundle, "MIN_FILES", 4)
    monkeypatch.setattr(bundle, "MAX_FILE_BYTES", 6000)
    bundled = ingest([folder], tmp_path / "bundled")
    monkeypatch.setattr(bundle, "MIN_FILES", 10**9)
    alone = ingest([folder], tmp_path / "alone")

    assert _rows(tmp_path / "bundled", "events") == _rows(tmp_path / "alone", "events")
    # Alone, a file whose one row has no time fails as a file (read with the wrong format?);
    # in a bundle whose other files have times, that row is quarantined like any other.
    untimed = [f"2026-02-03/req-{copy}-7.json" for copy in range(3)]
    assert [error.split(":")[0] for error in alone.errors] == untimed
    assert bundled.errors == []
    quarantined = _rows(tmp_path / "bundled", "quarantine")
    assert [r for r in quarantined if r["source_file"] not in untimed] == _rows(
        tmp_path / "alone", "quarantine"
    )
    assert {r["reason"] for r in quarantined if r["source_file"] in untimed} == {"ts: missing"}
    assert (
        bundled.skipped
        == alone.skipped
        == [
            {
                "path": "2026-02-03/settings.json",
                "reason": "not a log: one JSON object (keys: "
                "retention_days) that no log format recognises",
            }
        ]
    )
    assert (bundled.rows_read, bundled.rows_loaded, bundled.rows_quarantined) == (
        alone.rows_read + 3,
        alone.rows_loaded,
        alone.rows_quarantined + 3,
    )
    paths = sorted(entry["path"] for entry in bundled.loaded)
    assert paths == [
        "2026-02-03/ (24 files: req-0-0.json … req-2-7.json)",
        "2026-02-03/ (7 files: broken-0.jsonl … canonical-5.jsonl)",
        "2026-02-03/large.jsonl",
    ]
    litellm = next(e for e in bundled.loaded if e["format"] == "litellm")
    assert [m["path"] for m in litellm["members"]][:2] == [
        "2026-02-03/req-0-0.json",
        "2026-02-03/req-0-1.json",
    ]
    assert litellm["sha256"] == bundle.bundle_sha256(
        [(Path(m["path"]).name, m["sha256"]) for m in litellm["members"]]
    )
    # The record without an id is named by its own file, not by the bundle.
    made_up = [r["event_id"] for r in _rows(tmp_path / "bundled", "events") if ":" in r["event_id"]]
    assert len(made_up) == 6 and len(set(made_up)) == 6
    assert verify(tmp_path / "bundled").ok


def test_files_already_in_the_case_are_not_read_again(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bundle, "MIN_FILES", 4)
    case_dir = tmp_path / "case"
    ingest([folder], case_dir)
    again = ingest([folder], case_dir)
    assert again.loaded == [] and len(again.already) == 32  # 24 + 7 + large.jsonl
    for index in range(5):  # the next requests of the day
        record = json.loads(SPENDLOGS[0])
        record["request_id"] = f"late-{index}"
        (folder / f"req-9-{index}.json").write_text(json.dumps(record))
    later = ingest([folder], case_dir)
    assert [(e["path"], e["rows_loaded"]) for e in later.loaded] == [
        ("2026-02-03/ (5 files: req-9-0.json … req-9-4.json)", 5)
    ]
    assert verify(case_dir).ok


def test_verify_names_a_bundled_file_changed_after_ingest(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bundle, "MIN_FILES", 4)
    case_dir = tmp_path / "case"
    ingest([folder], case_dir)
    (folder / "req-1-3.json").write_text("{}")
    result = verify(case_dir)
    assert not result.ok
    assert any("req-1-3.json" in p.subject + p.message for p in result.problems)


def test_a_bundle_whose_rows_name_no_account_fails_with_the_mapping_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bundle, "MIN_FILES", 4)
    folder = tmp_path / "batch"
    folder.mkdir()
    for index in range(6):
        (folder / f"{index}.json").write_text(json.dumps(canonical_record(index, account_id=None)))
    report = ingest([folder], tmp_path / "case", format_name="canonical")
    assert report.loaded == []
    assert len(report.errors) == 1
    assert report.errors[0].startswith(
        "batch/ (6 files: 0.json … 5.json): no row says which account"
    )
    assert "--mapping" in report.errors[0]


def test_a_report_may_not_overwrite_a_bundled_file(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bundle, "MIN_FILES", 4)
    case_dir = tmp_path / "case"
    ingest([folder], case_dir)
    reason = Case(case_dir).refuses_output(folder / "req-0-2.json")
    assert reason == "is an input of the case (2026-02-03/req-0-2.json)"
    assert Case(case_dir).refuses_output(tmp_path / "report.md") is None


def test_cloudtrail_delivery_files_bundle_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CloudTrail writes a ``.json.gz`` of ``Records`` every five minutes per region: a day's
    folder loads as one input, its rows those of each file alone."""
    monkeypatch.setattr(bundle, "MIN_FILES", 4)
    trail = json.loads((DATA / "ingest" / "cloudtrail" / "bedrock-trail.json").read_text("utf-8"))
    folder = tmp_path / "AWSLogs" / "us-east-1"
    folder.mkdir(parents=True)
    for index in range(6):
        records = [dict(r, requestID=f"{r.get('requestID')}-{index}") for r in trail["Records"]]
        with gzip.open(folder / f"trail_{index:02d}.json.gz", "wt") as handle:
            json.dump({"Records": records}, handle)
    bundled = ingest([folder], tmp_path / "bundled")
    monkeypatch.setattr(bundle, "MIN_FILES", 10**9)
    ingest([folder], tmp_path / "alone")
    (entry,) = bundled.loaded
    assert (entry["target"], entry["path"]) == (
        "cloudtrail",
        "us-east-1/ (6 files: trail_00.json.gz … trail_05.json.gz)",
    )
    assert _rows(tmp_path / "bundled", "cloudtrail") == _rows(tmp_path / "alone", "cloudtrail")
    assert verify(tmp_path / "bundled").ok


def test_reports_count_the_files_of_a_bundle(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bundle is one input of many files: the report says how many files were read."""
    from typer.testing import CliRunner

    from distillscan.cli import app

    monkeypatch.setattr(bundle, "MIN_FILES", 4)
    monkeypatch.setattr(bundle, "MAX_FILE_BYTES", 6000)
    runner = CliRunner()
    env = {"COLUMNS": "200", "NO_COLOR": "1"}
    case_dir = tmp_path / "case"
    result = runner.invoke(app, ["investigate", str(folder), "--case", str(case_dir)], env=env)
    assert result.exit_code == 0, result.output
    assert "32 files in 3 inputs" in result.stdout
    report = runner.invoke(app, ["report", str(case_dir), "--format", "json"], env=env)
    inputs = json.loads(report.stdout)["manifest"]["inputs"]
    assert sorted(i["files"] for i in inputs) == [1, 7, 24]
