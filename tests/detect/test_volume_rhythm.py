from __future__ import annotations

from distillscan.detect import volume_rhythm
from tests.detect.conftest import EventsFactory, context, event


def test_round_the_clock_automation_versus_a_daytime_person(events_con: EventsFactory) -> None:
    bot = [event("bot", minutes) for minutes in range(0, 3 * 24 * 60, 20)]  # every 20 min, 3 days
    person = [
        event("person", day * 1440 + hour * 60 + k)
        for day in range(3)
        for hour in (9, 10, 11, 14, 15, 16, 17)
        for k in (5, 25, 45)
    ]
    out = volume_rhythm.run(context(events_con(bot + person), "volume_rhythm"))
    signals = {row["account_id"]: row for row in out.signals.iter_rows(named=True)}
    assert signals["bot"]["quiet_hours_share"] > 0.3
    assert signals["bot"]["automation_signal"] > 0.9
    assert signals["person"]["quiet_hours_share"] == 0.0
    assert signals["person"]["automation_signal"] == 0.0
    assert signals["bot"]["n_events"] == len(bot)
    assert signals["person"]["active_days"] == 3


def test_quiet_share_wraps_around_midnight() -> None:
    import polars as pl

    # Active only 22:00-02:00: the quiet stretch spans the day boundary the other way.
    hours = pl.DataFrame(
        {"account_id": ["night"] * 4, "hour": [22, 23, 0, 1], "n": [10, 10, 10, 10]},
        schema={"account_id": pl.String, "hour": pl.Int64, "n": pl.Int64},
    )
    assert volume_rhythm.quiet_share(hours)["quiet_hours_share"].to_list() == [0.0]


def test_gap_regularity_is_the_coefficient_of_variation_of_session_gaps(
    events_con: EventsFactory,
) -> None:
    import statistics

    # Gaps of 1, 3, 2 and 2 minutes, a night away (not a session gap), then 4 minutes; ties
    # (two events in the same minute) make a gap of zero.
    minutes = [0, 1, 4, 6, 8, 8, 8 + 16 * 60, 12 + 16 * 60]
    out = volume_rhythm.run(
        context(events_con([event("acct", m) for m in minutes]), "volume_rhythm")
    )
    gaps = [60.0 * g for g in (1, 3, 2, 2, 0, 4)]
    expected = statistics.pstdev(gaps) / statistics.mean(gaps)
    (row,) = out.signals.iter_rows(named=True)
    assert abs(row["gap_cv"] - expected) < 1e-12
