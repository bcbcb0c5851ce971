"""Shared test configuration: a deterministic Hypothesis profile for every property test.

Hypothesis runs derandomized (the same examples on every run and machine) with a bounded number
of examples, so property tests are reproducible in CI and keep the suite fast. Set
``DISTILLSCAN_HYPOTHESIS=thorough`` for a deeper run (many more examples per property, for a
change to ingest or validation). Builders for ingest inputs live in ``tests/ingest_support.py``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

from tests.cases import benign, hostile, scenario  # noqa: F401  (session fixtures for every folder)

settings.register_profile(
    "distillscan",
    derandomize=True,
    max_examples=15,
    deadline=None,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile("thorough", settings.get_profile("distillscan"), max_examples=200)
settings.load_profile(
    "thorough" if os.environ.get("DISTILLSCAN_HYPOTHESIS") == "thorough" else "distillscan"
)
