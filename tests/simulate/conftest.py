"""Small simulated exports shared by the simulator tests (generated once per session)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from distillscan.simulate import SimulationConfig, simulate

SMALL = SimulationConfig(events=4000, days=4, seed=7)

Records = Callable[[Path], Iterator[dict[str, Any]]]


@pytest.fixture(scope="session")
def small_config() -> SimulationConfig:
    """Settings of :func:`small_export`."""
    return SMALL


@pytest.fixture(scope="session")
def small_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A canonical export: 4,000 events over 4 days, default profile, seed 7."""
    out = tmp_path_factory.mktemp("sim") / "export"
    simulate(out, SMALL)
    return out


@pytest.fixture(scope="session")
def records() -> Records:
    """Reads every JSON record of an export's day files."""
    return read_records


def read_records(folder: Path) -> Iterator[dict[str, Any]]:
    """Every JSON record of the day files under ``folder/logs`` (in file order)."""
    for path in sorted((folder / "logs").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                yield json.loads(line)
