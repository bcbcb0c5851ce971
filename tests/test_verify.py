"""``distillscan verify``: a sound case passes; each kind of damage is caught and named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ingest_support import DATA, canonical_record, jsonl_bytes, manifest_of
from typer.testing import CliRunner

from distillscan.case import Case
from distillscan.cli import app
from distillscan.errors import CaseError
from distillscan.ingest import ingest
from distillscan.verify import verify


@pytest.fixture
def sound_case(tmp_path: Path) -> tuple[Path, Path]:
    """A case with two event inputs (one with quarantined rows) and an account input."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.jsonl").write_bytes(jsonl_bytes(canonical_record(i) for i in range(5)))
    shutil.copy(DATA / "hostile" / "invalid_lines.jsonl", logs / "b.jsonl")
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("account_id,country\nacct_1,FR\n")
    case = tmp_path / "case"
    ingest([logs], case, accounts=[accounts])
    return case, logs


def _entry(case: Path, path: str) -> dict[str, str]:
    [entry] = [e for e in manifest_of(case)["inputs"] if e["path"] == path]
    return entry


def _rewrite_manifest(case: Path, change: dict[str, object]) -> None:
    manifest = manifest_of(case)
    for entry in manifest["inputs"]:
        if entry["path"] == "logs/b.jsonl":
            entry.update(change)
    (case / "manifest.json").write_text(json.dumps(manifest))


def test_a_sound_case_passes(sound_case: tuple[Path, Path]) -> None:
    case, _ = sound_case
    result = verify(case)
    assert result.ok, result.problems
    assert (result.inputs, result.rehashed, result.missing) == (3, 3, [])
    assert result.parts == 4  # two event parts, one quarantine part, one account part
    cli = CliRunner().invoke(app, ["verify", str(case)])
    assert cli.exit_code == 0
    assert "ok; 3 input(s), 4 part(s) checked, 3 input file(s) re-hashed, 0 not found" in cli.output


def test_a_changed_input_fails(sound_case: tuple[Path, Path]) -> None:
    case, logs = sound_case
    with (logs / "a.jsonl").open("ab") as handle:
        handle.write(b"\n")
    result = verify(case)
    assert [p.subject for p in result.problems] == ["logs/a.jsonl"]
    assert "has changed since it was ingested" in result.problems[0].message
    cli = CliRunner().invoke(app, ["verify", str(case)])
    assert cli.exit_code == 1
    assert "[x] logs/a.jsonl:" in cli.output


def test_a_missing_input_is_reported_and_fails_only_when_required(
    sound_case: tuple[Path, Path],
) -> None:
    case, logs = sound_case
    (logs / "a.jsonl").unlink()
    result = verify(case)
    assert result.ok and result.missing == ["logs/a.jsonl"]
    assert not verify(case, require_inputs=True).ok
    cli = CliRunner().invoke(app, ["verify", str(case)])
    assert cli.exit_code == 0
    assert "[?] logs/a.jsonl: not found where it was ingested from" in cli.output
    assert CliRunner().invoke(app, ["verify", str(case), "--require-inputs"]).exit_code == 1


def test_counts_that_do_not_reconcile_fail(sound_case: tuple[Path, Path]) -> None:
    case, _ = sound_case
    _rewrite_manifest(case, {"rows_loaded": 4})
    messages = [f"{p.subject}: {p.message}" for p in verify(case).problems]
    assert "logs/b.jsonl: rows_read 9 != rows_loaded 4 + rows_quarantined 6" in messages
    assert "manifest: totals.rows_loaded is 9, the inputs add up to 10" in messages
    assert any("holds 3 rows; the manifest counts 4 (rows_loaded)" in m for m in messages)


def test_a_missing_part_fails(sound_case: tuple[Path, Path]) -> None:
    case, _ = sound_case
    part = _entry(case, "logs/b.jsonl")["quarantine_part"]
    (case / part).unlink()
    [problem] = verify(case).problems
    assert (problem.subject, problem.message) == (part, "listed for logs/b.jsonl but missing")


def test_an_unlisted_part_fails(sound_case: tuple[Path, Path]) -> None:
    case, _ = sound_case
    stray = case / "quarantine.parquet" / "stray.parquet"
    shutil.copy(case / _entry(case, "logs/b.jsonl")["quarantine_part"], stray)
    [problem] = verify(case).problems
    assert problem.subject == "quarantine.parquet/stray.parquet"
    assert "not listed in the manifest" in problem.message


