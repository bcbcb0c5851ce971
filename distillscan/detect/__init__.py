"""Detection passes, registered in one place, and the runner that applies them to a case.

To add a pass: write one module with a ``PASS`` (see :mod:`.base`) that declares the signals it
scores and its ``Params``, add it to ``PASSES``, give it a ``[passes.<id>]`` table in
``data/default_config.toml`` with a key for each field of ``Params`` (and each signal a weight
under ``[scoring.<family>_weights]``), and describe it in ``docs/methodology.md``. Scoring,
the reports, the drill-down and the JSON schema read the signals from here. Passes run in this
order (content passes first, as reports list their signals); later passes may read the temp
tables of earlier ones (``event_features``, ``template_uses``), as their docstrings say.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import duckdb

from distillscan.config import Config, defaults
from distillscan.detect import (
    account_churn,
    agentic_harvest,
    context_loops,
    cot_elicitation,
    elicitation_pools,
    features,
    infrastructure,
    mixed_accounts,
    output_shape,
    prompt_diversity,
    release_pivot,
    shared_templates,
    synchronization,
    volume_rhythm,
)
from distillscan.detect.base import FAMILIES, Context, Pass, PassOutput, Signal

PASSES: tuple[Pass[Any], ...] = (
    cot_elicitation.PASS,
    prompt_diversity.PASS,
    agentic_harvest.PASS,
    context_loops.PASS,
    output_shape.PASS,
    volume_rhythm.PASS,
    shared_templates.PASS,
    elicitation_pools.PASS,
    synchronization.PASS,
    infrastructure.PASS,
    release_pivot.PASS,
    account_churn.PASS,
    mixed_accounts.PASS,
)

#: Every scored signal, content first, each family in pass order: the order reports list them.
SIGNALS: tuple[Signal, ...] = tuple(
    signal for family in FAMILIES for p in PASSES for signal in p.signals if signal.family == family
)
#: The pass that measures each signal.
SIGNAL_PASSES: dict[str, str] = {s.id: p.id for p in PASSES for s in p.signals}

if len({p.id for p in PASSES}) != len(PASSES):  # pragma: no cover - a registration mistake
    raise RuntimeError("duplicate pass ids")
if len(SIGNAL_PASSES) != len(SIGNALS):  # pragma: no cover - a registration mistake
    raise RuntimeError("duplicate signal ids")


def parameters(tables: Mapping[str, Mapping[str, Any]]) -> dict[str, object]:
    """Each pass's ``Params`` by pass id, from the ``[passes]`` tables of a configuration.

    A setting the tables lack (a case investigated by an older version) takes its shipped
    default; one no pass knows any more is left out.
    """
    shipped = defaults()["passes"]
    built: dict[str, object] = {}
    for registered in PASSES:
        table = {**shipped[registered.id], **tables.get(registered.id, {})}
        names = {f.name for f in fields(registered.params)}
        built[registered.id] = registered.params(
            **{name: value for name, value in table.items() if name in names}
        )
    return built


@dataclass(frozen=True)
class PassRun:
    """One pass's outcome: its output, or why it was skipped."""

    id: str
    title: str
    output: PassOutput | None
    skipped: str | None


#: Event columns whose presence decides which passes can run.
OPTIONAL_COLUMNS = (
    "prompt",
    "source_ip",
    "user_agent",
    "model",
    "end_user_id",
    "ts",
    "completion_tokens",
)


def available_columns(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """Event columns that hold at least one value in the ``events`` view."""
    counts = ", ".join(f"count({c})" for c in OPTIONAL_COLUMNS)
    row = con.execute(f"SELECT {counts} FROM events").fetchall()[0]
    return frozenset(c for c, n in zip(OPTIONAL_COLUMNS, row, strict=True) if n)


def run_passes(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    progress: Callable[[str], None] | None = None,
) -> list[PassRun]:
    """Build shared features and run every registered pass over the ``events`` view.

    ``progress`` is told which step is starting (for the CLI's status line).
    """
    say = progress or (lambda _message: None)
    available = available_columns(con)
    say("computing event features")
    features.build(con)
    params = parameters(config["passes"])
    runs = []
    for registered in PASSES:
        say(f"pass {registered.id}: {registered.title}")
        missing = registered.missing(available)
        if missing:
            reason = f"the logs carry no {', '.join(missing)}"
            if "prompt" in missing:
                reason += " (metadata-only export: content passes cannot run)"
            runs.append(PassRun(registered.id, registered.title, None, reason))
            continue
        ctx = Context(con=con, params=params[registered.id], available=available, passes=params)
        runs.append(PassRun(registered.id, registered.title, registered.run(ctx), None))
    return runs
