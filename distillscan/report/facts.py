"""Event-level facts a report shows that the detection outputs do not keep.

The passes persist per-account figures and evidence rows, not the things an investigator wants
to *see*: activity over time, the shared prompt skeletons with real example prompts, the shared
IPs and user agents, the events behind an evidence row. This module computes them from the
case's ``events`` in DuckDB (one grouped query per fact, for every campaign at once; no Python
loop over events), restricted to the investigation's window.

Skeletons are computed as :mod:`distillscan.detect.features` does (case folded, digits masked,
whitespace collapsed, the first or last 48 characters of the prompt's ends), so a template shown
here is one the ``shared_templates`` pass saw.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import polars as pl

from distillscan.case import Case, Resources, connect
from distillscan.db import has_view, in_window_sql
from distillscan.detect import text_cache
from distillscan.detect.infrastructure import traffic_entities_sql
from distillscan.errors import CaseError

#: Candidate timeline bucket widths in hours; the smallest giving at most ``MAX_BUCKETS`` wins.
BUCKET_HOURS = (1, 2, 3, 6, 12, 24, 48, 168)
MAX_BUCKETS = 48
#: Buckets start at multiples of their width counted from this Monday, 00:00 UTC.
BUCKET_ORIGIN = datetime(2000, 1, 3)
#: Characters of a prompt kept for examples (the full length is reported alongside).
EXAMPLE_CHARS = 600
T = TypeVar("T")

#: DuckDB's memory for a report's facts, spilling beyond it to the system's temp folder. Left
#: at DuckDB's default (80% of RAM) the template counts of a 16M-event case held 10 GiB; within
#: 4 GiB they take 41 s instead of 39 s. ``None`` (on retry) is DuckDB's own default.
FACTS_MEMORY_LIMIT = "4GiB"


def on_events(
    case_dir: Path,
    window: tuple[datetime | None, datetime | None],
    work: Callable[[duckdb.DuckDBPyConnection], T],
) -> T:
    """``work`` over a connection from :func:`open_events`, closed afterwards.

    ``work`` runs within :data:`FACTS_MEMORY_LIMIT`; if DuckDB cannot finish in it (an operator
    that cannot spill enough), it runs again within DuckDB's own limit.
    """
    for memory_limit in (FACTS_MEMORY_LIMIT, None):
        con = open_events(case_dir, window, memory_limit=memory_limit)
        try:
            return work(con)
        except duckdb.OutOfMemoryException:
            if memory_limit is None:
                raise
        finally:
            con.close()
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def open_events(
    case_dir: Path,
    window: tuple[datetime | None, datetime | None],
    memory_limit: str | None = FACTS_MEMORY_LIMIT,
) -> duckdb.DuckDBPyConnection:
    """An in-memory connection whose ``scoped_events`` view is the investigation's events, and
    ``event_text`` their text features (as the analysis kept them; see
    :mod:`distillscan.detect.text_cache`).

    The case's views are recreated in memory (over the committed Parquet parts), so reporting
    never writes to the case folder: a case on read-only evidence storage can be reported on.
    DuckDB works within ``memory_limit`` and spills to the system's temp folder beyond it.
    """
    con = connect(
        resources=Resources(memory_limit=memory_limit),
        spill_dir=Path(tempfile.gettempdir()) / "distillscan-report",
    )
    case = Case(case_dir)
    case.refresh_views(con)
    if not has_view(con, "events"):
        con.close()
        raise CaseError(f"{case_dir}: the case holds no events", hint="ingest logs into it first")
    con.execute(f"CREATE TEMP VIEW scoped_events AS {in_window_sql('events', window)}")
    text_cache.prepare(con, case, write=False)
    return con


def event_span(con: duckdb.DuckDBPyConnection) -> tuple[datetime | None, datetime | None, int]:
    """First and last event time and the number of events in the window."""
    first, last, count = con.execute(
        "SELECT min(ts), max(ts), count(*) FROM scoped_events"
    ).fetchall()[0]
    return first, last, int(count)


def release_times(con: duckdb.DuckDBPyConnection, models: list[str]) -> dict[str, datetime]:
    """When each of ``models`` first appears in the window (its visible release)."""
    if not models:
        return {}
    rows = con.execute(
        "SELECT model, min(ts) FROM scoped_events WHERE list_contains($models, model) "
        "GROUP BY model ORDER BY model",
        {"models": sorted(set(models))},
    ).fetchall()
    return {str(model): ts for model, ts in rows}


def bucket_hours(first: datetime | None, last: datetime | None) -> int:
    """The timeline bucket width for activity from ``first`` to ``last``."""
    if first is None or last is None:
        return BUCKET_HOURS[0]
    span_hours = (last - first).total_seconds() / 3600
    for hours in BUCKET_HOURS:
        if span_hours / hours < MAX_BUCKETS:
            return hours
    return BUCKET_HOURS[-1]


def bucket_start(moment: datetime, hours: int) -> datetime:
    """Start of the ``hours``-wide bucket holding ``moment``."""
    width = timedelta(hours=hours)
    return BUCKET_ORIGIN + ((moment - BUCKET_ORIGIN) // width) * width


@dataclass(frozen=True)
class Scope:
    """Which accounts a fact is computed for, grouped under a label (a campaign or an account).

    Attributes:
        members: ``label``, ``account_id`` pairs.
        hours: Timeline bucket width per label.
        release_model: The model whose release is marked on each label's timeline (or absent).
    """

    members: pl.DataFrame
    hours: dict[str, int]
    release_model: dict[str, str]

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        """Make ``scope_members`` and ``scope_labels`` visible to the queries below."""
        labels = pl.DataFrame(
            {
                "label": list(self.hours),
                "hours": list(self.hours.values()),
                "release_model": [self.release_model.get(label) for label in self.hours],
            },
            schema={"label": pl.String, "hours": pl.Int64, "release_model": pl.String},
        )
        con.register("scope_members", self.members.select("label", "account_id").to_arrow())
        con.register("scope_labels", labels.to_arrow())


TIMELINE_SQL = """
SELECT m.label,
    time_bucket(to_hours(l.hours), e.ts, $origin) AS start,
    count(*) AS events,
    count(*) FILTER (WHERE e.model = l.release_model) AS on_release_model,
    count(DISTINCT e.account_id) AS accounts
