"""The per-part cache of text features (``features.parquet/``): written once per part, used by
later runs and reports, checked by ``verify``, and never changing what is found."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from distillscan.case import Case
from distillscan.cli import app
from distillscan.detect.text_cache import CACHE_DIR, FINGERPRINT, INDEX, cache_file

SAMPLE = Path(__file__).resolve().parents[2] / "sample_logs" / "logs"
runner = CliRunner()


def _investigate(case: Path, *paths: Path) -> None:
    result = runner.invoke(
        app, ["investigate", *map(str, paths), "--case", str(case), "-q", "--brief"]
    )
    assert result.exit_code == 0, result.stderr


@pytest.fixture(scope="module")
def two_days(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A case of the sample's first day, then its second added: two parts, two cache files."""
    case = tmp_path_factory.mktemp("cache") / "case"
    days = sorted(SAMPLE.iterdir())
    _investigate(case, days[0])
    first = {p.name: p.stat().st_mtime_ns for p in (case / CACHE_DIR).glob("*.parquet")}
    assert len(first) == 1
    _investigate(case, days[1])
    again = {p.name: p.stat().st_mtime_ns for p in (case / CACHE_DIR).glob("*.parquet")}
    assert len(again) == 2
    # The first day's file was kept as it was: only the new day's text was read.
    assert all(again[name] == mtime for name, mtime in first.items())
    return case


def test_one_file_per_part_with_its_hash_in_the_index(two_days: Path) -> None:
    case = Case(two_days)
    files = [cache_file(case, part) for part in case.parts("events")]
    assert all(f.is_file() and FINGERPRINT in f.name for f in files)
    index = json.loads((two_days / CACHE_DIR / INDEX).read_text("utf-8"))
    assert index["fingerprint"] == FINGERPRINT
    assert sorted(index["files"]) == sorted(f.name for f in files)
    rows = pl.read_parquet(files)
    events = pl.read_parquet(case.parts("events"))
    assert sorted(rows["event_id"]) == sorted(events["event_id"])
    assert rows.columns[0] == "event_id" and "head" in rows.columns


def test_results_do_not_depend_on_the_cache(two_days: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(two_days, copy)
    shutil.rmtree(copy / CACHE_DIR)
    # A report reads the case as it is: what the cache lacks is computed in memory, not written.
    report = runner.invoke(app, ["report", str(copy), "-f", "json"])
    assert report.exit_code == 0 and not (copy / CACHE_DIR).exists()
    before = runner.invoke(app, ["report", str(two_days), "-f", "json"]).stdout
    assert report.stdout == before
    _investigate(copy)
    for name in ("accounts.parquet", "campaigns.parquet", "evidence.parquet"):
        assert (copy / name).read_bytes() == (two_days / name).read_bytes(), name


def test_verify_names_a_changed_cache_file_and_stale_files_go(
    two_days: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(two_days, copy)
    assert runner.invoke(app, ["verify", str(copy)]).exit_code == 0
    target = sorted((copy / CACHE_DIR).glob("*.parquet"))[0]
    frame = pl.read_parquet(target)
    frame.with_columns(
        pl.lit(0, frame["prompt_cot_mask"].dtype).alias("prompt_cot_mask")
    ).write_parquet(target)
    result = runner.invoke(app, ["verify", str(copy)])
    assert result.exit_code == 1 and target.name in result.stdout
    # Files of another phrase data (another fingerprint) are removed by the next investigation.
    stale = copy / CACHE_DIR / "old-part.0000000000000000.parquet"
    stale.write_bytes(b"x")
    target.unlink()
    _investigate(copy)
    assert not stale.exists() and target.is_file()
    assert runner.invoke(app, ["verify", str(copy)]).exit_code == 0
