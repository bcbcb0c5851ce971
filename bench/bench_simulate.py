"""Simulator benchmark: events per second and peak memory of ``distillscan simulate``.

Each run executes ``distillscan simulate`` in a fresh subprocess (so imports, the population
build and worker start-up are counted) and reports wall seconds, events/s and the peak RSS of the
largest process of the run (``getrusage`` of the children: the parent or a worker), and the CPU
seconds of all its processes (on a machine shared with other work, events per CPU-second times
the free cores is the better estimate of throughput). Targets
(issue 3): >= 100,000 events/s for the canonical format on 2 cores, and peak RSS flat as
``--events`` grows (compare the rows of one invocation).

Usage: ``python bench/bench_simulate.py [--events N ...] [--format F] [--compression C]
[--jobs J] [--out DIR]``
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_once(
    events: int, fmt: str, compression: str, jobs: int, out: Path
) -> tuple[float, float, int, int]:
    """Simulate into ``out``; return wall and CPU seconds, peak RSS (bytes), output bytes."""
    shutil.rmtree(out, ignore_errors=True)
    command = [
        sys.executable,
        "-m",
        "distillscan",
        "simulate",
        "--out",
        str(out),
        "--events",
        str(events),
        "--format",
        fmt,
        "--compression",
        compression,
        "--jobs",
        str(jobs),
        "--seed",
        "1",
        "--quiet",
    ]
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    # RUSAGE_CHILDREN keeps the maximum over every earlier run: run sizes in increasing order
    peak_kib = max(usage.ru_maxrss, before)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return wall, cpu, peak_kib * 1024, size


def main() -> None:
    """Parse options, run each size once, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[200_000, 2_000_000])
    parser.add_argument("--format", default="canonical")
    parser.add_argument("--compression", default="gzip", choices=["gzip", "zstd"])
    parser.add_argument("--jobs", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="bench-simulate-"))
    print(f"cores: {os.cpu_count()}  format: {args.format}  compression: {args.compression}")
    print(
        f"{'events':>12} {'seconds':>9} {'events/s':>10} {'CPU s':>8} {'events/CPU-s':>13} "
        f"{'peak RSS':>10} {'output':>10}"
    )
    for events in sorted(args.events):
        wall, cpu, peak, size = run_once(
            events, args.format, args.compression, args.jobs, root / f"run-{events}"
        )
        print(
            f"{events:>12,} {wall:>9.2f} {events / wall:>10,.0f} {cpu:>8.1f} "
            f"{events / cpu:>13,.0f} {peak / 2**20:>7.0f} MB {size / 2**20:>7.0f} MB"
        )
        shutil.rmtree(root / f"run-{events}", ignore_errors=True)
    if args.out is None:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
