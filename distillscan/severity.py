"""Severities, in one place: their order, which count as flagged, and how they compare.

A score maps to a severity by the configured lower bounds (``[scoring.severity]``, see
:func:`distillscan.scoring.severity_of`); everything else (``--fail-on``, the reports' sort
order and counts, what ``eval`` counts as flagged) compares severities through this module.
"""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    """A finding's severity, lowest first."""

    none = "none"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


#: Every severity name, lowest first.
SEVERITIES: tuple[str, ...] = tuple(s.value for s in Severity)
#: Severities that count as flagged (an account at one of these is a finding).
FLAGGED: tuple[str, ...] = (Severity.medium, Severity.high, Severity.critical)
_RANK = {name: i for i, name in enumerate(SEVERITIES)}


def rank(severity: str | None) -> int:
    """Position of ``severity`` in :data:`SEVERITIES` (None or unknown ranks with ``none``)."""
    return _RANK.get(str(severity).lower() if severity is not None else "none", 0)


def at_least(severity: str | None, floor: str) -> bool:
    """Whether ``severity`` is ``floor`` or above."""
    return rank(severity) >= rank(floor)
