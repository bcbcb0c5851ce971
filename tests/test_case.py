"""The case folder under interruption: a killed ingest leaves it as before, a re-run finishes.

Two ways of interrupting: a real ``SIGKILL`` of an ingest subprocess once its first part is
staged, and an in-process crash injected before every file-system step of an ingest (each move,
rename and deletion), on a run that also rewrites an earlier input's parts (a duplicate id that
now sorts first) and republishes ``accounts.parquet``. After each crash the committed state must
be exactly the state before or the state after, and a plain re-run must reach the state after.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from ingest_support import canonical_record, jsonl_bytes, manifest_of
from typer.testing import CliRunner

from distillscan.case import Case
from distillscan.cli import app
from distillscan.errors import CaseError
from distillscan.ingest import ingest
from distillscan.verify import verify

REPO = Path(__file__).resolve().parents[1]


def snapshot(case_dir: Path) -> dict[str, Any]:
    """The committed state of a case: manifest inputs (minus run metadata) and table contents.

    Tables are read through the parts the manifest lists, as every distillscan command does.
    """
    case = Case(case_dir)
    if not case.exists():
        return {"inputs": [], "events": [], "quarantine": [], "accounts_inputs": []}
    manifest = case.load_manifest()
    inputs = [
        {k: v for k, v in entry.items() if k not in ("run_metadata", "part", "quarantine_part")}
        for entry in manifest["inputs"]
    ]
    con = duckdb.connect()
    state: dict[str, Any] = {"inputs": inputs, "totals": manifest["totals"]}
    for table, columns in (
        ("events", "event_id, account_id, ts, prompt, source_file, source_line"),
        ("quarantine", "source_file, source_line, reason"),
        ("accounts", "account_id, country, source_file, source_line"),
    ):
        parts = [str(p) for p in case.parts(table, manifest)]
        state[f"{table}_inputs"] = (
            sorted(con.execute(f"SELECT {columns} FROM read_parquet($p)", {"p": parts}).fetchall())
            if parts
            else []
        )
    con.close()
    return state


def accounts_table(case_dir: Path) -> list[tuple[Any, ...]]:
    path = case_dir / "accounts.parquet"
    if not path.exists():
        return []
    con = duckdb.connect()
    rows = con.execute(
        "SELECT account_id, country FROM read_parquet($p) ORDER BY ALL", {"p": str(path)}
    ).fetchall()
    con.close()
    return rows


def test_sigkill_after_first_staged_part_leaves_the_case_as_before(tmp_path: Path) -> None:
    case = tmp_path / "case"
    first = tmp_path / "first.jsonl"
    first.write_bytes(jsonl_bytes(canonical_record(i) for i in range(10)))
    ingest([first], case)
    before = snapshot(case)
    manifest_bytes = (case / "manifest.json").read_bytes()

    logs = tmp_path / "logs"
    logs.mkdir()
    for n in range(4):
        records = (canonical_record(100_000 * (n + 1) + i) for i in range(60_000))
        (logs / f"part-{n}.jsonl").write_bytes(jsonl_bytes(records))
    command = [sys.executable, "-m", "distillscan", "ingest", str(logs), "--case", str(case), "-q"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    staging = case / ".staging"
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if any(staging.glob("*/*.parquet")):
            break
        time.sleep(0.005)
    if process.poll() is not None:
        pytest.fail("the ingest finished before a part was staged: make the input larger")
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL

    assert (case / "manifest.json").read_bytes() == manifest_bytes
    assert snapshot(case) == before
    result = verify(case)
    assert result.ok, result.problems
    con = duckdb.connect(str(case / "case.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM events").fetchall() == [(10,)]
    con.close()

    report = ingest([logs], case)
    assert report.errors == []
    assert report.rows_loaded == 240_000
    assert manifest_of(case)["totals"]["rows_loaded"] == 240_010
    assert not staging.exists()
    assert verify(case).ok


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing on the way catches it."""


