"""``simulate()``: build the population, then generate, serialise and write day by day.

Memory stays flat as ``--events`` grows: a day is planned as segments (small rows), then expanded
and written a slice of hours at a time; events that spill past a slice's end (a session running
over the hour) are carried into the next slice, so each file is sorted by time.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl

from distillscan import __version__
from distillscan.errors import ConfigError
from distillscan.simulate.campaigns import CAMPAIGN_BUILDERS
from distillscan.simulate.config import GROUPS, MODELS_BEFORE, NEW_MODEL, SimulationConfig
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

#: Events expanded at once (bounds memory); a day is cut into slices of whole hours.
SLICE_EVENTS = 30_000
_SLICE_HOURS = (24, 12, 8, 6, 4, 3, 2, 1)


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


def simulate(
    out_dir: Path, config: SimulationConfig, progress: Progress | None = None
) -> SimulationSummary:
    """Write a simulated export to ``out_dir``: day files, ``accounts.csv`` and ``truth/``.

    Raises:
        ConfigError: invalid settings, or ``out_dir`` exists and is not empty.
    """
    say = progress or (lambda _message: None)
    profile = config.validate()
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ConfigError(
            f"{out_dir}: already exists and is not empty",
            hint="choose a new folder: simulate never overwrites files",
        )
    rng = Rng(config.seed)
    say("building the population")
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
    tally = Tally()
    group_of = personas["group"]
    summary = SimulationSummary(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    writer = ExportWriter(out_dir, dialect, config.start.date())
    carry = pl.DataFrame(
        schema={"ts": pl.Int64, "event_hex": pl.String, **dict.fromkeys(writer.columns, pl.String)}
    )
    try:
        for day in range(config.days):
            say(f"generating {writer.start_day((config.start + timedelta(days=day)).date())}")
            counts = timing.counts(day)
            segments = timing.plan(day, counts)
            total = int(counts["count"].sum() or 0)
            hours = next(
                (h for h in _SLICE_HOURS if total * h / 24 <= SLICE_EVENTS), _SLICE_HOURS[-1]
            )
            day_us = timing.day_start_us(day)
            for first_hour in range(0, 24, hours):
                lo = day_us + first_hour * 3600 * 1_000_000
                hi = lo + hours * 3600 * 1_000_000
                part = segments.filter((pl.col("start_us") >= lo) & (pl.col("start_us") < hi))
                frames = [carry]
                if part.height:
                    events = generator.generate(part, rng.child("events", day, first_hour))
                    _count(events, tally, group_of)
                    frames.append(_render(dialect, events, writer.columns))
                pending = pl.concat(frames).sort("ts", "event_hex")
                last_slice = day == config.days - 1 and first_hour + hours >= 24
                # the last slice takes every remaining event, even one spilling past the window
                ready = pending if last_slice else pending.filter(pl.col("ts") < hi)
                carry = pending.clear() if last_slice else pending.filter(pl.col("ts") >= hi)
                writer.write(ready)
                summary.events += ready.height
            writer.end_day()
    finally:
        writer.finish()
    summary.files = list(writer.files)
    say("writing accounts.csv and truth/")
    summary.accounts = write_accounts(out_dir, population, tally, dialect)
    summary.events_by_group = dict(sorted(tally.groups.items()))
    settings = {
        "distillscan_version": __version__,
        "seed": config.seed,
        "events": config.events,
        "days": config.days,
        "start": config.start.isoformat(),
        "format": config.output_format,
        "profile": profile.name,
        "profile_description": profile.description,
        "evasion": {
            k: getattr(profile.evasion, k)
            for k in (
                "timing_jitter",
                "ip_rotation",
                "paraphrase",
                "per_account_volume",
                "shared_details",
                "synchronization",
            )
        },
        "models_before_release": list(MODELS_BEFORE),
        "new_model": NEW_MODEL,
        "release": config.release.isoformat(),
        "events_by_group": summary.events_by_group,
        "files": summary.files,
    }
    written = write_truth(out_dir, population, tally, settings, dialect)
    summary.campaigns = written["campaigns"]
    for row in written["labels"]:
        summary.labels[row["label"]] = summary.labels.get(row["label"], 0) + 1
    summary.files += ["accounts.csv", f"{TRUTH_DIR}/"]
    return summary


def _render(dialect: Dialect, events: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Serialise a slice's events: ``ts``, ``event_hex`` and the written ``columns``."""
    rendered = dialect.render(events)
    if "companion" in columns:
        rendered = rendered.with_columns(dialect.companion_line().alias("companion"))
    return rendered.select("ts", "event_hex", *columns)


def _count(events: pl.DataFrame, tally: Tally, group_of: pl.Series) -> None:
    """Add a slice's events to the tally (per account, end user and group)."""
    for account, is_campaign, count in (
        events.group_by("account", "is_campaign").len().sort("account", "is_campaign").iter_rows()
    ):
        tally.add_account(account, is_campaign, count)
    users = events.filter(pl.col("end_user_id").is_not_null())
    for account, end_user, is_campaign, count in (
        users.group_by("account", "end_user_id", "is_campaign").len().iter_rows()
    ):
        tally.add_end_user(account, end_user, is_campaign, count)
    groups = group_of.gather(events["persona"]).value_counts()
    for group, count in groups.iter_rows():
        tally.groups[group] = tally.groups.get(group, 0) + count


def remove_partial(out_dir: Path) -> None:
    """Remove an output folder left by a failed run (only what simulate writes)."""
    shutil.rmtree(out_dir, ignore_errors=True)
