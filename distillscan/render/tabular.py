"""Query results (``distillscan sql``) as a terminal table, CSV or JSON lines.

Cells come from the logs, so each format makes them inert in its own way: the table shows
control characters as escapes and cuts long cells with a visible marker; CSV keeps the whole
value but shows control characters as escapes (a terminal or a viewer never runs them) and
quotes a leading ``=``, ``+``, ``-`` or ``@`` so a spreadsheet never reads a formula; JSON
escapes every control character and ``<``, ``>``, ``&``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import polars as pl
from rich.table import Table
from rich.text import Text

from distillscan.render.escape import formula_safe
from distillscan.textsafe import inert

#: Characters of a cell the terminal table shows before cutting it (with a marker).
TABLE_CELL_CHARS = 200
_HTML_SENSITIVE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def table(frame: pl.DataFrame) -> Table:
    """A Rich table of ``frame`` (inert, bounded cells that fold rather than vanish)."""
    grid = Table(show_lines=False)
    for name in frame.columns:
        grid.add_column(Text(inert(name, 100)), overflow="fold")
    for row in frame.iter_rows():
        grid.add_row(*(Text(inert(_text(v), TABLE_CELL_CHARS), overflow="fold") for v in row))
    return grid


def to_csv(frame: pl.DataFrame) -> str:
    """``frame`` as CSV text (header first), every cell inert and formula-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([formula_safe(inert(name)) for name in frame.columns])
    for row in frame.iter_rows():
        writer.writerow([formula_safe(inert(_text(v), one_line=False)) for v in row])
    return buffer.getvalue()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):  # no JSON spelling
        return None
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def to_json_lines(frame: pl.DataFrame) -> str:
    """``frame`` as JSON lines (one object per row, columns in order)."""
    lines = []
    for row in frame.iter_rows(named=True):
        text = json.dumps(_plain(row), ensure_ascii=True, allow_nan=False, default=str)
        for char, escaped in _HTML_SENSITIVE.items():
            text = text.replace(char, escaped)
        lines.append(text)
    return "".join(line + "\n" for line in lines)
