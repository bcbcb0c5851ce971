"""Many-file benchmark: a logger's bucket of one-request files, loaded as bundles.

LiteLLM's S3 and GCS loggers write one JSON file per request. This writes N such files
(default 10,000; LiteLLM ``StandardLoggingPayload`` objects of varied size, 500 accounts) in
day folders of about 1,000, then times in fresh processes:

* ``distillscan ingest BUCKET --case DIR`` (the bar: 10,000 files in under 30 s on 2 cores);
* the same ingest again (every file already in the case: hashed, not read);
* ``distillscan verify DIR`` (every file re-hashed).

It prints wall seconds, files/s and peak RSS for each, and checks that every request loaded.

Usage: ``python bench/bench_many_files.py [--files N] [--out DIR]`` (a bucket already in DIR
is reused).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from pathlib import Path

from bench_scale import run  # the shared subprocess timer

FILES_PER_DAY = 1_000
START = 1_770_076_800.0  # 2026-02-03T00:00:00Z


def payload(index: int, rng: random.Random) -> dict[str, object]:
    """One request as LiteLLM's loggers write it (field names from its logging spec)."""
    account = rng.randrange(500)
    words = " ".join(
        rng.choice(("derive", "prove", "explain", "the", "lemma", "step"))
        for _ in range(rng.randrange(10, 400))
    )
    return {
        "id": f"chatcmpl-{index:08d}",
        "trace_id": f"trace-{index:08d}",
        "call_type": "acompletion",
        "response_cost": 0.0004,
        "status": "success",
        "total_tokens": 300,
        "prompt_tokens": 100,
        "completion_tokens": 200,
        "startTime": START + index * 8.6,
        "endTime": START + index * 8.6 + 2.5,
        "model": "frontier-2",
        "model_group": "frontier",
        "api_base": "https://api.example.test/v1",
        "metadata": {
            "user_api_key_hash": f"{account:064x}",
            "user_api_key_user_id": f"user-{account}",
            "user_api_key_team_id": f"team-{account % 20}",
            "requester_ip_address": f"198.51.{account % 200}.{index % 250}",
        },
        "end_user": None,
        "requester_ip_address": f"198.51.{account % 200}.{index % 250}",
        "messages": [{"role": "user", "content": f"Question {index}: {words}"}],
        "response": {"choices": [{"message": {"role": "assistant", "content": words[::-1]}}]},
        "model_parameters": {"temperature": 0.7, "max_tokens": 2048},
        "hidden_params": {"model_id": "deploy-1"},
    }


def write_bucket(bucket: Path, files: int) -> None:
    """Write ``files`` one-request files in day folders (deterministic)."""
    rng = random.Random(7)
    for index in range(files):
        day = bucket / f"2026-02-{3 + index // FILES_PER_DAY:02d}"
        day.mkdir(parents=True, exist_ok=True)
        (day / f"{index:08d}.json").write_text(json.dumps(payload(index, rng)))


def main() -> None:
    """Parse arguments, write the bucket, time the three commands, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    bucket = args.out / f"bucket-{args.files}"
    if not bucket.exists():
        write_bucket(bucket, args.files)
    case = args.out / f"bucket-{args.files}-case"
    shutil.rmtree(case, ignore_errors=True)
    distillscan = [sys.executable, "-m", "distillscan"]
    steps = {
        "ingest": [*distillscan, "ingest", str(bucket), "--case", str(case), "-q"],
        "ingest again": [*distillscan, "ingest", str(bucket), "--case", str(case), "-q"],
        "verify": [*distillscan, "verify", str(case), "--require-inputs"],
    }
    for name, argv in steps.items():
        figures = run(argv)
        wall = float(figures["wall_s"])
        print(
            f"{name}: {wall:.1f} s ({args.files / wall:,.0f} files/s), "
            f"peak RSS {float(figures['peak_mib']):,.0f} MiB"
        )
    manifest = json.loads((case / "manifest.json").read_text())
    assert manifest["totals"]["rows_loaded"] == args.files, manifest["totals"]
    print(f"{args.files:,} files as {len(manifest['inputs'])} inputs, every request loaded")


if __name__ == "__main__":
    main()
