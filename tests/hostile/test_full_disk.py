"""A disk that fills up while a case is written: one clear message, exit 2, the case unchanged.

The process runs with a file size limit (``RLIMIT_FSIZE``, its signal ignored), so every write
past it fails with ``EFBIG`` as a full disk fails with ``ENOSPC``: the writes of Parquet parts
by pyarrow and DuckDB, and Python's own. A write that fails is the machine's fault, never the
input's: it must not be reported as "cannot read" an input, file after file.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

from distillscan.verify import verify

#: Bytes any file the command writes may reach: the parts of the big log do not fit.
FILE_LIMIT = 40_000


def _limited() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))


def _run(*args: str | Path, limited: bool) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "distillscan", *map(str, args)],
        preexec_fn=_limited if limited else None,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "100", "NO_COLOR": "1"},
        timeout=120,
    )


def _log(path: Path, count: int) -> None:
    # Prompts that do not compress: the parts are as large as the text.
    records = [
        {
            "event_id": f"req_{i:06d}",
            "timestamp": f"2026-02-03T14:{i // 60 % 60:02d}:{i % 60:02d}Z",
            "account_id": f"acct_{i % 7}",
            "model": "frontier-2",
            "prompt": " ".join(hashlib.sha256(f"{i}:{k}".encode()).hexdigest() for k in range(4)),
        }
        for i in range(count)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")


def test_a_full_disk_leaves_the_case_as_it_was(tmp_path: Path) -> None:
    small, big = tmp_path / "small.jsonl", tmp_path / "big.jsonl"
    _log(small, 20)
    _log(big, 3_000)
    case = tmp_path / "case"
    assert _run("ingest", small, "--case", case, limited=False).returncode == 0
    before = (case / "manifest.json").read_bytes()

    run = _run("ingest", big, "--case", case, limited=True)

    assert run.returncode == 2, run.stderr
    assert f"{case}: cannot write the case before anything was committed" in run.stderr
    assert "File too large" in run.stderr
    assert "cannot read" not in run.stderr and "Traceback" not in run.stderr
    assert (case / "manifest.json").read_bytes() == before
    assert verify(case).ok
    # The next ingest, with room, finishes the job.
    assert _run("ingest", big, "--case", case, limited=False).returncode == 0
    assert verify(case).ok


def test_a_case_folder_made_by_a_run_that_wrote_nothing_is_removed(tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    _log(big, 3_000)
    for command in ("ingest", "investigate"):
        case = tmp_path / f"{command}-case"
        run = _run(command, big, "--case", case, limited=True)
        assert run.returncode == 2, run.stderr
        assert "cannot write the case" in run.stderr and "Traceback" not in run.stderr
        assert not case.exists()


def test_an_investigation_that_cannot_write_its_results_says_so(tmp_path: Path) -> None:
    """The case is ingested; the investigation's own files (the text features, the results)
    do not fit: a clear message, exit 2, and the case as ingest left it."""
    big = tmp_path / "big.jsonl"
    _log(big, 3_000)
    case = tmp_path / "case"
    assert _run("ingest", big, "--case", case, limited=False).returncode == 0

    run = _run("investigate", "--case", case, "-q", "--brief", limited=True)

    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith("error: cannot write: no room left (")
    assert "damaged" not in run.stderr and "Traceback" not in run.stderr
    assert not (case / "investigation.json").exists()
    assert verify(case).ok
