"""Making log text inert in Markdown and HTML (the terminal uses ``textsafe.inert`` directly).

Everything from a log was written by the party under investigation. The rule in every format:
first :func:`~distillscan.textsafe.inert` (control characters, escape sequences, bidi overrides
shown as visible escapes; length bounded with a visible ``…[+N chars]`` marker), then the
format's own quoting:

* Markdown: inline text goes in a code span whose backtick fence is longer than any run of
  backticks inside it (so nothing closes it early), with ``|`` escaped in table cells; nothing in a
  code span is a link, an image, emphasis or HTML on GitHub or in CommonMark wikis. Longer text
  goes in a fenced block whose fence is likewise longer than any backtick run inside.
* HTML: :func:`html.escape` with quotes, so text is never markup or an attribute break.

Both also guard against spreadsheet formulas: a table copied from a rendered report into a
spreadsheet evaluates a cell that starts with ``=``, ``+``, ``-`` or ``@``, so such text gets a
visible leading ``'`` (the JSON output keeps the exact value).
"""

from __future__ import annotations

import html
import re

from distillscan.textsafe import inert

_BACKTICKS = re.compile(r"`+")
FORMULA_PREFIXES = ("=", "+", "-", "@")


def formula_safe(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _fence_length(text: str, minimum: int) -> int:
    longest = max((len(m.group()) for m in _BACKTICKS.finditer(text)), default=0)
    return max(minimum, longest + 1)


def md_code(text: str | None, limit: int | None = 120, *, in_table: bool = True) -> str:
    """``text`` as an inert Markdown code span (``-`` when empty)."""
    safe = formula_safe(inert(text, limit))
    if not safe:
        return "-"
    if in_table:
        safe = safe.replace("|", "\\|")
    fence = "`" * _fence_length(safe, 1)
    if safe.startswith(("`", " ")) or safe.endswith(("`", " ")):
        safe = f" {safe} "
    return f"{fence}{safe}{fence}"


def md_block(text: str | None, limit: int | None = 600) -> str:
    """``text`` as an inert fenced code block (newlines kept, control characters visible)."""
    safe = formula_safe(inert(text, limit, one_line=False)) or "(empty)"
    fence = "`" * _fence_length(safe, 3)
    return f"{fence}text\n{safe}\n{fence}"


def html_text(text: str | None, limit: int | None = 120, *, one_line: bool = True) -> str:
    """``text`` escaped for HTML element content or a quoted attribute value."""
    return html.escape(formula_safe(inert(text, limit, one_line=one_line)), quote=True)
