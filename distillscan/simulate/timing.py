"""When requests happen: allocation of the events budget to persona-days, and planning of
each day's *segments* (a person's session, an integration's hour of traffic, a benchmark burst).

Allocation is exact: every group receives its share of ``--events`` to the event, spread over
personas and days in proportion to a weight (activity, weekday, lifetime, campaign schedule),
with cumulative rounding so nothing is lost. Planning is vectorised: a segment is one row with a
start, an event count and a gap distribution; :mod:`distillscan.simulate.traffic` expands it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import polars as pl

from distillscan.simulate.choice import ChoiceTable
from distillscan.simulate.config import SimulationConfig
from distillscan.simulate.rng import Rng

#: Hour-of-day activity (local time) of each timing profile.
DIURNAL: dict[str, list[float]] = {
    # people: late morning and evening peaks, quiet nights
    "human": [
        0.55, 0.32, 0.18, 0.11, 0.09, 0.13, 0.3, 0.6, 0.95, 1.25, 1.45, 1.5,
        1.3, 1.35, 1.45, 1.45, 1.4, 1.3, 1.2, 1.3, 1.45, 1.5, 1.3, 0.95,
    ],
    # office work: business hours, a lunch dip
    "office": [
        0.05, 0.03, 0.02, 0.02, 0.03, 0.06, 0.2, 0.6, 1.4, 1.9, 2.0, 1.9,
        1.3, 1.7, 1.9, 1.9, 1.7, 1.2, 0.6, 0.35, 0.25, 0.2, 0.12, 0.08,
    ],
    # students: afternoons and late nights
    "student": [
        1.0, 0.75, 0.45, 0.22, 0.1, 0.06, 0.08, 0.2, 0.45, 0.7, 0.95, 1.1,
        1.1, 1.3, 1.45, 1.45, 1.35, 1.2, 1.15, 1.3, 1.5, 1.6, 1.5, 1.3,
    ],
    # an integration serving customers: always on, busier in business hours
    "business24": [
        0.55, 0.5, 0.48, 0.48, 0.5, 0.55, 0.7, 0.9, 1.15, 1.3, 1.35, 1.35,
        1.3, 1.3, 1.35, 1.35, 1.3, 1.2, 1.05, 0.95, 0.85, 0.75, 0.65, 0.6,
    ],
    # automation: flat
    "flat": [1.0] * 24,
}  # fmt: skip
DIURNAL_NAMES: tuple[str, ...] = tuple(DIURNAL)

US_PER_SECOND = 1_000_000
US_PER_DAY = 86_400 * US_PER_SECOND

#: Columns of a segment frame.
SEGMENT_SCHEMA = {
    "persona": pl.Int64,
    "start_us": pl.Int64,
    "n": pl.Int64,
    "gap_s": pl.Float64,
    "gap_cv": pl.Float64,
    "turns": pl.Float64,
}


def empty_segments() -> pl.DataFrame:
    """A segment frame with no rows."""
    return pl.DataFrame(schema=SEGMENT_SCHEMA)


@dataclass
class Timing:
    """Hour tables, the allocation state and the planners for one simulation."""

    config: SimulationConfig
    personas: pl.DataFrame  # one row per persona (see traffic.persona_frame)
    schedules: list[list[list[float]]]
    budgets: dict[str, int]
    rng: Rng

    def __post_init__(self) -> None:
        self.diurnal_choice = ChoiceTable()
        for name in DIURNAL_NAMES:
            self.diurnal_choice.add(list(range(24)), DIURNAL[name])
        profile_rows = [w for name in DIURNAL_NAMES for w in DIURNAL[name]]
        schedule_rows = [w for days in self.schedules for hours in days for w in hours]
        self.hour_weights = pl.Series("w", profile_rows + schedule_rows, dtype=pl.Float64)
        self.schedule_day = [[sum(hours) / 24 for hours in days] for days in self.schedules]
        anchor_u = self.rng.child("anchor").uniform(self.personas.height)
        life = (
            pl.min_horizontal(pl.col("last_day"), pl.lit(self.config.days - 1))
            - pl.col("first_day")
            + 1
        ).clip(lower_bound=1)
        self.personas = self.personas.with_columns(anchor_u.alias("_anchor_u")).with_columns(
            (pl.col("first_day") + (pl.col("_anchor_u") * life).floor().cast(pl.Int64)).alias(
                "anchor_day"
            )
        )
        self.group_totals: dict[str, float] = dict.fromkeys(self.budgets, 0.0)
        for day in range(self.config.days):
            weights = self._weights(day)
            for group, total in weights.group_by("group").agg(pl.col("w").sum()).iter_rows():
                self.group_totals[group] = self.group_totals.get(group, 0.0) + float(total)
        self._carry: dict[str, float] = dict.fromkeys(self.budgets, 0.0)
        self._rounded: dict[str, float] = dict.fromkeys(self.budgets, 0.0)

    @property
    def release_day(self) -> int:
        """Day index of the new model's release."""
        return (self.config.release - self.config.start).days

    def day_start_us(self, day: int) -> int:
        """Microseconds since the epoch at the start of ``day``."""
        return int((self.config.start + timedelta(days=day)).timestamp()) * US_PER_SECOND

    # --- allocation -------------------------------------------------------------------------

    def _weights(self, day: int) -> pl.DataFrame:
        """Each persona's weight for ``day``: rate x active x weekday x lifetime x schedule."""
        p = self.personas
        u = self.rng.child("active", day).uniform(p.height)
        weekday = (self.config.start + timedelta(days=day)).weekday()
        schedule_factor = pl.Series(
            "s", [1.0] + [days[day] for days in self.schedule_day], dtype=pl.Float64
        )
        factor = schedule_factor.gather(p["schedule"] + 1)
        in_life = (p["first_day"] <= day) & (p["last_day"] >= day)
        active = (u < p["p_active"]) | (p["anchor_day"] == day)
        week = p["weekend"] if weekday >= 5 else pl.Series([1.0] * p.height)
        burst = pl.Series([1.0] * p.height)
        if day == self.release_day:
            burst = p["release_burst"].cast(pl.Float64) * 2.0 + 1.0
        w = p["rate"] * in_life.cast(pl.Float64) * active.cast(pl.Float64) * week * factor * burst
        return pl.DataFrame({"persona": p["persona"], "group": p["group"], "w": w})

    def counts(self, day: int) -> pl.DataFrame:
        """Events per persona on ``day`` (call for days in order); persona, count > 0."""
        weights = self._weights(day)
        parts = []
        for group in sorted(self.budgets):
            total = self.group_totals.get(group, 0.0)
            if total <= 0:
                continue
            rows = weights.filter(pl.col("group") == group)
            x = rows["w"] * (self.budgets[group] / total)
            rounded = (x.cum_sum() + self._carry[group]).round()
            # differences of rounded running totals: they telescope, so the group gets exactly
            # its budget over the window whatever the floating-point error
            count = rounded - rounded.shift(1, fill_value=self._rounded[group])
            self._carry[group] += float(x.sum())
            if rows.height:
                self._rounded[group] = float(rounded[-1])
            parts.append(pl.DataFrame({"persona": rows["persona"], "count": count.cast(pl.Int64)}))
        if not parts:
            return pl.DataFrame(schema={"persona": pl.Int64, "count": pl.Int64})
        return pl.concat(parts).filter(pl.col("count") > 0).sort("persona")

    # --- planning ---------------------------------------------------------------------------

    def plan(self, day: int, counts: pl.DataFrame) -> pl.DataFrame:
        """The segments of ``day``, sorted by start time."""
        attributes = counts.join(self.personas, on="persona", how="left")
        rng = self.rng.child("plan", day)
        parts = [
            self._sessions(day, attributes.filter(pl.col("planner") == "sessions"), rng.child("s")),
            self._streams(day, attributes.filter(pl.col("planner") == "stream"), rng.child("t")),
            self._bursts(day, attributes.filter(pl.col("planner") == "burst"), rng.child("b")),
        ]
        parts = [p for p in parts if p.height]
        if not parts:
            return empty_segments()
        return pl.concat(parts, how="vertical").sort("start_us", "persona", maintain_order=True)

    def _local_start_us(self, day: int, rows: pl.DataFrame, rng: Rng) -> pl.Series:
        """Session start times: an hour from the persona's profile, local time, wrapped."""
        hours = self.diurnal_choice.draw(rows["diurnal_id"], rng.uniform(rows.height))
        within = rng.uniform(rows.height) * 3600.0
        seconds = hours.cast(pl.Float64) * 3600.0 + within - rows["tz"].cast(pl.Float64) * 3600.0
        seconds = ((seconds % 86400.0) + 86400.0) % 86400.0
        return (seconds * US_PER_SECOND).cast(pl.Int64) + self.day_start_us(day)

    def _sessions(self, day: int, rows: pl.DataFrame, rng: Rng) -> pl.DataFrame:
        if rows.height == 0:
            return empty_segments()
        u = rng.uniform(rows.height)
        sessions = (
            (rows["count"].cast(pl.Float64) / rows["session_events"] + u)
            .floor()
            .cast(pl.Int64)
            .clip(1, None)
        )
        sessions = sessions.zip_with(sessions <= rows["count"], rows["count"])
        exploded = (
            rows.with_columns(sessions.alias("n_sessions"))
            .with_columns(pl.int_ranges(0, pl.col("n_sessions")).alias("s"))
            .explode("s")
        )
        n = exploded["count"] // exploded["n_sessions"] + (
            exploded["s"] < exploded["count"] % exploded["n_sessions"]
        ).cast(pl.Int64)
        start = self._local_start_us(day, exploded, rng)
        return pl.DataFrame(
            {
                "persona": exploded["persona"],
                "start_us": start,
                "n": n,
                "gap_s": exploded["gap_seconds"],
                "gap_cv": exploded["gap_cv"],
                "turns": exploded["conversation_turns"],
            }
        ).filter(pl.col("n") > 0)

    def _streams(self, day: int, rows: pl.DataFrame, rng: Rng) -> pl.DataFrame:
        """Automation: each persona's count spread over the hours of its profile or schedule."""
        if rows.height == 0:
            return empty_segments()
        profiles = len(DIURNAL_NAMES)
        hourly = rows.with_columns(pl.int_ranges(0, 24).alias("h")).explode("h")
        local = ((hourly["h"] + hourly["tz"]) % 24 + 24) % 24
        by_profile = hourly["diurnal_id"] * 24 + local
        by_schedule = (profiles + hourly["schedule"] * self.config.days + day) * 24 + hourly["h"]
        index = by_schedule.zip_with(hourly["schedule"] >= 0, by_profile)
        hourly = hourly.with_columns(self.hour_weights.gather(index).alias("hw"))
        hourly = hourly.with_columns(
            (pl.col("count") * pl.col("hw") / pl.col("hw").sum().over("persona")).alias("x")
        ).with_columns(pl.col("x").cum_sum().over("persona").round().alias("rx"))
        hourly = hourly.with_columns(
            (pl.col("rx") - pl.col("rx").shift(1, fill_value=0.0).over("persona"))
            .cast(pl.Int64)
            .alias("nh")
        ).filter(pl.col("nh") > 0)
        spacing = 3600.0 / hourly["nh"].cast(pl.Float64)
        offset = rng.uniform(hourly.height) * spacing.clip(upper_bound=300.0)
        start = (
            self.day_start_us(day)
            + hourly["h"] * 3600 * US_PER_SECOND
            + (offset * US_PER_SECOND).cast(pl.Int64)
        )
        return pl.DataFrame(
            {
                "persona": hourly["persona"],
                "start_us": start,
                "n": hourly["nh"],
                "gap_s": spacing,
                "gap_cv": hourly["gap_cv"],
                "turns": hourly["conversation_turns"],
            }
        )

    def _bursts(self, day: int, rows: pl.DataFrame, rng: Rng) -> pl.DataFrame:
        """Benchmark runs: a few bursts in office hours; on release day one right after it."""
        if rows.height == 0:
            return empty_segments()
        bursts = (
            (rows["count"].cast(pl.Float64) / rows["session_events"]).round().cast(pl.Int64)
        ).clip(1, 4)
        bursts = bursts.zip_with(bursts <= rows["count"], rows["count"])
        exploded = (
            rows.with_columns(bursts.alias("n_bursts"))
            .with_columns(pl.int_ranges(0, pl.col("n_bursts")).alias("s"))
            .explode("s")
        )
        n = exploded["count"] // exploded["n_bursts"] + (
            exploded["s"] < exploded["count"] % exploded["n_bursts"]
        ).cast(pl.Int64)
        start = self._local_start_us(day, exploded, rng)
        if day == self.release_day:
            release_us = int(self.config.release.timestamp()) * US_PER_SECOND
            latest = self.day_start_us(day) + US_PER_DAY - 3600 * US_PER_SECOND
            after = (
                release_us + (exploded["adopt_delay_h"] * 3600 * US_PER_SECOND).cast(pl.Int64)
            ).clip(upper_bound=latest)
            first_on_release = exploded["release_burst"] & (exploded["s"] == 0)
            start = after.zip_with(first_on_release, start)
        return pl.DataFrame(
            {
                "persona": exploded["persona"],
                "start_us": start,
                "n": n,
                "gap_s": exploded["gap_seconds"],
                "gap_cv": exploded["gap_cv"],
                "turns": exploded["conversation_turns"],
            }
        ).filter(pl.col("n") > 0)
