"""Every pass module is registered once, documented, and configured."""

from __future__ import annotations

import json
import os
import pkgutil
from pathlib import Path
from typing import get_origin, get_type_hints

import polars as pl
import pytest

from distillscan import detect, linking
from distillscan.config import defaults
from distillscan.detect.base import FAMILIES, Pooled
from distillscan.errors import ConfigError
from distillscan.report.drilldown import FIGURES
from distillscan.report.model import pooled_figures
from distillscan.scoring import family_weights

NOT_PASSES = {"base", "features", "text_cache"}


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


def test_each_pass_params_name_its_settings_with_their_types() -> None:
    """``Params`` and the ``[passes.<id>]`` table agree key for key, and each default is of
    the field's type: a setting the code no longer reads, or reads under another name, fails
    here rather than being silently ignored."""
    config = defaults()
    typed = [(p.params, config["passes"][p.id]) for p in detect.PASSES]
    for params, table in [*typed, (linking.Params, config["linking"])]:
        hints = get_type_hints(params)
        assert set(hints) == set(table), params.__module__
        for name, value in table.items():
            assert isinstance(value, get_origin(hints[name]) or hints[name]), (params, name)


def test_params_of_an_older_record_take_the_defaults_for_newer_keys() -> None:
    tables = defaults()["passes"]
    del tables["synchronization"]["min_sync_score"]
    tables["synchronization"]["retired_setting"] = 1
    params = detect.parameters({"synchronization": tables["synchronization"]})
    shipped = detect.parameters(defaults()["passes"])
    assert params == shipped
    older_linking = {k: v for k, v in defaults()["linking"].items() if k != "min_attach_support"}
    older_linking["retired_setting"] = 1
    assert linking.parameters(older_linking) == linking.parameters(defaults()["linking"])


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
    pooled = Pooled(figures=figures, ordinary={}, params=detect.parameters(defaults()["passes"]))
    for signal in detect.SIGNALS:
        sentence = signal.describe(pooled)
        assert isinstance(sentence, str) and sentence, signal.id
        assert signal.id in detect.SIGNAL_PASSES


def test_every_signal_figure_is_shown_in_the_drill_down() -> None:
    for signal in detect.SIGNALS:
        for column in (*signal.shares, *signal.maxima, *signal.figures):
            assert column in FIGURES, (signal.id, column)


SCHEMA = Path(__file__).parents[2] / "docs" / "output-schema.json"


def _with_registered_signals(node: object, ids: list[str]) -> int:
    """Set every enum or required list of signal ids under ``node`` to ``ids`` (``coordination``
    kept where it stands: the campaign-level signal linking adds); count the lists."""
    found = 0
    if isinstance(node, dict):
        for key in ("enum", "required"):
            values = node.get(key)
            if isinstance(values, list) and "elicitation" in values:
                found += 1
                node[key] = ids + (["coordination"] if "coordination" in values else [])
                if key == "required" and "properties" in node:
                    template = node["properties"]["elicitation"]
                    node["properties"] = {i: node["properties"].get(i, template) for i in ids}
        for value in node.values():
            found += _with_registered_signals(value, ids)
    elif isinstance(node, list):
        for value in node:
            found += _with_registered_signals(value, ids)
    return found


def test_the_json_schema_enumerates_exactly_the_registered_signals() -> None:
    """docs/output-schema.json lists the registry's signals wherever it lists signals.

    After registering a signal, ``DISTILLSCAN_UPDATE_GOLDEN=1 pytest tests/detect`` rewrites the
    schema's lists (as it rewrites the goldens); review the diff.
    """
    text = SCHEMA.read_text("utf-8")
    schema = json.loads(text)
    assert _with_registered_signals(schema, [s.id for s in detect.SIGNALS]) >= 4
    expected = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    if os.environ.get("DISTILLSCAN_UPDATE_GOLDEN") == "1":
        SCHEMA.write_text(expected, "utf-8")
    assert text == expected, "run with DISTILLSCAN_UPDATE_GOLDEN=1 to list the registry's signals"
