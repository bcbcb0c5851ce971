"""Access to the data files shipped in ``distillscan/simulate/data/``."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def read_text(*parts: str) -> str:
    """Text of a data file, named by its path parts below ``data/``."""
    node = resources.files("distillscan.simulate").joinpath("data")
    for part in parts:
        node = node.joinpath(part)
    return node.read_text("utf-8")


def read_json(*parts: str) -> dict[str, Any]:
    """A JSON data file (an object)."""
    value: dict[str, Any] = json.loads(read_text(*parts))
    return value
