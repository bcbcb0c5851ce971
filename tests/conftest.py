"""Shared test configuration: a deterministic Hypothesis profile for every property test.

Hypothesis runs derandomized (the same examples on every run and machine) with a bounded number
of examples, so property tests are reproducible in CI and keep the suite fast. Builders for
ingest inputs live in ``tests/ingest_support.py``.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "distillscan",
    derandomize=True,
    max_examples=15,
    deadline=None,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile("distillscan")
