"""Same settings and seed: the same bytes; a different seed: different traffic."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from distillscan.errors import ConfigError
from distillscan.simulate import SimulationConfig, simulate
from distillscan.simulate.run import split_budget

Records = Callable[[Path], Iterator[dict[str, Any]]]


def _digests(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_same_seed_gives_the_same_bytes(
    small_export: Path, small_config: SimulationConfig, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    simulate(again, small_config)
    assert _digests(again) == _digests(small_export)


def test_another_seed_gives_other_traffic(
    small_export: Path, small_config: SimulationConfig, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    simulate(
        other,
        SimulationConfig(
            events=small_config.events, days=small_config.days, seed=small_config.seed + 1
        ),
    )
    ours, theirs = _digests(small_export), _digests(other)
    assert ours.keys() == theirs.keys()
    assert all(ours[name] != theirs[name] for name in ours if name.startswith("logs/"))


def test_writes_one_file_per_day_and_exactly_the_events_asked(
    small_export: Path, small_config: SimulationConfig, records: Records
) -> None:
    logs = sorted(p.name for p in (small_export / "logs").iterdir())
    assert logs == [f"canonical-2026-02-0{d}.jsonl.gz" for d in range(2, 6)]
    assert sum(1 for _ in records(small_export)) == small_config.events


def test_budget_split_is_exact() -> None:
    shares = {"chat_user": 0.3, "developer": 0.3, "campaign_a": 0.4}
    for total in (1, 7, 999, 200_000):
        assert sum(split_budget(total, shares).values()) == total


def test_refuses_to_overwrite(small_export: Path, small_config: SimulationConfig) -> None:
    with pytest.raises(ConfigError, match="not empty"):
        simulate(small_export, small_config)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (SimulationConfig(events=0), "--events"),
        (SimulationConfig(days=1), "--days"),
        (SimulationConfig(output_format="xml"), "output format"),
        (SimulationConfig(profile="loud"), "profile"),
    ],
)
def test_rejects_bad_settings(config: SimulationConfig, message: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=message):
        simulate(tmp_path / "out", config)


@pytest.mark.slow
def test_worker_processes_do_not_change_the_bytes(tmp_path: Path) -> None:
    settings = {"events": 3000, "days": 3, "seed": 9}
    simulate(tmp_path / "one", SimulationConfig(**settings, jobs=1))  # type: ignore[arg-type]
    simulate(tmp_path / "two", SimulationConfig(**settings, jobs=2))  # type: ignore[arg-type]
    assert _digests(tmp_path / "one") == _digests(tmp_path / "two")


def test_zstd_output_is_deterministic_and_named(tmp_path: Path) -> None:
    settings = {"events": 800, "days": 2, "seed": 4, "compression": "zstd"}
    simulate(tmp_path / "a", SimulationConfig(**settings))  # type: ignore[arg-type]
    simulate(tmp_path / "b", SimulationConfig(**settings))  # type: ignore[arg-type]
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    assert sorted(p.name for p in (tmp_path / "a" / "logs").iterdir()) == [
        "canonical-2026-02-02.jsonl.zst",
        "canonical-2026-02-03.jsonl.zst",
    ]