def _crashing_at(step: int, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make the ``step``-th file-system change of the process raise :class:`Crash` instead."""
    done: list[str] = []
    originals = {
        "replace": Path.replace,
        "unlink": Path.unlink,
        "rmtree": shutil.rmtree,
    }

    def guard(name: str, *args: Any, **kwargs: Any) -> Any:
        if len(done) + 1 == step:
            raise Crash(f"{name} {args[0]}")
        done.append(f"{name} {args[0]}")
        return originals[name](*args, **kwargs)

    monkeypatch.setattr(Path, "replace", lambda *a, **k: guard("replace", *a, **k))
    monkeypatch.setattr(Path, "unlink", lambda *a, **k: guard("unlink", *a, **k))
    monkeypatch.setattr(shutil, "rmtree", lambda *a, **k: guard("rmtree", *a, **k))
    return done


def _sorted_first(prefix: str, tmp_path: Path, smaller_than: str | None) -> Path:
    """An input holding event id ``dup`` whose sha256 sorts before (or after) another's."""
    for attempt in itertools.count():
        records = [
            canonical_record(1, event_id="dup", account_id=f"acct_{prefix}", model=str(attempt)),
            canonical_record(2, event_id=f"{prefix}-own"),
        ]
        data = jsonl_bytes(records)
        sha = hashlib.sha256(data).hexdigest()
        if smaller_than is None or sha < smaller_than:
            path = tmp_path / f"{prefix}.jsonl"
            path.write_bytes(data)
            return path
    raise AssertionError("unreachable")


def test_crash_before_any_file_system_step_leaves_before_or_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    older = _sorted_first("older", inputs, smaller_than=None)
    older_sha = hashlib.sha256(older.read_bytes()).hexdigest()
    newer = _sorted_first("newer", inputs, smaller_than=older_sha)
    accounts_a = inputs / "accounts-a.csv"
    accounts_a.write_text("account_id,country\nacct_older,FR\n")
    accounts_b = inputs / "accounts-b.csv"
    accounts_b.write_text("account_id,country\nacct_newer,DE\nacct_older,ES\n")

    template = tmp_path / "template"
    ingest([older], template, accounts=[accounts_a])
    before = snapshot(template)
    reference = tmp_path / "reference"
    shutil.copytree(template, reference)
    ingest([newer], reference, accounts=[accounts_b])
    after = snapshot(reference)
    assert before != after
    # The run under test rewrites the older input's parts: its "dup" row now loses.
    assert any(
        "duplicate of event_id dup at newer.jsonl:1" in r[2] for r in after["quarantine_inputs"]
    )
    expected_accounts = accounts_table(reference)

    outcomes = set()
    for step in itertools.count(1):
        case = tmp_path / f"crash-{step}"
        shutil.copytree(template, case)
        with monkeypatch.context() as patch:
            done = _crashing_at(step, patch)
            try:
                ingest([newer], case, accounts=[accounts_b])
            except Crash:
                crashed = True
            else:
                crashed = False
        state = snapshot(case)
        assert state in (before, after), f"half-written state after step {step}: {done[-3:]}"
        outcomes.add("before" if state == before else "after")
        ingest([newer], case, accounts=[accounts_b])  # the re-run finishes the job
        assert snapshot(case) == after, f"re-run after a crash at step {step}"
        assert accounts_table(case) == expected_accounts
        result = verify(case)
        assert result.ok, (step, result.problems)
        assert not (case / ".staging").exists()
        if not crashed:
            break
    assert step > 5, step  # the scenario exercised a real commit sequence
    assert outcomes == {"before", "after"}


def test_a_second_writer_is_refused_while_the_case_is_locked(tmp_path: Path) -> None:
    case = tmp_path / "case"
    log = tmp_path / "a.jsonl"
    log.write_bytes(jsonl_bytes([canonical_record(1)]))
    ingest([log], case)
    with Case(case).lock():
        with pytest.raises(CaseError, match="another distillscan command is using this case"):
            ingest([log], case)
        result = CliRunner().invoke(app, ["ingest", str(log), "--case", str(case)])
        assert result.exit_code == 2
        assert "another distillscan command is using this case" in result.output
        verify_result = CliRunner().invoke(app, ["verify", str(case)])
        assert verify_result.exit_code == 2


def test_debris_of_an_interrupted_run_is_removed_and_never_read(tmp_path: Path) -> None:
    case = tmp_path / "case"
    log = tmp_path / "a.jsonl"
    log.write_bytes(jsonl_bytes([canonical_record(1)]))
    ingest([log], case)
    stray = case / "events.parquet" / "0123456789abcdef0123456789abcdef.parquet"
    shutil.copy(next((case / "events.parquet").iterdir()), stray)
    (case / ".staging" / "events.parquet").mkdir(parents=True)
    (case / "manifest.json.tmp").write_text("{half")
    problems = verify(case).problems
    assert [p.subject for p in problems] == ["events.parquet/" + stray.name]
    con = Case(case).connect()
    assert con.execute("SELECT count(*) FROM events").fetchall() == [(1,)]
    con.close()
    other = tmp_path / "b.jsonl"
    other.write_bytes(jsonl_bytes([canonical_record(2)]))
    ingest([other], case)
    assert not stray.exists()
    assert not (case / ".staging").exists()
    assert not (case / "manifest.json.tmp").exists()
    assert verify(case).ok


@pytest.mark.parametrize("runs", ["one run", "one run per file"])
def test_duplicate_rule_does_not_depend_on_file_or_run_order(tmp_path: Path, runs: str) -> None:
    files = []
    for n, ids in enumerate([["a", "b", "c"], ["b", "c", "d"], ["c", "a", "e"]]):
        path = tmp_path / f"in-{n}.jsonl"
        path.write_bytes(
            jsonl_bytes(
                canonical_record(i, event_id=event_id, account_id=f"acct_{n}")
                for i, event_id in enumerate(ids)
            )
        )
        files.append(path)
    states = []
    for order_index, order in enumerate(itertools.permutations(files)):
        case = tmp_path / f"case-{order_index}"
        if runs == "one run":
            ingest(list(order), case)
        else:
            for path in order:
                ingest([path], case)
        state = snapshot(case)
        states.append({k: v for k, v in state.items() if k != "inputs"})
        ids = [row[0] for row in state["events_inputs"]]
        assert sorted(ids) == ["a", "b", "c", "d", "e"]
        assert manifest_of(case)["totals"] == {
            "rows_read": 9,
            "rows_loaded": 5,
            "rows_quarantined": 4,
        }
        assert verify(case).ok
    assert all(state == states[0] for state in states)
    reasons = [row[2] for row in states[0]["quarantine_inputs"]]
    assert all(reason.startswith("duplicate of event_id ") for reason in reasons)


def test_manifest_records_inputs_without_wall_clock_outside_run_metadata(tmp_path: Path) -> None:
    log = tmp_path / "a.jsonl"
    log.write_bytes(jsonl_bytes([canonical_record(1)]))
    ingest([log], tmp_path / "case")
    [entry] = manifest_of(tmp_path / "case")["inputs"]
    metadata = entry.pop("run_metadata")
    assert metadata["absolute_path"] == str(log)
    assert "ingested_at" in metadata
    text = json.dumps(entry)
    assert str(tmp_path) not in text
    assert entry["path"] == "a.jsonl"


def test_file_order_does_not_change_the_case(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    for n in range(3):
        records = [canonical_record(10 * n + i) for i in range(4)] + [canonical_record(0)]
        (logs / f"f{n}.jsonl").write_bytes(jsonl_bytes(records) + b"not json\n")
    paths = sorted(logs.iterdir())
    first, second = tmp_path / "first", tmp_path / "second"
    ingest(paths, first)
    ingest(list(reversed(paths)), second)

    def without_run_metadata(case: Path) -> dict[str, Any]:
        manifest = manifest_of(case)
        for entry in manifest["inputs"]:
            del entry["run_metadata"]
        del manifest["manifest_sha256"]  # the seal covers the run metadata too
        return manifest

    assert without_run_metadata(first) == without_run_metadata(second)
    assert snapshot(first) == snapshot(second)
    parts = sorted(p.relative_to(first) for p in first.rglob("*.parquet"))
    assert parts == sorted(p.relative_to(second) for p in second.rglob("*.parquet"))
