"""Ingest benchmark: distillscan ingest against DuckDB's own JSON-to-Parquet conversion.

Writes a canonical ``.jsonl.gz`` and a LiteLLM SpendLogs ``.jsonl.gz`` of N events each (default
2,000,000), then, for each file, times in a fresh subprocess:

* the floor: ``COPY (SELECT * FROM read_json(FILE)) TO 'x.parquet'`` in bare DuckDB;
* ``distillscan ingest FILE --case DIR``.

It prints wall seconds, events/s, peak RSS (from ``getrusage`` of the child) and the speed ratio
ingest/floor. Targets (issue 2): ratio >= 0.6, peak RSS < 4 GiB, and RSS flat in file size
(run with ``--events 500000`` and the default to compare).

Usage: ``python bench/bench_ingest.py [--events N] [--out DIR] [--formats canonical,litellm]``
(inputs already in DIR are reused, so a second run times the same files).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

# One SQL generator per format: realistic field shapes, varied prompt lengths, deterministic.
CANONICAL_SQL = """
SELECT
    'evt-' || i AS event_id,
    strftime(TIMESTAMP '2026-02-01' + to_seconds(i * 0.6), '%Y-%m-%dT%H:%M:%S.%f+00:00')
        AS timestamp,
    'acct-' || (hash(i) % 5000) AS account_id,
    'key-' || (hash(i) % 9000) AS api_key_id,
    '198.51.' || (hash(i * 7) % 200) || '.' || (hash(i * 13) % 250) AS source_ip,
    ['python-httpx/0.27.0', 'anthropic-python/0.49.0', 'Mozilla/5.0 (X11; Linux x86_64)'][1 + i % 3]
        AS user_agent,
    ['frontier-1', 'frontier-2'][1 + (i % 7 = 0)::INT] AS model,
    'You are a careful assistant. Answer precisely.' AS system,
    [{'role': 'user', 'content':
        'Question ' || i || ': explain how '
        || repeat('the system of interest behaves ', 2 + i % 40)
        || 'and show your reasoning step by step.'}] AS messages,
    4096 AS max_tokens, 0.7 AS temperature,
    'Here is an answer. ' || repeat('It follows from the premises. ', 5 + i % 60) AS response,
    40 + i % 400 AS prompt_tokens, 200 + i % 900 AS completion_tokens, 'ok' AS status
FROM range({n}) AS t(i)
"""

LITELLM_SQL = """
SELECT
    'chatcmpl-' || md5(i::VARCHAR) AS request_id,
    'acompletion' AS call_type,
    md5('key' || (hash(i) % 9000)) AS api_key,
    0.0012 AS spend,
    40 + i % 400 + 200 + i % 900 AS total_tokens,
    40 + i % 400 AS prompt_tokens, 200 + i % 900 AS completion_tokens,
    strftime(TIMESTAMP '2026-02-01' + to_seconds(i * 0.6), '%Y-%m-%dT%H:%M:%S.%f') AS startTime,
    strftime(TIMESTAMP '2026-02-01' + to_seconds(i * 0.6 + 2), '%Y-%m-%dT%H:%M:%S.%f') AS endTime,
    ['frontier-1', 'frontier-2'][1 + (i % 7 = 0)::INT] AS model,
    'user-' || (hash(i) % 5000) AS "user",
    'team-' || (hash(i) % 50) AS team_id,
    '198.51.' || (hash(i * 7) % 200) || '.' || (hash(i * 13) % 250) AS requester_ip_address,
    {'user_api_key_alias': 'alias-' || (hash(i) % 5000),
     'requester_ip_address': '198.51.' || (hash(i * 7) % 200) || '.' || (hash(i * 13) % 250)}
        AS metadata,
    [{'role': 'system', 'content': 'You are a careful assistant.'},
     {'role': 'user', 'content':
        'Question ' || i || ': explain how '
        || repeat('the system of interest behaves ', 2 + i % 40)
        || 'and show your reasoning step by step.'}] AS messages,
    {'choices': [{'message': {'role': 'assistant', 'content':
        'Here is an answer. ' || repeat('It follows from the premises. ', 5 + i % 60)}}]}
        AS response,
    'success' AS status
FROM range({n}) AS t(i)
"""


def write_input(path: Path, sql: str, events: int) -> None:
    """Write ``events`` generated rows as gzip-compressed JSON lines."""
    con = duckdb.connect()
    query = sql.replace("{n}", str(events))
    con.execute(f"COPY ({query}) TO '{path}' (FORMAT json, COMPRESSION gzip)")
    con.close()


def run_child(argv: list[str]) -> tuple[float, float]:
    """Run ``argv``; return (wall seconds, peak RSS in MiB of that child alone)."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed with exit code {child.returncode}")
    return wall, usage.ru_maxrss / 1024  # Linux reports KiB


FLOOR = (
    "import duckdb,sys; duckdb.connect().execute("
    "f\"COPY (SELECT * FROM read_json('{sys.argv[1]}')) TO '{sys.argv[2]}' (FORMAT parquet)\")"
)


def bench(name: str, source: Path, out: Path, events: int) -> dict[str, float]:
    """Time the floor and distillscan ingest on one file."""
    floor_wall, floor_rss = run_child(
        [sys.executable, "-c", FLOOR, str(source), str(out / f"{name}-floor.parquet")]
    )
    case = out / f"{name}-case"
    shutil.rmtree(case, ignore_errors=True)
    ingest_wall, ingest_rss = run_child(
        [sys.executable, "-m", "distillscan", "ingest", str(source), "--case", str(case), "-q"]
    )
    manifest = json.loads((case / "manifest.json").read_text())
    assert manifest["totals"]["rows_loaded"] == events, manifest["totals"]
    return {
        "floor_s": floor_wall,
        "floor_rss_mib": floor_rss,
        "ingest_s": ingest_wall,
        "ingest_rss_mib": ingest_rss,
        "ingest_events_per_s": events / ingest_wall,
        "speed_ratio": floor_wall / ingest_wall,
    }


def main() -> None:
    """Parse arguments, write inputs, run both benchmarks, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    parser.add_argument("--formats", default="canonical,litellm")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    generators = {"canonical": CANONICAL_SQL, "litellm": LITELLM_SQL}
    for name in args.formats.split(","):
        source = args.out / f"{name}-{args.events}.jsonl.gz"
        if not source.exists():
            write_input(source, generators[name], args.events)
        figures = bench(name, source, args.out, args.events)
        size = source.stat().st_size / 2**20
        print(f"{name}: {args.events:,} events, {size:,.0f} MiB gzip")
        print(
            f"  floor (duckdb read_json -> parquet): {figures['floor_s']:.1f} s, "
            f"peak RSS {figures['floor_rss_mib']:,.0f} MiB"
        )
        print(
            f"  distillscan ingest: {figures['ingest_s']:.1f} s "
            f"({figures['ingest_events_per_s']:,.0f} events/s), "
            f"peak RSS {figures['ingest_rss_mib']:,.0f} MiB"
        )
        print(f"  speed ratio floor/ingest: {figures['speed_ratio']:.2f} (target >= 0.60)")


if __name__ == "__main__":
    main()
