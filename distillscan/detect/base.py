"""What a detection pass is: one documented function from the case's events to signal tables.

A pass reads the ``events`` view (already restricted to the investigation window) through
:class:`Context` and returns a :class:`PassOutput`:

* ``signals``: one row per account with ``account_id`` and the pass's columns. Columns whose
  name ends in ``_signal`` are the pass's verdicts in [0, 1] and feed the account score; the
  other columns are the figures behind them (shown as evidence);
* ``edges``: account pairs the pass links (``account_a < account_b``, ``kind``, ``weight`` in
  [0, 1], ``detail``), used to link accounts into campaigns;
* ``evidence``: example events behind a finding (``account_id``, ``kind``, ``event_id``,
  ``source_file``, ``source_line``, ``detail``);
* ``artefacts``: the uncommon things an account uses that other accounts use too (an IP, a
  payment fingerprint: ``account_id``, ``kind``, ``artefact``, ``weight`` in [0, 1], how much
  the artefact would identify the account: its kind's weight and the account's share of
  traffic on it, not its rarity, which linking measures against each campaign). Linking judges
  an account too thin to judge on its own by how much of what it uses is a campaign's. Two
  artefacts of one kind are alternatives (the stronger counts); different kinds are
  independent facts.

Passes never print and never write to the case; they are pure functions of (events, config).
A pass names the event columns it needs; when the logs do not carry them, the pass is skipped
and the report says why.

A pass also declares its scored signals (:class:`Signal`): the family each belongs to, the
figures behind it and how they pool over a group of accounts, and the sentence that describes
them. Scoring, the report's signal rows, the drill-down's figures and the JSON schema's enums all
read these declarations, so a new signal is written once, in the pass that measures it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import duckdb
import polars as pl

from distillscan.db import sql_identifier

EDGE_SCHEMA: dict[str, pl.DataType] = {
    "account_a": pl.String(),
    "account_b": pl.String(),
    "kind": pl.String(),
    "weight": pl.Float64(),
    "detail": pl.String(),
}
EVIDENCE_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.String(),
    "kind": pl.String(),
    "event_id": pl.String(),
    "source_file": pl.String(),
    "source_line": pl.Int64(),
    "detail": pl.String(),
}


ARTEFACT_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.String(),
    "kind": pl.String(),
    "artefact": pl.String(),
    "weight": pl.Float64(),
}


def empty_artefacts() -> pl.DataFrame:
    """An artefact table with no rows."""
    return pl.DataFrame(schema=ARTEFACT_SCHEMA)


def empty_edges() -> pl.DataFrame:
    """An edge table with no rows."""
    return pl.DataFrame(schema=EDGE_SCHEMA)


def empty_evidence() -> pl.DataFrame:
    """An evidence table with no rows."""
    return pl.DataFrame(schema=EVIDENCE_SCHEMA)


#: A pass's parameters: the frozen dataclass its module names ``Params``, one field per key of
#: its ``[passes.<id>]`` table.
ParamsT = TypeVar("ParamsT")
OtherParamsT = TypeVar("OtherParamsT")


@dataclass(frozen=True)
class Context(Generic[ParamsT]):
    """What a pass may read.

    Attributes:
        con: DuckDB connection with the ``events`` view (the investigation window) and the
            shared ``event_features`` and ``account_org`` tables (:mod:`.features`).
        params: This pass's parameters from the configuration.
        available: Event columns that hold at least one value in these logs.
        passes: Every pass's parameters by pass id, for a pass that applies an earlier pass's
            measure to other units (end users inside a reseller): see :meth:`params_of`.
    """

    con: duckdb.DuckDBPyConnection
    params: ParamsT
    available: frozenset[str]
    passes: Mapping[str, object] = field(default_factory=dict)

    def params_of(self, kind: type[OtherParamsT]) -> OtherParamsT:
        """The parameters of another pass, by its ``Params`` class."""
        return params_of(self.passes, kind)

    def frame(self, sql: str, **params: Any) -> pl.DataFrame:
        """Run ``sql`` with named parameters and return a Polars frame."""
        frame: pl.DataFrame = self.con.sql(sql, params=_used(sql, params) or None).pl()
        return frame

    def drop(self, *tables: str) -> None:
        """Drop the pass's own temp tables once its output is built: at scale they hold
        gigabytes that later passes would otherwise run beside."""
        for table in tables:
            self.con.execute(f"DROP TABLE IF EXISTS {sql_identifier(table)}")

    def execute(self, script: str, **params: Any) -> None:
        """Run ``;``-separated statements, each with the named parameters it uses."""
        for statement in (s for s in script.split(";") if s.strip()):
            self.con.execute(statement, _used(statement, params) or None)


def ordered_sum(terms: list[pl.Expr]) -> pl.Expr:
    """The sum of ``terms``, added left to right.

    Float addition is not associative, and ``pl.sum_horizontal`` may group its terms differently
    from run to run: results must be the same bits every time (same input, same output).
    """
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def params_of(passes: Mapping[str, object], kind: type[OtherParamsT]) -> OtherParamsT:
    """The one of ``passes`` (each pass's parameters, by pass id) that is a ``kind``: a pass
    module's ``Params`` class names its parameters, typed."""
    found = next((params for params in passes.values() if isinstance(params, kind)), None)
    if found is None:  # pragma: no cover - every registered pass has parameters
        raise LookupError(f"no {kind.__qualname__} among the pass parameters")
    return found


def _used(sql: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters ``sql`` refers to (DuckDB rejects unused named parameters)."""
    return {name: value for name, value in params.items() if f"${name}" in sql}


@dataclass(frozen=True)
class PassOutput:
    """What a pass found (see the module docstring)."""

    signals: pl.DataFrame
    edges: pl.DataFrame = field(default_factory=empty_edges)
    evidence: pl.DataFrame = field(default_factory=empty_evidence)
    artefacts: pl.DataFrame = field(default_factory=empty_artefacts)
    notes: tuple[str, ...] = ()


#: The two families of signals (see :mod:`distillscan.scoring`): what an account asks for and
#: how it operates.
FAMILIES = ("content", "operations")


@dataclass(frozen=True)
class Pooled:
    """What a signal's sentence is written from.

    Attributes:
        figures: The figures of one account, or of a group of accounts pooled (shares
            event-weighted, maxima the largest member's, ``n_<signal>`` the accounts showing
            each signal, ``n_accounts`` the group's size).
        ordinary: The median account's level of each elicitation cue in the same logs.
        params: The investigation's pass parameters (each pass's ``Params``), by pass id.
    """

    figures: Mapping[str, Any]
    ordinary: Mapping[str, float]
    params: Mapping[str, object]

    def params_of(self, kind: type[OtherParamsT]) -> OtherParamsT:
        """The parameters of the pass whose ``Params`` class is ``kind``."""
        return params_of(self.params, kind)


@dataclass(frozen=True)
class Signal:
    """A scored signal that a pass produces (its column is ``<id>_signal``).

    Attributes:
        id: Stable short id, used in config weights, outputs and the JSON schema.
        family: ``content`` or ``operations``.
        label: A few words for reports.
        describe: The report's sentence from pooled figures. Only numbers and fixed vocabulary
            go in: log text never does (a log value the sentence is about goes in ``subject``).
        shares: Account figures pooled over a group as event-weighted means.
        maxima: Account figures pooled over a group as the largest member's.
        figures: Further account figures shown in an account's drill-down.
        pool: Extra pooled figures that are neither shares nor maxima (which model a group
            pivoted to, which kinds of infrastructure it shares).
        subject: The pooled figure naming the log value the sentence is about, if any.
    """

    id: str
    family: str
    label: str
    describe: Callable[[Pooled], str]
    shares: tuple[str, ...] = ()
    maxima: tuple[str, ...] = ()
    figures: tuple[str, ...] = ()
    pool: Callable[[pl.DataFrame], dict[str, Any]] | None = None
    subject: str | None = None

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:  # pragma: no cover - a registration mistake
            raise ValueError(f"signal {self.id}: unknown family {self.family!r}")

    @property
    def column(self) -> str:
        """The account column holding the signal's value in [0, 1]."""
        return f"{self.id}_signal"


def percent(value: float) -> str:
    """A share as a whole percentage, for report sentences."""
    return f"{value:.0%}"


def who(n: int, of: int, verb: str) -> str:
    """Subject and verb of a sentence: 'shares' for one account, 'N of M accounts share' else."""
    return f"{verb}s" if of == 1 else f"{n} of {of} accounts {verb}"


@dataclass(frozen=True)
class Pass(Generic[ParamsT]):
    """A registered detection pass.

    Attributes:
        id: Stable snake_case id (the module name), used in config, outputs and docs.
        title: One line for reports.
        requires: Event columns that must hold values for the pass to run.
        run: The pass itself.
        params: Its parameters' class, built from its ``[passes.<id>]`` table (every key a
            field, and no other: ``tests/detect/test_registry.py``).
        doc: The module docstring: what it measures, why it indicates distillation, its known
            false positives and its cost.
        signals: The scored signals its output carries (a pass may score none).
    """

    id: str
    title: str
    requires: tuple[str, ...]
    run: Callable[[Context[ParamsT]], PassOutput]
    params: type[ParamsT]
    doc: str
    signals: tuple[Signal, ...] = ()

    def missing(self, available: frozenset[str]) -> list[str]:
        """Required columns that the logs do not carry."""
        return [column for column in self.requires if column not in available]


def partners_sql(shared: str, minimum: str) -> str:
    """A CTE ``partners`` (``account_a``, ``account_b``, ``shared``) after
    :func:`neighbour_pairs_sql`: the pairs that met in at least ``$minimum`` groups, that is,
    share that many keys (``shared`` and ``minimum`` name the count column and the parameter).
    """
    return f"""partners AS (
    SELECT account_a, account_b, count(*) AS {shared}
    FROM neighbours
    GROUP BY account_a, account_b
    HAVING count(*) >= ${minimum}
)"""


def overlap_pairs_sql(users: str, set_sizes: str, key: str, shared: str, minimum: str) -> str:
    """A query for the pairs that share at least ``$minimum`` keys, with how much of their two
    sets they share: ``account_a``, ``account_b``, ``shared`` (named by ``shared``) and
    ``jaccard``, sorted.

    ``users`` is a query with one row per account and key (``account_id`` and ``key``, the
    column named by ``key``): the counted keys, which pair accounts. ``set_sizes`` is a query
    with ``account_no`` and ``n_keys``: every key the account uses, counted or not (a key of
    its own is part of its set too). Candidate pairs come from :func:`neighbour_pairs_sql`.
    """
    return f"""
WITH users AS ({users}),
set_sizes AS ({set_sizes}),
{neighbour_pairs_sql("users", key)},
{partners_sql(shared, minimum)}
SELECT a.account_id AS account_a, b.account_id AS account_b, p.{shared},
    p.{shared} / (sa.n_keys + sb.n_keys - p.{shared}) AS jaccard
FROM partners AS p
JOIN account_org AS a ON a.account_no = p.account_a
JOIN account_org AS b ON b.account_no = p.account_b
JOIN set_sizes AS sa ON sa.account_no = p.account_a
JOIN set_sizes AS sb ON sb.account_no = p.account_b
ORDER BY account_a, account_b"""


def network_sql(ip: str, ipv4_octets: int, ipv6_groups: int) -> str:
    """SQL: the network of address ``ip``: its first ``ipv4_octets`` octets (``/8`` each) or
    first ``ipv6_groups`` groups (``/16`` each), written ``a.b.c.0/24`` or ``a:b:c:d::/64``.

    One definition for every pass and report that speaks of prefixes (an empty or malformed
    address gives ``''`` or a bare suffix, which callers leave out).
    """
    zeros = ".0" * (4 - ipv4_octets)
    octets = r"\.".join([r"\d+"] * ipv4_octets)
    return (
        f"CASE WHEN {ip} LIKE '%:%' "
        f"THEN array_to_string(list_slice(string_split({ip}, ':'), 1, {ipv6_groups}), ':') "
        f"|| '::/{16 * ipv6_groups}' "
        f"ELSE regexp_extract({ip}, '^({octets})\\.', 1) || '{zeros}/{8 * ipv4_octets}' END"
    )


def noisy_or(terms: list[tuple[float, pl.Expr]]) -> pl.Expr:
    """``1 - Π(1 - weight × value)`` over ``terms``, multiplied in their order (the same bits
    every run): any strong term counts, several agreeing count more."""
    miss = pl.lit(1.0)
    for weight, value in terms:
        miss = miss * (1.0 - weight * value)
    return 1.0 - miss


def clip01(expr: pl.Expr) -> pl.Expr:
    """Clamp a Polars expression to [0, 1]."""
    return expr.clip(0.0, 1.0)


def ramp(expr: pl.Expr, low: float, high: float) -> pl.Expr:
    """0 at or below ``low``, 1 at or above ``high``, linear between (a soft threshold)."""
    return clip01((expr - low) / (high - low))


def neighbour_pairs_sql(members: str, group: str) -> str:
    """CTEs pairing each account with its next ``$fanout`` neighbours inside its group.

    ``members`` is a table or CTE with ``account_id`` and the column ``group``, one row per
    account and group. Inside each group accounts are ordered by a hash of their id
    (``account_org.shuffle``, ties by id), the same order for every group, so accounts that
    share many groups meet again and again while strangers meet by chance. Accounts of one
    organisation are never paired (one customer's apps share their own schedules and
    templates).

    The text continues a ``WITH`` clause; its last CTE, ``neighbours`` (``grp``, ``account_a``,
    ``account_b``), holds the pairs as ``account_org.account_no`` numbers, ``account_a`` the
    smaller: grouping and joining pairs of integers is several times cheaper than of strings.
    The pairs come from an equality join on (group, position + step), one probe per step: a
    range condition on positions would compare every two members of a group, which grows with
    the square of the largest group.
    """
    return f"""
ordered AS (
    SELECT m.{group} AS grp, o.account_no, o.org_id,
        row_number() OVER (PARTITION BY m.{group} ORDER BY o.shuffle, o.account_no) AS position
    FROM {members} AS m JOIN account_org AS o USING (account_id)
),
probes AS (
    -- Computed before the join so that the join is on two plain columns: a hash join.
    SELECT grp, account_no, org_id, position + step AS neighbour_position
    FROM ordered, range(1, $fanout + 1) AS steps(step)
),
neighbours AS (
    SELECT p.grp, least(p.account_no, o.account_no) AS account_a,
        greatest(p.account_no, o.account_no) AS account_b
    FROM probes AS p JOIN ordered AS o
        ON o.grp = p.grp AND o.position = p.neighbour_position
    WHERE p.account_no <> o.account_no
        AND (p.org_id IS NULL OR o.org_id IS NULL OR p.org_id <> o.org_id)
)"""
