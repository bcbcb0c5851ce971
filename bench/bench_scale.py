"""Scale benchmark: every stage of an investigation against a bare DuckDB floor, at growing sizes.

For each size N (default 1M and 4M events; add 16000000 for the reported scale):

1. ``distillscan simulate`` writes a canonical export (one ``.jsonl.gz`` per day); DuckDB turns
   the same records into one Parquet file;
2. the floor: bare DuckDB ``SELECT count(*), sum(strlen(messages::VARCHAR))`` over that Parquet;
3. ``distillscan ingest`` of the ``.jsonl.gz`` files and, separately, of the Parquet file;
4. in one process over the ingested case: the shared features, each pass, scoring and linking;
5. ``distillscan investigate`` (analysis and report) on the ingested case;
6. the whole ``distillscan investigate export.parquet`` end to end (ingest, analysis, report),
   as an investigator runs it. From ``.jsonl.gz`` the end-to-end figure is about 3 plus 5.

Each external stage runs in a fresh subprocess: wall seconds, CPU seconds and peak RSS come from
``os.wait4``. The table gives each stage's ratio to the floor and its events/s; with two or more
sizes it also gives each stage's growth exponent (``log(t2/t1) / log(N2/N1)``: 1.0 is linear).
Targets (issue 6): whole investigate from Parquet under 25x the floor and 4 minutes at 16M,
under 8 minutes from ``.jsonl.gz`` with ingest; peak RSS under 10 GiB; no stage above linear.

Usage: ``python bench/bench_scale.py [--events N ...] [--out DIR]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

#: Runs inside the stage subprocess: times the features and each pass, then scoring and linking.
PASSES_SCRIPT = """
import json, resource, sys, time
from distillscan.case import connect
from distillscan.config import defaults
from distillscan.detect import PASSES, available_columns, features, parameters
from distillscan.detect.base import Context, empty_artefacts, empty_edges
from distillscan.linking import link
from distillscan.scoring import merge_signals, score_accounts
import polars as pl

case = sys.argv[1]
con = connect()
con.execute(f"ATTACH '{case}/case.duckdb' AS c (READ_ONLY)")
con.execute("CREATE TEMP VIEW events AS SELECT * FROM c.events")
config = defaults()
params = parameters(config["passes"])
timings = {}
start = time.perf_counter()
available = available_columns(con)
features.build(con)
timings["features"] = time.perf_counter() - start
runs = []
for registered in PASSES:
    start = time.perf_counter()
    ctx = Context(con=con, params=params[registered.id], available=available, passes=params)
    runs.append(registered.run(ctx))
    timings[registered.id] = time.perf_counter() - start
start = time.perf_counter()
totals = con.sql("SELECT account_id, count(*) AS n_events FROM events GROUP BY 1").pl()


class Run:
    def __init__(self, output):
        self.output = output


scored = score_accounts(merge_signals(totals, [Run(r) for r in runs]), config)
edges = pl.concat([empty_edges(), *(r.edges for r in runs)], how="vertical_relaxed")
artefacts = pl.concat([empty_artefacts(), *(r.artefacts for r in runs)])
link(scored, edges, config, artefacts)
timings["scoring_and_linking"] = time.perf_counter() - start
print(json.dumps(timings))
"""


def run(argv: list[str], cwd: Path | None = None) -> dict[str, float | str]:
    """Run ``argv`` in a fresh process: wall and CPU seconds, peak RSS (MiB), and its stdout."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=cwd)
    stdout = child.stdout.read() if child.stdout else b""
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(argv[:5])}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_mib": usage.ru_maxrss / 1024,
        "stdout": stdout.decode(),
    }


