"""Chain-of-thought elicitation: prompts and parameters that harvest reasoning, not answers.

Measures, per account: the share of requests whose prompt or system prompt uses each phrase
family of ``data/cot_phrases.toml`` (step-by-step, show your reasoning, rationales, rubric
grading, "safe alternative" rewrites, maximal length, self-verification; English, Chinese,
Spanish, Russian, Korean, French, German, Japanese), and the share of requests with harvesting
parameters (several completions per prompt, log-probabilities, high reasoning effort or a
thinking budget, a very high output limit).

Each share counts only as far as it exceeds what ordinary accounts in the same logs do (the
configured quantile of the per-account share, by default the median): a phrase that a tutoring
product puts in every request is ordinary there and weighs little.

Why it indicates distillation: the reasoning trace is the product a student model is trained on.
The reported campaigns asked for chain-of-thought, rubric-based grading and "censorship-safe
alternatives"; harvesters also maximise what each call returns.

Known false positives: evaluation teams ("think step by step" is in many benchmark templates),
tutoring and education apps, prompt engineers. Elicitation alone never names a campaign.

Cost: one aggregation of ``event_features`` by account; linear in events.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from distillscan.detect import features
from distillscan.detect.base import (
    Context,
    Pass,
    PassOutput,
    Pooled,
    Signal,
    noisy_or,
    percent,
    ramp,
)

HARVEST = ("asks_multiple", "asks_logprobs", "asks_reasoning", "asks_long_output")


@dataclass(frozen=True)
class Params:
    """The ``[passes.cot_elicitation]`` settings (defaults, meanings: default_config.toml)."""

    long_output_tokens: int
    ordinary_quantile: float
    min_events: int
    evidence_per_account: int
    family_weights: dict[str, float]


def _sql() -> str:
    families = ",\n        ".join(
        f"avg((((prompt_cot_mask | system_cot_mask) >> {i}) & 1)::DOUBLE) AS cot_{name}"
        for i, name in enumerate(features.COT.names)
    )
    return f"""
    SELECT account_id,
        count(*) AS n_events,
        avg(((prompt_cot_mask | system_cot_mask) > 0)::DOUBLE) AS elicitation_share,
        {families},
        avg(asks_multiple::DOUBLE) AS asks_multiple,
        avg(asks_logprobs::DOUBLE) AS asks_logprobs,
        avg(asks_reasoning::DOUBLE) AS asks_reasoning,
        avg((max_tokens >= $long_output_tokens)::DOUBLE) AS asks_long_output
    FROM event_features
    GROUP BY account_id
    """


EVIDENCE_SQL = """
SELECT account_id, 'cot_elicitation' AS kind, event_id, source_file, source_line,
    'phrase families: ' || bit_count(prompt_cot_mask | system_cot_mask) AS detail
FROM event_features
WHERE (prompt_cot_mask | system_cot_mask) > 0
QUALIFY row_number() OVER (
    PARTITION BY account_id
    ORDER BY bit_count(prompt_cot_mask | system_cot_mask) DESC, ts, event_id) <= $per_account
"""


def excess_over_ordinary(
    frame: pl.DataFrame, column: str, quantile: float, min_events: int
) -> pl.Expr:
    """How far an account's share exceeds ordinary accounts' (0 at the baseline, 1 at 100%)."""
    ordinary = frame.filter(pl.col("n_events") >= min_events)[column]
    baseline = float(ordinary.quantile(quantile) or 0.0) if len(ordinary) else 0.0
    if baseline >= 1.0:
        return pl.lit(0.0)
    return ((pl.col(column) - baseline) / (1.0 - baseline)).clip(0.0, 1.0)


def run(ctx: Context[Params]) -> PassOutput:
    """Compute phrase-family and harvest-parameter shares and the ``elicitation_signal``."""
    p = ctx.params
    frame = ctx.frame(_sql(), long_output_tokens=p.long_output_tokens)
    columns = [f"cot_{name}" for name in features.COT.names] + list(HARVEST)
    excess = {c: excess_over_ordinary(frame, c, p.ordinary_quantile, p.min_events) for c in columns}
    weights = p.family_weights
    # Noisy-OR: several families each contribute, none saturates the signal alone.
    elicited = noisy_or(
        [(weights.get(column.removeprefix("cot_"), 1.0), expr) for column, expr in excess.items()]
    )
    signals = frame.with_columns(
        (elicited * ramp(pl.col("n_events").cast(pl.Float64), p.min_events, p.min_events * 2))
        .clip(0.0, 1.0)
        .alias("elicitation_signal")
    )
    evidence = ctx.frame(EVIDENCE_SQL, per_account=p.evidence_per_account)
    return PassOutput(signals=signals.sort("account_id"), evidence=evidence)


#: Report words for each phrase family and harvesting parameter.
CUE_LABELS = {
    "cot_step_by_step": "step by step",
    "cot_show_reasoning": "show your reasoning",
    "cot_rationale": "rationales",
    "cot_rubric_grading": "rubric grading",
    "cot_safe_alternative": "safe alternatives",
    "cot_max_length": "maximal length",
    "cot_self_verification": "self-verification",
    "cot_explain_process": "the reasoning process in other words",
    "asks_long_output": "very long outputs",
    "asks_multiple": "several completions per prompt",
    "asks_reasoning": "extended reasoning",
    "asks_logprobs": "log-probabilities",
}
#: Figures whose ordinary level (the median account's) the sentence compares against.
ORDINARY_COLUMNS = ("elicitation_share", *(f"cot_{name}" for name in features.COT.names), *HARVEST)


def describe(pooled: Pooled) -> str:
    """Share of requests asking for reasoning, and the cues most above the ordinary level."""
    f, ordinary = pooled.figures, pooled.ordinary
    text = (
        f"{percent(f['elicitation_share'])} of requests ask for reasoning traces "
        f"(ordinary account: {percent(ordinary.get('elicitation_share', 0.0))})"
    )
    above = sorted(
        (
            (float(f[column]) - ordinary.get(column, 0.0), label, column)
            for column, label in CUE_LABELS.items()
            if float(f[column]) - ordinary.get(column, 0.0) >= 0.01
        ),
        key=lambda item: (-item[0], item[1]),
    )[:4]
    if above:
        text += "; above the ordinary level: " + ", ".join(
            f"{label} {percent(f[column])} vs {percent(ordinary.get(column, 0.0))}"
            for _excess, label, column in above
        )
    return text


ELICITATION = Signal(
    id="elicitation",
    family="content",
    label="chain-of-thought elicitation",
    describe=describe,
    shares=ORDINARY_COLUMNS,
)

PASS = Pass(
    id="cot_elicitation",
    title="Chain-of-thought elicitation",
    requires=("prompt",),
    run=run,
    params=Params,
    doc=__doc__ or "",
    signals=(ELICITATION,),
)
