"""``simulate()``: build the world, allocate events to days, then generate each day's file.

Days are independent: a day's file holds the requests of the sessions that started that day
(UTC), so a session running past midnight ends in it, as exports partitioned by arrival do. That
lets days be generated in parallel worker processes; every worker rebuilds the same world from
the settings (it is deterministic), and the bytes do not depend on how many workers ran.

Memory stays flat as ``--events`` grows: a day is planned as segments (small rows), then expanded
and written a slice of minutes at a time; events that spill past a slice's end (a session running
over it) are carried into the next slice, so each file is sorted by time.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl

from distillscan import __version__
from distillscan.errors import ConfigError
from distillscan.simulate.campaigns import CAMPAIGN_BUILDERS
from distillscan.simulate.config import GROUPS, MODELS_BEFORE, NEW_MODEL, Profile, SimulationConfig
from distillscan.simulate.content import ContentModel
from distillscan.simulate.context import BuildContext
from distillscan.simulate.dialects import make_dialect
from distillscan.simulate.dialects.base import Dialect
from distillscan.simulate.infra import Infra
from distillscan.simulate.kinds import BENIGN_BUILDERS
from distillscan.simulate.output import ExportWriter
from distillscan.simulate.population import Population
from distillscan.simulate.rng import Rng
from distillscan.simulate.timing import Timing
from distillscan.simulate.traffic import EventGenerator, image_standins, persona_frame
from distillscan.simulate.truth import TRUTH_DIR, Tally, write_accounts, write_truth

Progress = Callable[[str], None]

#: Events expanded at once (this bounds memory); a day is cut into slices of whole minutes.
SLICE_EVENTS = 15_000
#: Below this many events one process is faster than starting workers.
PARALLEL_FROM_EVENTS = 400_000
_SLICE_MINUTES = (1440, 720, 480, 360, 240, 180, 120, 60, 30, 20, 15, 10, 5, 2, 1)


@dataclass(slots=True)
class SimulationSummary:
    """What ``simulate`` wrote."""

    out_dir: Path
    files: list[str] = field(default_factory=list)
    events: int = 0
    accounts: int = 0
    events_by_group: dict[str, int] = field(default_factory=dict)
    campaigns: list[dict[str, Any]] = field(default_factory=list)
    labels: dict[str, int] = field(default_factory=dict)


def split_budget(total: int, shares: dict[str, float]) -> dict[str, int]:
    """Split ``total`` events over groups in proportion to ``shares`` (largest remainder)."""
    weight = sum(shares.values())
    exact = {g: total * s / weight for g, s in shares.items()}
    budgets = {g: math.floor(v) for g, v in exact.items()}
    left = total - sum(budgets.values())
    for group in sorted(exact, key=lambda g: (-(exact[g] - budgets[g]), GROUPS.index(g)))[:left]:
        budgets[group] += 1
    return budgets


@dataclass(slots=True)
class World:
    """Everything built from the settings before the first event (identical in every worker)."""

    config: SimulationConfig
    profile: Profile
    rng: Rng
    population: Population
    content: ContentModel
    timing: Timing
    generator: EventGenerator
    dialect: Dialect
    group_of: pl.Series
    tail: tuple[EventGenerator, Dialect] | None = None

    def writer_of_day(self, day: int) -> tuple[EventGenerator, Dialect]:
        """The generator and dialect of ``day`` (the last ``tail_days`` may use another)."""
        if self.tail is not None and day >= self.config.days - self.config.tail_days:
            return self.tail
        return self.generator, self.dialect


def build_world(config: SimulationConfig) -> World:
    """Build the population, content model, timing and generator for ``config``."""
    profile = config.validate()
    rng = Rng(config.seed)
    content = ContentModel.build(rng.child("content"), [*MODELS_BEFORE, NEW_MODEL])
    population = Population()
    ctx = BuildContext(
        config, profile, population, content, Infra(rng.child("infra")), rng.child("population")
    )
    budgets = split_budget(config.events, profile.shares)
    for group in GROUPS:
        builder = BENIGN_BUILDERS.get(group) or CAMPAIGN_BUILDERS[group]
        if budgets[group] > 0:
            builder(ctx, budgets[group])
    carried = {p.group for p in population.personas}
    for group in GROUPS:  # a group that could not be built hands its events to chat users
        if budgets[group] and group not in carried:
            budgets["chat_user"] += budgets.pop(group)
    budgets = {g: b for g, b in budgets.items() if b > 0}
    content.bank.freeze()
    personas, pools = persona_frame(population, content)
    timing = Timing(config, personas, population.schedules, budgets, rng.child("timing"))
    images = image_standins(config.seed)
    dialect = make_dialect(config.output_format, content, images)
    generator = EventGenerator(
        config, population, content, personas, pools, dialect, image_count=len(images)
    )
    world = World(
        config, profile, rng, population, content, timing, generator, dialect, personas["group"]
    )
    if config.tail_format and config.tail_days:
        tail_dialect = make_dialect(config.tail_format, content, images)
        world.tail = (
            EventGenerator(config, population, content, personas, pools, tail_dialect, len(images)),
            tail_dialect,
        )
    return world


@dataclass(slots=True)
class DayOutput:
    """What generating one day wrote."""

    day: int
    files: list[str]
    events: int
    tally: Tally


def generate_day(world: World, out_dir: Path, day: int, counts: pl.DataFrame) -> DayOutput:
    """Write the file(s) of ``day`` given each persona's event count that day."""
    config, timing = world.config, world.timing
    generator, dialect = world.writer_of_day(day)
    writer = ExportWriter(out_dir, dialect, config.start.date(), config.compression)
    tally = Tally()
    written = 0
    writer.start_day((config.start + timedelta(days=day)).date())
    try:
        segments = timing.plan(day, counts)
        total = int(counts["count"].sum() or 0)
        minutes = next(
            (m for m in _SLICE_MINUTES if total * m / 1440 <= SLICE_EVENTS), _SLICE_MINUTES[-1]
        )
        day_us = timing.day_start_us(day)
        carry = pl.DataFrame(
            schema={
                "ts": pl.Int64,
                "event_hex": pl.String,
                **dict.fromkeys(writer.columns, pl.String),
            }
        )
        for first_minute in range(0, 1440, minutes):
            lo = day_us + first_minute * 60_000_000
            hi = lo + minutes * 60_000_000
            part = segments.filter((pl.col("start_us") >= lo) & (pl.col("start_us") < hi))
            frames = [carry]
            if part.height:
                events = generator.generate(part, world.rng.child("events", day, first_minute))
                _count(events, tally, world.group_of)
                frames.append(_render(dialect, events, writer.columns))
            pending = pl.concat(frames).sort("ts", "event_hex")
            last_slice = first_minute + minutes >= 1440
            # the day's last slice takes everything left, including a session past midnight
            ready = pending if last_slice else pending.filter(pl.col("ts") < hi)
            carry = pending.clear() if last_slice else pending.filter(pl.col("ts") >= hi)
            writer.write(ready)
            written += ready.height
        writer.end_day()
    finally:
        writer.finish()
    return DayOutput(day, list(writer.files), written, tally)