FROM scoped_events e
JOIN scope_members m USING (account_id)
JOIN scope_labels l USING (label)
GROUP BY ALL
ORDER BY m.label, start
"""


def timelines(con: duckdb.DuckDBPyConnection, scope: Scope) -> dict[str, list[dict[str, Any]]]:
    """Per label, activity per bucket from the first to the last active bucket (gaps as zero)."""
    scope.register(con)
    frame = con.sql(TIMELINE_SQL, params={"origin": BUCKET_ORIGIN}).pl()
    result: dict[str, list[dict[str, Any]]] = {}
    for label, hours in sorted(scope.hours.items()):
        rows = frame.filter(pl.col("label") == label)
        if rows.is_empty():
            result[label] = []
            continue
        seen = {r["start"]: r for r in rows.iter_rows(named=True)}
        start, stop = min(seen), max(seen)
        width = timedelta(hours=hours)
        buckets = []
        moment = start
        while moment <= stop:  # at most MAX_BUCKETS (or the span / a week) iterations
            row = seen.get(moment)
            buckets.append(
                {
                    "start": moment,
                    "events": int(row["events"]) if row else 0,
                    "on_release_model": int(row["on_release_model"]) if row else 0,
                    "accounts": int(row["accounts"]) if row else 0,
                }
            )
            moment += width
        result[label] = buckets
    return result


TEMPLATES_SQL = f"""
WITH
-- Each event's skeletons come from the text features the analysis kept (``event_text``).
-- Counting needs only accounts and skeletons; events and prompt texts are fetched later, for
-- the few templates shown.
keyed AS (
    SELECT e.account_id, k.head, k.tail
    FROM scoped_events e JOIN event_text k USING (event_id)
    WHERE k.head IS NOT NULL
),
uses AS (
    SELECT account_id, 'starts' AS side, head AS skeleton FROM keyed
    UNION ALL
    SELECT account_id, 'ends', tail FROM keyed WHERE tail IS NOT NULL
),
spread AS (
    SELECT side, skeleton, count(DISTINCT account_id) AS all_accounts FROM uses GROUP BY ALL
),
scoped AS (
    SELECT m.label, u.* FROM uses u JOIN scope_members m USING (account_id)
),
per_template AS (
    SELECT label, side, skeleton, count(DISTINCT account_id) AS accounts, count(*) AS events
    FROM scoped GROUP BY ALL
    HAVING count(DISTINCT account_id) >= $min_accounts
),
top AS (
    SELECT p.*, s.all_accounts - p.accounts AS other_accounts
    FROM per_template p JOIN spread s USING (side, skeleton)
    WHERE s.all_accounts <= $common_accounts
    QUALIFY row_number() OVER (
        PARTITION BY p.label
        ORDER BY p.accounts DESC, s.all_accounts, p.events DESC, p.side DESC, p.skeleton
    ) <= $limit
),
member_events AS (
    -- Only the labels' own events can be examples: starting from every prompt that has a shown
    -- skeleton would grow with the number of labels times a popular skeleton's prompts.
    SELECT m.label, e.account_id, e.event_id, e.ts, e.model, e.source_file, e.source_line,
        e.prompt, k.head, k.tail
    FROM scoped_events e
    JOIN scope_members m USING (account_id)
    JOIN event_text k USING (event_id)
    WHERE k.head IS NOT NULL
),
shown_events AS (
    SELECT t.label, t.side, t.skeleton, x.account_id, x.event_id, x.ts, x.model,
        x.source_file, x.source_line, x.prompt
    FROM top t JOIN member_events x
        ON x.label = t.label AND t.side = 'starts' AND x.head = t.skeleton
    UNION ALL
    SELECT t.label, t.side, t.skeleton, x.account_id, x.event_id, x.ts, x.model,
        x.source_file, x.source_line, x.prompt
    FROM top t JOIN member_events x
        ON x.label = t.label AND t.side = 'ends' AND x.tail = t.skeleton
),
distinct_prompts AS (
    -- The earliest event of each shown prompt among the label's accounts.
    SELECT * FROM shown_events
    QUALIFY row_number() OVER (
        PARTITION BY label, side, skeleton, prompt ORDER BY ts, event_id) = 1
),
examples AS (
    SELECT label, side, skeleton,
        list({{'account_id': account_id, 'event_id': event_id, 'ts': ts, 'model': model,
               'source_file': source_file, 'source_line': source_line,
               'prompt': left(prompt, {EXAMPLE_CHARS}), 'prompt_chars': length(prompt)}}
             ORDER BY ts, event_id) AS examples
    FROM (
        SELECT * FROM distinct_prompts
        QUALIFY row_number() OVER (
            PARTITION BY label, side, skeleton ORDER BY ts, event_id) <= $examples
    )
    GROUP BY ALL
)
SELECT t.label, t.side, t.skeleton, t.accounts, t.events, t.other_accounts, x.examples
FROM top t JOIN examples x USING (label, side, skeleton)
ORDER BY t.label, t.accounts DESC, t.other_accounts, t.events DESC, t.side DESC, t.skeleton
"""


def templates(
    con: duckdb.DuckDBPyConnection,
    scope: Scope,
    *,
    limit: int = 5,
    examples: int = 2,
    min_accounts: int = 2,
    common_accounts: int | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Per label, the prompt skeletons used by at least ``min_accounts`` of its accounts.

    Skeletons used by more than ``common_accounts`` accounts in all are left out (a default SDK
    prompt or "hello" says nothing about a campaign; the ``shared_templates`` pass ignores them
    too). The most widely used among the label's accounts come first (the most distinctive
    first among equals), each with the number of
    its accounts and events using it, how many accounts outside the label use it too, and
    ``examples`` distinct example prompts (earliest first).
    """
    scope.register(con)
    params = {
        "limit": limit,
        "examples": examples,
        "min_accounts": min_accounts,
        "common_accounts": common_accounts if common_accounts is not None else 2**62,
    }
    frame = con.sql(TEMPLATES_SQL, params=params).pl()
    return _by_label(frame)


