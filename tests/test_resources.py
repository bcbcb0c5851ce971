"""--memory-limit and --temp-dir reach DuckDB; a bad value is a one-line error with exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from ingest_support import canonical_record, jsonl_bytes
from typer.testing import CliRunner

from distillscan.case import Resources, connect
from distillscan.cli import app
from distillscan.errors import ConfigError


def test_resources_are_applied_to_the_connection(tmp_path: Path) -> None:
    con = connect(resources=Resources("300MB", tmp_path / "spill"))
    limit, spill = con.execute(
        "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
    ).fetchall()[0]
    assert limit.replace(" ", "").upper().startswith(("286.1MIB", "300.0MB", "286MIB"))
    assert spill == str((tmp_path / "spill").resolve())
    assert (tmp_path / "spill").is_dir()


def test_a_bad_memory_limit_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="memory limit 'lots'"):
        connect(resources=Resources("lots"))


def test_cli_options(tmp_path: Path) -> None:
    log = tmp_path / "a.jsonl"
    log.write_bytes(jsonl_bytes([canonical_record(i) for i in range(5)]))
    runner = CliRunner()
    ok = runner.invoke(
        app,
        [
            "ingest",
            str(log),
            "--case",
            str(tmp_path / "case"),
            "--memory-limit",
            "400MB",
            "--temp-dir",
            str(tmp_path / "spill"),
            "-q",
        ],
    )
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(
        app, ["investigate", "--case", str(tmp_path / "case"), "--memory-limit", "lots", "-q"]
    )
    assert bad.exit_code == 2
    assert "memory limit 'lots'" in bad.output
    assert "Traceback" not in bad.output
