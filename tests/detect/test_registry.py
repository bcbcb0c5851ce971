"""Every pass module is registered once, documented, and configured."""

from __future__ import annotations

import pkgutil

from distillscan import detect
from distillscan.config import defaults

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
