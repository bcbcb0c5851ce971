"""The report's output formats, registered in one place.

``distillscan report --format``, its help and the golden tests iterate :data:`RENDERERS`. A new
output format is one module with a ``render`` function and one line here. Every renderer takes
the report model (see :mod:`distillscan.report.model`) and the case folder's name, and returns
the whole document as text; none of them prints or reads the case. Only the terminal report
names the case folder (in its ``distillscan show`` hints): documents meant to travel (Markdown,
JSON, HTML) name no local path, so the same case gives the same bytes on any machine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from distillscan.render import html, json_report, markdown, terminal
from distillscan.report.model import Report


@dataclass(frozen=True, slots=True)
class Renderer:
    """One output format.

    Attributes:
        name: The ``--format`` value.
        suffix: The file extension of its documents (and of its goldens).
        render: ``(report, case)`` to the document's text.
        description: What it is for, in a few words (``--help``).
    """

    name: str
    suffix: str
    render: Callable[[Report, str], str]
    description: str


RENDERERS: dict[str, Renderer] = {
    r.name: r
    for r in (
        Renderer(
            "terminal",
            "txt",
            lambda report, case: terminal.plain_text(report, case=case),
            "the console report, plain text in a file",
        ),
        Renderer(
            "markdown",
            "md",
            lambda report, _case: markdown.render(report),
            "an incident writeup",
        ),
        Renderer(
            "json", "json", lambda report, _case: json_report.render(report), "for batch jobs"
        ),
        Renderer(
            "html",
            "html",
            lambda report, _case: html.render(report),
            "one self-contained page",
        ),
    )
}


def choices_help() -> str:
    """The formats for ``--help``: ``terminal (the console report ...), markdown (...)``."""
    return ", ".join(f"{r.name} ({r.description})" for r in RENDERERS.values())
