"""Weighted choices where every row has its own distribution, drawn for a whole column at once.

A :class:`ChoiceTable` holds many small categorical distributions ("groups"): the hour-of-day
profile of each kind of user, the template mix of each interest, the ``max_tokens`` habits of each
parameter style. Drawing for a column of rows (group ids plus uniform numbers) is one
``search_sorted`` over the flattened cumulative weights: group ``g`` owns the interval
``[g, g + 1)`` and its choices split it in proportion to their weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl


class ChoiceTable:
    """Categorical distributions over integer values, one per group id (0, 1, 2, ...)."""

    def __init__(self) -> None:
        self._keys: list[float] = []
        self._values: list[int] = []
        self._groups = 0
        self._frozen: tuple[pl.Series, pl.Series] | None = None

    def add(self, values: Sequence[int], weights: Sequence[float]) -> int:
        """Add a distribution; return its group id.

        Raises:
            ValueError: no value has a positive weight.
        """
        pairs = [(v, w) for v, w in zip(values, weights, strict=True) if w > 0]
        if not pairs:
            raise ValueError("a choice group needs at least one positive weight")
        total = sum(w for _, w in pairs)
        group = self._groups
        cumulative = 0.0
        for index, (value, weight) in enumerate(pairs):
            cumulative += weight
            fraction = 1.0 if index == len(pairs) - 1 else cumulative / total
            self._keys.append(group + fraction)
            self._values.append(value)
        self._groups += 1
        self._frozen = None
        return group

    def __len__(self) -> int:
        return self._groups

    def _arrays(self) -> tuple[pl.Series, pl.Series]:
        if self._frozen is None:
            self._frozen = (
                pl.Series("key", self._keys, dtype=pl.Float64),
                pl.Series("value", self._values, dtype=pl.Int64),
            )
        return self._frozen

    def draw(self, groups: pl.Series, uniforms: pl.Series) -> pl.Series:
        """For each row, the value drawn from distribution ``groups[i]`` with ``uniforms[i]``."""
        keys, values = self._arrays()
        position = keys.search_sorted(groups.cast(pl.Float64) + uniforms, side="right")
        return values.gather(position.cast(pl.Int64).clip(0, len(values) - 1))
