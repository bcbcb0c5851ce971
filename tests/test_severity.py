"""One severity order for scoring, reports, --fail-on and eval."""

from __future__ import annotations

from distillscan.config import defaults
from distillscan.severity import FLAGGED, SEVERITIES, Severity, at_least, rank


def test_order_and_comparisons() -> None:
    assert SEVERITIES == ("none", "low", "medium", "high", "critical")
    assert [rank(s) for s in SEVERITIES] == [0, 1, 2, 3, 4]
    assert rank(None) == 0 and rank("CRITICAL") == 4 and rank("unknown") == 0
    assert at_least("high", "medium") and not at_least("low", "medium")
    assert tuple(s for s in SEVERITIES if at_least(s, Severity.medium)) == FLAGGED


def test_the_configured_thresholds_name_every_severity_above_none() -> None:
    bounds = defaults()["scoring"]["severity"]
    assert list(bounds) == list(SEVERITIES[1:])
    assert list(bounds.values()) == sorted(bounds.values())
