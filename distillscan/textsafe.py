"""Making log text inert before it reaches a terminal, a document or a spreadsheet.

Every string that comes from a log (prompts, user agents, ids, file names inside logs) was written
by the party under investigation. Renderers pass such text through these helpers; the helpers
never interpret it, they only make control characters visible and bound the length.
"""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL, C1 controls, the Unicode line/paragraph separators
# and bidirectional overrides that can disguise text in a terminal, and lone surrogates (bytes
# that were not UTF-8, as in file names decoded by the OS: printing them would raise).
_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte kept by ``surrogateescape``
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(text: str | None, limit: int | None = None, *, one_line: bool = True) -> str:
    """Return ``text`` with control characters shown as escapes, newlines folded, and cut.

    Args:
        text: Untrusted text (None becomes the empty string).
        limit: Keep at most this many characters; a cut is marked ``…[+N chars]``.
        one_line: Show newlines and tabs as ``\\n`` and ``\\t`` too.
    """
    if not text:
        return ""
    cut = ""
    if limit is not None and len(text) > limit:
        cut = f"…[+{len(text) - limit} chars]"
        text = text[:limit]
    text = _CONTROL.sub(_visible, text)
    if one_line:
        text = text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    return text + cut
