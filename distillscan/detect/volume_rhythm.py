"""Volume and rhythm: how much an account sends, and whether a person could be sending it.

Measures, per account: events, active days and span; the hour-of-day profile (the share of
traffic in the account's quietest eight consecutive hours: people sleep, scripts do not); the
regularity of inter-arrival gaps within sessions (coefficient of variation); peak concurrency
(most requests in one minute) and rate-limit hugging (how often the account runs at its own
per-minute ceiling).

Why it indicates distillation: harvesting is automated and runs round the clock, load-balanced
to stay just under each account's rate limit; the reported campaigns were steady, synchronized
traffic, not human sessions.

Known false positives: enterprise integrations and batch jobs are automated too (they run 24/7 by
design); this signal is never enough alone and is weighted with content and coordination.
Accounts with few events have no reliable profile: the signal ramps in with volume.

Cost: one scan of ``events`` grouped by (account, hour); the gaps and per-minute counts read
``event_features`` keyed by ``account_no`` (see :mod:`.features`): at 16M events a window over
string account ids took 40 s and pushed the shared temp tables out to disk, on integers 4 s.
Linear in events.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from distillscan.detect.base import Context, Pass, PassOutput, Pooled, Signal, percent, ramp

SQL = """
WITH numbered AS (
    SELECT a.account_no, e.ts
    FROM event_features e JOIN account_org a USING (account_id)
),
ordered AS (
    -- Ties in ts need no order: the gaps between sorted times are the same either way.
    SELECT account_no, ts,
        epoch_us(ts) - lag(epoch_us(ts)) OVER (PARTITION BY account_no ORDER BY ts) AS gap_us
    FROM numbered
),
session_gaps AS (
    -- Gaps inside a session only: a night's sleep says nothing about regularity. Sums of whole
    -- microseconds are exact, so the coefficient of variation has the same bits on every run
    -- (a float sum's depends on the order the threads add in).
    SELECT account_no, count(*) AS n, sum(gap_us::HUGEINT) AS s1,
        sum(gap_us::HUGEINT * gap_us) AS s2
    FROM ordered
    WHERE gap_us < $session_gap_s * 1000000
    GROUP BY account_no
),
per_account AS (
    SELECT account_no,
        count(*) AS n_events,
        count(DISTINCT ts::DATE) AS active_days,
        min(ts) AS first_seen,
        max(ts) AS last_seen
    FROM numbered
    GROUP BY account_no
),
per_minute AS (
    SELECT account_no, count(*) AS n
    FROM numbered
    GROUP BY account_no, date_trunc('minute', ts)
),
ceilings AS (
    SELECT account_no, quantile_cont(n, 0.99) AS ceiling FROM per_minute GROUP BY account_no
),
concurrency AS (
    SELECT account_no,
        max(n) AS peak_per_minute,
        -- Share of active minutes spent within 80% of the account's own ceiling.
        avg((n >= 0.8 * ceiling)::INT) AS at_ceiling_share
    FROM per_minute JOIN ceilings USING (account_no)
    GROUP BY account_no
)
SELECT a.account_id, p.* EXCLUDE (account_no),
    -- Population standard deviation over mean: sqrt(n * s2 - s1^2) / s1.
    CASE WHEN g.s1 > 0 THEN sqrt((g.n * g.s2 - g.s1 * g.s1)::DOUBLE) / g.s1::DOUBLE END AS gap_cv,
    c.peak_per_minute, c.at_ceiling_share
FROM per_account p
LEFT JOIN session_gaps g USING (account_no)
JOIN concurrency c USING (account_no)
JOIN account_org a USING (account_no)
ORDER BY a.account_id
"""

HOURS_SQL = """
SELECT account_id, hour(ts) AS hour, count(*) AS n
FROM events
GROUP BY ALL
"""


@dataclass(frozen=True)
class Params:
    """The ``[passes.volume_rhythm]`` settings (defaults, meanings: default_config.toml)."""

    session_gap_s: int
    quiet_share_human: float
    min_events: int


def quiet_share(hours: pl.DataFrame, window: int = 8) -> pl.DataFrame:
    """Share of each account's events in its quietest ``window`` consecutive hours (circular).

    A person's day has a long quiet stretch (share near 0); round-the-clock automation has none
    (share near ``window / 24``).
    """
    wide = hours.pivot(on="hour", index="account_id", values="n").fill_null(0)
    for hour in range(24):
        if str(hour) not in wide.columns:
            wide = wide.with_columns(pl.lit(0).alias(str(hour)))
    total = pl.sum_horizontal([pl.col(str(h)) for h in range(24)])
    windows = [
        pl.sum_horizontal([pl.col(str((start + k) % 24)) for k in range(window)])
        for start in range(24)
    ]
    return wide.select(
        "account_id", (pl.min_horizontal(windows) / total).alias("quiet_hours_share")
    )


def run(ctx: Context[Params]) -> PassOutput:
    """Compute volume and rhythm figures and the ``automation_signal``."""
    p = ctx.params
    accounts = ctx.frame(SQL, session_gap_s=p.session_gap_s)
    quiet = quiet_share(ctx.frame(HOURS_SQL))
    flat = 8 / 24
    signals = accounts.join(quiet, on="account_id", how="left").with_columns(
        # Round the clock: the quietest 8 hours carry close to a third of the traffic.
        ramp(pl.col("quiet_hours_share"), p.quiet_share_human, flat * 0.85).alias(
            "round_the_clock"
        ),
        ramp(pl.col("n_events"), p.min_events, p.min_events * 4).alias("volume_confidence"),
    )
    signals = signals.with_columns(
        (pl.col("round_the_clock") * pl.col("volume_confidence")).alias("automation_signal")
    )
    return PassOutput(signals=signals.sort("account_id"))


def describe(pooled: Pooled) -> str:
    """Traffic in the quietest hours against a person's, and the busiest minute."""
    f = pooled.figures
    human = pooled.params_of(Params).quiet_share_human
    return (
        f"{percent(f['quiet_hours_share'])} of traffic in the quietest 8 hours of the day "
        f"(a person: about {percent(human)}); peak {int(f['peak_per_minute'])} "
        "request(s) per minute"
    )


AUTOMATION = Signal(
    id="automation",
    family="operations",
    label="round-the-clock automation",
    describe=describe,
    shares=("quiet_hours_share",),
    maxima=("peak_per_minute",),
    figures=("active_days", "gap_cv", "at_ceiling_share"),
)

PASS = Pass(
    id="volume_rhythm",
    title="Volume and rhythm",
    requires=("ts",),
    run=run,
    params=Params,
    doc=__doc__ or "",
    signals=(AUTOMATION,),
)