# --- worker processes ------------------------------------------------------------------------

_WORKER: tuple[World, Path] | None = None


def _init_worker(config: SimulationConfig, out_dir: Path) -> None:
    global _WORKER
    _WORKER = (build_world(config), out_dir)


def _worker_day(day: int, counts: pl.DataFrame) -> DayOutput:
    assert _WORKER is not None, "worker not initialised"
    world, out_dir = _WORKER
    return generate_day(world, out_dir, day, counts)


def default_jobs(config: SimulationConfig) -> int:
    """Worker processes: one for small runs (starting workers costs a second or two), else two
    (or the cores there are, when fewer)."""
    if config.jobs:
        return config.jobs
    if config.events < PARALLEL_FROM_EVENTS:
        return 1
    return max(1, min(2, os.cpu_count() or 1))


def simulate(
    out_dir: Path, config: SimulationConfig, progress: Progress | None = None
) -> SimulationSummary:
    """Write a simulated export to ``out_dir``: day files, ``accounts.csv`` and ``truth/``.

    Raises:
        ConfigError: invalid settings, or ``out_dir`` exists and is not empty.
    """
    say = progress or (lambda _message: None)
    config.validate()
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ConfigError(
            f"{out_dir}: already exists and is not empty",
            hint="choose a new folder: simulate never overwrites files",
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = min(default_jobs(config), config.days)
    # this process is one of the workers: it takes every jobs-th day, the others the rest
    pool = None
    saved_threads = os.environ.get("POLARS_MAX_THREADS")
    if jobs > 1:
        # one Polars thread per worker (the processes already use the cores); workers start at
        # the first submit and read it then
        os.environ["POLARS_MAX_THREADS"] = saved_threads or "1"
        pool = ProcessPoolExecutor(
            jobs - 1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(config, out_dir),
        )
    try:
        say("building the population")
        world = build_world(config)  # the workers build theirs meanwhile
        counts = [world.timing.counts(day) for day in range(config.days)]
        mine = [day for day in range(config.days) if day % jobs == 0]
        theirs = {
            day: pool.submit(_worker_day, day, counts[day])
            for day in range(config.days)
            if pool is not None and day % jobs
        }
        _restore_env("POLARS_MAX_THREADS", saved_threads)
        tally = Tally()  # merged as days finish: a day's tally is as big as the population
        files: dict[int, list[str]] = {}
        events = 0

        def collect(output: DayOutput) -> None:
            nonlocal events
            tally.merge(output.tally)
            files[output.day] = output.files
            events += output.events
            say(f"wrote {', '.join(output.files)}")

        for day in mine:
            collect(generate_day(world, out_dir, day, counts[day]))
        for future in theirs.values():
            collect(future.result())
    finally:
        _restore_env("POLARS_MAX_THREADS", saved_threads)
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    summary = SimulationSummary(out_dir, events=events)
    for day in range(config.days):
        summary.files += files[day]
    say("writing accounts.csv and truth/")
    _finish(world, out_dir, tally, summary)
    return summary


def _finish(world: World, out_dir: Path, tally: Tally, summary: SimulationSummary) -> None:
    """Write ``accounts.csv`` and the truth folder; complete the summary."""
    config, profile = world.config, world.profile
    summary.accounts = write_accounts(out_dir, world.population, tally, world.dialect)
    summary.events_by_group = dict(sorted(tally.groups.items()))
    settings = {
        "distillscan_version": __version__,
        "seed": config.seed,
        "events": config.events,
        "days": config.days,
        "start": config.start.isoformat(),
        "format": config.output_format,
        "tail_format": config.tail_format,
        "tail_days": config.tail_days,
        "compression": config.compression,
        "profile": profile.name,
        "profile_description": profile.description,
        "evasion": asdict(profile.evasion),
        "models_before_release": list(MODELS_BEFORE),
        "new_model": NEW_MODEL,
        "release": config.release.isoformat(),
        "events_by_group": summary.events_by_group,
        "files": summary.files,
    }
    written = write_truth(out_dir, world.population, tally, settings, world.dialect)
    summary.campaigns = written["campaigns"]
    for row in written["labels"]:
        summary.labels[row["label"]] = summary.labels.get(row["label"], 0) + 1
    summary.files += ["accounts.csv", f"{TRUTH_DIR}/"]


def _restore_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _render(dialect: Dialect, events: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Serialise a slice's events: ``ts``, ``event_hex`` and the written ``columns``."""
    rendered = dialect.render(events)
    if "companion" in columns:
        rendered = rendered.with_columns(dialect.companion_line().alias("companion"))
    return rendered.select("ts", "event_hex", *columns)


def _count(events: pl.DataFrame, tally: Tally, group_of: pl.Series) -> None:
    """Add a slice's events to the tally (per account, end user and group)."""
    counts = events.group_by("account", "persona", "is_campaign", "end_user_id").len()
    for account, persona, is_campaign, end_user, count in counts.iter_rows():
        tally.add_account(account, is_campaign, count)
        if end_user is not None:
            tally.add_end_user(account, end_user, is_campaign, count)
        group = group_of[persona]
        tally.groups[group] = tally.groups.get(group, 0) + count
