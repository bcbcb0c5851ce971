"""Detection configuration: the shipped defaults, deep-merged with a user's TOML overrides.

All weights and thresholds are in ``distillscan/data/default_config.toml``. A user file may
override any subset with the same keys; an unknown key or a value of the wrong type is a
:class:`~distillscan.errors.ConfigError`, so a typo never silently leaves a default in place.
"""

from __future__ import annotations

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
        else:
            base[key] = float(value) if isinstance(current, float) else value


def _same_kind(default: Any, value: Any) -> bool:
    """Whether ``value`` may replace ``default`` (an integer may stand for a float)."""
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, int | float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))
