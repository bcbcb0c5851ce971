"""Each output format of the scenario report matches its golden file byte for byte.

The goldens are what ``distillscan report CASE --format F --output FILE`` writes for the scenario
of :mod:`tests.render.scenario`, run through the command line (the terminal format to a file:
100 columns, no colour). When a change to the detection or the renderers is intended, regenerate
them with ``DISTILLSCAN_UPDATE_GOLDEN=1 pytest tests/render/test_golden.py`` and review the diff.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from distillscan.cli import app
from distillscan.render import json_report, markdown
from distillscan.render.formats import RENDERERS as FORMATS
from distillscan.report.loader import load_investigation
from distillscan.report.model import Report, build_report
from tests.cases import Scenario, working_directory

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
UPDATE = os.environ.get("DISTILLSCAN_UPDATE_GOLDEN") == "1"

runner = CliRunner()


def cli_report(case: Path, name: str) -> str:
    """``distillscan report CASE --format F --output FILE`` for the golden ``name``, run from
    beside the case under the name ``CASE`` (a link), as the goldens' drill-down hints read."""
    suffix = name.rsplit(".", 1)[1]
    renderer = next(r for r in FORMATS.values() if r.suffix == suffix)
    alias = case.parent / "CASE"
    if not alias.exists():
        alias.symlink_to(case.name)
    output = case.parent / f"golden-output.{suffix}"
    with working_directory(case.parent):
        result = runner.invoke(
            app, ["report", "CASE", "--format", renderer.name, "--output", output.name]
        )
    assert result.exit_code == 0, result.stderr
    return output.read_text("utf-8")


#: The golden of every registered output format.
GOLDENS = sorted(f"scenario.{r.suffix}" for r in FORMATS.values())


def _matches_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    data = text.encode("utf-8")
    if UPDATE:
        path.write_bytes(data)
    assert path.is_file(), f"missing golden {path}: run with DISTILLSCAN_UPDATE_GOLDEN=1"
    assert path.read_bytes() == data, f"{name} differs from its golden (see module docstring)"


@pytest.mark.parametrize("name", GOLDENS)
def test_format_matches_golden(name: str, scenario: Scenario) -> None:
    _matches_golden(name, cli_report(scenario.case, name))


def test_same_case_elsewhere_gives_the_same_bytes(scenario: Scenario, tmp_path: Path) -> None:
    """No clock and no absolute path reaches Markdown or JSON: a moved case reports the same."""
    moved = tmp_path / "somewhere" / "else"
    shutil.copytree(scenario.case, moved)
    again: Report = build_report(load_investigation(moved))
    assert json_report.render(again) == json_report.render(scenario.report)
    assert markdown.render(again) == markdown.render(scenario.report)
    assert str(tmp_path) not in json_report.render(again)
    assert str(scenario.root) not in markdown.render(scenario.report)