INFRASTRUCTURE_SQL = f"""
WITH {traffic_entities_sql("scoped_events")},
traffic AS (
    SELECT account_id, kind, entity AS value, n AS events FROM traffic_entities
),
used AS (
    SELECT t.* FROM traffic t JOIN totals USING (account_id)
    WHERE t.events >= $min_share * totals.n AND t.value IS NOT NULL
        AND t.value NOT IN ('', '.0/24')
    UNION ALL
    SELECT account_id, kind, value, 0 FROM scope_metadata
),
spread AS (
    SELECT kind, value, count(DISTINCT account_id) AS all_accounts FROM used GROUP BY ALL
),
per_entity AS (
    SELECT m.label, u.kind, u.value, count(DISTINCT u.account_id) AS accounts,
        sum(u.events) AS events
    FROM used u JOIN scope_members m USING (account_id)
    GROUP BY ALL HAVING count(DISTINCT u.account_id) >= $min_accounts
)
SELECT p.*, s.all_accounts - p.accounts AS other_accounts
FROM per_entity p JOIN spread s USING (kind, value)
QUALIFY row_number() OVER (
    PARTITION BY p.label ORDER BY p.accounts DESC, p.events DESC, p.kind, p.value) <= $limit
ORDER BY p.label, p.accounts DESC, p.events DESC, p.kind, p.value
"""