def test_a_part_swapped_for_another_inputs_fails(sound_case: tuple[Path, Path]) -> None:
    case, _ = sound_case
    a_part, b_part = _entry(case, "logs/a.jsonl")["part"], _entry(case, "logs/b.jsonl")["part"]
    shutil.copy(case / a_part, case / b_part)
    messages = [p.message for p in verify(case).problems]
    assert "holds 5 rows; the manifest counts 3 (rows_loaded)" in messages
    assert "5 row(s) come from another input than logs/b.jsonl" in messages
    assert any(m.startswith("event_id req_000000 is loaded 2 times") for m in messages)


def test_a_corrupt_part_fails_without_a_traceback(sound_case: tuple[Path, Path]) -> None:
    case, _ = sound_case
    part = case / _entry(case, "logs/a.jsonl")["part"]
    part.write_bytes(part.read_bytes()[:40])
    result = verify(case)
    assert any(p.message.startswith("unreadable") for p in result.problems)
    cli = CliRunner().invoke(app, ["verify", str(case)])
    assert cli.exit_code == 1 and "Traceback" not in cli.output


def test_stale_accounts_table_fails(sound_case: tuple[Path, Path]) -> None:
    case, _ = sound_case
    manifest = manifest_of(case)
    manifest["accounts_published"] = []
    Case(case).save_manifest(manifest)  # as an interrupted ingest leaves it: sealed
    [problem] = verify(case).problems
    assert problem.subject == "accounts.parquet"


def test_a_hand_edited_manifest_fails(sound_case: tuple[Path, Path]) -> None:
    """The manifest's seal: a count changed consistently still shows."""
    case, _ = sound_case
    manifest = manifest_of(case)
    manifest["inputs"][0]["warnings"] = ["all good"]
    (case / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    [problem] = verify(case).problems
    assert (problem.subject, problem.message) == (
        "manifest",
        "edited since distillscan wrote it (its seal does not match)",
    )


def test_a_value_edited_inside_a_part_is_named(sound_case: tuple[Path, Path]) -> None:
    """Same rows, same input, one value changed: only the part's hash shows it."""
    case, _ = sound_case
    part = case / _entry(case, "logs/a.jsonl")["part"]
    table = pq.read_table(part)
    column = table.schema.get_field_index("model")
    pq.write_table(table.set_column(column, "model", pa.array(["forged"] * table.num_rows)), part)
    [problem] = verify(case).problems
    assert (problem.subject, problem.message) == (
        _entry(case, "logs/a.jsonl")["part"],
        "changed since it was written (not the SHA-256 recorded)",
    )


def test_not_a_case_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(CaseError):
        verify(tmp_path)
    cli = CliRunner().invoke(app, ["verify", str(tmp_path / "nothing")])
    assert cli.exit_code == 2
    assert "not a case folder" in cli.output
    assert not (tmp_path / "nothing").exists()  # verify never creates anything


def test_a_damaged_manifest_is_a_usage_error(sound_case: tuple[Path, Path]) -> None:
    case, _ = sound_case
    (case / "manifest.json").write_text("{ not json")
    cli = CliRunner().invoke(app, ["verify", str(case)])
    assert cli.exit_code == 2
    assert "cannot read the case manifest" in cli.output


def test_verify_changes_nothing(sound_case: tuple[Path, Path]) -> None:
    case, _ = sound_case
    before = {p: p.read_bytes() for p in case.rglob("*") if p.is_file() and p.suffix != ".duckdb"}
    verify(case)
    after = {p: p.read_bytes() for p in case.rglob("*") if p.is_file() and p.suffix != ".duckdb"}
    assert before == after
    assert pq.ParquetFile(case / "accounts.parquet").metadata.num_rows == 1


def test_a_manifest_of_the_wrong_shape_is_a_usage_error(sound_case: tuple[Path, Path]) -> None:
    case, _ = sound_case
    manifest = manifest_of(case)
    del manifest["inputs"][0]["sha256"]
    (case / "manifest.json").write_text(json.dumps(manifest))
    cli = CliRunner().invoke(app, ["verify", str(case)])
    assert cli.exit_code == 2
    assert "the manifest is damaged (input 1 lacks sha256)" in cli.output
    assert "Traceback" not in cli.output
