"""``sample_logs/`` is exactly what its documented command writes, byte for byte."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

import pytest

from distillscan.simulate import SimulationConfig, simulate

SAMPLE = Path(__file__).resolve().parents[2] / "sample_logs"


def _digests(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != "README.md"
    }


@pytest.mark.slow
def test_sample_logs_regenerate_to_the_same_bytes(tmp_path: Path) -> None:
    settings = json.loads((SAMPLE / "truth" / "simulation.json").read_text("utf-8"))
    config = SimulationConfig(
        events=settings["events"],
        days=settings["days"],
        seed=settings["seed"],
        output_format=settings["format"],
        profile=settings["profile"],
        start=datetime.fromisoformat(settings["start"]),
        tail_format=settings["tail_format"],
        tail_days=settings["tail_days"],
        compression=settings["compression"],
    )
    simulate(tmp_path / "again", config)
    assert _digests(tmp_path / "again") == _digests(SAMPLE)


def test_sample_logs_readme_gives_the_command_used() -> None:
    settings = json.loads((SAMPLE / "truth" / "simulation.json").read_text("utf-8"))
    readme = (SAMPLE / "README.md").read_text("utf-8")
    command = (
        f"distillscan simulate --out sample_logs --events {settings['events']} "
        f"--days {settings['days']} --seed {settings['seed']} "
        f"--tail-format {settings['tail_format']} --tail-days {settings['tail_days']}"
    )
    assert command in readme
    assert sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file()) < 6 * 2**20
