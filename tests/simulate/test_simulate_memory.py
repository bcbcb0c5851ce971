"""Memory stays flat as --events grows: it is bounded by a slice of events (and the population),
not by the size of the export."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CHILD = """
import resource, sys
from pathlib import Path
from distillscan.simulate import SimulationConfig, simulate
config = SimulationConfig(events=int(sys.argv[2]), days=4, seed=3, compression="zstd", jobs=1)
simulate(Path(sys.argv[1]), config)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _peak_kib(out: Path, events: int) -> int:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(out), str(events)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(result.stdout.split()[-1])


@pytest.mark.slow
def test_peak_memory_is_flat_in_the_number_of_events(tmp_path: Path) -> None:
    small = _peak_kib(tmp_path / "small", 100_000)
    large = _peak_kib(tmp_path / "large", 400_000)
    # four times the events: a growing population, the same slices; linear growth would be 4x
    assert large < small * 1.3, (small, large)
