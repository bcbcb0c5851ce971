"""Traffic simulator with planted distillation campaigns (``distillscan simulate``).

``simulate(out_dir, SimulationConfig(...))`` writes a realistic multi-day export (one compressed
file per day, in any supported format), an ``accounts.csv`` and a ``truth/`` folder with the
answers. See ``docs/simulator.md``.
"""

from __future__ import annotations

from distillscan.simulate.config import OUTPUT_FORMATS, SimulationConfig, profile_names
from distillscan.simulate.run import SimulationSummary, simulate

__all__ = [
    "OUTPUT_FORMATS",
    "SimulationConfig",
    "SimulationSummary",
    "profile_names",
    "simulate",
]