#: Account metadata columns that identify shared sign-up infrastructure, by entity kind.
METADATA_KINDS = {"payment": "payment_fingerprint", "email_domain": "email_domain"}


def infrastructure(
    con: duckdb.DuckDBPyConnection,
    scope: Scope,
    accounts: pl.DataFrame,
    *,
    min_share: float,
    limit: int = 10,
    min_accounts: int = 2,
) -> dict[str, list[dict[str, Any]]]:
    """Per label, the IPs, prefixes, user agents and sign-up details its accounts share.

    An account *uses* a traffic entity when it carries at least ``min_share`` of its events
    (the infrastructure pass's rule); payment and email-domain come from account metadata.
    """
    metadata = [
        accounts.filter(pl.col(column).is_not_null()).select(
            "account_id", pl.lit(kind).alias("kind"), pl.col(column).cast(pl.String).alias("value")
        )
        for kind, column in METADATA_KINDS.items()
        if column in accounts.columns
    ]
    frame = (
        pl.concat(metadata)
        if metadata
        else pl.DataFrame(schema={"account_id": pl.String, "kind": pl.String, "value": pl.String})
    )
    scope.register(con)
    con.register("scope_metadata", frame.to_arrow())
    try:
        result = con.sql(
            INFRASTRUCTURE_SQL,
            params={"min_share": min_share, "limit": limit, "min_accounts": min_accounts},
        ).pl()
    finally:
        con.unregister("scope_metadata")
    return _by_label(result)


EVENTS_SQL = f"""
SELECT e.event_id, e.account_id, e.ts, e.model, e.source_file, e.source_line, e.end_user_id,
    e.source_ip, e.user_agent, left(e.prompt, {EXAMPLE_CHARS}) AS prompt,
    length(e.prompt) AS prompt_chars
FROM scoped_events e
JOIN wanted_events k ON k.account_id = e.account_id AND k.event_id = e.event_id
ORDER BY e.source_file, e.source_line, e.event_id
"""


