"""Detection passes, registered in one place, and the runner that applies them to a case.

To add a pass: write one module with a ``PASS`` (see :mod:`.base`), add it to ``PASSES``, give it
a ``[passes.<id>]`` table in ``data/default_config.toml``, and describe it in
``docs/methodology.md``. Passes run in this order; later passes may read the temp tables of
earlier ones (``event_features``, ``template_uses``), as their docstrings say.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from distillscan.config import Config
from distillscan.detect import (
    cot_elicitation,
    features,
    infrastructure,
    mixed_accounts,
    prompt_diversity,
    release_pivot,
    shared_templates,
    synchronization,
    volume_rhythm,
)
from distillscan.detect.base import Context, Pass, PassOutput

PASSES: tuple[Pass, ...] = (
    volume_rhythm.PASS,
    prompt_diversity.PASS,
    cot_elicitation.PASS,
    shared_templates.PASS,
    synchronization.PASS,
    infrastructure.PASS,
    release_pivot.PASS,
    mixed_accounts.PASS,
)

if len({p.id for p in PASSES}) != len(PASSES):  # pragma: no cover - a registration mistake
    raise RuntimeError("duplicate pass ids")


@dataclass(frozen=True)
class PassRun:
    """One pass's outcome: its output, or why it was skipped."""

    id: str
    title: str
    output: PassOutput | None
    skipped: str | None


#: Event columns whose presence decides which passes can run.
OPTIONAL_COLUMNS = ("prompt", "source_ip", "user_agent", "model", "end_user_id", "ts")


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
        ctx = Context(con=con, params=config["passes"][registered.id], available=available)
        runs.append(PassRun(registered.id, registered.title, registered.run(ctx), None))
    return runs
