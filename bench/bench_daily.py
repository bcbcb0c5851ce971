"""Daily-monitoring benchmark: one case fed one day at a time, against one full investigation.

A daily job adds each day's export to one case (``distillscan investigate DAY.jsonl.gz --case
CASE``). Each such run re-analyses the whole case, but reuses what does not change: the events
parts already loaded and their text features (``features.parquet/``). This benchmark measures:

1. ``distillscan simulate`` writes a canonical export of N events over D days (one
   ``.jsonl.gz`` per day; default 1M events, 21 days);
2. the full investigation: ``distillscan investigate`` of the whole export into a fresh case;
3. the daily path: the same files given one at a time, in order, to one case;

and prints each day's wall time and its ratio to the full investigation (target: at most 0.40
every day, issue 24), and whether the last day's campaigns equal the full run's (same members,
same severities), and whether each campaign kept one id from the day it was first named.

Each run is a fresh subprocess: wall seconds, CPU seconds and peak RSS come from ``os.wait4``.

Usage: ``python bench/bench_daily.py [--events N] [--days D] [--out DIR]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import run  # the shared subprocess timer


def simulate(events: int, days: int, out: Path) -> Path:
    """The simulated export's folder of daily files (written once per size)."""
    logs = out / f"daily-export-{events}-{days}"
    if not logs.exists():
        run(
            [
                sys.executable,
                *("-m", "distillscan", "simulate", "--out", str(logs)),
                *("--events", str(events), "--days", str(days), "--seed", "1", "-q"),
            ]
        )
    return logs / "logs"


def investigate(paths: list[Path], case: Path) -> dict[str, float | str]:
    return run(
        [
            sys.executable,
            "-m",
            "distillscan",
            "investigate",
            *map(str, paths),
            "--case",
            str(case),
            "-q",
            "--brief",
        ]
    )


def campaigns(case: Path) -> list[tuple[tuple[str, ...], str]]:
    frame = pl.read_parquet(case / "campaigns.parquet")
    return sorted((tuple(m), s) for m, s in frame.select("members", "severity").iter_rows())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=21)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    logs = simulate(args.events, args.days, args.out)
    files = sorted(logs.iterdir())
    full_case, daily_case = args.out / "daily-full", args.out / "daily-case"
    for case in (full_case, daily_case):
        shutil.rmtree(case, ignore_errors=True)
    full = investigate([logs], full_case)
    print(
        f"full investigate of {len(files)} files: {full['wall_s']:.1f} s wall, "
        f"{full['cpu_s']:.1f} CPU-s, peak {full['peak_mib']:.0f} MiB"
    )
    rows = []
    for day in files:
        figures = investigate([day], daily_case)
        ratio = float(figures["wall_s"]) / float(full["wall_s"])
        rows.append(
            {
                "file": day.name,
                **{k: v for k, v in figures.items() if k != "stdout"},
                "ratio": ratio,
            }
        )
        print(
            f"  {day.name}: {figures['wall_s']:6.2f} s wall  {ratio:5.2f} of the full run  "
            f"peak {figures['peak_mib']:.0f} MiB"
        )
    history = pl.read_parquet(daily_case / "history.parquet")
    ids_kept = history.group_by("campaign_id").agg(pl.col("run").min()).height
    equal = campaigns(daily_case) == campaigns(full_case)
    worst = max(r["ratio"] for r in rows)
    summary = {
        "events": args.events,
        "days": len(files),
        "full_wall_s": full["wall_s"],
        "worst_day_ratio": worst,
        "last_day_equals_full_run": equal,
        "campaign_ids_ever_named": ids_kept,
        "campaigns_last_day": len(campaigns(daily_case)),
        "per_day": rows,
    }
    (args.out / "bench_daily.json").write_text(json.dumps(summary, indent=2) + "\n", "utf-8")
    print(
        f"worst day: {worst:.2f} of the full run (target <= 0.40); last day equals the full "
        f"run: {equal}; campaign ids ever named: {ids_kept}, campaigns on the last day: "
        f"{summary['campaigns_last_day']}"
    )


if __name__ == "__main__":
    main()