def prepare(events: int, out: Path) -> tuple[Path, Path]:
    """Write the simulated export and its Parquet copy (once per size)."""
    logs = out / f"export-{events}"
    parquet = out / f"export-{events}.parquet"
    if not logs.exists():
        run(
            [
                sys.executable,
                "-m",
                "distillscan",
                "simulate",
                "--out",
                str(logs),
                "--events",
                str(events),
                "--seed",
                "1",
                "-q",
            ]
        )
    if not parquet.exists():
        con = duckdb.connect()
        con.execute(
            f"COPY (SELECT * FROM read_json('{logs}/logs/*.jsonl.gz', format='newline_delimited')) "
            f"TO '{parquet}' (FORMAT parquet)"
        )
        con.close()
    return logs, parquet


FLOOR = (
    "import duckdb, sys; duckdb.connect().execute("
    "f\"SELECT count(*), sum(strlen(messages::VARCHAR)) FROM read_parquet('{sys.argv[1]}')\""
    ").fetchall()"
)


def bench(events: int, out: Path) -> dict[str, dict[str, float]]:
    """All stage figures for one size."""
    logs, parquet = prepare(events, out)
    stages: dict[str, dict[str, float]] = {}

    def keep(name: str, figures: dict[str, float | str]) -> None:
        stages[name] = {k: float(v) for k, v in figures.items() if k != "stdout"}

    keep("floor (duckdb over parquet)", run([sys.executable, "-c", FLOOR, str(parquet)]))
    for name, source in (("ingest .jsonl.gz", logs / "logs"), ("ingest parquet", parquet)):
        case = out / f"case-{events}-{'parquet' if source == parquet else 'jsonl'}"
        shutil.rmtree(case, ignore_errors=True)
        keep(
            name,
            run(
                [
                    sys.executable,
                    "-m",
                    "distillscan",
                    "ingest",
                    str(source),
                    "--case",
                    str(case),
                    "-q",
                ]
            ),
        )
    case = out / f"case-{events}-parquet"
    detail = run([sys.executable, "-c", PASSES_SCRIPT, str(case)])
    for stage, seconds in json.loads(str(detail["stdout"]).strip().splitlines()[-1]).items():
        stages[f"  {stage}"] = {"wall_s": seconds}
    keep(
        "investigate (analysis + report)",
        run([sys.executable, "-m", "distillscan", "investigate", "--case", str(case), "-q"]),
    )
    # End to end, as an investigator runs it: ingest, analysis and report in one command.
    whole = out / f"case-{events}-whole"
    shutil.rmtree(whole, ignore_errors=True)
    keep(
        "whole investigate from parquet",
        run(
            [
                sys.executable,
                "-m",
                "distillscan",
                "investigate",
                str(parquet),
                "--case",
                str(whole),
                "-q",
            ]
        ),
    )
    shutil.rmtree(whole, ignore_errors=True)
    return stages


def main() -> None:
    """Run every size and print one table per size, then the growth exponents."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 4_000_000])
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results = {n: bench(n, args.out.resolve()) for n in sorted(args.events)}
    for n, stages in results.items():
        floor = stages["floor (duckdb over parquet)"]["wall_s"]
        print(f"\n{n:,} events (floor {floor:.2f} s)")
        print(
            f"  {'stage':<36}{'wall s':>9}{'x floor':>9}{'events/s':>12}"
            f"{'CPU s':>8}{'peak MiB':>10}"
        )
        for stage, f in stages.items():
            cpu = f"{f['cpu_s']:.1f}" if "cpu_s" in f else ""
            peak = f"{f['peak_mib']:,.0f}" if "peak_mib" in f else ""
            print(
                f"  {stage:<36}{f['wall_s']:>9.2f}{f['wall_s'] / floor:>9.1f}"
                f"{n / max(f['wall_s'], 1e-9):>12,.0f}{cpu:>8}{peak:>10}"
            )
    sizes = sorted(results)
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        print(f"\ngrowth exponent from {small:,} to {large:,} events (1.0 = linear)")
        for stage in results[small]:
            t1, t2 = results[small][stage]["wall_s"], results[large][stage]["wall_s"]
            if t1 > 0.05 and t2 > 0:
                print(f"  {stage:<36}{math.log(t2 / t1) / math.log(large / small):>6.2f}")


if __name__ == "__main__":
    main()
