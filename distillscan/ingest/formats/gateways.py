"""Gateway and cloud exports read through mappings: one TOML file per product.

Many exports are request logs whose fields sit in product-specific places (Helicone's
``request_user_id``, Kong's ``consumer`` and ``ai.proxy`` section, a body logged as JSON text).
Each is described in the ``--mapping`` language (:mod:`.mapping`) by a file in
``distillscan/data/formats``, with two more settings:

* ``title``: one line for listings and docs;
* ``[detect] keys``: top-level keys that every record of the product has and that together tell
  it apart from the other formats (the request-log formats :mod:`.openai` and :mod:`.anthropic`
  would otherwise claim a gateway's record by its body and find no account in it).

Each file's header comment says which export it reads and who the account is. A new product is
one new TOML file; ``docs/formats.md`` lists them with an example record.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

from distillscan.errors import ConfigError
from distillscan.ingest.formats import mapping
from distillscan.ingest.formats.base import LogFormat, Record, has_keys

_TOP_LEVEL = ("name", "title", "detect", "fields")


def _detector(keys: tuple[str, ...]) -> Callable[[Record], bool]:
    def sniff(record: Record) -> bool:
        """The product's record has every one of its distinguishing keys."""
        return has_keys(record, *keys)

    return sniff


def load(path: Path) -> LogFormat:
    """The format a shipped product mapping describes.

    Raises:
        ConfigError: the file is not a valid product mapping (a packaging mistake).
    """
    text, document = mapping.read_toml(path)
    name, specs = mapping.build(path, text, document, top_level=_TOP_LEVEL)
    title, detect = document.get("title"), document.get("detect")
    keys = detect.get("keys") if isinstance(detect, dict) else None
    if not isinstance(title, str) or not isinstance(keys, list) or not keys:
        raise ConfigError(f"{path}: a product mapping needs a `title` and [detect] keys")
    return LogFormat(
        name=name,
        title=title,
        keys=mapping.top_level_keys(specs),
        sql=mapping.mapping_sql(specs),
        sniff=_detector(tuple(str(k) for k in keys)),
        reads_raw=True,
    )


def _shipped() -> tuple[LogFormat, ...]:
    folder = resources.files("distillscan") / "data" / "formats"
    files = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".toml")),
        key=lambda entry: entry.name,
    )
    return tuple(load(Path(str(entry))) for entry in files)


#: Every shipped product mapping, in file-name order.
FORMATS: tuple[LogFormat, ...] = _shipped()
