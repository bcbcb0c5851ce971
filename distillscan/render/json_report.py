"""The JSON report: the report model, serialised byte-stably for scheduled jobs and tooling.

The schema is ``docs/output-schema.json`` (JSON Schema), documented in ``docs/output-schema.md``
and versioned by ``schema_version``. Keys keep the model's order and rows its sort order, so the
same case and options give the same bytes. The text is pure ASCII (``\\u`` escapes with four
hex digits) with ``<``, ``>`` and ``&`` escaped too: printing the file to a terminal or
embedding it in a web page cannot interpret anything a log contained.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

#: Characters escaped beyond what JSON requires, so the bytes are inert in HTML as well.
_HTML_SENSITIVE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}


def render(document: Mapping[str, Any]) -> str:
    """A report (or a drill-down) as indented JSON text (ends with a newline)."""
    text = json.dumps(document, indent=2, ensure_ascii=True, allow_nan=False)
    for char, escaped in _HTML_SENSITIVE.items():
        text = text.replace(char, escaped)  # these characters only occur inside strings
    return text + "\n"
