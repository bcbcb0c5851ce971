"""Context loops: agent loops read from token counts alone, against the logs' own people."""

from __future__ import annotations

import polars as pl

from distillscan.detect import context_loops
from tests.detect.conftest import EventsFactory, context, event


def _session(
    account: str, start_minutes: float, step_seconds: float, turns: int, **fields: object
) -> list[dict[str, object]]:
    """One conversation or loop: each request carries the context so far plus a new message."""
    rows = []
    prompt = 300
    for turn in range(turns):
        rows.append(
            event(
                account,
                start_minutes + turn * step_seconds / 60,
                None,
                prompt_tokens=prompt,
                completion_tokens=200,
                **fields,
            )
        )
        prompt += 200 + 150  # the answer and the next message (or tool result) appended
    return rows


def _people(n: int) -> list[dict[str, object]]:
    """People taking turns: a minute or so to read and type, a few conversations each."""
    return [
        row
        for p in range(n)
        for s in range(3)
        for row in _session(f"person-{p:02d}", p * 7 + s * 120, 50 + 3 * p + 5 * s, 5)
    ]


def _signals(con_events: list[dict[str, object]], events_con: EventsFactory) -> pl.DataFrame:
    return context_loops.run(context(events_con(con_events), "context_loops")).signals


def test_loops_at_machine_pace_stand_out_from_people(events_con: EventsFactory) -> None:
    loop = [row for s in range(6) for row in _session("loop", s * 30, 8, 6)]
    # An evaluation harness: independent items in parallel, prompt sizes at random. Some
    # happen to be longer than the one before, but they come before any answer was written.
    harness = [
        event(
            "harness",
            i * 0.001,
            None,
            prompt_tokens=300 + (i * 7919) % 600,
            completion_tokens=250,
        )
        for i in range(60)
    ]
    frame = _signals(loop + harness + _people(20), events_con)
    signal = dict(zip(frame["account_id"], frame["context_loop_signal"], strict=True))
    assert signal["loop"] == 1.0
    assert signal["harness"] == 0.0
    assert max(v for k, v in signal.items() if k.startswith("person")) == 0.0
    row = frame.filter(pl.col("account_id") == "loop").row(0, named=True)
    assert row["n_continuations"] == 30  # every step but each session's first
    assert row["continuation_seconds"] == 8.0
    assert row["loop_pace_ratio"] < 0.2


def test_a_campaign_larger_than_the_people_does_not_set_the_think_time(
    events_con: EventsFactory,
) -> None:
    """Loop accounts are two thirds of the accounts with continuations: the upper quartile
    still sits among the people."""
    loops = [
        row for a in range(40) for s in range(2) for row in _session(f"loop-{a:02d}", s * 30, 8, 6)
    ]
    frame = _signals(loops + _people(20), events_con)
    loop_signals = frame.filter(pl.col("account_id").str.starts_with("loop"))
    assert loop_signals["context_loop_signal"].min() == 1.0
    assert frame["population_continuation_seconds"][0] >= 50.0


def test_unrelated_requests_are_not_continuations(events_con: EventsFactory) -> None:
    """A templated integration's requests come fast, but no answer is carried forward."""
    integration = [
        event("integration", i * 0.2, None, prompt_tokens=400, completion_tokens=120)
        for i in range(80)
    ]
    frame = _signals(integration + _people(20), events_con)
    row = frame.filter(pl.col("account_id") == "integration").row(0, named=True)
    assert row["n_continuations"] == 0
    assert row["context_loop_signal"] == 0.0


def test_no_continuations_means_no_think_time(events_con: EventsFactory) -> None:
    rows = [event("single", i * 5, None, prompt_tokens=100, completion_tokens=50) for i in range(9)]
    out = context_loops.run(context(events_con(rows), "context_loops"))
    assert out.signals.is_empty()
    assert "think time" in out.notes[0]
