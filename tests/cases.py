"""Investigated cases of the test scenario (``tests/render/scenario.py``), built once per session.

The fixtures are registered for every test folder in ``tests/conftest.py``.

Inputs are named relative to the scenario folder (as an investigator would type them), so that
``source_file`` and the manifest paths, and therefore the reports, do not depend on where the
temporary folder lives; the case folder itself is absolute.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from distillscan.investigate import investigate
from distillscan.report.loader import load_investigation
from distillscan.report.model import Report, build_report
from tests.render.scenario import write_scenario


@dataclass(frozen=True)
class Scenario:
    """A scenario folder (logs and case) and the report of its investigation."""

    root: Path
    case: Path
    report: Report


@contextmanager
def working_directory(path: Path) -> Iterator[None]:
    """Run the block with ``path`` as the current directory."""
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def build(
    root: Path, *, hostile: bool = False, campaign: bool = True, existing: Path | None = None
) -> Scenario:
    """Write the scenario under ``root``, investigate it into ``root/case`` and report on it.

    With ``existing``, that log file (under ``root``) is investigated instead.
    """
    root.mkdir(parents=True, exist_ok=True)
    log = existing or write_scenario(root / "logs", hostile=hostile, campaign=campaign)
    case = root / "case"
    with working_directory(root):
        investigate([log.relative_to(root)], case)
    return Scenario(root, case, build_report(load_investigation(case)))


@pytest.fixture(scope="session")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """The ordinary scenario: one campaign, hard negatives, one mixed reseller."""
    return build(tmp_path_factory.mktemp("scenario"))


@pytest.fixture(scope="session")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """The scenario whose log text carries markup, escape sequences, Markdown and HTML."""
    return build(tmp_path_factory.mktemp("hostile"), hostile=True)


@pytest.fixture(scope="session")
def benign(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """Only legitimate traffic: no campaign."""
    return build(tmp_path_factory.mktemp("benign"), campaign=False)
