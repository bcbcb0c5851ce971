"""Account scores: what an account asks for and how it operates, combined so both must agree.

Each pass contributes ``*_signal`` columns in [0, 1], declared in its ``signals``
(:data:`distillscan.detect.SIGNALS`). They fall in two families:

* **content** (what is asked): chain-of-thought elicitation, broad and shallow prompting, agent
  loops at machine pace over many tasks, long answers to short questions;
* **operations** (how it runs): round-the-clock automation, shared templates, synchronization,
  shared infrastructure, release pivots, rotating addresses and clients.

Each signal's weight is ``[scoring.<family>_weights] <id>_signal`` in the configuration.

When the logs carry no prompt text (a metadata-only export), the content passes cannot run and
content would be 0 for everyone. Content is then what the metadata still says about intent,
``[scoring.without_text_weights]``: the shape of the answers (long derivations to short
questions) and rotation through address and client pools, which no person or product does and
which then counts in both families, so that an account must rotate hard to be named on it
alone. The report says which content passes could not run.

Within a family signals combine as a weighted noisy-OR (``1 - prod(1 - w * s)``): any strong
signal counts, several agreeing count more. The account score is the product of the two
families, so a heavy but ordinary integration (operations without harvesting content) and an
evaluation team (harvest-like content without automated, coordinated operations) both stay low.
A mixed (multi-tenant) account is judged by its implicated tenant's content instead of the
diluted whole, when that is higher. Each
signal's weighted value is kept as ``contribution_<signal>`` so the report can say why.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from distillscan.config import Config
from distillscan.detect import PASSES, SIGNALS, PassRun
from distillscan.detect.base import noisy_or
from distillscan.errors import ConfigError
from distillscan.severity import SEVERITIES


def merge_signals(accounts: pl.DataFrame, runs: list[PassRun]) -> pl.DataFrame:
    """Join every pass's per-account columns onto ``accounts`` (first pass wins a name clash)."""
    merged = accounts
    for run in runs:
        if run.output is None or run.output.signals.is_empty():
            continue
        signals = run.output.signals
        new = [c for c in signals.columns if c == "account_id" or c not in merged.columns]
        merged = merged.join(signals.select(new), on="account_id", how="left")
    return merged


def _noisy_or(weights: Mapping[str, float], present: list[str]) -> pl.Expr:
    return noisy_or([(w, pl.col(s).fill_null(0.0)) for s, w in weights.items() if s in present])


def severity_of(score: pl.Expr, thresholds: Mapping[str, float]) -> pl.Expr:
    """Map a score to its severity name using the configured lower bounds."""
    expr = pl.lit("none")
    for name in SEVERITIES[1:]:
        expr = pl.when(score >= thresholds[name]).then(pl.lit(name)).otherwise(expr)
    return expr


def family_weights(config: Config, family: str) -> dict[str, float]:
    """The configured weight of each registered signal of ``family``, by signal column, in the
    configuration's order (the order the noisy-OR multiplies them: same bits every run).

    Raises:
        ConfigError: a registered signal has no weight, or a weight names no signal of the family.
    """
    weights: Mapping[str, float] = config["scoring"][f"{family}_weights"]
    registered = {s.column for s in SIGNALS if s.family == family}
    if set(weights) != registered:
        raise ConfigError(
            f"scoring.{family}_weights must weigh exactly the {family} signals "
            f"({', '.join(sorted(registered))}); it has {', '.join(sorted(weights))}"
        )
    return {column: float(weight) for column, weight in weights.items()}


def text_measured(runs: list[PassRun]) -> bool:
    """Whether any pass that reads prompt text ran (false for a metadata-only export)."""
    reads_text = {p.id for p in PASSES if "prompt" in p.requires}
    return any(r.output is not None for r in runs if r.id in reads_text)


def without_text_weights(config: Config) -> dict[str, float]:
    """``[scoring.without_text_weights]``: what stands for content when no text is logged.

    Raises:
        ConfigError: a weight names no registered signal.
    """
    weights: Mapping[str, float] = config["scoring"]["without_text_weights"]
    unknown = set(weights) - {s.column for s in SIGNALS}
    if unknown:
        raise ConfigError(
            f"scoring.without_text_weights names no signal: {', '.join(sorted(unknown))}"
        )
    return {column: float(weight) for column, weight in weights.items()}


def score_accounts(merged: pl.DataFrame, config: Config, *, with_text: bool = True) -> pl.DataFrame:
    """Add ``content``, ``operations``, ``score``, ``severity`` and contribution columns.

    ``with_text`` false (no pass could read prompt text): content is what the metadata still
    shows, ``[scoring.without_text_weights]`` (see the module docstring).
    """
    scoring = config["scoring"]
    content_w = family_weights(config, "content") if with_text else without_text_weights(config)
    operations_w = family_weights(config, "operations")
    for signal in dict.fromkeys((*content_w, *operations_w)):
        if signal not in merged.columns:
            merged = merged.with_columns(pl.lit(0.0).alias(signal))
    merged = merged.with_columns(
        [
            pl.col(s).fill_null(0.0).cast(pl.Float64)
            for s in dict.fromkeys((*content_w, *operations_w))
        ]
    )
    columns = merged.columns
    scored = merged.with_columns(
        _noisy_or(content_w, columns).alias("content"),
        _noisy_or(operations_w, columns).alias("operations"),
        *[
            (weight * pl.col(signal)).alias(f"contribution_{signal.removesuffix('_signal')}")
            for signal, weight in {**content_w, **operations_w}.items()
        ],
    ).with_columns((pl.col("content") * pl.col("operations")).alias("score"))
    if "tenant_content" in scored.columns:
        # A reseller's harvesting tenant is diluted by legitimate traffic at the account level:
        # judge a mixed account by what its implicated end users ask, run by the same operations.
        tenant = (pl.col("tenant_content").fill_null(0.0) * pl.col("operations")).fill_nan(0.0)
        scored = scored.with_columns(
            pl.when(pl.col("is_mixed").fill_null(False))
            .then(pl.max_horizontal("score", tenant))
            .otherwise(pl.col("score"))
            .alias("score")
        )
    return scored.with_columns(severity_of(pl.col("score"), scoring["severity"]).alias("severity"))
