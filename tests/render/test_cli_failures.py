"""Exit codes that mean one thing each: a damaged case, a closed pipe and a bug are not findings.

0 clean, 1 a finding at ``--fail-on``, 2 a usage or input error (a damaged case included), 3 an
internal error. These go through the installed entry point (:func:`distillscan.cli.run`, or a
real ``python -m distillscan`` process for the pipe), not only through Typer's test runner.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from distillscan import cli
from distillscan.case import Case
from tests.cases import Scenario


def _damaged_copy(scenario: Scenario, tmp_path: Path) -> Path:
    case = tmp_path / "case"
    shutil.copytree(scenario.case, case)
    Case(case).parts("events")[0].unlink()
    return case


@pytest.mark.parametrize("command", ["report", "investigate"])
def test_a_damaged_case_is_an_input_error_that_names_verify(
    command: str, scenario: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = _damaged_copy(scenario, tmp_path)
    args = ["report", str(case)] if command == "report" else ["investigate", "--case", str(case)]
    assert cli.run(args) == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert "case damaged" in err and "events part(s) listed in the manifest are missing" in err
    assert f"distillscan verify {case}" in err
    assert "Traceback" not in err


def test_an_unreadable_part_is_a_damaged_case(
    scenario: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = tmp_path / "case"
    shutil.copytree(scenario.case, case)
    Case(case).parts("events")[0].write_bytes(b"not parquet at all")
    assert cli.run(["report", str(case)]) == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert "case damaged or unreadable" in err and "distillscan verify" in err


def test_a_bug_exits_3_with_one_line_and_no_traceback(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("something the code did not expect")

    monkeypatch.setattr(cli, "build_report", broken)
    monkeypatch.delenv("DISTILLSCAN_DEBUG", raising=False)
    assert cli.run(["report", str(scenario.case)]) == cli.EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: something the code did not expect" in err
    assert "DISTILLSCAN_DEBUG=1" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("extra", "expected"),
    [([], 0), (["--fail-on", "high"], 1), (["--format", "json"], 0)],
)
def test_a_reader_closing_the_pipe_does_not_change_the_exit_code(
    scenario: Scenario, extra: list[str], expected: int
) -> None:
    """``distillscan report CASE | head -0``: the output is cut, the exit code is the run's."""
    process = subprocess.Popen(
        [sys.executable, "-m", "distillscan", "report", str(scenario.case), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"COLUMNS": "80", "NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
    )
    assert process.stdout is not None and process.stderr is not None
    # Closed before the report is written (the interpreter takes longer than this to start),
    # so the first write meets a closed pipe however short the report is.
    process.stdout.close()
    code = process.wait(timeout=120)
    err = process.stderr.read().decode()
    assert code == expected, err
    assert "Traceback" not in err and "BrokenPipe" not in err
