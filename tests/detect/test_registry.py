"""Every pass module is registered once, documented, and configured."""

from __future__ import annotations

import json
import pkgutil
from pathlib import Path

import polars as pl
import pytest

from distillscan import detect
from distillscan.config import defaults
from distillscan.detect.base import FAMILIES, Pooled
from distillscan.errors import ConfigError
from distillscan.render.drilldown import FIGURES
from distillscan.render.model import pass_parameters, pooled_figures
from distillscan.scoring import family_weights

NOT_PASSES = {"base", "features"}


def test_every_pass_module_is_registered() -> None:
    modules = {m.name for m in pkgutil.iter_modules(detect.__path__)} - NOT_PASSES
    assert modules == {p.id for p in detect.PASSES}


def test_pass_docstrings_state_the_contract() -> None:
    for registered in detect.PASSES:
        doc = registered.doc
        assert "Why it indicates distillation" in doc, registered.id
        assert "Known false positives" in doc, registered.id
        assert "Cost" in doc, registered.id


def test_every_pass_has_a_config_table() -> None:
    config = defaults()
    assert set(config["passes"]) == {p.id for p in detect.PASSES}


def test_every_signal_is_weighted_in_its_family() -> None:
    config = defaults()["scoring"]
    for family in FAMILIES:
        registered = {s.column for s in detect.SIGNALS if s.family == family}
        assert set(config[f"{family}_weights"]) == registered, family


def test_a_missing_weight_is_a_config_error(tmp_path: Path) -> None:
    config = defaults()
    del config["scoring"]["operations_weights"]["sync_signal"]
    with pytest.raises(ConfigError, match="sync_signal"):
        family_weights(config, "operations")


def test_every_signal_describes_its_figures() -> None:
    """A signal the report cannot put into words fails here, not silently in the report."""
    frame = pl.DataFrame({"account_id": ["a", "b"], "n_events": [10, 30]})
    figures = pooled_figures(frame)
    pooled = Pooled(figures=figures, ordinary={}, params=pass_parameters(defaults()))
    for signal in detect.SIGNALS:
        sentence = signal.describe(pooled)
        assert isinstance(sentence, str) and sentence, signal.id
        assert signal.id in detect.SIGNAL_PASSES


def test_every_signal_figure_is_shown_in_the_drill_down() -> None:
    for signal in detect.SIGNALS:
        for column in (*signal.shares, *signal.maxima, *signal.figures):
            assert column in FIGURES, (signal.id, column)


def test_the_json_schema_enumerates_exactly_the_registered_signals() -> None:
    """Every enum or required list of signal ids in docs/output-schema.json matches the registry
    (``coordination`` is the campaign-level signal linking adds)."""
    schema = json.loads((Path(__file__).parents[2] / "docs" / "output-schema.json").read_text())
    ids = [s.id for s in detect.SIGNALS]
    found = 0

    def visit(node: object) -> None:
        nonlocal found
        if isinstance(node, dict):
            for key in ("enum", "required"):
                values = node.get(key)
                if isinstance(values, list) and ids[0] in values:
                    found += 1
                    assert [v for v in values if v != "coordination"] == ids, values
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(schema)
    assert found >= 4