def events_by_id(
    con: duckdb.DuckDBPyConnection, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """The events behind evidence rows, by ``(account_id, event_id)``."""
    if not keys:
        return {}
    wanted = pl.DataFrame(
        sorted(set(keys)), schema={"account_id": pl.String, "event_id": pl.String}, orient="row"
    )
    con.register("wanted_events", wanted.to_arrow())
    try:
        frame = con.sql(EVENTS_SQL).pl()
    finally:
        con.unregister("wanted_events")
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for row in frame.iter_rows(named=True):
        found.setdefault((row["account_id"], row["event_id"]), row)
    return found


RECENT_SQL = f"""
SELECT event_id, account_id, ts, model, source_file, source_line, end_user_id, source_ip,
    user_agent, left(prompt, {EXAMPLE_CHARS}) AS prompt, length(prompt) AS prompt_chars
FROM scoped_events WHERE account_id = $account
ORDER BY ts, source_file, source_line, event_id
LIMIT $limit
"""


def first_events(
    con: duckdb.DuckDBPyConnection, account_id: str, limit: int
) -> list[dict[str, Any]]:
    """An account's first ``limit`` events in time order."""
    frame = con.sql(RECENT_SQL, params={"account": account_id, "limit": limit}).pl()
    return list(frame.iter_rows(named=True))


END_USER_ACCOUNTS_SQL = """
SELECT account_id, count(*) AS events, min(ts) AS first_seen, max(ts) AS last_seen
FROM scoped_events WHERE end_user_id = $end_user
GROUP BY account_id ORDER BY events DESC, account_id
"""

END_USER_EVENTS_SQL = f"""
SELECT event_id, account_id, ts, model, source_file, source_line, end_user_id,
    left(prompt, {EXAMPLE_CHARS}) AS prompt, length(prompt) AS prompt_chars
FROM scoped_events WHERE end_user_id = $end_user
ORDER BY ts, source_file, source_line, event_id
LIMIT $limit
"""


def end_user(
    con: duckdb.DuckDBPyConnection, end_user_id: str, limit: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """An end user's accounts (busiest first) and its first ``limit`` events."""
    params = {"end_user": end_user_id}
    accounts = con.sql(END_USER_ACCOUNTS_SQL, params=params).pl()
    events = con.sql(END_USER_EVENTS_SQL, params={**params, "limit": limit}).pl()
    return list(accounts.iter_rows(named=True)), list(events.iter_rows(named=True))


END_USERS_SQL = """
SELECT end_user_id, count(*) AS events, min(ts) AS first_seen, max(ts) AS last_seen
FROM scoped_events WHERE account_id = $account AND end_user_id IS NOT NULL
GROUP BY end_user_id ORDER BY events DESC, end_user_id LIMIT $limit
"""


def end_users(con: duckdb.DuckDBPyConnection, account_id: str, limit: int) -> list[dict[str, Any]]:
    """An account's busiest end users (resellers and apps that pass their users' ids)."""
    frame = con.sql(END_USERS_SQL, params={"account": account_id, "limit": limit}).pl()
    return list(frame.iter_rows(named=True))


#: Distinct prompt skeletons a tenant must share with a campaign to be shown with it.
TENANT_MIN_SHARED = 2

TENANT_LINKS_SQL = """
WITH tenant_heads AS (
    SELECT DISTINCT e.account_id, k.head AS skeleton
    FROM scoped_events e
    JOIN tenants t ON t.account_id = e.account_id AND t.end_user_id = e.end_user_id
    JOIN event_text k ON k.event_id = e.event_id
    WHERE k.head IS NOT NULL
),
member_heads AS (
    SELECT DISTINCT m.label, k.head AS skeleton
    FROM scoped_events e JOIN scope_members m USING (account_id)
    JOIN event_text k ON k.event_id = e.event_id
    WHERE k.head IS NOT NULL
),
shared AS (
    SELECT h.account_id, m.label, count(*) AS shared_skeletons
    FROM tenant_heads h JOIN member_heads m USING (skeleton)
    GROUP BY ALL HAVING count(*) >= $min_shared
)
-- Real prompt text shares skeletons widely: one shared skeleton links a tenant to every
-- campaign. The tenant belongs with the campaign it shares the most with.
SELECT account_id, label FROM shared
QUALIFY row_number() OVER (
    PARTITION BY account_id ORDER BY shared_skeletons DESC, label) = 1
ORDER BY account_id
"""


def tenant_links(
    con: duckdb.DuckDBPyConnection, scope: Scope, tenants: pl.DataFrame
) -> dict[str, list[str]]:
    """For mixed accounts: the label (campaign) their implicated end users share the most
    prompt skeletons with, at least ``TENANT_MIN_SHARED`` of them (a list of at most one).

    Args:
        tenants: ``account_id``, ``end_user_id`` of every implicated end user.
    """
    if tenants.is_empty() or scope.members.is_empty():
        return {}
    scope.register(con)
    con.register("tenants", tenants.select("account_id", "end_user_id").to_arrow())
    try:
        rows = con.sql(TENANT_LINKS_SQL, params={"min_shared": TENANT_MIN_SHARED}).fetchall()
    finally:
        con.unregister("tenants")
    links: dict[str, list[str]] = {}
    for account_id, label in rows:
        links.setdefault(str(account_id), []).append(str(label))
    return links


def _by_label(frame: pl.DataFrame) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in frame.iter_rows(named=True):
        label = row.pop("label")
        grouped.setdefault(label, []).append(row)
    return grouped
