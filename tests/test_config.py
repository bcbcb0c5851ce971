"""The detection configuration: its documentation, its overrides, and its refusals."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from distillscan.cli import app
from distillscan.config import defaults, load
from distillscan.errors import ConfigError
from tests.render.scenario import write_scenario

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def _leaves(config: dict[str, Any], where: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{where}.{key}" if where else key
        if isinstance(value, dict):
            found.update(_leaves(value, name))
        else:
            found[name] = value
    return found


def _documented() -> dict[str, Any]:
    """``section.key`` -> default, from the tables of docs/configuration.md."""
    found: dict[str, Any] = {}
    section = ""
    for line in DOC.read_text("utf-8").splitlines():
        heading = re.match(r"^## `\[(.+)\]`$", line)
        if heading:
            section = heading[1]
        row = re.match(r"^\| `([a-z_]+)` \| `(.+?)` \|", line)
        if row:
            found[f"{section}.{row[1]}"] = tomllib.loads(f"v = {row[2]}")["v"]
    return found


def test_every_setting_is_documented_with_its_default() -> None:
    assert _documented() == _leaves(defaults())


def test_an_override_changes_what_it_names_and_nothing_else(tmp_path: Path) -> None:
    override = tmp_path / "strict.toml"
    override.write_text("[linking]\nmin_campaign_score = 0.99\n", encoding="utf-8")
    config = load(override)
    assert config["linking"]["min_campaign_score"] == 0.99
    changed = {k for k, v in _leaves(config).items() if _leaves(defaults())[k] != v}
    assert changed == {"linking.min_campaign_score"}

    logs = write_scenario(tmp_path / "logs")
    runner = CliRunner()
    runs = {}
    for name, extra in (("default", []), ("strict", ["--config", str(override)])):
        case = tmp_path / name
        result = runner.invoke(app, ["investigate", str(logs), "--case", str(case), "-q"])
        if extra:
            result = runner.invoke(app, ["investigate", "--case", str(case), "-q", *extra])
        assert result.exit_code == 0, result.stderr
        runs[name] = case
    assert pl.read_parquet(runs["default"] / "campaigns.parquet").height >= 1
    assert pl.read_parquet(runs["strict"] / "campaigns.parquet").height == 0
    recorded = json.loads((runs["strict"] / "investigation.json").read_text("utf-8"))
    assert recorded["config"]["linking"]["min_campaign_score"] == 0.99


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[linking]\nmin_campaign_scor = 0.5\n", "unknown setting 'linking.min_campaign_scor'"),
        ("[linking]\nmin_campaign_score = 'high'\n", "linking.min_campaign_score must be float"),
        ("linking = 3\n", "linking must be a table"),
        ("[linking\n", "invalid TOML"),
        ("[linking]\nmin_campaign_score = nan\n", "must be a finite number"),
        ("[linking]\nmin_campaign_score = inf\n", "must be a finite number"),
        ("[linking]\nmin_campaign_score = -0.5\n", "must not be negative"),
        ("[passes.mixed_accounts]\nproduct_agent_share = [0.3, nan]\n", "finite number"),
        ("[scoring.severity]\nhigh = 0.1\n", "bounds must rise from low to critical"),
        ("[scoring.severity]\ncritical = 1.5\n", "within [0, 1]"),
    ],
)
def test_a_bad_override_names_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        load(path)
    if "unknown setting" in message:
        assert caught.value.hint == "see docs/configuration.md"
