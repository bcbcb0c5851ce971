"""Detection configuration: the shipped defaults, deep-merged with a user's TOML overrides.

All weights and thresholds are in ``distillscan/data/default_config.toml``. A user file may
override any subset with the same keys; an unknown key, a value of the wrong type, or a number
that is not finite or is negative (every setting is a count, a weight, a share or a duration)
is a :class:`~distillscan.errors.ConfigError`, so a typo never silently leaves a default in
place and a NaN never turns every comparison false. The severity bounds must rise from low to
critical.
"""

from __future__ import annotations

import math
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from distillscan.errors import ConfigError

Config = dict[str, Any]


def defaults() -> Config:
    """The shipped default configuration."""
    text = resources.files("distillscan.data").joinpath("default_config.toml").read_text("utf-8")
    return tomllib.loads(text)


def load(path: Path | None) -> Config:
    """Defaults, overridden by ``path`` when given.

    Raises:
        ConfigError: the file cannot be read or parsed, or names an unknown setting.
    """
    config = defaults()
    if path is None:
        return config
    try:
        override = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None
    _merge(config, override, path, "")
    bounds = [
        config["scoring"]["severity"][level] for level in ("low", "medium", "high", "critical")
    ]
    if bounds != sorted(bounds) or bounds[-1] > 1:
        raise ConfigError(
            f"{path}: scoring.severity bounds must rise from low to critical within [0, 1], "
            f"got {bounds}"
        )
    return config


def _merge(base: Config, override: Config, path: Path, where: str) -> None:
    for key, value in override.items():
        name = f"{where}.{key}" if where else key
        if key not in base:
            raise ConfigError(f"{path}: unknown setting {name!r}", hint="see docs/configuration.md")
        current = base[key]
        if isinstance(current, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: {name} must be a table")
            _merge(current, value, path, name)
        elif not _same_kind(current, value):
            raise ConfigError(f"{path}: {name} must be {type(current).__name__}, got {value!r}")
        elif (problem := _out_of_range(value)) is not None:
            raise ConfigError(f"{path}: {name} {problem}, got {value!r}")
        else:
            base[key] = float(value) if isinstance(current, float) else value


def _out_of_range(value: Any) -> str | None:
    """Why a number (or a list of numbers) cannot be a setting, or None."""
    values = value if isinstance(value, list) else [value]
    for item in values:
        if isinstance(item, bool) or not isinstance(item, int | float):
            continue
        if not math.isfinite(item):
            return "must be a finite number"
        if item < 0:
            return "must not be negative"
    return None


def _same_kind(default: Any, value: Any) -> bool:
    """Whether ``value`` may replace ``default`` (an integer may stand for a float)."""
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, int | float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))
